"""The one boundary to the API server: every call of a kubernetes client method goes through here.

- :func:`request` calls one API method with the default request timeout
  (:attr:`runbook_lib.settings.Settings.request_timeout`); :func:`watch` streams a watch with a
  client-side read timeout; :func:`read_chunks` reads a streamed body (``_preload_content=False``).
- Their failures become project errors here, and only here: ``ApiException`` through
  :func:`runbook_lib.errors.from_api_exception`, a transport failure (urllib3 ``HTTPError``, which
  includes ``MaxRetryError`` and ``ProtocolError``, and ``OSError``) as
  :func:`runbook_lib.errors.unreachable` naming context and server.
- Fast, raw reads (:func:`api_get`, :func:`list_objects`, :func:`get_object`) go below the generated
  API classes: their per-call validation and model building cost more than the request when listing
  thousands of objects. One GET through the client's ``ApiClient`` (same auth, TLS and connection pool),
  ``json.loads`` on the bytes, plain dicts out.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from kubernetes import watch as k8s_watch
from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from runbook_lib.cluster import Cluster
from runbook_lib.errors import ApiError, NotFound, RunbookError, from_api_exception, unreachable
from runbook_lib.kinds import FluxKind
from runbook_lib.settings import settings

#: bytes per read from a streamed response; large enough that reading is not the bottleneck
CHUNK = 1 << 16


class WatchExpired(ApiError):
    """The watch's resourceVersion is too old (410 Gone): list or get again, then watch from there."""


@contextlib.contextmanager
def _boundary(cluster: Cluster, what: str) -> Iterator[None]:
    """Convert the client's failures inside the block into project errors about ``what``."""
    try:
        yield
    except ApiException as exc:
        raise from_api_exception(exc, what, where=cluster.describe()) from exc
    except (HTTPError, OSError) as exc:  # refused, reset, timed out, TLS: urllib3 errors come in many shapes
        raise unreachable(cluster.describe()) from exc


def request(cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the API method ``fn`` (of ``cluster``'s client) about ``what``; failures become project errors.

    ``_request_timeout`` defaults to the request timeout of the settings: an incident needs a fast
    "cannot reach it", not a hanging cell. The answer is the method's (a response to read for
    ``_preload_content=False``).
    """
    kwargs.setdefault("_request_timeout", settings().request_timeout)
    with _boundary(cluster, what):
        return fn(*args, **kwargs)


def watch(
    cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, seconds: float, **kwargs: Any
) -> Generator[dict[str, Any]]:
    """The events of a watch on the list method ``fn``, for at most ``seconds``.

    The server ends the watch after ``seconds`` (``timeout_seconds``), and a client-side read timeout
    ends it too when the server stays silent: then the stream just ends. 410 Gone raises
    :class:`WatchExpired`; every other failure is converted as in :func:`request`. Close the iterator
    (``contextlib.closing``) when leaving early.
    """
    watcher = k8s_watch.Watch()
    timeout = (settings().request_timeout, max(0.05, seconds))
    try:
        with _boundary(cluster, what):
            try:
                yield from watcher.stream(
                    fn, *args, timeout_seconds=max(1, math.ceil(seconds)), _request_timeout=timeout, **kwargs
                )
            except ApiException as exc:
                if exc.status == 410:
                    raise WatchExpired(f"Die Beobachtung von {what} ist abgelaufen (410).") from exc
                raise
            except (ReadTimeoutError, ProtocolError):
                return  # nothing more before the deadline, or the server closed the stream
    finally:
        watcher.stop()


def read_chunks(cluster: Cluster, what: str, resp: Any, *, tolerant: bool = False) -> Iterator[bytes]:
    """The body of a streamed response (``_preload_content=False``), chunk by chunk, errors converted.

    ``tolerant``: the caller shuts the socket itself (:func:`shutdown`, a bounded follow), so a read
    failure just ends the body.
    """
    try:
        with _boundary(cluster, what):
            while chunk := resp.read1(CHUNK):
                yield chunk
    except RunbookError:
        if not tolerant:
            raise
    except (ValueError, AttributeError):  # read from a response already shut down
        if not tolerant:
            raise
    finally:
        resp.release_conn()


def shutdown(resp: Any) -> None:
    """Shut a streamed response's socket: a reader blocked in :func:`read_chunks` returns."""
    with contextlib.suppress(ValueError, RuntimeError, OSError):  # already finished and released
        resp.shutdown()


def where(namespace: str | None) -> str:
    """German phrase for a namespace scope (``None``: all namespaces)."""
    return "in allen Namespaces" if namespace is None else f"im Namespace '{namespace}'"


def api_get(cluster: Cluster, path: str, what: str, query: Mapping[str, str | None] | None = None) -> Any:
    """GET an API path and decode the JSON body; None on 404 (see the module docstring)."""
    api = cluster.api_client
    params = [(k, v) for k, v in (query or {}).items() if v]
    with _boundary(cluster, what):
        req = api.param_serialize(
            "GET",
            path,
            query_params=params,
            auth_settings=["BearerToken"],
            header_params={"Accept": "application/json"},
        )
        resp = api.call_api(*req, _request_timeout=settings().request_timeout)
        data = resp.read()
    if resp.status == 404:
        return None
    if not 200 <= resp.status <= 299:
        failure = ApiException(http_resp=resp.response)
        raise from_api_exception(failure, what, where=cluster.describe()) from failure
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
