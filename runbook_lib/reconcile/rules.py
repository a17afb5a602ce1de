"""What a reconcile request means, without talking to a cluster (pure, unit-tested from fixtures).

The request token is flux's RFC3339Nano timestamp; :func:`progress` interprets an object against
it (docs/flux-facts.md §4: ``lastHandledReconcileAt``, Stalled, Ready at the current generation);
:func:`source_ref` is the next link of the ``--with-source`` chain.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from runbook_lib import kinds
from runbook_lib.errors import UsageError
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.objects import condition
from runbook_lib.settings import settings
from runbook_lib.status import rules_for

Obj = dict[str, Any]

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"
#: Ready=False with one of these reasons means "still working", not "failed"
PROGRESS_REASONS = frozenset({"Progressing", "ProgressingWithRetry", "ReconciliationInProgress"})
#: Ready=False because something it depends on is not ready yet: the controller requeues and goes on
#: by itself once it is (a HelmChart still fetching, a dependsOn Kustomization), so keep waiting; the
#: timeout then names the dependency. With ``with_source`` a failing source fails fast on its own.
WAITING_REASONS = frozenset({"DependencyNotReady", "SourceNotReady"})


def rfc3339nano(ts: float | None = None) -> str:
    """Go's ``time.Now().Format(time.RFC3339Nano)``: local time, offset, trailing zeros dropped."""
    ns = time.time_ns() if ts is None else int(ts * 1e9)
    moment = datetime.fromtimestamp(ns // 1_000_000_000).astimezone()
    frac = f"{ns % 1_000_000_000:09d}".rstrip("0")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "")
    offset = moment.strftime("%z")
    return stamp + ("Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}")


# --- pure interpretation -----------------------------------------------------------------------------


def revision_of(kind: FluxKind, obj: Obj) -> str:
    """The full (untruncated) revision flux prints after a reconcile."""
    return rules_for(kind.kind).revision(obj)


@dataclass(frozen=True)
class Progress:
    """Where an object stands with respect to one reconcile request."""

    state: str  # "pending" (not handled yet), "progressing", "ready", "failed"; "blocked" (applied())
    message: str = ""
    reason: str = ""


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def instant(token: str) -> int | None:
    """An RFC3339(Nano) request token as nanoseconds since the epoch; None if it is not one (pure)."""
    match = _RFC3339.fullmatch(token.strip())
    if not match:
        return None
    seconds, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(seconds + ("+00:00" if offset == "Z" else offset))
    except ValueError:
        return None
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def handled(last: str, requested: str, previous: str | None = None) -> bool:
    """Has the controller handled the request ``requested`` (pure)?

    Yes when it echoes that token, or when it handled a *later* one since the request was written
    (``last`` differs from ``previous``, the value when the annotation was written, and is a later
    time): concurrent requests overwrite each other's annotation, and a controller that handled the
    newer request has done everything the older one asked for. Without ``previous`` only the exact
    token counts.
    """
    if last == requested:
        return True
    if previous is None or last == previous:
        return False
    newer, ours = instant(last), instant(requested)
    return newer is not None and ours is not None and newer >= ours


def progress(obj: Obj, requested_at: str | None, previous: str | None = None) -> Progress:
    """Interpret an object against the request ``requested_at`` (pure; see the module docstring).

    ``requested_at=None`` (a resume has no request token) skips the "handled" check: then only
    Stalled, and Ready at the current generation, count. ``previous``: ``lastHandledReconcileAt``
    when the request was written; with it, a later request handled meanwhile counts (:func:`handled`).
    """
    status = obj.get("status") or {}
    last = str(status.get("lastHandledReconcileAt") or "")
    if requested_at is not None and not handled(last, requested_at, previous):
        return Progress("pending", "Anfrage noch nicht bearbeitet")
    stalled = condition(obj, "Stalled")
    ready = condition(obj, "Ready")
    if stalled.get("status") == "True":
        message = stalled.get("message", "")
        # after a remediation Ready says the rollback succeeded; the failure is in Released
        # (docs/flux-facts.md §13)
        released = condition(obj, "Released")
        failed = released if str(released.get("reason", "")).endswith("Failed") else ready
        if failed.get("status") == "False" and failed.get("message"):
            message = f"{message}; letzter Fehler: {failed['message']}"
        return Progress("failed", message, stalled.get("reason", "Stalled"))
    if not ready:
        return Progress("progressing", "wartet auf den Controller")
    generation = (obj.get("metadata") or {}).get("generation")
    observed = ready.get("observedGeneration") or status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return Progress("progressing", f"Generation {generation} noch nicht verarbeitet")
    if ready.get("status") == "True":
        if _status_behind(obj, ready):
            return Progress("progressing", "Status wird noch geschrieben")
        return Progress("ready", ready.get("message", ""))
    if ready.get("reason") in WAITING_REASONS:
        return Progress(
            "progressing",
            f"wartet auf eine Abhängigkeit: {ready.get('message', '')}",
            ready.get("reason", ""),
        )
    if ready.get("status") == "False" and ready.get("reason") not in PROGRESS_REASONS:
        return Progress("failed", ready.get("message", ""), ready.get("reason", ""))
    return Progress("progressing", ready.get("message", ""))


