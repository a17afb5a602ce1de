"""``watch``: the events of the Flux objects, live, for a bounded time, then what came of them.

Gather: one LIST of the Events (for its resourceVersion), then a watch from there through
:func:`runbook_lib.kube.watch` until the deadline; a watch that ends early is resumed from the last
resourceVersion seen, and 410 Gone (the server's window has moved on) lists again and goes on from
there. Each Event of a Flux kind (``flux events``' list) that matches the selection is shown as it
comes: as a line on a terminal (``runbook run watch`` prints the lines of the cell tagged ``live`` as
they come), as an updating table in Jupyter. At the end the state of the objects is read once: what
reconciled (had events and is ready), what failed, what is still in progress.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import format_duration, parse_duration
from runbook_lib.events import FLUX_EVENT_KINDS, EventRow, to_row
from runbook_lib.kinds import resolve
from runbook_lib.kube import WatchExpired, request_json, watch
from runbook_lib.masking import mask
from runbook_lib.names import check_name, check_namespace
from runbook_lib.report import Rendered, color_style, html_table, plural, text_table
from runbook_lib.status import FAILING, IN_PROGRESS, READY, overview

#: the longest watch a runbook cell may hold (a cell has to end; longer: run it again)
MAX_DURATION = timedelta(hours=1)
#: seconds between two updates of the Jupyter table (a burst of events is one update)
DISPLAY_EVERY = 0.5


@dataclass(frozen=True)
class Seen:
    """One event occurrence as the watch saw it."""

    at: datetime
    row: EventRow

    @property
    def warning(self) -> bool:
        return self.row.type == "Warning"

    def line(self) -> str:
        mark = "⚠" if self.warning else "ℹ"
        where = f"{self.row.namespace}/" if self.row.namespace else ""
        kind, _, name = self.row.object.partition("/")
        count = f" (×{self.row.count})" if self.row.count > 1 else ""
        what = f"{self.row.reason}{count}: {mask(self.row.message)}".replace("\n", "; ")
        return f"{self.at:%H:%M:%S} {mark} {kind} {where}{name}  {what}"

    def cells(self) -> list[str]:
        kind, _, name = self.row.object.partition("/")
        return [f"{self.at:%H:%M:%S}", self.row.type, f"{kind} {self.row.namespace}/{name}", self.row.reason,
                mask(self.row.message)]  # fmt: skip


HEADERS = ["ZEIT", "TYP", "OBJEKT", "GRUND", "MELDUNG"]


def _event_html(seen: Iterable[Seen]) -> str:
    rows = list(seen)
    if not rows:
        return "<p><i>Noch keine Ereignisse.</i></p>"
    return html_table(
        HEADERS, [s.cells() for s in rows], row_classes=["failing" if s.warning else "" for s in rows]
    )


@dataclass(frozen=True)
class WatchResult(Rendered):
    """What happened while watching: the events, and the state of the objects at the end."""

    selection: str
    started: datetime
    duration: timedelta
    events: tuple[Seen, ...]
    reconciled: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    progressing: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> int:
        return sum(s.warning for s in self.events)

    def headline(self) -> str:
        mark = "✗" if self.failed else ("⚠" if self.warnings or self.progressing else "✔")
        until = (self.started + self.duration).strftime("%H:%M:%S")
        return (
            f"{mark} {self.selection} {format_duration(self.duration)} lang beobachtet "
            f"({self.started:%H:%M:%S}–{until} UTC): {plural(len(self.events), 'Ereignis', 'Ereignisse')}, "
            f"{plural(self.warnings, 'Warnung', 'Warnungen')}"
        )

    def _summary_lines(self) -> list[str]:
        out = []
        if self.reconciled:
            out.append(f"✔ Abgeglichen:     {', '.join(self.reconciled)}")
        out += [f"✗ Fehlgeschlagen:  {ref}: {mask(msg)}" for ref, msg in self.failed]
        out += [
            f"⚠ Noch in Arbeit:  {ref}" + (f": {mask(msg)}" if msg else "") for ref, msg in self.progressing
        ]
        if not out:
            out.append("ℹ Keine Abgleiche in dieser Zeit, nichts fehlerhaft, nichts in Arbeit.")
        return out

    def __str__(self) -> str:
        lines = [self.headline(), *self._summary_lines(), *(f"ℹ {n}" for n in self.notes)]
        return "\n".join(lines)

    def table(self) -> str:
        """Every event as a table (the terminal got them as lines while they came)."""
        return text_table(HEADERS, [s.cells() for s in self.events])

    def _repr_html_(self) -> str:
        tone = "failure" if self.failed else ("warning" if self.warnings or self.progressing else "success")
        parts = [f'<p><b style="{color_style(tone)}">{escape(self.headline())}</b></p>']
        parts += [f"<div>{escape(line)}</div>" for line in self._summary_lines()]
        parts += [f"<div>ℹ {escape(n)}</div>" for n in self.notes]
        parts.append(_event_html(self.events))
        return "".join(parts)


class _Live:
    """Where events go while they come: lines (terminal, ``runbook run``) or an updating table (Jupyter)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.handle: Any = None
        self.last = 0.0

    def open(self) -> None:
        """In Jupyter (an ipykernel shell): the table that updates itself; elsewhere lines."""
        with contextlib.suppress(ImportError):
            from IPython import get_ipython
            from IPython.display import HTML, display

            shell = get_ipython()
            if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
                self.handle = display(HTML(_event_html(())), display_id=True)

    def add(self, seen: Seen) -> None:
        self.seen.append(seen)
        if self.handle is None:
            print(seen.line(), flush=True)
        elif time.monotonic() - self.last >= DISPLAY_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.handle is not None:
            from IPython.display import HTML

            self.handle.update(HTML(_event_html(self.seen)))
            self.last = time.monotonic()

    def close(self) -> None:
        """The live table makes way for the result below it (which shows every event again)."""
        if self.handle is not None:
            from IPython.display import HTML

            count = plural(len(self.seen), "Ereignis", "Ereignisse")
            self.handle.update(HTML(f"<p><i>Beobachtung beendet: {count}, Zusammenfassung unten.</i></p>"))


