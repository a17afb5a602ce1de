"""The pure parts of ``watch``: event lines, the summary, Alerts' coverage, and the live terminal echo."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from runbook_lib.events import EventRow
from runbook_lib.notify import covers, interpret
from runbook_lib.terminal import LiveEcho, terminal_text
from runbook_lib.watch import Seen, WatchResult

AT = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)


def seen(kind: str, reason: str, message: str, type_: str = "Normal", count: int = 1) -> Seen:
    return Seen(AT, EventRow("kube-system", type_, reason, f"{kind}/kite", message, count=count))


def test_event_lines_mark_warnings_and_mask_secrets() -> None:
    line = seen(
        "HelmRelease", "UpgradeFailed", "pull https://user:geheim@host/x\nzweite Zeile", "Warning", 3
    ).line()
    assert line.startswith("12:00:05 ⚠ HelmRelease kube-system/kite  UpgradeFailed (×3): ")
    assert "geheim" not in line and "\n" not in line
    assert (
        seen("Kustomization", "ReconciliationSucceeded", "ok").line().startswith("12:00:05 ℹ Kustomization")
    )


def test_summary_names_what_reconciled_failed_and_still_runs() -> None:
    result = WatchResult(
        selection="Flux-Objekte",
        started=AT,
        duration=timedelta(seconds=30),
        events=(
            seen("HelmRelease", "UpgradeFailed", "boom", "Warning"),
            seen("Kustomization", "Progressing", "x"),
        ),
        reconciled=("Kustomization flux-system/apps",),
        failed=(("HelmRelease kube-system/kite", "Helm upgrade failed"),),
        progressing=(("GitRepository flux-system/flux-system", ""),),
    )
    text = str(result)
    assert text.splitlines()[0] == (
        "✗ Flux-Objekte 30s lang beobachtet (12:00:05–12:00:35 UTC): 2 Ereignisse, 1 Warnung"
    )
    assert "✔ Abgeglichen:     Kustomization flux-system/apps" in text
    assert "✗ Fehlgeschlagen:  HelmRelease kube-system/kite: Helm upgrade failed" in text
    assert "⚠ Noch in Arbeit:  GitRepository flux-system/flux-system" in text
    assert result._repr_html_().count('class="failing"') == 1
    quiet = WatchResult("Flux-Objekte", AT, timedelta(seconds=10), (), (), (), ())
    assert str(quiet).startswith("✔ ") and "Keine Abgleiche" in str(quiet)


ALERT = {
    "metadata": {"name": "team", "namespace": "flux-system"},
    "spec": {
        "providerRef": {"name": "slack"},
        "eventSeverity": "error",
        "eventSources": [
            {"kind": "Kustomization", "name": "*"},
            {"kind": "HelmRelease", "name": "kite", "namespace": "kube-system"},
            {"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}},
        ],
    },
}
PROVIDER = {"metadata": {"name": "slack", "namespace": "flux-system"}, "spec": {"type": "slack"}}


def obj(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}}


def test_alert_sources_cover_by_kind_name_namespace_and_labels() -> None:
    assert covers(ALERT, "Kustomization", "flux-system", "apps", {})
    assert not covers(ALERT, "Kustomization", "other", "apps", {})  # namespace defaults to the Alert's
    assert covers(ALERT, "HelmRelease", "kube-system", "kite", {})
    assert not covers(ALERT, "HelmRelease", "kube-system", "grafana", {})
    assert covers(ALERT, "GitRepository", "flux-system", "x", {"team": "a"})
    assert not covers(ALERT, "GitRepository", "flux-system", "x", {"team": "b"})


def test_notifications_say_who_is_told_and_who_is_not() -> None:
    objects = [
        ("Kustomization", obj("apps", "flux-system")),
        ("HelmRelease", obj("kite", "kube-system")),
        ("HelmRelease", obj("grafana", "monitoring")),
    ]
    result = interpret([ALERT], [PROVIDER], objects)
    assert result.headline == "⚠ 1 Alert an 1 Provider: 2 von 3 Flux-Objekten abgedeckt."
    assert "Nicht abgedeckt: HelmRelease monitoring/grafana" in str(result)
    assert "nur Fehler" in str(result) and "slack slack" in str(result)
    missing = interpret(None, None, objects)
    assert not missing.installed and "nicht installiert" in missing.headline
    assert interpret([], [PROVIDER], objects).headline.startswith("⚠ Keine Alerts (1 Provider)")
    suspended = {**ALERT, "spec": {**ALERT["spec"], "suspend": True}}
    assert interpret([suspended], [PROVIDER], objects).covered == 0


def test_live_echo_writes_whole_lines_and_terminal_text_leaves_them_out() -> None:
    out = io.StringIO()
    echo = LiveEcho(out, color=False)
    echo.write("► Beobachte")
    assert out.getvalue() == ""
    echo.write(" …\n12:00:05 ⚠ HelmRelease\n")
    assert out.getvalue() == "► Beobachte …\n12:00:05 ⚠ HelmRelease\n"
    cell = {
        "cell_type": "code",
        "metadata": {"tags": ["terminal", "live"]},
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "12:00:05 ⚠ HelmRelease\n"},
            {"output_type": "execute_result", "data": {"text/plain": "✔ Zusammenfassung"}},
        ],
    }
    nb = {"cells": [cell]}
    assert terminal_text(nb) == "12:00:05 ⚠ HelmRelease\n✔ Zusammenfassung"
    assert terminal_text(nb, shown_live=True) == "✔ Zusammenfassung"


def test_smoke_leaves_out_the_runbook_that_only_waits() -> None:
    from runbook_lib.smoke import select

    names = {b.name for b in select([])}
    assert {"status", "trace", "fleet"} <= names
    assert "watch" not in names
    assert [b.name for b in select(["watch"])] == ["watch"]  # asked for by name, it runs
