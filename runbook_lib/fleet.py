"""``fleet``: the Flux status of every cluster of a kubeconfig at once, each within a deadline.

Each context is read in its own daemon thread (:func:`gather_one`: Flux version, the state of every
Flux object, the root Kustomization's applied revision, the oldest failing object); the caller waits
until every cluster answered or the deadline passed. A cluster that has not answered by then is
reported as such and its thread is left behind: daemon threads do not hold the process, and every
request of theirs ends by itself within the request timeout (:mod:`runbook_lib.kube`). So one cluster
that hangs never holds up the table, and the whole run takes at most the deadline.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from runbook_lib.cluster import _kubeconfig_files, _load_kubeconfigs, connect, resolve_target
from runbook_lib.durations import german_age, german_seconds, parse_duration, parse_time
from runbook_lib.errors import RunbookError, UsageError
from runbook_lib.kinds import GET_ALL_ORDER, KUSTOMIZATION, by_kind
from runbook_lib.kube import api_get, get_object, list_objects
from runbook_lib.objects import condition, meta, status
from runbook_lib.report import Rendered, Verdict, color_style, html_table, plural, text_table
from runbook_lib.settings import settings
from runbook_lib.status import FAILING, IN_PROGRESS, READY, SUSPENDED, interpret, truncate_hex

#: the root Kustomization ``flux bootstrap`` creates (docs/flux-facts.md §3)
ROOT_KUSTOMIZATION = "flux-system"
#: a cluster that answers slower than this is reported as not answering; a status read is a dozen
#: requests, which take well under a second on a healthy API server
DEFAULT_DEADLINE = "15s"
_CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gitrepositories.source.toolkit.fluxcd.io"

UNREACHABLE, TIMED_OUT, NO_FLUX, HEALTHY, FAILING_ROW = (
    "unreachable",
    "timeout",
    "no-flux",
    "healthy",
    "failing",
)
_ROW_TEXT = {
    HEALTHY: "✔ gesund",
    FAILING_ROW: "✗ Fehler",
    UNREACHABLE: "✗ nicht erreichbar",
    TIMED_OUT: "✗ keine Antwort",
    NO_FLUX: "⚠ kein Flux",
}


@dataclass(frozen=True)
class ClusterRow:
    """One cluster of the fleet."""

    context: str
    server: str
    state: str  # a key of _ROW_TEXT
    flux: str = ""
    counts: Mapping[str, int] | None = None
    revision: str = ""
    oldest_failing: str = ""
    detail: str = ""  # why it is unreachable, what is in progress
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == HEALTHY

    def cells(self) -> list[str]:
        counts = self.counts or {}
        numbers = [
            str(counts.get(s, 0)) if self.counts is not None else "–" for s in (READY, FAILING, SUSPENDED)
        ]
        return [
            self.context,
            _ROW_TEXT[self.state],
            self.flux or "–",
            *numbers,
            self.revision or "–",
            self.oldest_failing or self.detail or "–",
        ]


HEADERS = [
    "CLUSTER",
    "ZUSTAND",
    "FLUX",
    "BEREIT",
    "FEHLERHAFT",
    "AUSGESETZT",
    "REVISION (flux-system)",
    "ÄLTESTER FEHLER",
]


@dataclass(frozen=True)
class Fleet(Rendered):
    """The fleet table, in the order of the contexts; what CI needs is :meth:`check` and the verdicts."""

    rows: tuple[ClusterRow, ...]
    deadline: str
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def headline(self) -> str:
        healthy = sum(r.ok for r in self.rows)
        bad = len(self.rows) - healthy
        mark = "✔" if not bad else "✗"
        clusters = plural(len(self.rows), "Cluster", "Cluster")
        rest = f", {bad} mit Problemen" if bad else ""
        took = german_seconds(self.seconds)
        return (
            f"{mark} {clusters} in {took} gelesen (Frist je Cluster {self.deadline}): {healthy} gesund{rest}"
        )

    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(
            Verdict(
                name=f"Cluster {r.context}",
                outcome="ok" if r.ok else ("warning" if r.state == NO_FLUX else "error"),
                message=_ROW_TEXT[r.state][2:] + (f": {r.oldest_failing or r.detail}" if not r.ok else ""),
            )
            for r in self.rows
        )

    def __str__(self) -> str:
        return self.headline() + "\n\n" + text_table(HEADERS, [r.cells() for r in self.rows])

    def _repr_html_(self) -> str:
        tone = "success" if self.ok else "failure"
        head = f'<p><b style="{color_style(tone)}">{escape(self.headline())}</b></p>'
        classes = ["" if r.ok else "failing" for r in self.rows]
        return head + html_table(HEADERS, [r.cells() for r in self.rows], row_classes=classes)

    def check(self) -> Fleet:
        """Raise (the runbook fails, exit code 1) when a cluster is not healthy: for CI."""
        bad = [r for r in self.rows if not r.ok]
        if bad:
            names = ", ".join(f"{r.context} ({_ROW_TEXT[r.state][2:]})" for r in bad)
            raise RunbookError(
                f"{plural(len(bad), 'Cluster ist', 'Cluster sind')} nicht gesund: {names}.",
                "Auf dem Cluster selbst weitersuchen: `runbook run status --context NAME`, bei Fehlern "
                "`runbook run troubleshoot-sync --context NAME`.",
            )
        return self


def contexts_of(kubeconfig: str | None, wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    """(context, server) of the kubeconfig, in file order, or of the ``wanted`` ones (each must exist)."""
    resolve_target(kubeconfig)  # a missing or malformed kubeconfig is its German UsageError
    _, servers = _load_kubeconfigs(_kubeconfig_files(kubeconfig or settings().kubeconfig))
    if not servers:
        raise UsageError("Die Kubeconfig hat keine Kontexte.", "Eine Kubeconfig mit Kontexten angeben.")
    if not wanted:
        return list(servers.items())
    missing = [c for c in wanted if c not in servers]
    if missing:
        raise UsageError(
            f"Nicht in der Kubeconfig: {', '.join(missing)}.",
            f"Vorhandene Kontexte: {', '.join(servers)} (`kubectl config get-contexts`).",
        )
    return [(c, servers[c]) for c in dict.fromkeys(wanted)]


def oldest(failing: list[tuple[str, str]], now: datetime) -> str:
    """``HelmRelease kube-system/kite (seit 2 Stunden)`` for the failing object whose Ready condition
    changed first (pure); ``failing`` holds (ref, lastTransitionTime)."""
    dated = [(parse_time(t), ref) for ref, t in failing]
    known = sorted((t, ref) for t, ref in dated if t is not None)
    if known:
        since, ref = known[0]
        return f"{ref} (seit {german_age(now - since)})"
    return failing[0][0] if failing else ""


def reason(exc: RunbookError) -> str:
    """The short reason of an error for a table cell: ``Verbindung abgelehnt, nach 4 Versuchen`` from
    "Der Cluster ist nicht erreichbar: Kontext 'x' (…) (Verbindung abgelehnt, nach 4 Versuchen)." (pure)."""
    found = re.search(r"\(([^()]*)\)\.?$", exc.message)
    if exc.message.startswith("Der Cluster ist nicht erreichbar") and found:
        return found.group(1)
    return exc.message


def gather_one(kubeconfig: str | None, context: str, server: str) -> ClusterRow:
    """One cluster's row; an unreachable cluster is a row too, never an exception."""
    start = time.monotonic()
    try:
        cluster = connect(kubeconfig, context)
        crd = api_get(cluster, _CRD, "die GitRepository-CRD")
        if crd is None:
            return ClusterRow(context, server, NO_FLUX, detail="keine Flux-CRDs installiert")
        labels = meta(crd).get("labels") or {}
        version = str(labels.get("app.kubernetes.io/version") or "?")
        counts = dict.fromkeys((READY, FAILING, SUSPENDED, IN_PROGRESS), 0)
        failing: list[tuple[str, str]] = []
        for kind_name in GET_ALL_ORDER:
            for obj in list_objects(cluster, by_kind(kind_name)) or []:
                item = interpret(obj, kind_name)
                counts[item.state] += 1
                if item.state == FAILING:
                    failing.append((item.ref, str(condition(obj, "Ready").get("lastTransitionTime") or "")))
        root = get_object(cluster, KUSTOMIZATION, settings().flux_namespace, ROOT_KUSTOMIZATION)
        revision = truncate_hex(str(status(root).get("lastAppliedRevision") or "")) if root else "(keine)"
    except RunbookError as exc:
        return ClusterRow(context, server, UNREACHABLE, detail=reason(exc), seconds=time.monotonic() - start)
    progress = f"{counts[IN_PROGRESS]} in Arbeit" if counts[IN_PROGRESS] else ""
    return ClusterRow(
        context,
        server,
        FAILING_ROW if failing else HEALTHY,
        flux=version,
        counts=counts,
        revision=revision,
        oldest_failing=oldest(failing, datetime.now(UTC)),
        detail=progress,
        seconds=time.monotonic() - start,
    )


