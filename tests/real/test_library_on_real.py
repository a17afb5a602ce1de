"""Library fixes for real Flux, on the real engine (the simulated side is in tests/integration)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from flux_sandbox.real.engine import Engine
from runbook_lib import connect, reconcile

EngineFactory = Callable[[str], Engine]

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]


def test_reconcile_hr_without_source_fails_fast_on_a_stalled_chart(make_engine: EngineFactory) -> None:
    engine = make_engine("chart-version-missing")
    cluster = connect(str(engine.kubeconfig))
    start = time.monotonic()
    result = reconcile("hr", "kite", namespace="kube-system", timeout="3m", client=cluster)
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.target.state == "failed"
    assert result.target.reason == "InvalidChartReference"
    assert "0.6.9" in result.target.message
    assert elapsed < 90, "must not run into the 3m timeout"
