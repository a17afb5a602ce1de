"""`runbook smoke` against the sandbox: the healthy cluster passes with exit code 0, every failure
scenario fails with exit code 1 and a JUnit report whose failed test case names the cause."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from flux_sandbox.sim import Sandbox, scenarios
from runbook_lib.junit import junit_xml
from runbook_lib.runner import discover
from runbook_lib.smoke import smoke

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]

#: per failure scenario: the runbook whose finding names the cause, the object it is about, and a
#: fact of the scenario that the cause (the failure message) must carry
CAUSES = {
    "git-auth-failure": ("troubleshoot-sync", "GitRepository flux-system/flux-system", "Zugangsdaten"),
    "kustomization-build-failed": ("troubleshoot-sync", "Kustomization flux-system/apps", "bauen"),
    "helmrelease-upgrade-failed": (
        "troubleshoot-helmrelease",
        # as real Flux ends it, the rollback removed the failing pod: the failed upgrade Flux rolled back,
        # naming the image its failed revision wanted (docs/flux-facts.md §13)
        "HelmRelease kube-system/kite",
        scenarios.MISSING_TAG,
    ),
    "chart-version-missing": (
        "troubleshoot-helmrelease",
        "HelmChart flux-system/kube-system-kite",
        scenarios.MISSING_CHART,
    ),
    "certificate-challenge-failed": (
        "troubleshoot-certificates",
        "Challenge kube-system/",
        scenarios.NEW_HOST,
    ),
}


def read_only() -> list[str]:
    """The runbooks smoke runs, from the notebooks' own metadata."""
    return [b.name for b in discover() if b.in_smoke]


def failures(root: ET.Element) -> list[tuple[str, str, str]]:
    """(classname, test case name, failure message) of every failed test case."""
    found = []
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            found.append((str(case.get("classname")), str(case.get("name")), str(failure.get("message"))))
    return found


def test_every_failure_scenario_has_a_cause_to_check() -> None:
    assert set(CAUSES) == set(scenarios.SCENARIOS) - {"healthy", "suspended"}


def test_healthy_sandbox_passes_with_exit_code_0(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "smoke"
    argv = ["smoke", "--kubeconfig", str(sandbox.kubeconfig), "--output-dir", str(out)]
    reports = ["--junit", str(out / "junit.xml"), "--json", str(out / "ergebnis.json")]
    proc = subprocess.run([*RUNBOOK, *argv, *reports], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Ergebnis:   ✔ alle {len(read_only())} Runbooks bestanden" in proc.stdout
    root = ET.parse(out / "junit.xml").getroot()
    assert [s.get("name") for s in root.iter("testsuite")] == read_only()
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("0", "0", "0")
    for suite in root.iter("testsuite"):
        steps = [c for c in suite.iter("testcase") if str(c.get("classname")).endswith(".Schritte")]
        assert len(steps) >= 2, suite.get("name")  # trace and fleet have two sections with code
    data = json.loads((out / "ergebnis.json").read_text(encoding="utf-8"))
    assert (data["verdict"], data["exit_code"]) == ("passed", 0)
    assert data["cluster"]["context"] == "runbook-sandbox"
    for run in data["runbooks"]:
        assert Path(run["notebook"]).is_file() and run["verdict"] == "passed"


@pytest.mark.parametrize("scenario", sorted(CAUSES))
def test_failure_scenario_fails_with_the_cause_as_failed_test_case(
    scenario: str, make_sandbox: Any, tmp_path: Path
) -> None:
    runbook, subject, fact = CAUSES[scenario]
    sb = make_sandbox(scenario)
    result = smoke(kubeconfig=str(sb.kubeconfig), output_dir=tmp_path, jobs=4, progress=lambda line: None)
    assert result.exit_code == 1
    assert runbook in {r.runbook for r in result.failed()}
    root = ET.fromstring(junit_xml(list(result.reports), name="runbook smoke"))
    matching = [
        message
        for classname, name, message in failures(root)
        if classname == f"{runbook}.Befunde" and name.startswith(subject)
    ]
    assert any(fact in message for message in matching), failures(root)


def test_suspended_is_a_warning_unless_warnings_fail(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("suspended")
    quiet = {"kubeconfig": str(sb.kubeconfig), "jobs": 1, "progress": lambda line: None}
    lenient = smoke(["status"], output_dir=tmp_path / "a", **quiet)  # type: ignore[arg-type]
    assert lenient.exit_code == 0 and "Warnungen" in lenient.headline()
    strict = smoke(["status"], output_dir=tmp_path / "b", fail_on_warnings=True, **quiet)  # type: ignore[arg-type]
    assert strict.exit_code == 1
    root = ET.fromstring(junit_xml(list(strict.reports), fail_on_warnings=True))
    assert ("status.Befunde", "Kustomization flux-system/apps") in {(c, n) for c, n, _ in failures(root)}


def test_ctrl_c_ends_the_smoke_test_with_130_and_no_traceback(sandbox: Sandbox, tmp_path: Path) -> None:
    """Ctrl+C right after the start (workers starting) ends the run in German; no worker prints a
    traceback, the running read-only runbooks finish first."""
    import os
    import signal

    argv = [*RUNBOOK, "smoke", "--kubeconfig", str(sandbox.kubeconfig), "--output-dir", str(tmp_path)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a terminal's Ctrl+C reaches the whole process group
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("► Smoke-Test:")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, out + err
    assert "✗ Abgebrochen." in err
    assert "Traceback" not in out + err
