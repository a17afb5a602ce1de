"""Automatic synchronisation: when each GitRepository fetched, and when it fetches next.

:func:`fetch_schedule` is pure and tested from fixture dicts; :func:`git_sync` gathers and renders the
table the status runbook shows ("Automatische Synchronisation" in the guide).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import parse_duration, parse_time, rounded
from runbook_lib.kinds import GIT_REPOSITORY
from runbook_lib.kube import list_objects
from runbook_lib.report import Rendered, html_table
from runbook_lib.status import flux_table, interpret

# --- automatic synchronisation: when does each GitRepository fetch ------------------------------


@dataclass(frozen=True)
class FetchSchedule:
    namespace: str
    name: str
    url: str
    interval: str
    revision: str
    suspended: bool
    #: the Ready condition, as ``flux get sources git`` shows it
    ready: str
    message: str
    #: ``status.artifact.lastUpdateTime``: when a *new* revision was stored (not every fetch)
    last_fetch: datetime | None
    next_fetch: datetime | None

    @property
    def failing(self) -> bool:
        return not self.suspended and self.ready != "True"

    def due(self, now: datetime) -> str:
        """When Flux fetches next (German): an estimate while the source is healthy; a failing source
        is retried with back-off, a suspended one not at all."""
        if self.suspended:
            return "ausgesetzt"
        if self.failing:
            return "Wiederholung mit Backoff (Quelle fehlerhaft)"
        if self.next_fetch is None:
            return f"alle {self.interval}" if self.interval else "unbekannt"
        return f"ca. in {rounded(self.next_fetch - now)} (alle {self.interval})"

    def last(self, now: datetime) -> str:
        return f"vor {rounded(now - self.last_fetch)}" if self.last_fetch else "noch nie"


def next_tick(last: datetime, step: timedelta, now: datetime) -> datetime:
    """The first ``last + k * step`` (k >= 1) after ``now``: Flux requeues a source every interval."""
    if step <= timedelta(0) or now < last + step:
        return last + step
    return last + step * (int((now - last) / step) + 1)


def fetch_schedule(repo: Mapping[str, Any], now: datetime) -> FetchSchedule:
    """Interval, Ready state, the last new revision and the next fetch (pure).

    source-controller fetches every ``spec.interval`` after a successful reconcile, but records only
    when it stored a *new* revision (``status.artifact.lastUpdateTime``); the next fetch is therefore
    an estimate: the next interval step after ``now`` counted from that time. A source whose Ready
    condition is not True is retried with back-off instead, and is shown as failing.
    """
    meta, spec = repo.get("metadata") or {}, repo.get("spec") or {}
    artifact = (repo.get("status") or {}).get("artifact") or {}
    interval = str(spec.get("interval") or "")
    last = parse_time(artifact.get("lastUpdateTime"))
    step = parse_duration(interval, what="spec.interval", allow_zero=True) if interval else None
    record = interpret(repo, "GitRepository")
    return FetchSchedule(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        url=str(spec.get("url", "")),
        interval=interval,
        revision=record.revision,
        suspended=bool(spec.get("suspend")),
        ready=record.ready,
        message=record.message,
        last_fetch=last,
        next_fetch=next_tick(last, step, now) if last and step else None,
    )


@dataclass(frozen=True)
class SyncReport(Rendered):
    """Per GitRepository: is it healthy, how often Flux fetches, when a new revision last came in."""

    items: tuple[FetchSchedule, ...]
    now: datetime

    headers = ("NAMESPACE", "NAME", "READY", "REVISION", "LETZTE NEUE REVISION", "NÄCHSTER ABRUF", "MESSAGE")

    @property
    def rows(self) -> list[list[str]]:
        return [
            [i.namespace, i.name, i.ready, i.revision, i.last(self.now), i.due(self.now), i.message]
            for i in self.items
        ]

    def __str__(self) -> str:
        if not self.items:
            return "Keine GitRepository-Objekte gefunden.\n"
        return flux_table(list(self.headers), self.rows)

    def _repr_html_(self) -> str:
        if not self.items:
            return "<p><i>Keine GitRepository-Objekte gefunden.</i></p>"
        classes = ["suspended" if i.suspended else "failing" if i.failing else "" for i in self.items]
        return html_table(
            list(self.headers),
            self.rows,
            row_classes=classes,
            caption=f"Stand: {self.now:%Y-%m-%d %H:%M:%S} UTC",
        )


def git_sync(
    *,
    namespace: str | None = None,
    client: Cluster | None = None,
    now: datetime | None = None,
    repositories: Iterable[Mapping[str, Any]] | None = None,
) -> SyncReport:
    """The fetch schedule of every GitRepository (``namespace=None``: all namespaces).

    ``repositories``: the GitRepositories as already listed (``overview(...).objects("GitRepository")``),
    so a status runbook lists each kind once; without it they are listed here.
    """
    repos: Sequence[Mapping[str, Any]]
    if repositories is None:
        repos = list_objects(default_cluster(client), GIT_REPOSITORY, namespace=namespace) or []
    else:
        repos = list(repositories)
    now = now or datetime.now(UTC)
    items = sorted((fetch_schedule(r, now) for r in repos), key=lambda i: (i.namespace, i.name))
    return SyncReport(tuple(items), now)
