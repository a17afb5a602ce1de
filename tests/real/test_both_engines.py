"""The runbooks give the same answer on both engines: for every scenario the real engine supports,
``runbook run troubleshoot-helmrelease|troubleshoot-sync|status --json`` has the same verdict and the
same top finding (name and outcome) on the simulated and on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flux_sandbox.real.engine import Engine
from flux_sandbox.real.scenarios import REAL_SCENARIOS
from flux_sandbox.sim import Sandbox, Timing

EngineFactory = Callable[[str], Engine]
RUNBOOKS = ("troubleshoot-helmrelease", "troubleshoot-sync", "status")

pytestmark = [pytest.mark.real, pytest.mark.timeout(1200)]


def answer(kubeconfig: Path, runbook: str, out: Path) -> dict[str, Any]:
    """Verdict and top finding (the first error, else the first warning, else the first finding)."""
    report = out / f"{runbook}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "run", runbook, "--quiet", "--kubeconfig", str(kubeconfig),
         "--json", str(report)],
        capture_output=True, text=True, cwd=out, timeout=300, check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(report.read_text("utf-8"))
    findings = data["findings"]
    ranked = [f for o in ("error", "warning") for f in findings if f["outcome"] == o] or findings
    top = ranked[0] if ranked else {}
    return {"verdict": data["verdict"], "top": (top.get("name"), top.get("outcome")), "text": top}


@pytest.mark.parametrize("scenario", sorted(REAL_SCENARIOS))
def test_same_verdict_and_top_finding_on_both_engines(
    scenario: str, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine = make_engine(scenario)
    real = {}
    for runbook in RUNBOOKS:
        (tmp_path / "real").mkdir(exist_ok=True)
        real[runbook] = answer(engine.kubeconfig, runbook, tmp_path / "real")
    engine.stop()
    with Sandbox(tmp_path / "sim-state", scenario, timing=Timing.fast()) as sandbox:
        sim = {}
        for runbook in RUNBOOKS:
            (tmp_path / "sim").mkdir(exist_ok=True)
            sim[runbook] = answer(sandbox.kubeconfig, runbook, tmp_path / "sim")
    for runbook in RUNBOOKS:
        assert (sim[runbook]["verdict"], sim[runbook]["top"]) == (
            real[runbook]["verdict"],
            real[runbook]["top"],
        ), f"{runbook} auf {scenario}:\nsimuliert: {sim[runbook]['text']}\necht:      {real[runbook]['text']}"
    if scenario == "helmrelease-upgrade-failed":
        # the real cause on both engines: the failed upgrade Flux rolled back, and the image
        for answers in (real, sim):
            top = answers["troubleshoot-helmrelease"]["text"]
            text = f"{top.get('name')} {top.get('message')} {top.get('details')}"
            assert "zurückgerollt" in text and "ghcr.io/zxh326/kite:v0.7.0" in text, text
