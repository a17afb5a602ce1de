"""Reading, patching and watching one Flux object until a request is done (docs/flux-facts.md §4).

:class:`FluxApi` reads and patches through :mod:`runbook_lib.kube` at the version the cluster serves;
:func:`watch_until_done` follows the object from the resourceVersion the request left it at, resumes
after a dropped watch, lists again after 410, and reports a failure as soon as the controller handled
the request; :func:`timeout_error` says at the deadline whether the controller is running at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from typing import cast

from runbook_lib import kube
from runbook_lib.cluster import Cluster
from runbook_lib.errors import Forbidden, NotFound, ReconcileFailed, RunbookError, WaitTimeout
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.objects import deployment_status
from runbook_lib.reconcile.rules import Obj, Progress, blocked_by, source_ref
from runbook_lib.reconcile.rules import progress as rules_progress
from runbook_lib.settings import settings


class FluxApi:
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
                idempotent=True,  # a merge patch of fixed values: sending it twice changes nothing more
            ),
        )


def timeout_error(api: FluxApi, ref: ObjectRef, state: Progress) -> WaitTimeout:
    """The timeout, saying why when it can: the controller that should answer is not running.

    Reading the controller's Deployment is also the last check that the API server still answers:
    when it does not, that error is raised instead (it is the cause)."""
    seen = state.message or state.state
    controller, namespace = ref.kind.controller, settings().flux_namespace
    hint = "Controller-Logs prüfen (Runbook `logs`) oder mit längerem `timeout` erneut abgleichen."
    if state.state == "pending" and controller and ref.kind.is_flux:
        try:
            dep = kube.api_get(
                api.cluster,
                f"/apis/apps/v1/namespaces/{namespace}/deployments/{controller}",
                f"Deployment {namespace}/{controller}",
            )
        except Forbidden as exc:  # the timeout stays the finding; the unreadable part is named
            return WaitTimeout(
                f"Zeitüberschreitung beim Warten auf {ref}. Zuletzt gesehen: {seen}. Ob der {controller} "
                f"läuft, ist nicht lesbar (fehlendes Recht: {exc.missing or 'Deployments lesen'}).",
                hint,
            )
        ready, reason = deployment_status(dep) if dep else (False, "Deployment fehlt")
        if dep and not int((dep.get("status") or {}).get("readyReplicas") or 0):
            scaled = (dep.get("spec") or {}).get("replicas") == 0
            ready, reason = False, "auf 0 Replikate skaliert" if scaled else reason or "kein Pod bereit"
        if not ready:
            return WaitTimeout(
                f"Zeitüberschreitung beim Warten auf {ref}: der {controller} läuft nicht ({reason}), "
                "niemand bearbeitet die Anfrage.",
                f"Den Controller prüfen: `kubectl -n {namespace} get deploy,pods -l app={controller}` und "
                f"`kubectl -n {namespace} describe deploy {controller}`; läuft er wieder, erneut abgleichen. "
                "Die Anfrage (Annotation) bleibt stehen und wird dann bearbeitet.",
            )
        seen += f"; der {controller} läuft, hat die Anfrage aber nicht bearbeitet"
    return WaitTimeout(f"Zeitüberschreitung beim Warten auf {ref}. Zuletzt gesehen: {seen}.", hint)


def unless_blocked(api: FluxApi, ref: ObjectRef, obj: Obj, state: Progress) -> Progress:
    """A HelmRelease waiting for a stalled HelmChart fails now (:func:`rules.blocked_by`): Flux would
    not get further before the chart changes, so waiting out the timeout helps nobody."""
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


def watch_until_done(
    api: FluxApi,
    ref: ObjectRef,
    start: Obj,
    requested_at: str | None,
    deadline: float,
    *,
    exact: bool = False,
) -> tuple[Obj, Progress]:
    """Follow the object with a watch from ``start``'s resourceVersion until it is done or failed.

    ``start`` is the object as the request left it: a later request handled since counts as this one
    (:func:`~runbook_lib.reconcile.rules.handled`), unless ``exact`` (a forced or reset HelmRelease:
    a plain request that overwrote ours does not force).
    """
    previous = None if exact else str((start.get("status") or {}).get("lastHandledReconcileAt") or "")
    return follow(api, ref, start, deadline, lambda obj: rules_progress(obj, requested_at, previous))


def follow(
    api: FluxApi, ref: ObjectRef, start: Obj, deadline: float, judge: Callable[[Obj], Progress]
) -> tuple[Obj, Progress]:
    """Watch the object from ``start``'s resourceVersion while ``judge`` says "pending" or
    "progressing"; any other state ends the watch. A timeout raises :func:`timeout_error`."""
    obj, state = start, judge(start)
    rv = start["metadata"].get("resourceVersion")
    while state.state in ("pending", "progressing"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timeout_error(api, ref, state)
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
                    state = unless_blocked(api, ref, obj, judge(obj))
                    if state.state not in ("pending", "progressing") or time.monotonic() >= deadline:
                        break
        except kube.WatchExpired:
            obj = api.get(ref)  # history expired: start again from the current object
            rv, state = obj["metadata"].get("resourceVersion"), judge(obj)
    return obj, state
