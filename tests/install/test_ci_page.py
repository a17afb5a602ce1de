"""The CI jobs of docs/ci.md, as written: both YAML blocks parse, call exactly the documented commands,
keep the reports and notebooks as artifacts, and their commands run unchanged against the sandbox
with the built wheel as ``RUNBOOKS_PAKET`` (GitHub's job against the healthy sandbox, GitLab's against
a failure scenario)."""

from __future__ import annotations

import io
import re
import shlex
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Installed
from ruamel.yaml import YAML

from flux_sandbox.sim import scenarios
from runbook_lib.runner import discover

pytestmark = [pytest.mark.install, pytest.mark.timeout(900)]

PAGE = ROOT / "docs" / "ci.md"
BLOCK = re.compile(r'^```yaml title="(?P<title>[^"]+)"\n(?P<body>.*?)^```$', re.MULTILINE | re.DOTALL)
#: GitHub expressions the jobs may use, and only these: secrets and repository variables
EXPRESSION = re.compile(r"\$\{\{\s*(secrets|vars)\.(\w+)\s*\}\}")


def blocks() -> dict[str, Any]:
    """The YAML blocks of the page by title, parsed as YAML 1.2 (``on`` stays a key, as GitHub reads it)."""
    found = {
        m["title"]: YAML(typ="safe").load(io.StringIO(m["body"])) for m in BLOCK.finditer(PAGE.read_text())
    }
    assert set(found) == {".github/workflows/flux-smoke-test.yml", ".gitlab-ci.yml"}
    return found


def github() -> dict[str, Any]:
    return dict(blocks()[".github/workflows/flux-smoke-test.yml"])


def gitlab() -> dict[str, Any]:
    return dict(blocks()[".gitlab-ci.yml"]["flux-smoke-test"])


def option(command: str, name: str) -> str:
    words = shlex.split(command)
    return words[words.index(name) + 1]


def smoke_words(command: str) -> list[str]:
    """The smoke command with its kubeconfig value replaced: both jobs call the same command."""
    words = shlex.split(command)
    words[words.index("--kubeconfig") + 1] = "KUBECONFIG"
    return words


def resolve(value: str, context: dict[str, dict[str, str]]) -> str:
    """``${{ secrets.X }}`` / ``${{ vars.X }}`` as GitHub fills them; any other expression fails the test."""
    assert "${{" not in EXPRESSION.sub("", value), f"unerwarteter Ausdruck in {value!r}"
    return EXPRESSION.sub(lambda m: context[m[1]][m[2]], value)


def test_github_job_calls_exactly_install_kubeconfig_and_smoke() -> None:
    doc = github()
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["schedule"][0]["cron"] and "workflow_dispatch" in doc["on"]
    assert doc["permissions"] == {"contents": "read", "checks": "write"}
    steps = doc["jobs"]["smoke"]["steps"]
    kinds = [step.get("uses", "run").split("@")[0] for step in steps]
    assert kinds == [
        "actions/setup-python",
        "run",
        "run",
        "run",
        "mikepenz/action-junit-report",
        "actions/upload-artifact",
    ]
    assert steps[0]["with"] == {"python-version": "3.12"}
    runs = [step["run"] for step in steps if "run" in step]
    assert runs[0] == 'pip install "$RUNBOOKS_PAKET"'
    assert shlex.split(runs[2])[:2] == ["runbook", "smoke"]
    report, artifact = steps[4], steps[5]
    assert report["if"] == "always()" and artifact["if"] == "always()"
    assert report["with"]["report_paths"] == option(runs[2], "--junit")
    assert artifact["with"]["path"].rstrip("/") == option(runs[2], "--output-dir")


def test_gitlab_job_calls_the_same_smoke_command_and_keeps_the_report() -> None:
    job = gitlab()
    assert job["image"] == "python:3.12"
    script = job["script"]
    assert script[0] == 'pip install "$RUNBOOKS_PAKET"' and len(script) == 2
    assert option(script[1], "--kubeconfig") == "$FLUX_KUBECONFIG"
    smoke_github = [s["run"] for s in github()["jobs"]["smoke"]["steps"] if "run" in s][2]
    assert smoke_words(script[1]) == smoke_words(smoke_github)
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == option(script[1], "--junit")
    assert [p.rstrip("/") for p in artifacts["paths"]] == [option(script[1], "--output-dir")]


def test_github_job_runs_as_written_against_the_sandbox(
    installed: Installed, outside: Path, sandbox: Any, tmp_path: Path
) -> None:
    doc = github()
    job = doc["jobs"]["smoke"]
    secret = Path(sandbox.kubeconfig).read_text(encoding="utf-8")
    context = {"secrets": {"FLUX_KUBECONFIG": secret}, "vars": {"RUNBOOKS_PAKET": str(installed.wheel)}}
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    base = {k: resolve(str(v), context) for k, v in job["env"].items()}
    for step in job["steps"]:
        if "run" not in step:
            continue
        env = {**base, **{k: resolve(str(v), context) for k, v in (step.get("env") or {}).items()}}
        env.update(RUNNER_TEMP=str(runner_temp), GITHUB_WORKSPACE=str(outside), CI="true")
        # GitHub's default shell on Linux: bash -e {0}
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=outside,
            env=installed.env(**env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, f"{step.get('name')}:\n{proc.stdout}\n{proc.stderr}"
    written = runner_temp / "kubeconfig"
    assert written.read_text(encoding="utf-8").strip() == secret.strip()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    smoke = outside / "smoke"
    root = ET.parse(smoke / "junit.xml").getroot()
    assert root.get("failures") == "0" and int(str(root.get("tests"))) > 20
    assert (smoke / "status.ipynb").is_file() and (smoke / "ergebnis.json").is_file()
    assert not any("kubeconfig" in p.name for p in smoke.iterdir())  # the secret stays out of the artifact


def test_gitlab_job_runs_as_written_and_fails_on_a_broken_cluster(
    installed: Installed, outside: Path, make_sandbox: Any, tmp_path: Path
) -> None:
    job = gitlab()
    broken = make_sandbox("chart-version-missing")
    file_variable = tmp_path / "FLUX_KUBECONFIG"  # a variable of type "File": GitLab passes the path
    file_variable.write_bytes(Path(broken.kubeconfig).read_bytes())
    env = {k: str(v) for k, v in job["variables"].items()}
    env.update(FLUX_KUBECONFIG=str(file_variable), RUNBOOKS_PAKET=str(installed.wheel), CI="true")
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", "\n".join(job["script"])],
        cwd=outside,
        env=installed.env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Ergebnis:   ✗" in proc.stdout
    report = outside / job["artifacts"]["reports"]["junit"]
    failed = {
        str(case.get("name")): str(failure.get("message"))
        for case in ET.parse(report).getroot().iter("testcase")
        if (failure := case.find("failure")) is not None
    }
    chart = [m for n, m in failed.items() if n.startswith("HelmChart flux-system/kube-system-kite")]
    assert any(scenarios.MISSING_CHART in m for m in chart), failed
    kept = outside / job["artifacts"]["paths"][0]
    read_only = sorted(f"{b.name}.ipynb" for b in discover() if b.in_smoke)
    assert sorted(p.name for p in kept.glob("*.ipynb")) == read_only
