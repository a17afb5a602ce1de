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
import threading
import time

from runbook_lib.cluster import connect
from runbook_lib.reconcile import progress, reconcile
from runbook_lib.report import SilentReporter
from runbook_lib.sandbox import Sandbox
from runbook_lib.sandbox.store import Store

RUNS = 50
FLUX_POLL = 2.0


class FinalWrite:
    """Notes, per request token, the perf_counter time of the first store change that completes it."""

    def __init__(self, store: Store, kind: str, name: str) -> None:
        self.store, self.kind, self.name = store, kind, name
        self.done: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rv = self.store.resource_version
        while not self._stop.is_set():
            for change in self.store.wait_for_changes(rv, 0.2):
                rv = change.rv
                obj = change.obj
                if change.rtype.kind != self.kind or obj["metadata"]["name"] != self.name:
                    continue
                token = (obj["metadata"].get("annotations") or {}).get("reconcile.fluxcd.io/requestedAt")
                if token and token not in self.done and progress(obj, token).state in ("ready", "failed"):
                    self.done[token] = time.perf_counter()

    def when(self, token: str) -> float:
        """The completion time of ``token`` (waits briefly for the probe thread to catch up)."""
        deadline = time.monotonic() + 2
        while token not in self.done and time.monotonic() < deadline:
            time.sleep(0.001)
        return self.done[token]

    def stop(self) -> None:
        self._stop.set()


def completion(sb: Sandbox) -> list[float]:
    cluster = connect(str(sb.kubeconfig))
    probe = FinalWrite(sb.store, "Kustomization", "apps")
    delays = []
    for _ in range(RUNS):
        result = reconcile("ks", "apps", timeout="30s", client=cluster, reporter=SilentReporter())
        returned = time.perf_counter()
        assert result.ok
        delays.append(returned - probe.when(result.target.requested_at))
    probe.stop()
    return delays


def failure(sb: Sandbox) -> float:
    cluster = connect(str(sb.kubeconfig))
    probe = FinalWrite(sb.store, "HelmRelease", "kite")
    result = reconcile("hr", "kite", namespace="kube-system", timeout="5m", client=cluster,
                       reporter=SilentReporter())
    returned = time.perf_counter()
    probe.stop()
    assert not result.ok
    return returned - probe.when(result.target.requested_at)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(tmp) as sb:
        delays = completion(sb)
    median = statistics.median(delays) * 1000
    p90 = sorted(delays)[int(len(delays) * 0.9)] * 1000
    print(f"Fertig erkannt nach (Median über {RUNS}): {median:.1f} ms, p90 {p90:.1f} ms (Ziel ≤ 50 ms)")
    print(f"flux CLI: Abfrage alle {FLUX_POLL:.0f} s → im Mittel ~{FLUX_POLL / 2 * 1000:.0f} ms; "
          f"Verhältnis runbook_lib/flux ≈ {median / (FLUX_POLL / 2 * 1000):.4f}")
    with tempfile.TemporaryDirectory() as tmp, Sandbox(tmp, scenario="helmrelease-upgrade-failed") as sb:
        fail = failure(sb) * 1000
    print(f"Fehlschlag erkannt nach: {fail:.1f} ms (Ziel ≤ 1000 ms; flux CLI wartet bis zum Timeout, 5m)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
