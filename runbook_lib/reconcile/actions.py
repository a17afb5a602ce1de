"""Ask Flux to reconcile now, and wait for the answer by watching (docs/flux-facts.md §4 and §5).

The request is exactly flux's: a JSON merge patch of ``reconcile.fluxcd.io/requestedAt`` (RFC3339Nano),
plus ``forceAt``/``resetAt`` with the same value for a HelmRelease. ``with_source`` reconciles the
source chain first (Kustomization -> GitRepository/OCIRepository/Bucket; HelmRelease -> HelmChart ->
HelmRepository/GitRepository/Bucket, or its ``chartRef``).

Waiting uses a watch started at the patch's resourceVersion, so no change is missed and the result
is known as soon as the controller writes it (the flux CLI polls every 2 s). Done means
``lastHandledReconcileAt`` equals the requested value and the object is Ready at its current
generation. It fails fast: once the request was handled and the object is Ready=False with a failure
reason, or Stalled, the controller's message is reported at once instead of waiting for the timeout.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import cast

from runbook_lib import kinds, kube
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import parse_duration
from runbook_lib.errors import NotFound, ReconcileFailed, RunbookError, Suspended, WaitTimeout
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.reconcile.rules import (
    FORCE_AT,
    REQUESTED_AT,
    RESET_AT,
    Obj,
    Progress,
    blocked_by,
    is_static,
    progress,
    revision_of,
    rfc3339nano,
    source_ref,
    troubleshoot_hint,
)
from runbook_lib.report import Rendered, Reporter, color_style, default_reporter, html_table, text_table
from runbook_lib.settings import settings

# --- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One object reconciled: what was asked, what it was before and after."""

    ref: str
    requested_at: str
    revision_before: str
    revision_after: str
    state: str
    message: str
    seconds: float
    reason: str = ""


@dataclass(frozen=True)
class ReconcileResult(Rendered):
    steps: tuple[Step, ...]
    #: when the request started (events of this reconcile are the ones after it)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return all(s.state in ("ready", "static") for s in self.steps)

    @property
    def target(self) -> Step:
        return self.steps[-1]

    def check(self) -> str:
        """Raise :class:`ReconcileFailed` with the controller's message unless every step succeeded."""
        for step in self.steps:
            if step.state not in ("ready", "static"):
                raise ReconcileFailed(
                    f"Abgleich von {step.ref} fehlgeschlagen: {step.message}", _failure_hint(step)
                )
        return f"✔ {self.target.ref}: Revision {self.target.revision_after}"

    def _rows(self) -> list[list[str]]:
        return [
            [
                s.ref,
                s.revision_before or "-",
                s.revision_after or "-",
                _STATE_DE.get(s.state, s.state),
                f"{s.seconds:.2f}s",
                s.message,
            ]
            for s in self.steps
        ]

    def __str__(self) -> str:
        head = "✔ Abgleich erfolgreich" if self.ok else "✗ Abgleich fehlgeschlagen"
        return head + "\n" + text_table(_HEADERS, self._rows())

    def _repr_html_(self) -> str:
        head = (
            "<p><b>✔ Abgleich erfolgreich</b></p>"
            if self.ok
            else f"<p><b style='{color_style('failure')}'>✗ Abgleich fehlgeschlagen</b></p>"
        )
        classes = ["" if s.state in ("ready", "static") else "failing" for s in self.steps]
        return head + html_table(_HEADERS, self._rows(), row_classes=classes)


def _failure_hint(step: Step) -> str:
    if step.reason == "RetriesExceeded":
        name = step.ref.split(" ", 1)[1]
        ns, _, short = name.partition("/")
        return (
            "Die Wiederholungen sind aufgebraucht. Erst die Ursache in Git beheben "
            "(oder Runbook `rollback`), dann neu versuchen: "
            f"`runbook run sync -p kind hr -p name {short} -p namespace {ns} -p reset True` "
            f"(bzw. `flux reconcile hr {short} -n {ns} --reset`)."
        )
    return f"{troubleshoot_hint([step.ref])}, in Git beheben und erneut synchronisieren."


_HEADERS = ["OBJEKT", "REVISION VORHER", "REVISION NACHHER", "ERGEBNIS", "DAUER", "MELDUNG"]
_STATE_DE = {"ready": "bereit", "failed": "fehlgeschlagen", "static": "nicht nötig (statisch)"}