def applied(obj: Obj, revision: str) -> Progress:
    """Where a Kustomization stands with respect to applying ``revision`` without a request of ours
    (pure): the controller was asked by the source's change (docs/flux-facts.md §19).

    "ready" once it applied ``revision`` and is Ready at its generation; "failed" once it attempted
    ``revision`` and failed (or is Stalled); "blocked" while it waits for a dependency of its own (then
    only a request makes it look again before ``--requeue-dependency``); otherwise "progressing".
    """
    status = obj.get("status") or {}
    ready, stalled = condition(obj, "Ready"), condition(obj, "Stalled")
    generation = (obj.get("metadata") or {}).get("generation")
    current = generation is None or status.get("observedGeneration") == generation
    if stalled.get("status") == "True":
        return Progress("failed", stalled.get("message", ""), stalled.get("reason", "Stalled"))
    if status.get("lastAppliedRevision") == revision and ready.get("status") == "True" and current:
        return Progress("ready", ready.get("message", ""))
    if ready.get("reason") in WAITING_REASONS:
        return Progress("blocked", ready.get("message", ""), ready.get("reason", ""))
    attempted = status.get("lastAttemptedRevision") == revision
    if attempted and ready.get("status") == "False" and ready.get("reason") not in PROGRESS_REASONS:
        return Progress("failed", ready.get("message", ""), ready.get("reason", ""))
    return Progress("progressing", ready.get("message", "") or "wartet auf den Controller")


#: Ready messages that name the revision the controller has just finished with
_READY_REVISION = re.compile(r"(?:Applied revision: |stored artifact for revision ')([^'\s]+)")


def _status_behind(obj: Obj, ready: Mapping[str, Any]) -> bool:
    """Ready=True names a revision the status does not show yet: the controller writes its conditions
    one patch before the rest of the status (lastAppliedRevision, lastHandledReconcileAt; recorded on
    the real engine, docs/flux-facts.md §18), and a watch sees the object in between (pure)."""
    match = _READY_REVISION.match(str(ready.get("message") or ""))
    kind = obj.get("kind")
    if not match or not isinstance(kind, str):
        return False
    return rules_for(kind).revision(obj) != match.group(1)


def blocked_by(waiting: Progress, source: Obj | None, source_name: str) -> Progress:
    """A HelmRelease that waits for its chart (SourceNotReady) while Flux has given up on the chart
    (Stalled=True, e.g. a chart version the repository lacks) waits for ever: helm-controller watches
    only the chart's artifact revision, which a stalled chart does not change (docs/flux-facts.md §14).
    Such a wait fails at once with the chart's error; any other wait stays a wait (pure)."""
    if waiting.reason != "SourceNotReady" or source is None:
        return waiting
    stalled = condition(source, "Stalled")
    if stalled.get("status") != "True":
        return waiting
    return Progress(
        "failed",
        f"{source_name} hängt (Stalled): {stalled.get('message', '')}",
        stalled.get("reason", "Stalled"),
    )


def is_static(kind: FluxKind, obj: Obj) -> bool:
    """An OCI HelmRepository has no artifact and cannot be reconciled (flux prints a ✔ and goes on)."""
    return kind.kind == "HelmRepository" and (obj.get("spec") or {}).get("type") == "oci"


class Link(NamedTuple):
    """The next link of a source chain: the source, and whether its own source is reconciled first."""

    ref: ObjectRef
    #: a HelmChart is rebuilt from its own source, so that source is fetched first
    with_source: bool = False


