"""Benchmark: how soon does `reconcile()` notice that Flux finished (or failed)?

Completion: over 50 reconciles of Kustomization `apps`, the time between the simulated controller
writing the final status (seen in-process on the store, the moment it happens) and `reconcile()`
returning. Target: median at most 50 ms. The flux CLI polls every 2 s, i.e. about 1 s on average.

Failure: in the `helmrelease-upgrade-failed` scenario, the time between the controller writing the
failure and `reconcile()` reporting it. Target: at most 1 s (the flux CLI waits for its 5m timeout).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from flux_sandbox.sim import Sandbox
from flux_sandbox.sim.store import Store
from runbook_lib.cluster import connect
from runbook_lib.reconcile.actions import progress, reconcile
from runbook_lib.report import SilentReporter

RUNS = 50
FLUX_POLL = 2.0


def written_at(store: Store, kind: str, name: str, token: str) -> float:
    """When the controller wrote the status that completed the request ``token`` (store clock)."""
    for change in store.changes_since(store.oldest_rv - 1):
        obj = change.obj
        mine = change.rtype.kind == kind and obj["metadata"]["name"] == name
        if mine and progress(obj, token).state in ("ready", "failed"):
            return change.at
    raise AssertionError(f"no write completed {kind} {name} for {token}")


def completion(sb: Sandbox) -> list[float]:
    cluster = connect(str(sb.kubeconfig))
    delays = []
    for _ in range(RUNS):
        result = reconcile("ks", "apps", timeout="30s", client=cluster, reporter=SilentReporter())
        returned = time.perf_counter()
        assert result.ok
        delays.append(returned - written_at(sb.store, "Kustomization", "apps", result.target.requested_at))
    return delays


def failure(sb: Sandbox) -> float:
    cluster = connect(str(sb.kubeconfig))
    result = reconcile(
        "hr", "kite", namespace="kube-system", timeout="5m", client=cluster, reporter=SilentReporter()
    )
    returned = time.perf_counter()
    assert not result.ok
    return returned - written_at(sb.store, "HelmRelease", "kite", result.target.requested_at)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(tmp) as sb:
        delays = completion(sb)
    median = statistics.median(delays) * 1000
    p90 = sorted(delays)[int(len(delays) * 0.9)] * 1000
    print(f"Fertig erkannt nach (Median über {RUNS}): {median:.1f} ms, p90 {p90:.1f} ms (Ziel ≤ 50 ms)")
    print(
        f"flux CLI: Abfrage alle {FLUX_POLL:.0f} s → im Mittel ~{FLUX_POLL / 2 * 1000:.0f} ms; "
        f"Verhältnis runbook_lib/flux ≈ {median / (FLUX_POLL / 2 * 1000):.4f}"
    )
    with tempfile.TemporaryDirectory() as tmp, Sandbox(tmp, scenario="helmrelease-upgrade-failed") as sb:
        fail = failure(sb) * 1000
    print(f"Fehlschlag erkannt nach: {fail:.1f} ms (Ziel ≤ 1000 ms; flux CLI wartet bis zum Timeout, 5m)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
