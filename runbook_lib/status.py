"""Status of Flux objects as ``flux get`` shows it: gather -> interpret -> render.

* **Gather** lists each kind once (``_preload_content=False`` + ``json.loads``: no typed models, no
  per-object requests), so reading thousands of objects costs one request per kind.
* **Interpret** (:func:`interpret`) is pure: one API object dict in, one frozen :class:`ObjectStatus`
  out, following docs/flux-facts.md §3 (READY/MESSAGE from the Ready condition,
  SUSPENDED in title case, REVISION per kind, hex truncation per kind).
* **Render**: :class:`StatusTable` prints exactly like ``flux get`` in a terminal and as an HTML
  table (failing rows highlighted) in a notebook; :class:`Summary` counts and lists problems first.

Controller health (``flux check``) lives in :mod:`.check`, the GitRepository fetch schedule in
:mod:`.sources`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.kinds import GET_ALL_ORDER, FluxKind, by_kind, resolve
from runbook_lib.kube import list_objects, object_not_found, side_by_side, where
from runbook_lib.objects import condition
from runbook_lib.report import Rendered, Verdict, html_table

READY, FAILING, SUSPENDED, IN_PROGRESS = "ready", "failing", "suspended", "in progress"
#: German labels of the states, in the order a summary lists them (problems first)
STATE_LABELS = MappingProxyType(
    {FAILING: "fehlerhaft", IN_PROGRESS: "in Arbeit", SUSPENDED: "ausgesetzt", READY: "bereit"}
)
STATE_ORDER = (FAILING, IN_PROGRESS, SUSPENDED, READY)

#: internal/utils/hex.go TruncateHex; ASCII word boundaries as in Go's RE2
_HEX = re.compile(r"\b[a-f0-9]{40,128}\b", re.ASCII)
#: message flux shows for an object without a Ready condition
WAITING_MESSAGE = "waiting to be reconciled"


def truncate_hex(text: str) -> str:
    """Cut every run of 40-128 hex digits to its first 8 (``main@sha1:696f056d``)."""
    return _HEX.sub(lambda m: m.group(0)[:8], text) if text else text


# --- per-kind rules (kinds are data; only what differs is written down) -----------------------------


def _artifact_revision(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("status") or {}).get("artifact") or {}).get("revision") or "")


def _kustomization_revision(obj: Mapping[str, Any]) -> str:
    return str((obj.get("status") or {}).get("lastAppliedRevision") or "")


def _helmrelease_revision(obj: Mapping[str, Any]) -> str:
    status = obj.get("status") or {}
    history = status.get("history") or []
    if history and history[0].get("chartVersion"):
        return str(history[0]["chartVersion"])
    return str(status.get("lastAttemptedRevision") or "")


def _no_revision(obj: Mapping[str, Any]) -> str:
    return ""


@dataclass(frozen=True)
class KindRules:
    """How ``flux get`` computes the cells of one kind."""

    revision: Callable[[Mapping[str, Any]], str] = _artifact_revision
    truncate_revision: bool = True
    truncate_message: bool = True
    #: the table has REVISION / SUSPENDED columns
    revision_column: bool = True
    suspended_column: bool = True
    #: no status at all: always Ready with this message (Alert, Provider v1beta3)
    static_message: str = ""


_RULES: Mapping[str, KindRules] = MappingProxyType(
    {
        "HelmChart": KindRules(truncate_revision=False),
        "Kustomization": KindRules(revision=_kustomization_revision),
        "HelmRelease": KindRules(
            revision=_helmrelease_revision, truncate_revision=False, truncate_message=False
        ),
        "Receiver": KindRules(revision=_no_revision, revision_column=False, truncate_message=False),
        "Alert": KindRules(
            revision=_no_revision,
            revision_column=False,
            truncate_message=False,
            static_message="Alert is Ready",
        ),
        "Provider": KindRules(
            revision=_no_revision,
            revision_column=False,
            suspended_column=False,
            truncate_message=False,
            static_message="Provider is Ready",
        ),
    }
)


def rules_for(kind: str) -> KindRules:
    """The rules for a kind; sources (Git, OCI, Bucket, HelmRepository) use the defaults."""
    return _RULES.get(kind, KindRules())


# --- interpret ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectStatus:
    """One Flux object as ``flux get`` sees it, plus what a summary needs."""

    kind: str
    namespace: str
    name: str
    revision: str
    suspended: bool
    ready: str
    message: str
    reason: str = ""
    #: the object has a Ready condition at all (without one it is waiting, not failing)
    has_ready: bool = True
    #: metadata.generation is newer than status.observedGeneration
    stale: bool = False
    #: Stalled=True: the controller gave up until the spec changes, whatever Ready says
    #: (docs/flux-facts.md §14: helm-controller may leave Ready=Unknown on a stalled release)
    stalled: bool = False

    @property
    def state(self) -> str:
        """``failing``, ``in progress``, ``suspended`` or ``ready``."""
        if self.suspended:
            return SUSPENDED
        if self.stalled:
            return FAILING
        if self.ready == "True":
            return IN_PROGRESS if self.stale else READY
        if self.ready == "False" and self.has_ready:
            return FAILING
        return IN_PROGRESS

    @property
    def ref(self) -> str:
        """``HelmRelease kube-system/kite``, the way errors and summaries name an object."""
        return f"{self.kind} {self.namespace}/{self.name}"


def interpret(obj: Mapping[str, Any], kind: str | None = None) -> ObjectStatus:
    """Turn one API object (a plain dict) into an :class:`ObjectStatus` (pure, no I/O)."""
    kind = kind or str(obj.get("kind", ""))
    rules = rules_for(kind)
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    cond = condition(obj, "Ready")
    if rules.static_message or (kind == "HelmRepository" and spec.get("type") == "oci"):
        ready, message, reason, has_ready = (
            "True",
            rules.static_message or "Helm repository is Ready",
            "",
            True,
        )
    elif not cond:
        ready, message, reason, has_ready = "False", WAITING_MESSAGE, "", False
    else:
        ready = str(cond.get("status") or "Unknown")
        message, reason, has_ready = str(cond.get("message") or ""), str(cond.get("reason") or ""), True
    stalled = condition(obj, "Stalled")
    is_stalled = str(stalled.get("status")) == "True"
    if is_stalled and ready != "False":
        message = str(stalled.get("message") or message)
        reason = str(stalled.get("reason") or reason)
    revision = rules.revision(obj)
    observed = status.get("observedGeneration")
    generation = meta.get("generation")
    return ObjectStatus(
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        revision=truncate_hex(revision) if rules.truncate_revision else revision,
        suspended=bool(spec.get("suspend")),
        ready=ready,
        message=truncate_hex(message) if rules.truncate_message else message,
        reason=reason,
        has_ready=has_ready,
        stale=isinstance(observed, int) and isinstance(generation, int) and 0 <= observed < generation,
        stalled=is_stalled,
    )


# --- render ---------------------------------------------------------------------------------------


def flux_table(headers: list[str], rows: list[list[str]]) -> str:
    """The ``flux get`` table (tablewriter, ``TablePadding="\\t"``, ``NoWhiteSpace``).

    Every cell is right-padded to its column width; header cells are joined by tabs (the last header
    cell gets one extra space and no tab), every data cell is followed by a tab. This matches the
    golden files in flux2 ``cmd/flux/testdata/get/``.
    """
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    head = "\t".join(h.ljust(w) for h, w in zip(headers[:-1], widths, strict=False))
    head = (
        f"{head}\t{headers[-1].ljust(widths[-1] + 1)}"
        if len(headers) > 1
        else headers[0].ljust(widths[0] + 1)
    )
    lines = [head] + ["".join(c.ljust(w) + "\t" for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines) + "\n"


def _headers(rules: KindRules, all_namespaces: bool) -> list[str]:
    headers = ["NAME"]
    if rules.revision_column:
        headers.append("REVISION")
    if rules.suspended_column:
        headers.append("SUSPENDED")
    headers += ["READY", "MESSAGE"]
    return ["NAMESPACE", *headers] if all_namespaces else headers


def _row(item: ObjectStatus, rules: KindRules, all_namespaces: bool, prefix: str = "") -> list[str]:
    row = [prefix + item.name]
    if rules.revision_column:
        row.append(item.revision)
    if rules.suspended_column:
        row.append(str(item.suspended))
    row += [item.ready, item.message]
    return [item.namespace, *row] if all_namespaces else row


def _row_class(item: ObjectStatus) -> str:
    return {FAILING: "failing", SUSPENDED: "suspended"}.get(item.state, "")


@dataclass(frozen=True)
class StatusTable(Rendered):
    """The objects of one kind, as ``flux get <kind>`` (``-A`` when ``namespace`` is None)."""

    kind: str
    items: tuple[ObjectStatus, ...]
    namespace: str | None = None
    #: prefix names with the lower-case kind, as ``flux get all`` does
    prefixed: bool = False

    @property
    def headers(self) -> list[str]:
        return _headers(rules_for(self.kind), self.namespace is None)

    @property
    def rows(self) -> list[list[str]]:
        prefix = f"{self.kind.lower()}/" if self.prefixed else ""
        rules = rules_for(self.kind)
        return [_row(i, rules, self.namespace is None, prefix) for i in self.items]

    @property
    def failing(self) -> tuple[ObjectStatus, ...]:
        return tuple(i for i in self.items if i.state == FAILING)

    def empty_message(self) -> str:
        return f"Keine {self.kind}-Objekte {where(self.namespace)} gefunden."

    def __str__(self) -> str:
        return flux_table(self.headers, self.rows) if self.items else self.empty_message() + "\n"

    def _repr_html_(self) -> str:
        if not self.items:
            return f"<p><i>{self.empty_message()}</i></p>"
        classes = [_row_class(i) for i in self.items]
        return html_table(
            self.headers, self.rows, row_classes=classes, caption=f"{self.kind} {where(self.namespace)}"
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Summary(Rendered):
    """Counts per state, and the objects that are not ready, failing ones first."""

    counts: Mapping[str, int]
    problems: tuple[ObjectStatus, ...]
    namespace: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        return self.counts.get(FAILING, 0) == 0

    def headline(self) -> str:
        parts = ", ".join(f"{self.counts.get(s, 0)} {STATE_LABELS[s]}" for s in (READY, *STATE_ORDER[:3]))
        symbol = "✔" if self.ok and not self.problems else ("✗" if not self.ok else "⚠")
        return f"{symbol} {self.total} Flux-Objekte {where(self.namespace)}: {parts}"

    def verdicts(self) -> tuple[Verdict, ...]:
        """A failing object is a failed test case, one in progress or suspended a warning; without a
        failing object also a passed case for the whole (its name stays the same from run to run)."""
        outcome = {FAILING: "error", IN_PROGRESS: "warning", SUSPENDED: "warning"}
        own = tuple(
            Verdict(
                name=p.ref,
                outcome=outcome[p.state],
                message=f"{STATE_LABELS[p.state]}: {p.message}" if p.message else STATE_LABELS[p.state],
                details=f"{p.ref}: READY={p.ready}, Grund {p.reason or '-'}\n{p.message}".rstrip(),
            )
            for p in self.problems
        )
        if self.ok:
            own = (Verdict(f"Flux-Objekte {where(self.namespace)}", "ok", self.headline()[2:]), *own)
        return own

    def _table(self) -> tuple[list[str], list[list[str]]]:
        headers = ["ZUSTAND", "ART", "NAMESPACE", "NAME", "READY", "MESSAGE"]
        rows = [
            [STATE_LABELS[p.state], p.kind, p.namespace, p.name, p.ready, p.message] for p in self.problems
        ]
        return headers, rows

    def __str__(self) -> str:
        if not self.problems:
            return self.headline() + "\n"
        return self.headline() + "\n\n" + flux_table(*self._table())

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.headline()}</b></p>"
        if not self.problems:
            return head
        headers, rows = self._table()
        return head + html_table(headers, rows, row_classes=[_row_class(p) for p in self.problems])


def summarize(items: Iterable[ObjectStatus], namespace: str | None = None) -> Summary:
    """Count states and order the problems: failing, then in progress, then suspended (pure)."""
    counts = dict.fromkeys(STATE_ORDER, 0)
    problems: list[ObjectStatus] = []
    for item in items:
        counts[item.state] += 1
        if item.state != READY:
            problems.append(item)
    rank = {s: i for i, s in enumerate(STATE_ORDER)}
    problems.sort(key=lambda p: (rank[p.state], p.kind, p.namespace, p.name))
    return Summary(counts=counts, problems=tuple(problems), namespace=namespace)


@dataclass(frozen=True)
class Overview(Rendered):
    """``flux get all``: one table per kind (in the CLI's order) plus the summary."""

    tables: tuple[StatusTable, ...]
    summary: Summary
    namespace: str | None = None
    #: the objects as listed, per kind (for readers of the same list, e.g. ``git_sync``)
    listed: Mapping[str, tuple[Mapping[str, Any], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def table(self, kind: str) -> StatusTable:
        """The table of one kind (``"hr"``, ``"GitRepository"`` …); empty if there were none."""
        wanted = resolve(kind).kind
        for t in self.tables:
            if t.kind == wanted:
                return t
        return StatusTable(wanted, (), self.namespace)

    def get(self, kind: str) -> StatusTable:
        """``flux get <kind>`` from this listing (names without the kind prefix), without a request."""
        return replace(self.table(kind), prefixed=False)

    def objects(self, kind: str) -> tuple[Mapping[str, Any], ...]:
        """The objects of one kind as this listing read them (empty if there were none)."""
        return self.listed.get(resolve(kind).kind, ())

    def __str__(self) -> str:
        return str(self.summary) + "\n" + "".join(str(t) + "\n" for t in self.tables if t.items)

    def _repr_html_(self) -> str:
        return self.summary._repr_html_() + "".join(t._repr_html_() for t in self.tables if t.items)


# --- gather ---------------------------------------------------------------------------------------


def _table(kind: FluxKind, objs: list[dict[str, Any]], namespace: str | None, prefixed: bool) -> StatusTable:
    items = sorted((interpret(o, kind.kind) for o in objs), key=lambda s: (s.namespace, s.name))
    return StatusTable(kind.kind, tuple(items), namespace, prefixed)


def get(
    kind: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    label_selector: str | None = None,
    client: Cluster | None = None,
) -> StatusTable:
    """``flux get <kind>``: the status of every object of one kind (``namespace=None``: all namespaces).

    ``kind`` is what a user types (``"hr"``, ``"gitrepo"``, ``"Kustomization"``). With ``name``, a
    missing object raises :class:`NotFound`.
    """
    fk = resolve(kind)
    cluster = default_cluster(client)
    field = f"metadata.name={name}" if name else None
    objs = list_objects(cluster, fk, namespace=namespace, field_selector=field, label_selector=label_selector)
    if name and not objs:
        raise object_not_found(cluster, fk, name, namespace)
    return _table(fk, objs or [], namespace, prefixed=False)


def overview(*, namespace: str | None = None, client: Cluster | None = None) -> Overview:
    """``flux get all``: every Flux kind listed once, tables in the CLI's order, plus a summary.

    Kinds whose CRD is not installed are skipped, as ``flux get all`` does.
    """
    cluster = default_cluster(client)
    tables, listed = [], {}
    # at 5,000 objects a third of a status run went into waiting for seven lists in a row
    lists = side_by_side(lambda k: list_objects(cluster, by_kind(k), namespace=namespace), GET_ALL_ORDER)
    for kind_name, objs in zip(GET_ALL_ORDER, lists, strict=True):
        if objs is not None:
            tables.append(_table(by_kind(kind_name), objs, namespace, prefixed=True))
            listed[kind_name] = tuple(objs)
    every = (item for t in tables for item in t.items)
    return Overview(tuple(tables), summarize(every, namespace), namespace, listed)


def summary(*, namespace: str | None = None, client: Cluster | None = None) -> Summary:
    """Ready / failing / suspended / in progress over every Flux kind; problems first, with messages."""
    return overview(namespace=namespace, client=client).summary
