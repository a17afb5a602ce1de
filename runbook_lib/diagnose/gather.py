"""Gathering helpers the troubleshooting runbooks share: read-only; API objects as dicts, log lines typed.

Every function here only reads (GET/LIST, pod logs). Each is meant to be wrapped in
:func:`runbook_lib.diagnose.common.attempt`, so one failing read fills its error slot and does not hide
the rest.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from runbook_lib.cluster import Cluster
from runbook_lib.durations import format_duration, parse_duration
from runbook_lib.errors import RunbookError, UsageError
from runbook_lib.events import list_events
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.kube import api_get, get_object, list_objects, require_object
from runbook_lib.logs.parse import LogLine
from runbook_lib.logs.read import read_logs
from runbook_lib.report import SilentReporter
from runbook_lib.settings import settings

Obj = dict[str, Any]


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


def events_for(cluster: Cluster, ref: ObjectRef) -> list[Obj]:
    """Events whose involvedObject is this object, oldest first (``kubectl describe`` shows the same)."""
    items = list_events(cluster, ref)
    return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def log_lines(
    cluster: Cluster,
    *,
    controller: str,
    kind: str,
    name: str,
    namespace: str,
    window: timedelta | None = None,
    flux_namespace: str | None = None,
) -> list[LogLine]:
    """The controller's JSON log lines about one object within ``window`` (never less than the
    settings' ``min_log_window``: a failure is retried within it, so it shows at least one attempt)."""
    shortest = parse_duration(settings().min_log_window, what="RUNBOOK_MIN_LOG_WINDOW") or timedelta(0)
    since = format_duration(max(window or shortest, shortest))
    try:
        result = read_logs(
            controller=controller,
            kind=kind,
            name=name,
            namespace=namespace,
            since=since,
            flux_namespace=flux_namespace or settings().flux_namespace,
            client=cluster,
            reporter=SilentReporter(),
        )
    except UsageError as exc:  # the controller has no pod: a finding, not bad input
        raise RunbookError(f"{exc.message} {exc.hint or ''}".strip()) from exc
    return [line for line in result.lines if line.parsed]


__all__ = [
    "deployments",
    "events_for",
    "get_object",
    "list_kind",
    "log_lines",
    "pods",
    "require_object",
    "secret_exists",
]


#: the kubeconfig context of ``runbook sandbox up`` (flux_sandbox.sim.CONTEXT; a unit test keeps them equal)
SANDBOX_CONTEXT = "runbook-sandbox"
#: the file the sandbox writes beside its kubeconfig with the token its Git server accepts
SANDBOX_TOKEN_FILE = "git-token"


def sandbox_token_file(cluster: Cluster) -> str:
    """Where the sandbox keeps its valid Git token, when ``cluster`` is the sandbox; else "".

    The sandbox is recognised by two signs together: the context name it writes, and its ``git-token``
    file beside the kubeconfig in use (``--kubeconfig``, else ``KUBECONFIG``). A real cluster whose
    context happens to have that name has no such file beside its kubeconfig.
    """
    if cluster.context != SANDBOX_CONTEXT:
        return ""
    configs = (
        [cluster.kubeconfig] if cluster.kubeconfig else os.environ.get("KUBECONFIG", "").split(os.pathsep)
    )
    for config in filter(None, configs):
        token = Path(config).expanduser().resolve().parent / SANDBOX_TOKEN_FILE
        if token.is_file():
            return str(token)
    return ""