def source_ref(kind: FluxKind, obj: Obj) -> Link | None:
    """The next link of the source chain of ``obj`` (pure), or None for a source without one."""
    spec = obj.get("spec") or {}
    ns = obj["metadata"].get("namespace") or settings().flux_namespace
    if kind.kind == "Kustomization":
        ref = spec.get("sourceRef") or {}
        if ref.get("kind") not in ("GitRepository", "OCIRepository", "Bucket"):
            raise UsageError(
                f"Die Quelle der Art '{ref.get('kind')}' von Kustomization {ns}/"
                f"{obj['metadata']['name']} kann nicht abgeglichen werden.",
                "Ohne `with_source` abgleichen oder die Quelle direkt abgleichen.",
            )
        return Link(ObjectRef(kinds.by_kind(ref["kind"]), ref["name"], ref.get("namespace") or ns))
    if kind.kind == "HelmRelease":
        chart_ref = spec.get("chartRef")
        if chart_ref:
            if chart_ref.get("kind") == "OCIRepository":
                return Link(
                    ObjectRef(kinds.OCI_REPOSITORY, chart_ref["name"], chart_ref.get("namespace") or ns)
                )
            if chart_ref.get("kind") == "HelmChart":
                return Link(
                    ObjectRef(kinds.HELM_CHART, chart_ref["name"], chart_ref.get("namespace") or ns), True
                )
            raise UsageError(
                f"chartRef der Art '{chart_ref.get('kind')}' kann nicht abgeglichen werden.",
                "Nur OCIRepository und HelmChart werden als chartRef unterstützt.",
            )
        chart_source = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
        chart_ns = chart_source.get("namespace") or ns
        return Link(ObjectRef(kinds.HELM_CHART, f"{ns}-{obj['metadata']['name']}", chart_ns), True)
    if kind.kind == "HelmChart":
        ref = spec.get("sourceRef") or {}
        if ref.get("kind") not in ("HelmRepository", "GitRepository", "Bucket"):
            raise UsageError(
                f"Die Quelle der Art '{ref.get('kind')}' des HelmChart kann nicht abgeglichen werden."
            )
        return Link(ObjectRef(kinds.by_kind(ref["kind"]), ref["name"], ns))
    return None


def dependency_behind(dependency: Obj, source: ObjectRef, revision: str) -> bool:
    """Would kustomize-controller hold a Kustomization back for this ``dependency`` (pure)?

    It checks every ``dependsOn`` entry before it applies: Ready at the current generation, and, when
    the dependency reads the same source, ``lastAppliedRevision`` equal to the source's artifact
    revision; otherwise it requeues after ``--requeue-dependency`` (30 s by default; docs/flux-facts.md
    §19). A dependency with a ``readyExpr`` is judged by its CEL expression instead and is left alone here.
    """
    spec = dependency.get("spec") or {}
    meta = dependency.get("metadata") or {}
    status = dependency.get("status") or {}
    if spec.get("suspend"):
        return False
    ref = spec.get("sourceRef") or {}
    same = (
        ref.get("kind") == source.kind.kind
        and ref.get("name") == source.name
        and (ref.get("namespace") or meta.get("namespace")) == source.namespace
    )
    if not same:
        return False
    ready = condition(dependency, "Ready")
    current = status.get("observedGeneration") == meta.get("generation")
    return not (status.get("lastAppliedRevision") == revision and ready.get("status") == "True" and current)


#: the troubleshooting runbook for a failing object, by kind (the rest goes to troubleshoot-sync)
_TROUBLESHOOT = {"HelmRelease": "troubleshoot-helmrelease", "HelmChart": "troubleshoot-helmrelease"}


def troubleshoot_runbook(kind: str) -> str:
    """``troubleshoot-helmrelease`` for HelmReleases and their charts, ``troubleshoot-sync`` for sources
    and Kustomizations (what does not arrive from Git)."""
    return _TROUBLESHOOT.get(kind, "troubleshoot-sync")


def troubleshoot_hint(refs: list[str]) -> str:
    """Where to look for the cause of failing objects (``Kustomization flux-system/apps``, …), in German."""
    books = list(dict.fromkeys(troubleshoot_runbook(ref.split(" ", 1)[0]) for ref in refs)) or [
        "troubleshoot-sync"
    ]
    runbooks = " bzw. ".join(f"`{b}`" for b in books)
    return f"Ursache mit dem Runbook {runbooks} suchen (Ereignisse und Controller-Logs: Runbook `logs`)"
