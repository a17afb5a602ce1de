"""The library on objects shaped as the real controllers write them (docs/flux-facts.md §13, §14)."""

from __future__ import annotations

from typing import Any

from runbook_lib.diagnose.common import event_text
from runbook_lib.diagnose.rules.helmrelease import helmrelease_findings
from runbook_lib.diagnose.rules.workload import pod_findings
from runbook_lib.events import interpret as interpret_events
from runbook_lib.reconcile.rules import Progress, blocked_by, progress
from runbook_lib.status import interpret, summarize

Obj = dict[str, Any]


def cond(type_: str, status: str, reason: str, message: str = "") -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def hr(*conditions: Obj, generation: int = 2) -> Obj:
    return {
        "kind": "HelmRelease",
        "metadata": {"name": "kite", "namespace": "kube-system", "generation": generation},
        "spec": {"upgrade": {"remediation": {"retries": 2, "strategy": "rollback"}}},
        "status": {"observedGeneration": generation, "conditions": list(conditions), "upgradeFailures": 3},
    }


STALLED = cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)")


def test_stalled_counts_as_failing_whatever_ready_says() -> None:
    unknown = hr(cond("Ready", "Unknown", "Progressing", "Fulfilling prerequisites"), STALLED)
    status = interpret(unknown)
    assert status.state == "failing"
    assert status.message == "Failed to upgrade after 3 attempt(s)"
    assert status.reason == "RetriesExceeded"
    summary = summarize([status])
    assert not summary.ok
    # Ready=False keeps its own message
    failed = interpret(hr(cond("Ready", "False", "RollbackSucceeded", "Helm rollback … succeeded"), STALLED))
    assert (failed.state, failed.reason) == ("failing", "RollbackSucceeded")


def event(name: str, rv: str, reason: str, when: str = "2026-12-01T03:00:00Z") -> Obj:
    return {
        "metadata": {"name": name, "namespace": "kube-system", "resourceVersion": rv},
        "involvedObject": {"kind": "HelmRelease", "name": "kite", "namespace": "kube-system"},
        "type": "Normal",
        "reason": reason,
        "message": reason,
        "lastTimestamp": when,
        "eventTime": None,
    }


def test_events_of_one_second_without_event_time_keep_the_write_order() -> None:
    rows = interpret_events(
        [
            event("b", "1200", "RollbackSucceeded"),
            event("a", "987", "UpgradeFailed"),
            event("c", "x", "First"),
        ]
    )
    assert [r.reason for r in rows] == ["First", "UpgradeFailed", "RollbackSucceeded"]


def test_a_wait_for_a_stalled_chart_fails_at_once() -> None:
    release = hr(
        cond("Ready", "False", "SourceNotReady", "HelmChart 'flux-system/kube-system-kite' is not ready")
    )
    release["status"]["lastHandledReconcileAt"] = "t1"
    waiting = progress(release, "t1")
    assert (waiting.state, waiting.reason) == ("progressing", "SourceNotReady")
    chart = {
        "status": {"conditions": [cond("Stalled", "True", "InvalidChartReference", "no 'kite' chart 0.6.9")]}
    }
    failed = blocked_by(waiting, chart, "HelmChart flux-system/kube-system-kite")
    assert failed.state == "failed" and failed.reason == "InvalidChartReference"
    assert failed.message == "HelmChart flux-system/kube-system-kite hängt (Stalled): no 'kite' chart 0.6.9"
    # a chart that is still working, or a wait for a dependency, stays a wait
    assert blocked_by(waiting, {"status": {"conditions": []}}, "x") == waiting
    dependency = Progress("progressing", "wartet", "DependencyNotReady")
    assert blocked_by(dependency, chart, "x") == dependency


def pod(name: str, image: str, *, terminating: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "kube-system"}
    if terminating:
        meta["deletionTimestamp"] = "2026-12-01T03:00:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "kite", "image": image}]},
        "status": {
            "containerStatuses": [
                {
                    "name": "kite",
                    "image": image,
                    "ready": False,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
                }
            ]
        },
    }


def test_terminating_pods_are_no_current_failure_but_explain_the_rolled_back_upgrade() -> None:
    leaving = pod("kite-5d9f-abcde", "ghcr.io/zxh326/kite:v0.7.0", terminating=True)
    assert pod_findings([leaving]) == []
    assert [f.title for f in pod_findings([pod("kite-1", "ghcr.io/zxh326/kite:v0.7.0")])] == [
        "Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0"
    ]
    release = hr(
        cond(
            "Ready",
            "False",
            "RollbackSucceeded",
            "Helm rollback to previous release kube-system/kite.v5 succeeded",
        ),
        cond(
            "Released", "False", "UpgradeFailed", "Helm upgrade failed: timeout waiting for: [Deployment/…]"
        ),
        cond("Remediated", "True", "RollbackSucceeded", "Helm rollback … succeeded"),
        STALLED,
    )
    findings = helmrelease_findings(release, pods=[leaving])
    top = findings[0]
    assert top.title == "Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt"
    assert "Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0" in top.cause
    assert "(Pod wird gerade entfernt)" in top.evidence
    assert not any(f.title.startswith("Image nicht ladbar") for f in findings)


def test_helm_log_tail_of_an_event_on_one_line() -> None:
    message = (
        "Helm upgrade failed for release kube-system/kite with chart kite@0.6.3: timeout waiting for: x"
        "\n\nLast Helm logs:\n\nlevel=INFO msg=a\nlevel=INFO msg=b\n\nlevel=WARN msg=c\nlevel=ERROR msg=d\n"
    )
    text = event_text({"type": "Warning", "reason": "UpgradeFailed", "message": message})
    assert "\n" not in text
    assert text.endswith(
        "timeout waiting for: x (letzte Helm-Logs: level=INFO msg=b | level=WARN msg=c | level=ERROR msg=d)"
    )
    plain = event_text({"type": "Normal", "reason": "X", "message": "fine"})
    assert plain == "Normal X: fine"
