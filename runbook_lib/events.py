"""Events of a Flux object and of its source, as ``flux events --for Kind/name`` shows them.

docs/flux-facts.md §7: list core/v1 Events with the field selectors ``involvedObject.kind`` and
``involvedObject.name`` in the object's namespace, plus the events of the related object (a
Kustomization's ``spec.sourceRef``; a HelmRelease's ``spec.chart.spec.sourceRef`` and its HelmChart
``<ns>-<name>``; an Alert's Provider; a HelmChart's source) in that object's namespace. Events about
kinds that are not Flux kinds are dropped; the rest is sorted by the time last seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from types import EllipsisType

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import human_duration, parse_time
from runbook_lib.errors import Forbidden
from runbook_lib.kinds import ALL_KINDS, ObjectRef, resolve
from runbook_lib.kube import api_get, require_object
from runbook_lib.masking import mask
from runbook_lib.names import check_name, check_namespace
from runbook_lib.report import Rendered, html_table, text_table
from runbook_lib.settings import settings

#: the kinds `flux events` keeps (cmd/flux/events.go), ArtifactGenerator since 2.7
FLUX_EVENT_KINDS = frozenset(
    {
        "Kustomization",
        "HelmRelease",
        "Alert",
        "Receiver",
        "Provider",
        "ImagePolicy",
        "HelmChart",
        "GitRepository",
        "OCIRepository",
        "Bucket",
        "HelmRepository",
        "ImageUpdateAutomation",
        "ImageRepository",
        "ArtifactGenerator",
    }
)
#: page size of the LIST, as the flux CLI uses
PAGE = 500
#: the kinds a related object can be looked up as (an unknown kind has no events ``flux events`` keeps)
_KINDS = {k.kind: k for k in ALL_KINDS}


@dataclass(frozen=True)
class EventRow:
    """One core/v1 Event, reduced to what ``flux events`` shows."""

    namespace: str
    type: str
    reason: str
    object: str
    message: str
    count: int = 1
    event_time: datetime | None = None
    first: datetime | None = None
    last: datetime | None = None
    series_last: datetime | None = None
    series_count: int = 0
    #: metadata.resourceVersion as a number (0 when it is not one): the order in which the API server
    #: stored the events' last writes, for events of the same second without eventTime
    write_order: int = 0

    @property
    def sort_time(self) -> datetime:
        """``series.lastObservedTime``, else ``lastTimestamp``, else ``eventTime`` (flux's order)."""
        return self.series_last or self.last or self.event_time or datetime.min.replace(tzinfo=UTC)

    def last_seen(self, now: datetime) -> str:
        """flux's LAST SEEN: age since eventTime (or firstTimestamp), with ``(xN over …)`` for repeats."""
        start = self.event_time or self.first
        first = human_duration(now - start) if start else "<unknown>"
        if self.series_count:
            seen = human_duration(now - self.series_last) if self.series_last else "<unknown>"
            return f"{seen} (x{self.series_count} over {first})"
        if self.count > 1:
            seen = human_duration(now - self.last) if self.last else "<unknown>"
            return f"{seen} (x{self.count} over {first})"
        return first


def related_refs(kind: str, obj: dict, namespace: str) -> list[ObjectRef]:
    """The objects whose events ``flux events --for`` shows next to ``obj`` (pure)."""
    spec = obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name", "")

    def ref(r: dict, default_kind: str = "") -> ObjectRef | None:
        found = _KINDS.get(r.get("kind") or default_kind)
        if found is None or not r.get("name"):
            return None
        return ObjectRef(found, r["name"], r.get("namespace") or namespace)

    refs: list[ObjectRef | None] = []
    if kind in ("Kustomization", "HelmChart"):
        refs.append(ref(spec.get("sourceRef") or {}))
    elif kind == "HelmRelease":
        source = ref(((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {})
        if source:
            refs += [source, ObjectRef(_KINDS["HelmChart"], f"{namespace}-{name}", source.namespace)]
        refs.append(ref(spec.get("chartRef") or {}))
    elif kind == "Alert":
        refs.append(ref(spec.get("providerRef") or {}, "Provider"))
    return [r for r in refs if r is not None]


def to_row(event: dict) -> EventRow:
    """Interpret one Event dict (pure)."""
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    return EventRow(
        namespace=(event.get("metadata") or {}).get("namespace") or involved.get("namespace") or "",
        type=event.get("type") or "",
        reason=event.get("reason") or "",
        object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
        message=(event.get("message") or "").strip(),
        count=int(event.get("count") or 1),
        event_time=parse_time(event.get("eventTime") or ""),
        first=parse_time(event.get("firstTimestamp") or ""),
        last=parse_time(event.get("lastTimestamp") or ""),
        series_last=parse_time(series.get("lastObservedTime") or ""),
        series_count=int(series.get("count") or 0),
        write_order=_write_order((event.get("metadata") or {}).get("resourceVersion")),
    )


def _write_order(resource_version: object) -> int:
    text = str(resource_version or "")
    return int(text) if text.isdigit() else 0


def interpret(events: list[dict]) -> tuple[EventRow, ...]:
    """Flux kinds only, sorted by time (pure)."""
    rows = [to_row(e) for e in events if (e.get("involvedObject") or {}).get("kind") in FLUX_EVENT_KINDS]
    # flux sorts by the second-precision timestamps. Events of the same second keep the order in which
    # they happened: by eventTime (microseconds) where a recorder sets it, else by the order the API
    # server stored them (resourceVersion): client-go's recorder, which Flux uses, leaves eventTime
    # null (docs/flux-facts.md §14)
    earliest = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(rows, key=lambda r: (r.sort_time, r.event_time or earliest, r.write_order)))


@dataclass(frozen=True)
class EventResult(Rendered):
    """Events of one object and its source; Warning rows stand out."""

    subject: str
    namespace: str
    rows: tuple[EventRow, ...]
    now: datetime
    #: German explanation shown instead of the table when no object was asked for
    note: str = ""

    @property
    def warnings(self) -> tuple[EventRow, ...]:
        return tuple(r for r in self.rows if r.type == "Warning")

    @property
    def show_namespace(self) -> bool:
        return any(r.namespace != self.namespace for r in self.rows)

    def _cells(self) -> list[list[str]]:
        return [
            ([r.namespace] if self.show_namespace else [])
            + [r.last_seen(self.now), r.type, r.reason, r.object, mask(r.message)]
            for r in self.rows
        ]

    def __str__(self) -> str:
        if self.note:
            return f"⚠ {self.note}"
        if not self.rows:
            return f"ℹ Keine Events zu {self.subject} gefunden (Namespace {self.namespace})."
        headers = (["NAMESPACE"] if self.show_namespace else []) + [
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "MESSAGE",
        ]
        return text_table(headers, self._cells())

    def _repr_html_(self) -> str:
        summary = (
            f"<p><b>Events zu {escape(self.subject)}</b> — {len(self.rows)} Events, "
            f"davon {len(self.warnings)} Warning</p>"
        )
        if self.note:
            return f"<p>⚠ {escape(self.note)}</p>"
        if not self.rows:
            none = f"ℹ Keine Events zu {self.subject} gefunden (Namespace {self.namespace})."
            return f"{summary}<p>{escape(none)}</p>"
        headers = (["Namespace"] if self.show_namespace else []) + [
            "Zuletzt",
            "Typ",
            "Grund",
            "Objekt",
            "Meldung",
        ]
        classes = ["failing" if r.type == "Warning" else "" for r in self.rows]
        return summary + html_table(headers, self._cells(), row_classes=classes)


def list_events(cluster: Cluster, ref: ObjectRef) -> list[dict]:
    """Every core/v1 Event whose involvedObject is ``ref`` (paginated as flux does, raw dicts)."""
    selector = f"involvedObject.kind={ref.kind.kind},involvedObject.name={ref.name}"
    items: list[dict] = []
    token = None
    while True:
        # a plain GET: the generated CoreV1Api module alone takes a quarter second to import (issue 15)
        page = api_get(
            cluster,
            f"/api/v1/namespaces/{ref.namespace}/events",
            f"Events zu {ref}",
            {"fieldSelector": selector, "limit": str(PAGE), "continue": token},
        )
        if page is None:
            return items
        items += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def events_for(
    kind: str | None,
    name: str | None,
    *,
    namespace: str | EllipsisType | None = ...,
    since: datetime | None = None,
    client: Cluster | None = None,
) -> EventResult:
    """``flux events --for Kind/name -n NAMESPACE``: the object's events and its source's.

    ``namespace`` defaults to the Flux namespace (``flux events -n`` default, from the settings);
    ``None`` asks about no namespace.

    ``since`` keeps only events seen at or after that moment (to the second, as Event timestamps
    are), e.g. ``since=result.started`` for the events of one reconcile.

    Without kind, name or namespace there is no object to ask about: the result says so (a runbook
    whose log filter is "all objects" still runs to the end).
    """
    if namespace is ...:
        namespace = settings().flux_namespace
    if not (kind and name and namespace):
        return EventResult(
            subject="-",
            namespace=namespace or "",
            rows=(),
            now=datetime.now(UTC),
            note="Events gibt es nur zu einem bestimmten Objekt: kind, name und namespace "
            "angeben (z. B. HelmRelease, kite, kube-system).",
        )
    fk = resolve(kind)
    check_namespace(namespace)
    check_name(name)
    cluster = default_cluster(client)
    try:
        obj = require_object(cluster, fk, namespace, name)
        refs = [ObjectRef(fk, name, namespace), *related_refs(fk.kind, obj, namespace)]
        events = [e for ref in dict.fromkeys(refs) for e in list_events(cluster, ref)]
    except Forbidden as exc:  # a refused read is never "no events"; what ran before it still stands
        return EventResult(
            subject=f"{fk.kind} {namespace}/{name}",
            namespace=namespace,
            rows=(),
            now=datetime.now(UTC),
            note=f"Events zu {fk.kind} {namespace}/{name} nicht lesbar (fehlendes Recht: "
            f"{exc.missing or 'siehe kubectl auth can-i --list'}).",
        )
    rows = interpret(events)
    if since is not None:
        cutoff = since.astimezone(UTC).replace(microsecond=0)
        rows = tuple(r for r in rows if r.sort_time >= cutoff)
    return EventResult(
        subject=f"{fk.kind} {namespace}/{name}", namespace=namespace, rows=rows, now=datetime.now(UTC)
    )