def fleet(
    *,
    kubeconfig: str | None = None,
    contexts: Sequence[str] | None = None,
    context: str | None = None,
    timeout: str = DEFAULT_DEADLINE,
) -> Fleet:
    """``status`` of every context of ``kubeconfig`` (or of ``contexts``, plus ``context``), in
    parallel; a cluster that does not answer within ``timeout`` (a Go duration) is shown as not
    answering."""
    deadline_td = parse_duration(timeout, what="timeout")
    assert deadline_td is not None
    if isinstance(contexts, str):
        contexts = [c.strip() for c in contexts.split(",") if c.strip()]
    wanted = [*(contexts or ()), *([context] if context else [])]
    targets = contexts_of(kubeconfig, wanted)
    results: queue.Queue[tuple[int, ClusterRow]] = queue.Queue()
    start = time.monotonic()

    def work(index: int, context: str, server: str) -> None:
        results.put((index, gather_one(kubeconfig, context, server)))

    for index, (context, server) in enumerate(targets):
        threading.Thread(
            target=work, args=(index, context, server), daemon=True, name=f"fleet-{context}"
        ).start()
    rows: dict[int, ClusterRow] = {}
    end = start + deadline_td.total_seconds()
    while len(rows) < len(targets):
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, row = results.get(timeout=remaining)
        except queue.Empty:
            break
        rows[index] = row
    late = f"keine Antwort innerhalb von {timeout}"
    ordered = tuple(
        rows.get(i) or ClusterRow(ctx, server, TIMED_OUT, detail=late, seconds=deadline_td.total_seconds())
        for i, (ctx, server) in enumerate(targets)
    )
    return Fleet(rows=ordered, deadline=timeout, seconds=time.monotonic() - start)
