"""The diagnosis model and shared helpers: findings, evidence tables, error slots, evidence lines."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from diagnose_fixtures import (
    cond,
    titles,
)

from runbook_lib.diagnose import INFO, WARNING, Diagnosis, Finding, common
from runbook_lib.diagnose.common import Slot, attempt
from runbook_lib.diagnose.model import Evidence, evidence
from runbook_lib.durations import whole_seconds
from runbook_lib.errors import ClusterUnreachable, NotFound, RunbookError, UsageError
from runbook_lib.kube import not_found
from runbook_lib.logs.parse import LogLine
from runbook_lib.report import dedupe


def test_diagnosis_renders_text_and_escaped_html() -> None:
    finding = Finding(
        severity=WARNING,
        title="A <b>",
        cause="Ursache",
        evidence="Zeile 1\nZeile 2",
        next_step="tun",
        command="kubectl get x",
        subject="Obj ns/n",
    )
    result = Diagnosis(
        "Titel", (Finding(severity=INFO, title="Hinweis", cause="c", evidence="e", next_step="n"), finding)
    )
    assert titles(result.findings) == ["A <b>", "Hinweis"]
    text = str(result)
    assert "⚠ Warnung: A <b> (Obj ns/n)" in text and "                    Zeile 2" in text
    assert "A &lt;b&gt;" in result._repr_html_() and "<b>A" not in result._repr_html_()
    assert "Keine Probleme gefunden" in Diagnosis("T")._repr_html_()
    summary = result.summary()
    assert summary.headline() == "⚠ Titel: 1 Warnung"
    assert summary.rows()[0][:4] == ["1", "Warnung", "Obj ns/n", "A <b>"]


def test_evidence_renders_rows_and_error_slot() -> None:
    table = evidence("Cap", ("A", "B"), [(1, "x")], command="kubectl get x", marks=["failing"])
    assert isinstance(table, Evidence) and table.rows == (("1", "x"),)
    assert "failing" in table._repr_html_() and "$ kubectl get x" in str(table)
    broken = evidence("Cap", ("A",), [], error="nein")
    assert "Nicht lesbar: nein" in broken._repr_html_()


def test_attempt_fills_the_slot_but_lets_unreachable_and_usage_errors_through() -> None:
    def fail(exc: Exception) -> Any:
        raise exc

    assert attempt(lambda: 3) == Slot(3)
    assert attempt(lambda: fail(RunbookError("kaputt"))) == Slot(error="kaputt")
    with pytest.raises(ClusterUnreachable):
        attempt(lambda: fail(ClusterUnreachable("weg")))
    with pytest.raises(UsageError):
        attempt(lambda: fail(UsageError("falsch")))


def test_not_found_names_the_closest_names() -> None:
    err = not_found(
        "HelmRelease",
        "kitte",
        "kube-system",
        ["kube-system/kite", "cert-manager/cert-manager"],
        "flux get helmreleases -A",
    )
    assert isinstance(err, NotFound)
    assert err.message == "HelmRelease kube-system/kitte wurde nicht gefunden."
    assert err.hint is not None and err.hint.startswith("Meinten Sie: kube-system/kite?")
    assert "`flux get helmreleases -A`" in err.hint


def test_log_lines_drop_the_repeated_error_and_show_whole_seconds() -> None:
    line = LogLine(
        ts="2026-11-26T00:52:37.313518000Z",
        level="error",
        controller="helm-controller",
        kind="HelmRelease",
        name="kite",
        namespace="kube-system",
        msg="Helm upgrade failed for release kube-system/kite: context deadline exceeded",
        error="context deadline exceeded",
    )
    assert common.log_line_text(line) == (
        "2026-11-26T00:52:37Z error Helm upgrade failed for release kube-system/kite: "
        "context deadline exceeded"
    )
    assert common.log_line_text(line, precise=True).startswith("2026-11-26T00:52:37.313518000Z error")
    joined = dataclasses.replace(line, msg="Reconciler error", error="timeout: timeout")
    assert common.log_line_text(joined).endswith("error Reconciler error: timeout")
    assert dedupe("a: b: c: b: c") == "a: b: c"
    assert dedupe("x: y") == "x: y"
    assert whole_seconds("00:52:37.313518000Z und 01:00:00,5Z") == "00:52:37Z und 01:00:00Z"
    ready = cond(
        "Ready",
        "False",
        "UpgradeFailed",
        "upgrade failed: context deadline exceeded: context deadline exceeded",
    )
    assert common.cond_text(ready).endswith("upgrade failed: context deadline exceeded")
