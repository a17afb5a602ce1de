"""The audit runbook on the real engine: the repository's workload without limits, and how long an object
has been suspended (the real API server records managedFields; the simulator does not)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flux_sandbox.real.engine import Engine
from runbook_lib.audit import audit
from runbook_lib.cluster import connect
from runbook_lib.kinds import KUSTOMIZATION
from runbook_lib.reconcile import resume, suspend
from runbook_lib.report import SilentReporter

RealSandbox = Any
EngineFactory = Callable[[str], Engine]

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]


def test_runbook_finds_the_workload_without_limits(real_sandbox: RealSandbox, tmp_path: Path) -> None:
    state = real_sandbox.state_dir
    args = [
        "run",
        "audit",
        "-p",
        "repo_path",
        str(state / "checkout"),
        "--kubeconfig",
        str(state / "kubeconfig"),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", *args, "--output", str(tmp_path / "audit.ipynb")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "⚠ Warnung: Keine Resource-Limits und Requests (Deployment default/whoami)" in proc.stdout
    assert "Definiert in clusters/orbstack/apps/whoami/deployment.yaml:2" in proc.stdout
    images = next(line for line in proc.stdout.splitlines() if line.startswith("Feste Image-Tags"))
    assert images.endswith("✔ in Ordnung")
    assert "✗ Fehler" not in proc.stdout


def test_suspended_time_comes_from_managed_fields(make_engine: EngineFactory) -> None:
    engine = make_engine("healthy")
    cluster = connect(str(engine.state_dir / "kubeconfig"))
    suspend(KUSTOMIZATION.kind, "apps", client=cluster, reporter=SilentReporter())
    try:
        time.sleep(2)
        found = {f.subject: f for f in audit(None, suspended_for="1s", client=cluster).findings}
        old = found["Kustomization flux-system/apps"]
        assert old.title == "Seit langem ausgesetzt"
        assert old.evidence.startswith("spec.suspend: true, gesetzt vor ")
        young = {f.subject: f for f in audit(None, suspended_for="1h", client=cluster).findings}
        assert young["Kustomization flux-system/apps"].title == "Ausgesetzt"
    finally:
        resume(KUSTOMIZATION.kind, "apps", client=cluster, reporter=SilentReporter())
