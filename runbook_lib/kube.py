"""The one boundary to the API server: every call of a kubernetes client method goes through here.

- :func:`request` calls one API method with the default request timeout
  (:attr:`runbook_lib.settings.Settings.request_timeout`); :func:`request_json` also reads and decodes
  the body there; :func:`watch` streams a watch with a client-side read timeout; :func:`read_chunks`
  reads a streamed body (``_preload_content=False``).
- **Retries**: a read (GET, LIST, WATCH, a pod log) that fails with 429, a 5xx or a broken connection
  is tried again, up to :attr:`~runbook_lib.settings.Settings.retries` times, waiting
  :attr:`~runbook_lib.settings.Settings.retry_backoff` seconds, then twice as long each time (with
  jitter; a 429's ``Retry-After`` is honoured up to :data:`MAX_RETRY_AFTER`). A write is tried again
  only when it cannot have arrived (429, connection refused). A timeout is never retried: a server that
  does not answer within the request timeout is reported at once, so every call is bounded by about
  the request timeout plus the backoff. The client's own urllib3 retries are switched off
  (:func:`runbook_lib.cluster.connect`): they would retry a read timeout three times.
- **Watches** end quietly when the server closes the stream or stays silent until the deadline; the
  caller resumes from the last resourceVersion it saw. A watch that cannot start is retried like a read,
  within its deadline; 410 Gone raises :class:`WatchExpired` (the caller lists again).
- Their failures become project errors here, and only here: ``ApiException`` through
  :func:`runbook_lib.errors.from_api_exception`, a transport failure (urllib3 ``HTTPError``, which
  includes ``MaxRetryError`` and ``ProtocolError``, ``http.client.HTTPException`` and ``OSError``) as
  :func:`runbook_lib.errors.unreachable` naming context, server and what went wrong.
- Fast, raw reads (:func:`api_get`, :func:`list_objects`, :func:`get_object`) go below the generated
  API classes: their per-call validation and model building cost more than the request when listing
  thousands of objects. One GET through the client's ``ApiClient`` (same auth, TLS and connection pool),
  ``json.loads`` on the bytes, plain dicts out.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import Any

from kubernetes import watch as k8s_watch
from kubernetes.client import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from runbook_lib.cluster import Cluster
from runbook_lib.errors import (
    ApiError,
    ClusterUnreachable,
    NotFound,
    RunbookError,
    from_api_exception,
    unreachable,
)
from runbook_lib.kinds import FluxKind
from runbook_lib.names import check_name, check_namespace
from runbook_lib.settings import settings

#: bytes per read from a streamed response; large enough that reading is not the bottleneck
CHUNK = 1 << 16
#: answers that say "try again": too many requests, and the server (or a proxy before it) failing
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: the longest ``Retry-After`` followed, in seconds: longer is not worth a runbook's time
MAX_RETRY_AFTER = 5.0
#: the longest single wait between two attempts, in seconds
MAX_BACKOFF = 2.0
#: the longest one watch request stays open; a longer wait is several watches (and a socket timeout
#: must fit into the operating system's limit)
MAX_WATCH = 3600.0
#: method name prefixes of the generated API classes that only read
_READS = ("get_", "list_", "read_")
#: transport failures as the client raises them
TRANSPORT = (HTTPError, HTTPException, OSError)


class WatchExpired(ApiError):
    """The watch's resourceVersion is too old (410 Gone): list or get again, then watch from there."""


def _cause(exc: BaseException) -> BaseException:
    """The failure inside urllib3's MaxRetryError (the client wraps connection errors in it)."""
    return exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc


def _timed_out(exc: BaseException) -> bool:
    cause = _cause(exc)
    if isinstance(cause, NewConnectionError):  # a subclass of ConnectTimeoutError in urllib3 2, but refused
        return False
    return isinstance(cause, ReadTimeoutError | ConnectTimeoutError | TimeoutError)


def _retryable(exc: BaseException, *, read: bool) -> bool:
    """May ``exc`` be answered by trying again (see the module docstring)?"""
    if isinstance(exc, ApiException):
        return exc.status == 429 or (read and exc.status in RETRY_STATUS)
    if _timed_out(exc):
        return False
    cause = _cause(exc)
    if isinstance(cause, NewConnectionError | ConnectionRefusedError):
        return True  # the request never left: safe for writes too
    return read and isinstance(cause, TRANSPORT)


