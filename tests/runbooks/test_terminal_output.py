"""`runbook run` in a terminal: the findings and results of the cells tagged `terminal`, then the record.

Run as a user runs it: the console script in a subprocess, against sandbox scenarios. Piped, the text is
plain; on a pseudo-terminal the marks are coloured; `--quiet` prints only the run record.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from runbook_support import cell_text, code_cells

from flux_sandbox.sim import Sandbox, Timing, scenarios
from flux_sandbox.sim.resources import by_kind

pytestmark = pytest.mark.runbook

RUNBOOK = Path(sys.executable).with_name("runbook")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def runbook(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUNBOOK), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "", **(env or {})},
    )


def on_terminal(*args: str, cwd: Path) -> str:
    """stdout of `runbook ARGS` when it is a terminal (a pseudo-terminal 120 columns wide)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [str(RUNBOOK), *args], cwd=cwd, stdout=follower, stderr=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def protocol(stdout: str, cwd: Path) -> dict[str, Any]:
    path = re.search(r"^Protokoll:\s+(\S+)$", stdout, re.MULTILINE)
    assert path, stdout
    return dict(json.loads((cwd / path.group(1)).read_text(encoding="utf-8")))


def test_troubleshoot_certificates_starts_with_the_dns_cause(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("certificate-challenge-failed")
    done = runbook("run", "troubleshoot-certificates", "--kubeconfig", str(sb.kubeconfig), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    first = out.splitlines()[0]
    assert first.startswith("✗ Fehler: Kein DNS-Eintrag für kite.beispiel-neu.de (NXDOMAIN)"), out
    assert not ANSI.search(out)  # piped: plain text
    # every part of the finding is there, in the notebook's words and order
    diagnosis = next(
        cell_text(c) for c in code_cells(protocol(out, tmp_path)) if "diagnosis = " in "".join(c["source"])
    )
    assert out.startswith(diagnosis.strip("\n")), "terminal and notebook differ"
    for label in ("Ursache:", "Stand:", "Beleg:", "Nächster Schritt:", "Befehl:", "Folgen dieser Ursache:"):
        assert label in out.split("Runbook:")[0]
    assert "Befund:     ✗ Zertifikats-Probleme: 1 Fehler (dazu 3 Folgebefunde)" in out


def test_quiet_prints_only_the_record_and_a_terminal_gets_colours(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("certificate-challenge-failed")
    args = ("run", "troubleshoot-certificates", "--kubeconfig", str(sb.kubeconfig))
    quiet = runbook(*args, "--quiet", cwd=tmp_path).stdout
    assert quiet.startswith("Runbook:    troubleshoot-certificates\n"), quiet
    assert "Ursache:" not in quiet and "Befund:     ✗ Zertifikats-Probleme" in quiet
    coloured = on_terminal(*args, cwd=tmp_path)
    assert "\x1b[1;31m✗ Fehler: Kein DNS-Eintrag" in coloured
    assert "\x1b[1mUrsache:\x1b[0m" in coloured
    assert all(len(line) <= 120 for line in ANSI.sub("", coloured).splitlines() if "Ursache:" in line)
    plain = runbook(*args, cwd=tmp_path, env={"NO_COLOR": "1"}).stdout
    assert not ANSI.search(plain)


def test_status_names_the_failing_objects(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("git-auth-failure")
    out = runbook("run", "status", "--kubeconfig", str(sb.kubeconfig), cwd=tmp_path).stdout
    head = out.split("Runbook:")[0]
    assert re.search(
        r"fehlerhaft\s+GitRepository\s+flux-system\s+flux-system\s+False\s+.*authentication", head
    )


def test_dry_run_change_shows_its_diff(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("healthy")
    out = runbook(
        "run", "change", "--kubeconfig", str(sb.kubeconfig), "-p", "repo_path", str(sb.checkout), cwd=tmp_path
    ).stdout
    head = out.split("Runbook:")[0]
    assert "-    replicaCount: 1\n+    replicaCount: 2" in head
    assert "Ergebnis:   ✔ planmäßig in Zelle" in out and "Befund:     ✔ Probelauf beendet" in out


def test_helmrelease_while_flux_still_retries(tmp_path: Path) -> None:
    """An upgrade in flight: the Pods that cannot pull their image lead; the pending revision is not
    called stuck, nothing advises --force, and the finding says what Flux does next."""
    slow = Timing.fast().scaled(helm_wait=30.0)
    with Sandbox(tmp_path / "sbx", "healthy", timing=slow) as sb:
        scenarios._bad_tag(sb)  # the scenario's commit, without waiting for its end state
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pods, _ = sb.store.list(by_kind("Pod"))
            waiting = [
                p
                for p in pods
                if any(
                    (c.get("state") or {}).get("waiting")
                    for c in p.get("status", {}).get("containerStatuses") or []
                )
            ]
            hr = scenarios.find(sb.store, "HelmRelease", "kube-system", "kite") or {}
            reconciling = scenarios.condition(sb.store, "HelmRelease", "kube-system", "kite", "Reconciling")
            if waiting and reconciling.get("status") == "True" and hr["metadata"].get("generation", 1) > 1:
                break
            time.sleep(0.1)
        else:
            pytest.fail("das Upgrade lief nicht an")
        out = runbook(
            "run", "troubleshoot-helmrelease", "--kubeconfig", str(sb.kubeconfig), cwd=tmp_path
        ).stdout
    head = out.split("Runbook:")[0]
    assert head.startswith("✗ Fehler: Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0"), head
    assert "Der helm-controller meldet einen Fehler" not in head
    assert "hängt" not in head and "gesperrt" not in head
    assert "reconcile hr kite -n kube-system --force" not in head and "force True" not in head
    assert "`--force` oder `--reset` sind nicht nötig" in head
    assert "Stand:            Flux versucht es noch: Upgrade-Versuch 1 von 3 läuft gerade" in head
    assert "Scheitert er, rollt Flux zurück und versucht es noch zweimal" in head


def test_logs_of_all_objects_at_level_error_summarise_the_error_lines(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sb = make_sandbox("git-auth-failure")
    args = ["-p", "kind", "None", "-p", "name", "None", "-p", "namespace", "None", "-p", "level", "error"]
    out = runbook("run", "logs", "--kubeconfig", str(sb.kubeconfig), *args, cwd=tmp_path).stdout
    verdict = next(line for line in out.splitlines() if line.startswith("Befund:"))
    assert re.match(r"Befund:     ✗ \d+ Fehlerzeilen? \(alle Arten \*/\*, Level error\) von ", verdict), (
        verdict
    )
    assert "GitRepository/flux-system.flux-system" in verdict and "authentication required" in verdict
    assert "Events gibt es nur" not in verdict


def test_an_ambiguous_kind_is_a_usage_error_naming_the_candidates(sandbox: Sandbox, tmp_path: Path) -> None:
    done = runbook(
        "run",
        "sync",
        "-p",
        "kind",
        "helm",
        "-p",
        "name",
        "kite",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    # refused before the first cell, as every usage error: on stderr, and no run announced
    assert (
        "Die Art 'helm' ist mehrdeutig: gemeint sein können HelmRelease (hr), HelmRepository" in done.stderr
    )
    assert "wird ausgeführt" not in done.stderr
