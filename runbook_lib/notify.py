"""Would anyone be told? notification-controller's Alerts and Providers, and which Flux objects they cover.

An Alert (``notification.toolkit.fluxcd.io/v1beta3``) sends the events of its ``spec.eventSources``
(kind, name or ``*``, namespace defaulting to the Alert's; ``matchLabels``) at ``spec.eventSeverity``
(``info``: everything, ``error``: only errors) to the Provider ``spec.providerRef`` (same namespace).
Neither kind has a status (docs/flux-facts.md). Without the CRDs (no notification-controller, as on the
real sandbox engine) nobody is told, and the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.kinds import by_kind
from runbook_lib.kube import list_objects
from runbook_lib.objects import meta, spec
from runbook_lib.report import Rendered, color_style, html_table, plural, text_table

#: the kinds whose events matter for "would anyone be told": the ones a team changes and waits for
WATCHED_KINDS = ("Kustomization", "HelmRelease", "GitRepository", "OCIRepository", "HelmRepository", "Bucket")
HEADERS = ["ALERT", "PROVIDER", "SCHWERE", "QUELLEN", "AUSGESETZT"]
#: uncovered objects named at most in the text
MAX_NAMED = 8


@dataclass(frozen=True)
class AlertRow:
    name: str  # namespace/name
    provider: str  # "slack team-chat" / "fehlt"
    severity: str
    sources: str
    suspended: bool


@dataclass(frozen=True)
class Notifications(Rendered):
    """Alerts and Providers, and the Flux objects no Alert covers."""

    installed: bool
    alerts: tuple[AlertRow, ...] = ()
    providers: int = 0
    covered: int = 0
    uncovered: tuple[str, ...] = ()
    error_only: bool = False

    @property
    def headline(self) -> str:
        if not self.installed:
            return (
                "⚠ notification-controller ist nicht installiert (keine Alert- und Provider-CRDs): "
                "bei einem Fehler benachrichtigt Flux niemanden."
            )
        if not self.alerts:
            providers = plural(self.providers, "Provider", "Provider")
            return f"⚠ Keine Alerts ({providers}): Flux benachrichtigt niemanden."
        total = self.covered + len(self.uncovered)
        mark = "✔" if not self.uncovered else "⚠"
        return (
            f"{mark} {plural(len(self.alerts), 'Alert', 'Alerts')} an "
            f"{plural(self.providers, 'Provider', 'Provider')}: {self.covered} von {total} Flux-Objekten "
            "abgedeckt."
        )

    def _rows(self) -> list[list[str]]:
        return [
            [a.name, a.provider, a.severity, a.sources, "ja" if a.suspended else "nein"] for a in self.alerts
        ]

    def _uncovered_text(self) -> str:
        named = ", ".join(self.uncovered[:MAX_NAMED]) + (" …" if len(self.uncovered) > MAX_NAMED else "")
        return f"Nicht abgedeckt: {named}" if self.uncovered else ""

    def __str__(self) -> str:
        lines = [self.headline]
        if self.alerts:
            lines += ["", text_table(HEADERS, self._rows())]
        if self.uncovered and self.alerts:
            lines.append(f"⚠ {self._uncovered_text()}")
        if self.error_only:
            lines.append(
                "ℹ Alle Alerts melden nur Fehler (eventSeverity: error), keine erfolgreichen Abgleiche."
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        tone = "success" if self.installed and self.alerts and not self.uncovered else "warning"
        parts = [f'<p><b style="{color_style(tone)}">{escape(self.headline)}</b></p>']
        if self.alerts:
            parts.append(html_table(HEADERS, self._rows()))
        if self.uncovered and self.alerts:
            parts.append(f"<p>{escape(self._uncovered_text())}</p>")
        if self.error_only:
            parts.append("<p>Alle Alerts melden nur Fehler (<code>eventSeverity: error</code>).</p>")
        return "".join(parts)


def _source_text(source: Mapping[str, Any]) -> str:
    where = f"{source.get('namespace')}/" if source.get("namespace") else ""
    labels = source.get("matchLabels")
    name = f"{source.get('name')}" + (f" ({labels})" if labels else "")
    return f"{source.get('kind')}/{where}{name}"


def covers(alert: Mapping[str, Any], kind: str, namespace: str, name: str, labels: Mapping[str, str]) -> bool:
    """Whether the Alert's ``eventSources`` include the object (pure; notification-controller's rule:
    same kind, namespace defaulting to the Alert's, name equal or ``*`` with matching ``matchLabels``)."""
    alert_ns = meta(alert).get("namespace")
    for source in spec(alert).get("eventSources") or []:
        if source.get("kind") != kind or (source.get("namespace") or alert_ns) != namespace:
            continue
        wanted = source.get("matchLabels") or {}
        if source.get("name") == "*" and all(labels.get(k) == v for k, v in wanted.items()):
            return True
        if source.get("name") == name:
            return True
    return False


def interpret(
    alerts: Sequence[Mapping[str, Any]] | None,
    providers: Sequence[Mapping[str, Any]] | None,
    objects: Sequence[tuple[str, Mapping[str, Any]]],
) -> Notifications:
    """``Notifications`` from the listed objects (pure); ``None`` lists: the CRD is missing."""
    if alerts is None or providers is None:
        return Notifications(installed=False)
    by_name = {(meta(p).get("namespace"), meta(p).get("name")): p for p in providers}
    rows = []
    for alert in alerts:
        m = meta(alert)
        ref = spec(alert).get("providerRef") or {}
        provider = by_name.get((m.get("namespace"), ref.get("name")))
        shown = (
            f"{spec(provider).get('type')} {ref.get('name')}" if provider else f"{ref.get('name')} (fehlt)"
        )
        rows.append(
            AlertRow(
                name=f"{m.get('namespace')}/{m.get('name')}",
                provider=shown,
                severity=str(spec(alert).get("eventSeverity") or "info"),
                sources=", ".join(_source_text(s) for s in spec(alert).get("eventSources") or []) or "–",
                suspended=bool(spec(alert).get("suspend")),
            )
        )
    active = [a for a in alerts if not spec(a).get("suspend")]
    covered, uncovered = 0, []
    for kind, obj in objects:
        m = meta(obj)
        args = (kind, str(m.get("namespace")), str(m.get("name")), m.get("labels") or {})
        if any(covers(a, *args) for a in active):
            covered += 1
        else:
            uncovered.append(f"{kind} {m.get('namespace')}/{m.get('name')}")
    error_only = bool(active) and all(str(spec(a).get("eventSeverity") or "info") == "error" for a in active)
    return Notifications(True, tuple(rows), len(providers), covered, tuple(uncovered), error_only)


def notifications(*, client: Cluster | None = None) -> Notifications:
    """``flux get alerts -A`` and ``flux get alert-providers -A``, and which Flux objects no Alert covers."""
    cluster = default_cluster(client)
    alerts = list_objects(cluster, by_kind("Alert"))
    providers = list_objects(cluster, by_kind("Provider"))
    objects: list[tuple[str, Mapping[str, Any]]] = []
    if alerts is not None:
        for kind in WATCHED_KINDS:
            objects += [(kind, o) for o in list_objects(cluster, by_kind(kind)) or []]
    return interpret(alerts, providers, objects)