def _delay(attempt: int, exc: BaseException) -> float:
    """Seconds to wait before attempt ``attempt + 1``."""
    if isinstance(exc, ApiException) and exc.status == 429:
        header = (exc.headers or {}).get("Retry-After", "") if exc.headers else ""
        with contextlib.suppress(ValueError):
            return min(MAX_RETRY_AFTER, max(0.0, float(header)))
    base = settings().retry_backoff * 2 ** (attempt - 1)
    return float(min(MAX_BACKOFF, base * random.uniform(0.5, 1.5)))  # jitter, not crypto


def _detail(exc: BaseException) -> str:
    """What went wrong on the way, in German, for :func:`unreachable`."""
    cause = _cause(exc)
    if _timed_out(exc):
        return f"keine Antwort innerhalb von {settings().request_timeout:g} s"
    if isinstance(cause, NewConnectionError | ConnectionRefusedError):
        return "Verbindung abgelehnt"
    if isinstance(cause, ProtocolError | ConnectionResetError | HTTPException):
        return "Verbindung abgebrochen"
    return ""


def convert(cluster: Cluster, what: str, exc: BaseException, attempts: int = 1) -> RunbookError:
    """The project error for a failure of the client about ``what`` (raise it ``from exc``)."""
    tries = f"nach {attempts} Versuchen" if attempts > 1 else ""
    if not isinstance(exc, ApiException):
        return unreachable(cluster.describe(), ", ".join(filter(None, (_detail(exc), tries))))
    error = from_api_exception(exc, what, where=cluster.describe())
    if tries:
        error.message = f"{error.message.rstrip('.')} ({tries})."
        error.args = (error.message,)
    return error


@contextlib.contextmanager
def _boundary(cluster: Cluster, what: str) -> Iterator[None]:
    """Convert the client's failures inside the block into project errors about ``what``."""
    try:
        yield
    except (
        ApiException,
        *TRANSPORT,
    ) as exc:  # refused, reset, timed out, TLS: urllib3 errors come in many shapes
        raise convert(cluster, what, exc) from exc


