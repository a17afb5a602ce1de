"""Events: related objects as `flux events --for` finds them, LAST SEEN, sorting (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from runbook_lib.events import EventResult, interpret, related_refs, to_row
from runbook_lib.kinds import ObjectRef, by_kind

NOW = datetime(2024, 5, 1, 12, 10, tzinfo=UTC)


def ref(kind: str, name: str, namespace: str) -> ObjectRef:
    return ObjectRef(by_kind(kind), name, namespace)


def test_helmrelease_refs_are_its_source_and_helmchart() -> None:
    hr = {
        "metadata": {"name": "kite"},
        "spec": {
            "chart": {
                "spec": {"sourceRef": {"kind": "HelmRepository", "name": "kite", "namespace": "flux-system"}}
            }
        },
    }
    assert related_refs("HelmRelease", hr, "kube-system") == [
        ref("HelmRepository", "kite", "flux-system"),
        ref("HelmChart", "kube-system-kite", "flux-system"),
    ]


def test_kustomization_and_alert_refs_default_to_own_namespace() -> None:
    ks = {
        "metadata": {"name": "apps"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }
    assert related_refs("Kustomization", ks, "flux-system") == [
        ref("GitRepository", "flux-system", "flux-system")
    ]
    alert = {"metadata": {"name": "a"}, "spec": {"providerRef": {"name": "slack"}}}
    assert related_refs("Alert", alert, "team") == [ref("Provider", "slack", "team")]
    assert related_refs("GitRepository", {"spec": {}}, "x") == []


def test_last_seen_like_flux() -> None:
    once = to_row(
        {
            "type": "Normal",
            "involvedObject": {"kind": "HelmRelease", "name": "kite"},
            "firstTimestamp": "2024-05-01T12:09:55Z",
            "lastTimestamp": "2024-05-01T12:09:55Z",
        }
    )
    assert once.last_seen(NOW) == "5s"
    repeated = to_row(
        {
            "type": "Warning",
            "count": 4,
            "involvedObject": {"kind": "HelmRelease", "name": "kite"},
            "firstTimestamp": "2024-05-01T11:00:00Z",
            "lastTimestamp": "2024-05-01T12:07:00Z",
        }
    )
    assert repeated.last_seen(NOW) == "3m (x4 over 70m)"
    assert to_row({"involvedObject": {}}).last_seen(NOW) == "<unknown>"


def test_interpret_drops_non_flux_kinds_and_sorts_by_last_time() -> None:
    def ev(kind: str, last: str) -> dict:
        return {"involvedObject": {"kind": kind, "name": "n"}, "lastTimestamp": last, "type": "Normal"}

    rows = interpret(
        [
            ev("HelmRelease", "2024-05-01T12:05:00Z"),
            ev("Pod", "2024-05-01T12:00:00Z"),
            ev("HelmChart", "2024-05-01T12:01:00Z"),
        ]
    )
    assert [r.object for r in rows] == ["HelmChart/n", "HelmRelease/n"]


def test_empty_result_and_note_in_german() -> None:
    assert str(EventResult("HelmRelease kube-system/kite", "kube-system", (), NOW)) == (
        "ℹ Keine Events zu HelmRelease kube-system/kite gefunden (Namespace kube-system)."
    )
    noted = EventResult("-", "", (), NOW, note="kind angeben")
    assert str(noted) == "⚠ kind angeben" and "kind angeben" in noted._repr_html_()


def test_events_of_the_same_second_keep_their_order_by_event_time() -> None:
    def event(name: str, micro: str) -> dict:
        return {
            "involvedObject": {"kind": "HelmRelease", "name": name, "namespace": "kube-system"},
            "type": "Normal",
            "reason": "x",
            "message": name,
            "lastTimestamp": "2024-05-01T12:00:00Z",
            "eventTime": f"2024-05-01T12:00:00.{micro}Z",
        }

    rows = interpret([event("second", "500000"), event("first", "100000")])
    assert [r.message for r in rows] == ["first", "second"]
