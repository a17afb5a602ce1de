"""Gathering helpers the troubleshooting runbooks share: read-only, plain dicts out.

Every function here only reads (GET/LIST, pod logs). Each is meant to be wrapped in
:func:`runbook_lib.diagnose.common.attempt`, so one failing read fills its error slot and does not hide
the rest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from runbook_lib.cluster import Cluster
from runbook_lib.diagnose.common import attempt
from runbook_lib.durations import format_duration
from runbook_lib.errors import RunbookError, UsageError
from runbook_lib.events import Ref, list_events
from runbook_lib.kinds import FluxKind
from runbook_lib.kube import api_get, closest_names, get_object, list_objects, require_object
from runbook_lib.logs.read import read_logs
from runbook_lib.report import SilentReporter

Obj = dict[str, Any]
#: logs are read at least this far back; enough to see the last fetches of a 1m..20m interval
MIN_LOG_WINDOW = timedelta(hours=1)


def list_kind(cluster: Cluster, kind: FluxKind, namespace: str | None = None) -> list[Obj]:
    return list_objects(cluster, kind, namespace=namespace) or []


def deployments(cluster: Cluster, namespace: str, label_selector: str | None = None) -> list[Obj]:
    body = api_get(
        cluster,
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        f"die Deployments im Namespace '{namespace}'",
        {"labelSelector": label_selector},
    )
    return list((body or {}).get("items") or [])


def pods(cluster: Cluster, namespace: str, label_selector: str | None = None) -> list[Obj]:
    body = api_get(
        cluster,
        f"/api/v1/namespaces/{namespace}/pods",
        f"die Pods im Namespace '{namespace}'",
        {"labelSelector": label_selector},
    )
    return list((body or {}).get("items") or [])


def secret_exists(cluster: Cluster, namespace: str, name: str) -> bool:
    """Whether the Secret exists; its data is never read into the result."""
    body = api_get(cluster, f"/api/v1/namespaces/{namespace}/secrets/{name}", f"Secret {namespace}/{name}")
    return body is not None


def events_for(cluster: Cluster, kind: str, name: str, namespace: str) -> list[Obj]:
    """Events whose involvedObject is this object, oldest first (``kubectl describe`` shows the same)."""
    items = list_events(cluster, Ref(kind, name, namespace))
    return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def log_records(
    cluster: Cluster,
    *,
    controller: str,
    kind: str,
    name: str,
    namespace: str,
    window: timedelta = MIN_LOG_WINDOW,
    flux_namespace: str = "flux-system",
) -> list[Obj]:
    """The controller's JSON log lines about one object within ``window``, as zap records (dicts)."""
    since = format_duration(max(window, MIN_LOG_WINDOW))
    try:
        result = read_logs(
            controller=controller,
            kind=kind,
            name=name,
            namespace=namespace,
            since=since,
            flux_namespace=flux_namespace,
            client=cluster,
            reporter=SilentReporter(),
        )
    except UsageError as exc:  # the controller has no pod: a finding, not bad input
        raise RunbookError(f"{exc.message} {exc.hint or ''}".strip()) from exc
    return [
        {
            "ts": line.ts,
            "level": line.level,
            "msg": line.msg,
            "error": line.error,
            "controllerKind": line.kind,
            "name": line.name,
            "namespace": line.namespace,
        }
        for line in result.lines
        if line.parsed
    ]


__all__ = [
    "attempt",
    "closest_names",
    "deployments",
    "events_for",
    "get_object",
    "list_kind",
    "log_records",
    "pods",
    "require_object",
    "secret_exists",
]
