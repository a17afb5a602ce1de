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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

from runbook_lib import kinds, kube
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import parse_duration
from runbook_lib.errors import Interrupted, NotFound, ReconcileFailed, Suspended
from runbook_lib.guard import require_expected_context
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.names import check_name, check_namespace
from runbook_lib.reconcile.rules import (
    FORCE_AT,
    REQUESTED_AT,
    RESET_AT,
    Obj,
    applied,
    dependency_behind,
    is_static,
    revision_of,
    rfc3339nano,
    source_ref,
    troubleshoot_hint,
)
from runbook_lib.reconcile.wait import FluxApi, follow, watch_until_done
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
    #: reconciled first because the target depends on it (spec.dependsOn)
    dependency: bool = False


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
                f"{s.ref} (Abhängigkeit)" if s.dependency else s.ref,
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


def _kind(kind: str | FluxKind) -> FluxKind:
    """What a user typed (``hr``, ``gitrepo``) or a FluxKind record."""
    return kind if isinstance(kind, FluxKind) else kinds.resolve(kind)


def _ref(kind: FluxKind, name: str, namespace: str | None) -> ObjectRef:
    """The object asked for; no namespace means the Flux namespace (``flux reconcile``'s ``-n`` default).
    Name and namespace are checked as the API server checks them."""
    return ObjectRef(kind, check_name(name), check_namespace(namespace or settings().flux_namespace))


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


def _annotate(
    api: FluxApi, ref: ObjectRef, obj: Obj, *, force: bool, reset: bool, rep: Reporter
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
    api: FluxApi,
    ref: ObjectRef,
    *,
    force: bool,
    reset: bool,
    deadline: float,
    rep: Reporter,
    dependency: bool = False,
) -> Step:
    begin = time.monotonic()
    obj = api.get(ref)
    before = revision_of(ref.kind, obj)
    if is_static(ref.kind, obj):
        rep.success(f"{ref}: Abgleich nicht nötig (statisches Objekt)")
        return Step(str(ref), "", before, before, "static", "statisches Objekt", 0.0)
    requested_at, patched = _annotate(api, ref, obj, force=force, reset=reset, rep=rep)
    rep.waiting(f"warte auf den Abgleich von {ref.kind.kind} {ref.name}")
    exact = ref.kind.kind == "HelmRelease" and (force or reset)
    obj, state = watch_until_done(api, ref, patched, requested_at, deadline, exact=exact)
    seconds = time.monotonic() - begin
    after = revision_of(ref.kind, obj)
    if state.state == "failed":
        rep.failure(f"{ref}: {state.message}")
        return Step(
            str(ref), requested_at, before, after, "failed", state.message, seconds, state.reason, dependency
        )
    verb = "angewendete" if ref.kind.kind in ("Kustomization", "HelmRelease") else "geholte"
    rep.success(f"{verb} Revision {after}")
    return Step(str(ref), requested_at, before, after, "ready", state.message, seconds, "", dependency)


def _chain(api: FluxApi, ref: ObjectRef) -> list[ObjectRef]:
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


def _await_dependency(
    api: FluxApi, ref: ObjectRef, revision: str, *, deadline: float, rep: Reporter
) -> Step | None:
    """Follow a dependency that the source's new revision has already put in kustomize-controller's
    queue, without a request of ours (a request while it applies would have it apply twice). None when
    it waits for a dependency of its own: then only a request makes it look again before
    ``--requeue-dependency`` (docs/flux-facts.md §19)."""
    begin = time.monotonic()
    obj = api.get(ref)
    before = revision_of(ref.kind, obj)
    rep.waiting(
        f"warte, bis {ref.kind.kind} {ref.name} die neue Revision angewendet hat (Flux gleicht sie schon ab)"
    )
    obj, state = follow(api, ref, obj, deadline, lambda current: applied(current, revision))
    if state.state == "blocked":
        return None
    seconds, after = time.monotonic() - begin, revision_of(ref.kind, obj)
    if state.state == "failed":
        rep.failure(f"{ref}: {state.message}")
        return Step(str(ref), "", before, after, "failed", state.message, seconds, state.reason, True)
    rep.success(f"angewendete Revision {after}")
    return Step(str(ref), "", before, after, "ready", state.message, seconds, "", True)


