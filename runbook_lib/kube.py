"""Fast, raw reads from the API server: one GET, ``json.loads``, plain dicts.

The generated API classes of the kubernetes client validate every call and build models; for
listing thousands of objects that costs more than the request. These helpers go through the
client's ``ApiClient`` (same auth, TLS and connection pool) but skip the models. ``ApiException``
is still converted only by :func:`runbook_lib.errors.from_api_exception`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError

from runbook_lib.cluster import REQUEST_TIMEOUT, Cluster
from runbook_lib.errors import ClusterUnreachable, NotFound, RunbookError, from_api_exception
from runbook_lib.kinds import FluxKind


def where(namespace: str | None) -> str:
    """German phrase for a namespace scope (``None``: all namespaces)."""
    return "in allen Namespaces" if namespace is None else f"im Namespace '{namespace}'"


def api_get(cluster: Cluster, path: str, what: str, query: Mapping[str, str | None] | None = None) -> Any:
    """GET an API path and decode the JSON body; None on 404.

    Goes below the generated API classes (their per-call validation and model building cost more
    than the request itself): one request, ``json.loads`` on the bytes, plain dicts out.
    """
    from kubernetes.client import ApiException

    api = cluster.api_client
    params = [(k, v) for k, v in (query or {}).items() if v]
    try:
        request = api.param_serialize(
            "GET",
            path,
            query_params=params,
            auth_settings=["BearerToken"],
            header_params={"Accept": "application/json"},
        )
        resp = api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
        data = resp.read()
    except ApiException as exc:
        raise from_api_exception(exc, what) from exc
    except Exception as exc:  # urllib3 connection errors come in many shapes
        raise unreachable(cluster) from exc
    if resp.status == 404:
        return None
    if not 200 <= resp.status <= 299:
        failure = ApiException(http_resp=resp.response)
        raise from_api_exception(failure, what) from failure
    return json.loads(data)


def list_objects(
    cluster: Cluster,
    kind: FluxKind,
    *,
    namespace: str | None = None,
    field_selector: str | None = None,
    label_selector: str | None = None,
) -> list[dict[str, Any]] | None:
    """All objects of ``kind`` in one request (falling back through its versions); None if not installed."""
    scope = f"namespaces/{namespace}/" if namespace is not None else ""
    query = {"fieldSelector": field_selector, "labelSelector": label_selector}
    for version in kind.versions:
        body = api_get(
            cluster,
            f"/apis/{kind.group}/{version}/{scope}{kind.plural}",
            f"die {kind.kind}-Objekte {where(namespace)}",
            query,
        )
        if body is not None:
            return list(body.get("items") or [])
    return None


def closest_names(wanted: str, existing: Iterable[str]) -> str:
    """German hint naming the closest existing names, and all of them when there are few."""
    names = sorted(set(existing))
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.4)
    hint = f"Meinten Sie: {', '.join(close)}? " if close else ""
    listing = ", ".join(names[:15]) + (" …" if len(names) > 15 else "") if names else "keine"
    return f"{hint}Vorhanden: {listing}."


def not_found(kind: str, name: str, namespace: str | None, existing: Iterable[str], command: str) -> NotFound:
    """The error for an unknown name: names the closest existing objects and the command to list them."""
    where = f"{namespace}/{name}" if namespace else name
    return NotFound(
        f"{kind} {where} wurde nicht gefunden.", f"{closest_names(where, existing)} Auflisten: `{command}`."
    )


def list_command(kind: FluxKind) -> str:
    """The flux command that lists every object of ``kind`` (``flux get sources git -A``)."""
    if kind.is_source:
        return f"flux get sources {kind.source_sub} -A"
    if kind.is_flux:
        return f"flux get {kind.plural} -A"
    return f"kubectl get {kind.plural} -A"


def get_object(cluster: Cluster, kind: FluxKind, namespace: str | None, name: str) -> dict[str, Any] | None:
    """One custom object at the first version the cluster serves, or None when it (or its CRD) is missing."""
    scope = f"namespaces/{namespace}/" if namespace else ""
    what = f"{kind.kind} {namespace + '/' if namespace else ''}{name}"
    for version in kind.versions:
        body = api_get(cluster, f"/apis/{kind.group}/{version}/{scope}{kind.plural}/{name}", what)
        if body is not None:
            return dict(body)
    return None


def require_object(
    cluster: Cluster, kind: FluxKind, namespace: str | None, name: str, command: str | None = None
) -> dict[str, Any]:
    """The object, or a German NotFound naming the closest existing objects (bad input)."""
    found = get_object(cluster, kind, namespace, name)
    if found is None:
        raise object_not_found(cluster, kind, name, namespace, command)
    return found


def object_not_found(
    cluster: Cluster, kind: FluxKind, name: str, namespace: str | None, command: str | None = None
) -> NotFound:
    """:func:`not_found` for a Flux object, with the objects of that kind in every namespace as candidates."""
    try:
        objs = list_objects(cluster, kind) or []
    except RunbookError:  # e.g. no cluster-wide list right: the typo stays a NotFound, without suggestions
        objs = []
    existing = [f"{o['metadata'].get('namespace')}/{o['metadata']['name']}" for o in objs]
    return not_found(kind.kind, name, namespace, existing, command or list_command(kind))


def call_api(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the API; convert its failures into project errors at this one boundary."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise from_api_exception(exc, what) from exc
    except (HTTPError, OSError) as exc:
        raise ClusterUnreachable(
            f"Der Cluster antwortet nicht ({what}): {exc}",
            "Läuft der Cluster? Kubeconfig und Kontext prüfen.",
        ) from exc


def unreachable(cluster: Cluster) -> ClusterUnreachable:
    """The error for a cluster that does not answer, naming context and server."""
    return ClusterUnreachable(
        f"Der Cluster ist nicht erreichbar: {cluster.describe()}.",
        "Läuft der Cluster bzw. die Sandbox (`runbook sandbox up --state DIR`)? "
        "Kubeconfig und Kontext prüfen (`kubectl config get-contexts`).",
    )
