"""The library's watch-410 path against the simulated API server, which now answers a too-old
resourceVersion as the real one does (docs/flux-facts.md §14)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from flux_sandbox.sim.resources import by_kind
from runbook_lib import kube
from runbook_lib.cluster import connect
from runbook_lib.reconcile.actions import reconcile
from runbook_lib.report import RecordingReporter

pytestmark = pytest.mark.sandbox


def test_reconcile_recovers_when_its_watch_expires(
    make_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watch starts from the object's resourceVersion after the reconcile request. With a watch
    window of 0 s and one more HelmRelease change before the watch starts, that version is too old:
    the server sends the 410 ERROR event, ``kube.watch`` raises WatchExpired, and ``reconcile`` reads
    the object again and goes on from there (watching again unless the object is already done)."""
    sb = make_sandbox("healthy")
    cluster = connect(str(sb.kubeconfig))
    sb.store.watch_window = 0.0
    real_watch = kube.watch
    expired: list[str] = []
    calls: list[int] = []

    def watch_after_a_change(*args: Any, **kwargs: Any) -> Generator[dict[str, Any]]:
        if not calls:  # make the request's resourceVersion too old before the first watch starts
            hr = by_kind("HelmRelease")
            sb.store.patch(hr, "kube-system", "kite", {"metadata": {"labels": {"touched": "yes"}}})
        calls.append(1)
        try:
            yield from real_watch(*args, **kwargs)
        except kube.WatchExpired as exc:
            expired.append(str(exc))
            raise

    monkeypatch.setattr(kube, "watch", watch_after_a_change)
    result = reconcile(
        "hr", "kite", namespace="kube-system", timeout="30s", client=cluster, reporter=RecordingReporter()
    )
    assert result.ok
    assert expired == ["Die Beobachtung von HelmRelease kube-system/kite ist abgelaufen (410)."]