def _dependencies_behind(api: FluxApi, target: ObjectRef) -> list[ObjectRef]:
    """The Kustomizations ``target`` waits for at the current revision of its source, deepest first.

    kustomize-controller applies a Kustomization only once every ``dependsOn`` that reads the same
    source has applied the source's revision, and otherwise requeues it after ``--requeue-dependency``
    (30 s by default): after a push, ``flux reconcile ks apps`` waits that long for a dependency that
    was done after a fraction of a second. Reconciling those dependencies first, in order, makes the
    target's own request the one that applies (docs/flux-facts.md §19).
    """
    if target.kind.kind != "Kustomization":
        return []
    obj = api.get(target)
    if not (obj.get("spec") or {}).get("dependsOn"):
        return []
    link = source_ref(target.kind, obj)
    if link is None:
        return []
    try:
        source = api.get(link.ref)
    except NotFound:
        return []  # the target's own step reports the missing source
    revision = str(((source.get("status") or {}).get("artifact") or {}).get("revision") or "")
    if not revision:
        return []
    order: list[ObjectRef] = []
    seen = {target}

    def visit(ref: ObjectRef, current: Obj) -> None:
        for entry in (current.get("spec") or {}).get("dependsOn") or []:
            dep = ObjectRef(
                kinds.KUSTOMIZATION, str(entry.get("name")), entry.get("namespace") or ref.namespace
            )
            if dep in seen or entry.get("readyExpr"):
                continue
            seen.add(dep)
            try:
                dep_obj = api.get(dep)
            except NotFound:
                continue  # kustomize-controller reports it on the target ("dependency ... not found")
            if dependency_behind(dep_obj, link.ref, revision):
                visit(dep, dep_obj)
                order.append(dep)

    visit(target, obj)
    return order


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
    expected_context: str | None = None,
) -> ReconcileResult:
    """Reconcile ``kind``/``name`` like ``flux reconcile <kind> <name> [--with-source]`` and wait.

    A failed reconcile returns a result with ``ok == False`` (or raises ReconcileFailed with
    ``raise_on_failure``); a suspended object, a missing one and a timeout raise. ``namespace`` and
    ``timeout`` default to the settings' Flux namespace and reconcile timeout. ``force``/``reset``
    change the release beyond what Git says: outside the sandbox they need ``expected_context``
    (:mod:`runbook_lib.guard`).
    """
    fk = _kind(kind)
    limit = _limit(timeout)
    api, rep = FluxApi(default_cluster(client)), default_reporter(reporter)
    if force or reset:
        require_expected_context(api.cluster, expected_context, what="Ein Abgleich mit force/reset")
    started = datetime.now(UTC)
    target = _ref(fk, name, namespace)
    deadline = time.monotonic() + limit.total_seconds()
    sources = (_chain(api, target) if with_source else [target])[:-1]
    steps: list[Step] = []
    fresh = ""

    def step(ref: ObjectRef, *, dependency: bool = False) -> bool:
        done = None
        if dependency and fresh:  # the source's change has queued it already
            done = _await_dependency(api, ref, fresh, deadline=deadline, rep=rep)
        if done is None:
            done = _reconcile_one(
                api, ref, force=force, reset=reset, deadline=deadline, rep=rep, dependency=dependency
            )
        steps.append(done)
        return done.state != "failed"

    try:
        if all(step(ref) for ref in sources):
            last = steps[-1] if steps else None
            # a source step that brought a new revision: kustomize-controller queued its Kustomizations
            fresh = last.revision_after if last and last.revision_after != last.revision_before else ""
            behind = _dependencies_behind(api, target)
            for dep in behind:
                rep.info(
                    f"{target} hängt von {dep} ab (spec.dependsOn), und die hat die Revision der Quelle "
                    f"noch nicht angewendet: zuerst {dep.name}"
                )
            if all(step(dep, dependency=True) for dep in behind):
                step(target)
    except KeyboardInterrupt:
        raise Interrupted(
            f"Abgebrochen mit Strg+C beim Abgleich von {target}: die Anfrage an Flux ist gestellt und wird "
            "trotzdem bearbeitet, nur das Warten wurde abgebrochen.",
            f"Ergebnis prüfen: `{kube.list_command(target.kind)}` bzw. `runbook run status`.",
        ) from None
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
    api, rep = FluxApi(default_cluster(client)), default_reporter(reporter)
    target = _ref(fk, name, namespace)
    token = ""
    for ref in _chain(api, target) if with_source else [target]:
        obj = api.get(ref)
        if not is_static(ref.kind, obj):
            token, _ = _annotate(api, ref, obj, force=False, reset=False, rep=rep)
    return token


def _set_suspend(
    kind: str | FluxKind,
    name: str,
    namespace: str | None,
    value: bool,
    client: Cluster | None,
    rep: Reporter,
    expected_context: str | None,
) -> tuple[FluxApi, ObjectRef, Obj]:
    fk = _kind(kind)
    api, ref = FluxApi(default_cluster(client)), _ref(fk, name, namespace)
    what = "Aussetzen (suspend)" if value else "Fortsetzen (resume)"
    require_expected_context(api.cluster, expected_context, what=what)
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
    expected_context: str | None = None,
) -> SuspendResult:
    """``flux suspend``: set ``spec.suspend``; Flux leaves the object alone until resumed.

    Outside the sandbox ``expected_context`` must name the current context (:mod:`runbook_lib.guard`)."""
    _api, ref, _obj = _set_suspend(
        kind, name, namespace, True, client, default_reporter(reporter), expected_context
    )
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
    expected_context: str | None = None,
) -> SuspendResult:
    """``flux resume``: clear ``spec.suspend`` (the generation bump triggers the controller) and wait
    until the object is Ready at its new generation. Outside the sandbox ``expected_context`` must
    name the current context (:mod:`runbook_lib.guard`)."""
    rep = default_reporter(reporter)
    api, ref, obj = _set_suspend(kind, name, namespace, False, client, rep, expected_context)
    if not wait:
        return SuspendResult(str(ref), False, "fortgesetzt")
    limit = _limit(timeout)
    rep.waiting(f"warte auf den Abgleich von {ref.kind.kind} {ref.name}")
    # resume has no request token: done when Ready at the new generation (flux's isObjectReady)
    obj, state = watch_until_done(api, ref, obj, None, time.monotonic() + limit.total_seconds())
    if state.state == "failed":
        raise ReconcileFailed(
            f"{ref} wurde fortgesetzt, der Abgleich schlug fehl: {state.message}",
            "Ereignisse und Controller-Logs prüfen (Runbook `logs`).",
        )
    rep.success(f"{ref.kind.kind} {ref.name}: Abgleich abgeschlossen")
    return SuspendResult(str(ref), False, f"fortgesetzt und bereit ({revision_of(ref.kind, obj)})")