@dataclass(frozen=True)
class SuspendResult(Rendered):
    ref: str
    suspended: bool
    message: str

    def __str__(self) -> str:
        return f"✔ {self.ref}: {self.message}"

    def _repr_html_(self) -> str:
        return f"<p>✔ <b>{escape(self.ref)}</b>: {escape(self.message)}</p>"


# --- gathering and acting ------------------------------------------------------------------------------


class _Api:
    """Thin access to Flux objects through the CustomObjectsApi, by way of :mod:`runbook_lib.kube`.

    A kind served at several versions (OCIRepository is v1beta2 only on Flux 2.4/2.5) is read at the
    first version the cluster answers; patches and watches then use that version.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._versions: dict[str, str] = {}

    def version(self, kind: FluxKind) -> str:
        return self._versions.get(kind.kind, kind.version)

    def get(self, ref: ObjectRef) -> Obj:
        for version in dict.fromkeys((self.version(ref.kind), *ref.kind.versions)):
            try:
                obj = kube.request(
                    self.cluster,
                    str(ref),
                    self.cluster.custom.get_namespaced_custom_object,
                    ref.kind.group,
                    version,
                    ref.namespace,
                    ref.kind.plural,
                    ref.name,
                )
            except NotFound:
                continue
            self._versions[ref.kind.kind] = version
            return cast(Obj, obj)
        raise kube.object_not_found(self.cluster, ref.kind, ref.name, ref.namespace)

    def patch(self, ref: ObjectRef, body: Obj) -> Obj:
        return cast(
            Obj,
            kube.request(
                self.cluster,
                str(ref),
                self.cluster.custom.patch_namespaced_custom_object,
                ref.kind.group,
                self.version(ref.kind),
                ref.namespace,
                ref.kind.plural,
                ref.name,
                body,
            ),
        )


def _kind(kind: str | FluxKind) -> FluxKind:
    """What a user typed (``hr``, ``gitrepo``) or a FluxKind record."""
    return kind if isinstance(kind, FluxKind) else kinds.resolve(kind)


def _ref(kind: FluxKind, name: str, namespace: str | None) -> ObjectRef:
    """The object asked for; no namespace means the Flux namespace (``flux reconcile``'s ``-n`` default)."""
    return ObjectRef(kind, name, namespace or settings().flux_namespace)


def _limit(timeout: str | timedelta | None) -> timedelta:
    """How long to wait; None means the settings' reconcile timeout (``flux reconcile --timeout``)."""
    limit = parse_duration(settings().reconcile_timeout if timeout is None else timeout, what="timeout")
    assert limit is not None
    return limit


def _resume_hint(ref: ObjectRef) -> str:
    """How to resume ``ref`` from a shell: the flux command and the kubectl patch that does the same."""
    short = ref.kind.aliases[0] if ref.kind.aliases and not ref.kind.is_source else ref.kind.human
    cmd = f"flux resume {short} {ref.name} -n {ref.namespace}"
    if ref.kind.is_source:
        cmd = f"flux resume source {ref.kind.source_sub} {ref.name} -n {ref.namespace}"
    patch = (
        f"kubectl patch {ref.kind.human} {ref.name} -n {ref.namespace} --type merge "
        """-p '{"spec":{"suspend":false}}'"""
    )
    return f"Erst fortsetzen: `{cmd}` oder `{patch}`; steht `suspend: true` im Git-Manifest, dort entfernen."


def _watch_until_done(
    api: _Api, ref: ObjectRef, start: Obj, requested_at: str | None, deadline: float
) -> tuple[Obj, Progress]:
    """Follow the object with a watch from ``start``'s resourceVersion until it is done or failed."""
    obj, state = start, progress(start, requested_at)
    rv = start["metadata"].get("resourceVersion")
    while state.state in ("pending", "progressing"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"Zeitüberschreitung beim Warten auf {ref}. Zuletzt gesehen: {state.message or state.state}.",
                "Controller-Logs prüfen (Runbook `logs`) oder mit längerem `timeout` erneut abgleichen.",
            )
        events = kube.watch(
            api.cluster,
            str(ref),
            api.cluster.custom.list_namespaced_custom_object,
            ref.kind.group,
            api.version(ref.kind),
            ref.namespace,
            ref.kind.plural,
            seconds=remaining,
            field_selector=f"metadata.name={ref.name}",
            resource_version=rv,
            allow_watch_bookmarks=True,
        )
        try:
            with closing(events):
                for event in events:  # ends quietly when nothing more comes before the deadline
                    if event["type"] == "BOOKMARK":
                        continue
                    if event["type"] == "DELETED":
                        raise ReconcileFailed(f"{ref} wurde während des Abgleichs gelöscht.")
                    obj = event["object"]
                    rv = obj["metadata"].get("resourceVersion", rv)
                    state = _unless_blocked(api, ref, obj, progress(obj, requested_at))
                    if state.state not in ("pending", "progressing") or time.monotonic() >= deadline:
                        break
        except kube.WatchExpired:
            obj = api.get(ref)  # history expired: start again from the current object
            rv, state = obj["metadata"].get("resourceVersion"), progress(obj, requested_at)
    return obj, state


def _unless_blocked(api: _Api, ref: ObjectRef, obj: Obj, state: Progress) -> Progress:
    """A HelmRelease waiting for a stalled HelmChart fails now (:func:`rules.blocked_by`)."""
    if state.reason != "SourceNotReady" or ref.kind.kind != "HelmRelease":
        return state
    link = source_ref(ref.kind, obj)
    if link is None:
        return state
    try:
        source = api.get(link.ref)
    except RunbookError:
        return state
    return blocked_by(state, source, str(link.ref))


def _suspended(ref: ObjectRef) -> Suspended:
    return Suspended(
        f"{ref} ist ausgesetzt (suspend: true); bis zum Fortsetzen gleicht Flux nichts ab.", _resume_hint(ref)
    )


def _annotate(
    api: _Api, ref: ObjectRef, obj: Obj, *, force: bool, reset: bool, rep: Reporter
) -> tuple[str, Obj]:
    """Write the request as flux does (refusing a suspended object); returns the token and the object."""
    if (obj.get("spec") or {}).get("suspend"):
        raise Suspended(
            f"{ref} ist ausgesetzt (suspend: true); bis zum Fortsetzen gleicht Flux nichts ab.",
            _resume_hint(ref),
        )
    requested_at = rfc3339nano()
    annotations = {REQUESTED_AT: requested_at}
    if ref.kind.kind == "HelmRelease" and force:
        annotations[FORCE_AT] = requested_at
    if ref.kind.kind == "HelmRelease" and reset:
        annotations[RESET_AT] = requested_at
    rep.action(f"annotiere {ref.kind.kind} {ref.name} im Namespace {ref.namespace}")
    patched = api.patch(ref, {"metadata": {"annotations": annotations}})
    rep.success(f"{ref.kind.kind} annotiert")
    return requested_at, patched


def _reconcile_one(
    api: _Api, ref: ObjectRef, *, force: bool, reset: bool, deadline: float, rep: Reporter
) -> Step:
    begin = time.monotonic()
    obj = api.get(ref)
    before = revision_of(ref.kind, obj)
    if is_static(ref.kind, obj):
        rep.success(f"{ref}: Abgleich nicht nötig (statisches Objekt)")
        return Step(str(ref), "", before, before, "static", "statisches Objekt", 0.0)
    requested_at, patched = _annotate(api, ref, obj, force=force, reset=reset, rep=rep)
    rep.waiting(f"warte auf den Abgleich von {ref.kind.kind} {ref.name}")
    obj, state = _watch_until_done(api, ref, patched, requested_at, deadline)
    seconds = time.monotonic() - begin
    after = revision_of(ref.kind, obj)
    if state.state == "failed":
        rep.failure(f"{ref}: {state.message}")
        return Step(str(ref), requested_at, before, after, "failed", state.message, seconds, state.reason)
    verb = "angewendete" if ref.kind.kind in ("Kustomization", "HelmRelease") else "geholte"
    rep.success(f"{verb} Revision {after}")
    return Step(str(ref), requested_at, before, after, "ready", state.message, seconds)


def _chain(api: _Api, ref: ObjectRef) -> list[ObjectRef]:
    """The sources of ``ref`` in the order they are reconciled, ``ref`` itself last.

    Every link is read first and a suspended one refused before anything is annotated, as flux
    checks the object before it reconciles its source.
    """
    obj = api.get(ref)
    if (obj.get("spec") or {}).get("suspend"):
        raise Suspended(
            f"{ref} ist ausgesetzt (suspend: true); bis zum Fortsetzen gleicht Flux nichts ab.",
            _resume_hint(ref),
        )
    link = source_ref(ref.kind, obj)
    if link is None:
        return [ref]
    upstream = _chain(api, link.ref) if link.with_source else [link.ref]
    return [*upstream, ref]


def reconcile(
    kind: str | FluxKind,
    name: str,
    *,
    namespace: str | None = None,
    with_source: bool = False,
    force: bool = False,
    reset: bool = False,
    timeout: str | timedelta | None = None,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
    raise_on_failure: bool = False,
) -> ReconcileResult:
    """Reconcile ``kind``/``name`` like ``flux reconcile <kind> <name> [--with-source]`` and wait.

    A failed reconcile returns a result with ``ok == False`` (or raises ReconcileFailed with
    ``raise_on_failure``); a suspended object, a missing one and a timeout raise. ``namespace`` and
    ``timeout`` default to the settings' Flux namespace and reconcile timeout.
    """
    fk = _kind(kind)
    limit = _limit(timeout)
    api, rep = _Api(default_cluster(client)), default_reporter(reporter)
    started = datetime.now(UTC)
    target = _ref(fk, name, namespace)
    deadline = time.monotonic() + limit.total_seconds()
    refs = _chain(api, target) if with_source else [target]
    steps: list[Step] = []
    for ref in refs:
        step = _reconcile_one(api, ref, force=force, reset=reset, deadline=deadline, rep=rep)
        steps.append(step)
        if step.state == "failed":
            break
    result = ReconcileResult(tuple(steps), started)
    if raise_on_failure:
        result.check()
    return result


def request_reconcile(
    kind: str | FluxKind,
    name: str,
    *,
    namespace: str | None = None,
    with_source: bool = False,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> str:
    """Only annotate (the source first with ``with_source``), do not wait; returns the request token."""
    fk = _kind(kind)
    api, rep = _Api(default_cluster(client)), default_reporter(reporter)
    target = _ref(fk, name, namespace)
    token = ""
    for ref in _chain(api, target) if with_source else [target]:
        obj = api.get(ref)
        if not is_static(ref.kind, obj):
            token, _ = _annotate(api, ref, obj, force=False, reset=False, rep=rep)
    return token


def _set_suspend(
    kind: str | FluxKind, name: str, namespace: str | None, value: bool, client: Cluster | None, rep: Reporter
) -> tuple[_Api, ObjectRef, Obj]:
    fk = _kind(kind)
    api, ref = _Api(default_cluster(client)), _ref(fk, name, namespace)
    api.get(ref)
    verb = "setze aus" if value else "setze fort"
    rep.action(f"{verb}: {fk.human} {name} im Namespace {ref.namespace}")
    # flux sends {"spec":{"suspend":null}} on resume (omitempty); null removes the field
    obj = api.patch(ref, {"spec": {"suspend": True if value else None}})
    rep.success(f"{fk.human} {'ausgesetzt' if value else 'fortgesetzt'}")
    return api, ref, obj


def suspend(
    kind: str | FluxKind,
    name: str,
    *,
    namespace: str | None = None,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> SuspendResult:
    """``flux suspend``: set ``spec.suspend``; Flux leaves the object alone until resumed."""
    _api, ref, _obj = _set_suspend(kind, name, namespace, True, client, default_reporter(reporter))
    return SuspendResult(str(ref), True, "ausgesetzt; bis zum Fortsetzen gleicht Flux nichts mehr ab")


def resume(
    kind: str | FluxKind,
    name: str,
    *,
    namespace: str | None = None,
    wait: bool = True,
    timeout: str | timedelta | None = None,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> SuspendResult:
    """``flux resume``: clear ``spec.suspend`` (the generation bump triggers the controller) and wait
    until the object is Ready at its new generation."""
    rep = default_reporter(reporter)
    api, ref, obj = _set_suspend(kind, name, namespace, False, client, rep)
    if not wait:
        return SuspendResult(str(ref), False, "fortgesetzt")
    limit = _limit(timeout)
    rep.waiting(f"warte auf den Abgleich von {ref.kind.kind} {ref.name}")
    # resume has no request token: done when Ready at the new generation (flux's isObjectReady)
    obj, state = _watch_until_done(api, ref, obj, None, time.monotonic() + limit.total_seconds())
    if state.state == "failed":
        raise ReconcileFailed(
            f"{ref} wurde fortgesetzt, der Abgleich schlug fehl: {state.message}",
            "Ereignisse und Controller-Logs prüfen (Runbook `logs`).",
        )
    rep.success(f"{ref.kind.kind} {ref.name}: Abgleich abgeschlossen")
    return SuspendResult(str(ref), False, f"fortgesetzt und bereit ({revision_of(ref.kind, obj)})")
