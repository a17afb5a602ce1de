"""The pure parts of ``fleet``: the oldest failing object, short reasons, the table and the CI check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook_lib.errors import RunbookError, unreachable
from runbook_lib.fleet import (
    FAILING_ROW,
    HEALTHY,
    TIMED_OUT,
    UNREACHABLE,
    ClusterRow,
    Fleet,
    oldest,
    reason,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_oldest_failing_object_by_its_ready_transition() -> None:
    failing = [
        ("Kustomization flux-system/apps", "2026-12-01T11:50:00Z"),
        ("HelmRelease kube-system/kite", "2026-12-01T10:00:00Z"),
        ("GitRepository flux-system/x", ""),
    ]
    assert oldest(failing, NOW) == "HelmRelease kube-system/kite (seit 2 Std.)"
    assert oldest([("GitRepository flux-system/x", "")], NOW) == "GitRepository flux-system/x"
    assert oldest([], NOW) == ""


def test_reason_keeps_only_the_cause_of_an_unreachable_cluster() -> None:
    exc = unreachable("Kontext 'stage' (http://127.0.0.1:1)", "Verbindung abgelehnt, nach 4 Versuchen")
    assert reason(exc) == "Verbindung abgelehnt, nach 4 Versuchen"
    assert (
        reason(RunbookError("Keine Berechtigung für die Flux-CRDs."))
        == "Keine Berechtigung für die Flux-CRDs."
    )


KITE = "HelmRelease kube-system/kite (seit 5 Minuten)"
ROWS = (
    ClusterRow("prod", "https://prod", HEALTHY, flux="v2.7.0",
               counts={"ready": 10, "failing": 0, "suspended": 1}, revision="main@sha1:aaaaaaaa"),
    ClusterRow("dev", "https://dev", FAILING_ROW, flux="v2.7.0",
               counts={"ready": 9, "failing": 1, "suspended": 0}, revision="main@sha1:b",
               oldest_failing=KITE),
    ClusterRow("stage", "https://stage", UNREACHABLE, detail="Verbindung abgelehnt"),
    ClusterRow("edge", "https://edge", TIMED_OUT, detail="keine Antwort innerhalb von 10s"),
)  # fmt: skip


def test_table_one_row_per_cluster_in_order() -> None:
    text = str(Fleet(rows=ROWS, deadline="10s", seconds=10.02))
    lines = text.splitlines()
    assert lines[0] == "✗ 4 Cluster in 10,02 s gelesen (Frist je Cluster 10s): 1 gesund, 3 mit Problemen"
    body = [line.split()[0] for line in lines[3:]]
    assert body == ["prod", "dev", "stage", "edge"]
    assert "HelmRelease kube-system/kite (seit 5 Minuten)" in lines[4]
    assert "✗ nicht erreichbar" in lines[5] and "Verbindung abgelehnt" in lines[5]
    assert "✗ keine Antwort" in lines[6]
    html = Fleet(rows=ROWS, deadline="10s", seconds=1.0)._repr_html_()
    assert html.count('class="failing"') == 3


def test_check_fails_for_ci_unless_every_cluster_is_healthy() -> None:
    with pytest.raises(RunbookError, match=r"3 Cluster sind nicht gesund: dev \(Fehler\), stage"):
        Fleet(rows=ROWS, deadline="10s", seconds=1.0).check()
    healthy = Fleet(rows=ROWS[:1], deadline="10s", seconds=1.0)
    assert healthy.check() is healthy
    assert [v.outcome for v in Fleet(rows=ROWS, deadline="10s", seconds=1.0).verdicts()] == [
        "ok",
        "error",
        "error",
        "error",
    ]