def _wanted(event: dict[str, Any], kind: str | None, name: str | None) -> bool:
    involved = event.get("involvedObject") or {}
    if involved.get("kind") not in FLUX_EVENT_KINDS:
        return False
    return (kind is None or involved.get("kind") == kind) and (name is None or involved.get("name") == name)


def _key(event: dict[str, Any]) -> tuple[str, str]:
    series = event.get("series") or {}
    return (
        str((event.get("metadata") or {}).get("uid")),
        f"{event.get('count')}/{series.get('count')}/{event.get('lastTimestamp')}/{series.get('lastObservedTime')}",
    )


def _list_version(cluster: Cluster, namespace: str | None) -> str:
    what = "die Events"
    if namespace:
        body = request_json(cluster, what, cluster.core.list_namespaced_event, namespace, limit=1)
    else:
        body = request_json(cluster, what, cluster.core.list_event_for_all_namespaces, limit=1)
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


def follow(
    cluster: Cluster,
    seconds: float,
    *,
    namespace: str | None,
    kind: str | None,
    name: str | None,
    live: _Live,
    selection: str = "Flux-Objekte",
) -> tuple[list[str], datetime]:
    """Watch until ``seconds`` passed, each wanted event to ``live``; returns notes (re-lists) and the
    start (the time asked for starts when the watch can start, after the first list)."""
    notes = []
    version = _list_version(cluster, namespace)
    deadline = time.monotonic() + seconds
    started = datetime.now(UTC)
    until = started + timedelta(seconds=seconds)
    span = format_duration(timedelta(seconds=seconds))
    print(f"► Beobachte {selection} für {span} (bis {until:%H:%M:%S} UTC) …", flush=True)
    live.open()
    shown: set[tuple[str, str]] = set()
    fn = cluster.core.list_namespaced_event if namespace else cluster.core.list_event_for_all_namespaces
    args = (namespace,) if namespace else ()
    while (remaining := deadline - time.monotonic()) > 0.05:
        try:
            stream = watch(cluster, "die Events", fn, *args, seconds=remaining, resource_version=version)
            with contextlib.closing(stream):
                for change in stream:
                    raw = change.get("raw_object") or {}
                    version = str((raw.get("metadata") or {}).get("resourceVersion") or version)
                    if change.get("type") not in ("ADDED", "MODIFIED") or not _wanted(raw, kind, name):
                        continue
                    if _key(raw) in shown:
                        continue
                    shown.add(_key(raw))
                    live.add(Seen(datetime.now(UTC), to_row(raw)))
                    if time.monotonic() >= deadline:
                        break
        except WatchExpired:
            notes.append(
                "Die Beobachtung war abgelaufen (410); neu gelistet, dazwischen kann ein Ereignis fehlen."
            )
            version = _list_version(cluster, namespace)
    live.close()
    return notes, started


def watch_flux(
    duration: str = "1m",
    *,
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    client: Cluster | None = None,
) -> WatchResult:
    """Follow the events of all Flux objects (or of ``kind``/``name``/``namespace``) for ``duration``
    (a Go duration), live, then sum up what reconciled, what failed and what is still in progress."""
    span = parse_duration(duration, what="duration")
    assert span is not None
    if span > MAX_DURATION:
        from runbook_lib.errors import UsageError

        raise UsageError(
            f"Die Dauer '{duration}' ist länger als {format_duration(MAX_DURATION)}.",
            "Kürzer beobachten (z. B. -p duration 10m) und bei Bedarf erneut starten.",
        )
    fk = resolve(kind).kind if kind else None
    if namespace:
        check_namespace(namespace)
    if name:
        check_name(name)
    cluster = default_cluster(client)
    what = fk or "Flux-Objekte"
    if name:
        selection = f"{what} {namespace}/{name}" if namespace else f"{what} {name}"
    else:
        selection = f"{what} in {namespace}" if namespace else what
    live = _Live()
    notes, started = follow(
        cluster, span.total_seconds(), namespace=namespace, kind=fk, name=name, live=live, selection=selection
    )
    state = overview(namespace=namespace, client=cluster)
    items = [
        i
        for t in state.tables
        for i in t.items
        if (fk is None or i.kind == fk) and (name is None or i.name == name)
    ]
    with_events = {s.row.object for s in live.seen}
    reconciled = tuple(i.ref for i in items if i.state == READY and f"{i.kind}/{i.name}" in with_events)
    return WatchResult(
        selection=selection,
        started=started,
        duration=span,
        events=tuple(live.seen),
        reconciled=reconciled,
        failed=tuple((i.ref, i.message) for i in items if i.state == FAILING),
        progressing=tuple((i.ref, i.message) for i in items if i.state == IN_PROGRESS),
        notes=tuple(notes),
    )