def _attempts(cluster: Cluster, what: str, call: Callable[[], Any], *, read: bool) -> Any:
    """``call()`` with the retries of the module docstring; failures converted."""
    limit = 1 + max(0, settings().retries)
    for attempt in itertools.count(1):
        try:
            return call()
        except (ApiException, *TRANSPORT) as exc:
            if attempt >= limit or not _retryable(exc, read=read):
                raise convert(cluster, what, exc, attempt) from exc
            time.sleep(_delay(attempt, exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _is_read(fn: Callable[..., Any]) -> bool:
    return getattr(fn, "__name__", "").startswith(_READS)


def request(cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the API method ``fn`` (of ``cluster``'s client) about ``what``; failures become project errors.

    ``_request_timeout`` defaults to the request timeout of the settings: an incident needs a fast
    "cannot reach it", not a hanging cell. Reads are retried (module docstring), and writes that the
    caller marks ``idempotent=True`` (a merge patch setting fixed values) like reads. The answer is the
    method's (a response to read for ``_preload_content=False``: read it with :func:`read_chunks`, or
    use :func:`request_json`).
    """
    idempotent = bool(kwargs.pop("idempotent", False))
    kwargs.setdefault("_request_timeout", settings().request_timeout)
    return _attempts(cluster, what, lambda: fn(*args, **kwargs), read=idempotent or _is_read(fn))


def _decode(cluster: Cluster, what: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ApiError(
            f"Die Antwort des API-Servers zu {what} ist kein JSON ({cluster.describe()}).",
            "Steht ein Proxy oder eine Anmeldeseite vor dem API-Server? Server-URL der Kubeconfig prüfen "
            "(`kubectl config view --minify`).",
        ) from exc


def request_json(cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """:func:`request` with ``_preload_content=False``, the body read and JSON-decoded inside the
    boundary: a connection cut off in the middle of the body is retried and converted too."""
    idempotent = bool(kwargs.pop("idempotent", False))
    kwargs.setdefault("_request_timeout", settings().request_timeout)

    def call() -> bytes:
        return bytes(fn(*args, _preload_content=False, **kwargs).data)

    return _decode(cluster, what, _attempts(cluster, what, call, read=idempotent or _is_read(fn)))


def watch(
    cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, seconds: float, **kwargs: Any
) -> Generator[dict[str, Any]]:
    """The events of a watch on the list method ``fn``, for at most ``seconds``.

    The server ends the watch after ``seconds`` (``timeout_seconds``), and a client-side read timeout
    ends it too when the server stays silent for the request timeout: then the stream just ends, as it
    does when the connection drops (the caller resumes from the last resourceVersion it saw). A watch
    that cannot start is retried within ``seconds``; 410 Gone raises :class:`WatchExpired`; every other
    failure is converted as in :func:`request`. Close the iterator (``contextlib.closing``) when leaving.
    """
    seconds = min(seconds, MAX_WATCH)
    deadline = time.monotonic() + seconds
    limit = 1 + max(0, settings().retries)
    watcher = k8s_watch.Watch()
    opened = False

    @functools.wraps(fn)
    def opening(*a: Any, **kw: Any) -> Any:  # the watch's response arrived: later failures cut a stream
        nonlocal opened
        resp = fn(*a, **kw)
        opened = True
        return resp

    try:
        for attempt in itertools.count(1):
            remaining = deadline - time.monotonic()
            # silence longer than the request timeout ends this request quietly and the caller watches
            # again from where it was: a frozen server then fails that next request within the
            # request timeout instead of holding the cell until the deadline
            timeout = (settings().request_timeout, max(0.05, min(remaining, settings().request_timeout)))
            opened = False
            try:
                yield from watcher.stream(
                    opening,
                    *args,
                    timeout_seconds=max(1, math.ceil(remaining)),
                    _request_timeout=timeout,
                    **kwargs,
                )
                return
            except ApiException as exc:
                if exc.status == 410:
                    raise WatchExpired(f"Die Beobachtung von {what} ist abgelaufen (410).") from exc
                failure: BaseException = exc
            except (*TRANSPORT, ValueError) as exc:  # ValueError: a line cut in the middle
                if opened:
                    return  # silent for the request timeout, or the stream was cut: the caller resumes
                failure = exc
            pause = _delay(attempt, failure)
            if attempt >= limit or not _retryable(failure, read=True) or time.monotonic() + pause >= deadline:
                raise convert(cluster, what, failure, attempt) from failure
            time.sleep(pause)
    finally:
        watcher.stop()


def again_if_cut[T](read: Callable[[], T]) -> T:
    """``read()`` (a request and the reading of its streamed body), done again when the connection was
    cut in the middle of the body: the partial result is dropped. A timeout is not retried."""
    limit = 1 + max(0, settings().retries)
    for attempt in itertools.count(1):
        try:
            return read()
        except ClusterUnreachable as exc:
            cut = exc.__cause__ is not None and not _timed_out(exc.__cause__)
            if attempt >= limit or not cut:
                raise
            time.sleep(_delay(attempt, exc.__cause__ or exc))
    raise AssertionError("unreachable")  # pragma: no cover


def side_by_side[T, R](call: Callable[[T], R], items: Sequence[T], *, most: int = 8) -> list[R]:
    """``[call(item) for item in items]`` with up to ``most`` requests in flight at once: the API server
    works on one answer while the next request is sent (issue 15: the rights check, the kinds of
    ``flux get all``, the controllers' logs). The first failure in ``items``' order is raised."""
    if len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(most, len(items))) as pool:
        return list(pool.map(call, items))


def read_chunks(
    cluster: Cluster, what: str, resp: Any, *, tolerant: bool = False, whole: bool = False
) -> Iterator[bytes]:
    """The body of a streamed response (``_preload_content=False``), chunk by chunk, errors converted.

    ``tolerant``: the caller shuts the socket itself (:func:`shutdown`, a bounded follow), so a read
    failure just ends the body. ``whole``: the body ends by itself (no follow), so read full blocks of
    ``CHUNK`` bytes instead of what has arrived: the API server sends a log in HTTP chunks of ~3 KiB, and
    one Python call per chunk cost a quarter of reading a large log (issue 15).
    """
    read = resp.read if whole else resp.read1
    try:
        with _boundary(cluster, what):
            while chunk := read(CHUNK):
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
    req = api.param_serialize(
        "GET",
        path,
        query_params=params,
        auth_settings=["BearerToken"],
        header_params={"Accept": "application/json"},
    )

    def call() -> tuple[int, bytes]:
        resp = api.call_api(*req, _request_timeout=settings().request_timeout)
        data = resp.read()
        if resp.status != 404 and not 200 <= resp.status <= 299:
            raise ApiException(http_resp=resp.response)
        return resp.status, data

    status, data = _attempts(cluster, what, call, read=True)
    if status == 404:
        return None
    return _decode(cluster, what, data)


def api_stream(
    cluster: Cluster, path: str, what: str, query: Mapping[str, Any], *, timeout: Any = None
) -> Any:
    """GET an API path as a stream (a response for :func:`read_chunks`), retried and converted like
    :func:`request`. A plain path instead of the generated API classes: importing ``CoreV1Api`` builds
    hundreds of pydantic models, seconds on a loaded machine (issue 15)."""
    api = cluster.api_client
    params = [
        (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items() if v is not None
    ]
    req = api.param_serialize("GET", path, query_params=params, auth_settings=["BearerToken"])
    timeout = settings().request_timeout if timeout is None else timeout

    def read_stream() -> Any:
        resp = api.call_api(*req, _request_timeout=timeout)
        if not 200 <= resp.status <= 299:
            resp.read()
            raise ApiException(http_resp=resp.response)
        return resp.response

    return _attempts(cluster, what, read_stream, read=True)


def api_send(
    cluster: Cluster,
    method: str,
    path: str,
    what: str,
    body: Any,
    *,
    query: Mapping[str, str | None] | None = None,
    content_type: str = "application/json",
    idempotent: bool = False,
) -> Any:
    """Send ``body`` (JSON) with ``method`` to an API path and decode the answer; failures become project
    errors like every other call here. Retried like a write unless ``idempotent`` (a dry run is: it
    changes nothing, so it may be sent again)."""
    api = cluster.api_client
    params = [(k, v) for k, v in (query or {}).items() if v]
    req = api.param_serialize(
        method,
        path,
        query_params=params,
        auth_settings=["BearerToken"],
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
    )

    def call() -> bytes:
        resp = api.call_api(*req, _request_timeout=settings().request_timeout)
        data = resp.read()
        if not 200 <= resp.status <= 299:
            raise ApiException(http_resp=resp.response)
        return bytes(data)

    return _decode(cluster, what, _attempts(cluster, what, call, read=idempotent))


def list_objects(
    cluster: Cluster,
    kind: FluxKind,
    *,
    namespace: str | None = None,
    field_selector: str | None = None,
    label_selector: str | None = None,
) -> list[dict[str, Any]] | None:
    """All objects of ``kind`` in one request (falling back through its versions); None if not installed."""
    if namespace is not None:
        check_namespace(namespace)
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
    """One custom object at the first version the cluster serves, or None when it (or its CRD) is missing.

    A name or namespace the API could never accept is a UsageError (it would become part of the path).
    """
    if namespace:
        check_namespace(namespace)
    check_name(name)
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


def can_i(cluster: Cluster, verb: str, resource: str, group: str, namespace: str | None) -> bool:
    """Ask the API server whether the current user may ``verb`` ``resource`` (``pods/log`` for a
    subresource) of ``group`` in ``namespace`` (None: cluster-wide): a SelfSubjectAccessReview, as
    ``kubectl auth can-i`` asks. Every authenticated user may create one (``system:basic-user``)."""
    base, _, sub = resource.partition("/")
    attributes = {"verb": verb, "resource": base, "group": group}
    if sub:
        attributes["subresource"] = sub
    if namespace:
        attributes["namespace"] = namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    # a plain path: AuthorizationV1Api's import builds its pydantic models, about 0.1 s (issue 15)
    review = api_send(
        cluster,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        f"die Rechteprüfung ({verb} {resource})",
        body,
        idempotent=True,  # a question, not a change: safe to ask again
    )
    return bool((review.get("status") or {}).get("allowed"))
