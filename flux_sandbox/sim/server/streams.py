"""Streaming answers of the sandbox API server: watches and pod logs (chunked transfer encoding).

A stream ends at its timeout, when the server stops, when the store closes, or when the client goes
away (noticed within ``_TICK`` seconds even while nothing happens).
"""

from __future__ import annotations

import select
import socket
import time
from datetime import UTC, datetime
from typing import Any

from flux_sandbox.sim.resources import ResourceType
from flux_sandbox.sim.selectors import SelectorError, parse_field_selector, parse_label_selector
from flux_sandbox.sim.server.tables import to_table, wanted_table_version
from flux_sandbox.sim.server.wire import Connection, Route, Server, dumps, status_body
from flux_sandbox.sim.store import Obj, StoreError, not_found

#: how often an idle stream checks for stop and client disconnect (seconds)
_TICK = 0.25
#: default watch length when the client gives no timeoutSeconds (the real server uses 30-60 min)
_WATCH_TIMEOUT = 1800.0
#: an idle watch that allows bookmarks gets one this often (the real server: about every minute)
_BOOKMARK_EVERY = 60.0


def client_gone(sock: socket.socket) -> bool:
    """True when the peer has closed the connection (readable with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _event(kind: str, obj_json: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + obj_json + b"}\n"


class _WatchEncoder:
    """Encodes watch events as JSON objects or, when kubectl asks for them, as one-row Tables."""

    def __init__(self, api: Server, route: Route, query: dict[str, str], accept: str) -> None:
        self.api, self.route = api, route
        self.table_version = wanted_table_version(accept)
        self.include = query.get("includeObject") or "Metadata"
        self.headers = True

    def encode(self, kind: str, obj: Obj) -> bytes:
        if self.table_version is None:
            return _event(kind, self.api.encode(obj, self.route.api_version))
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        table = to_table(
            self.api.table_spec(self.route.rt),
            [obj],
            meta,
            include=self.include,
            api_version=self.route.api_version,
            table_version=self.table_version,
            headers=self.headers,
        )
        self.headers = False
        return _event(kind, dumps(table))

    def bookmark(self, rv: int, *, initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.route.rt.kind, "apiVersion": self.route.api_version, "metadata": meta}
        return _event("BOOKMARK", dumps(obj))


def _error_event(exc: StoreError) -> bytes:
    return _event("ERROR", dumps(status_body(exc.code, exc.reason, exc.message, exc.details)))


def _selectors(route: Route, query: dict[str, str]) -> tuple[Any, Any, str | None]:
    fields = query.get("fieldSelector") or ""
    if route.name:
        fields = ",".join(f for f in (fields, f"metadata.name={route.name}") if f)
    try:
        return (
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(fields, route.rt.kind),
            fields or None,
        )
    except SelectorError as exc:
        raise StoreError(400, "BadRequest", str(exc)) from exc


def _positive(query: dict[str, str], key: str) -> float | None:
    if not query.get(key):
        return None
    try:
        return float(query[key])
    except ValueError as exc:
        raise StoreError(400, "BadRequest", f"invalid {key} {query[key]!r}") from exc


def watch(api: Server, h: Connection, route: Route, query: dict[str, str]) -> None:
    """``?watch=true``: newline-delimited JSON events from a resourceVersion on."""
    store, rt = api.store, route.rt
    lsel, fsel, fields = _selectors(route, query)
    rv_param = query.get("resourceVersion")
    timeout = _positive(query, "timeoutSeconds") or _WATCH_TIMEOUT
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    if rv_param in (None, "", "0") or query.get("sendInitialEvents") == "true":
        initial, rv = store.list(
            rt, route.namespace, label_selector=query.get("labelSelector"), field_selector=fields
        )
    else:
        initial = []
        try:
            rv = int(rv_param)
        except ValueError as exc:
            raise StoreError(400, "BadRequest", f"invalid resource version {rv_param!r}") from exc
    encoder = _WatchEncoder(api, route, query, h.headers.get("Accept", ""))
    h.start_chunked("application/json")
    try:
        store.check_watch_start(rt, rv)
    except StoreError as exc:
        h.write_chunk(_error_event(exc))
        return h.end_chunked()
    for obj in initial:
        h.write_chunk(encoder.encode("ADDED", obj))
    if bookmarks and query.get("sendInitialEvents") == "true":
        h.write_chunk(encoder.bookmark(rv, initial_end=True))
    if _follow_changes(api, h, rt, route.namespace, (lsel, fsel), rv, timeout, encoder, bookmarks):
        h.end_chunked()
    else:
        h.close_connection = True


def _follow_changes(
    api: Server,
    h: Connection,
    rt: ResourceType,
    namespace: str | None,
    sels: tuple[Any, Any],
    rv: int,
    timeout: float,
    encoder: _WatchEncoder,
    bookmarks: bool,
) -> bool:
    """Stream changes until the timeout (True) or until stop/disconnect (False)."""
    store = api.store
    deadline = time.monotonic() + timeout
    last_sent = time.monotonic()
    while not api.stopping.is_set() and not store.closed:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if bookmarks:
                h.write_chunk(encoder.bookmark(rv))
            return True
        try:
            changes = store.wait_for_changes(rv, min(remaining, _TICK))
        except StoreError as exc:
            h.write_chunk(_error_event(exc))
            return True
        for change in changes:
            rv = change.rv
            obj = change.obj
            if change.rtype.key != rt.key or (namespace and obj["metadata"].get("namespace") != namespace):
                continue
            if sels[0](obj) and sels[1](obj):
                h.write_chunk(encoder.encode(change.type, obj))
                last_sent = time.monotonic()
        if bookmarks and time.monotonic() - last_sent > _BOOKMARK_EVERY:
            h.write_chunk(encoder.bookmark(rv))
            last_sent = time.monotonic()
        if client_gone(h.connection):
            return False
    return False


# -- pod logs -------------------------------------------------------------------------------------


def rfc3339_nano(ts: float) -> str:
    """Go's ``time.RFC3339Nano`` in UTC (trailing zeros of the fraction dropped)."""
    micros = round(ts * 1_000_000)
    seconds, frac = divmod(micros, 1_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{frac * 1000:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def _container(pod: Obj, name: str, wanted: str | None) -> str:
    spec = pod.get("spec") or {}
    containers = [c.get("name") for c in spec.get("containers") or []]
    inits = [c.get("name") for c in spec.get("initContainers") or []]
    if not wanted:
        if len(containers) == 1:
            return containers[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        )
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise StoreError(400, "BadRequest", message)
    if wanted not in containers + inits:
        raise StoreError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
    return wanted


def _int_param(query: dict[str, str], key: str) -> int | None:
    """An integer query parameter as Go's strconv.ParseInt reads it (400 otherwise)."""
    if not query.get(key):
        return None
    try:
        return int(query[key])
    except ValueError:
        raise StoreError(
            400, "BadRequest", f'strconv.ParseInt: parsing "{query[key]}": invalid syntax'
        ) from None


def _log_options(name: str, query: dict[str, str]) -> tuple[float | None, int | None, int | None]:
    """``sinceSeconds``/``sinceTime``, ``tailLines``, ``limitBytes`` validated as the real server does
    (422 ``PodLogOptions … is invalid``); returns (since timestamp, tail, limit)."""
    since_seconds = _int_param(query, "sinceSeconds")
    tail = _int_param(query, "tailLines")
    limit = _int_param(query, "limitBytes")
    causes: list[tuple[str, str, str]] = []
    if query.get("sinceTime") and since_seconds is not None:
        causes.append(
            (
                "[]",
                "FieldValueForbidden",
                "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
            )
        )
    if tail is not None and tail < 0:
        causes.append(
            ("tailLines", "FieldValueInvalid", f"Invalid value: {tail}: must be greater than or equal to 0")
        )
    if limit is not None and limit < 1:
        causes.append(("limitBytes", "FieldValueInvalid", f"Invalid value: {limit}: must be greater than 0"))
    if since_seconds is not None and since_seconds < 1:
        causes.append(
            ("sinceSeconds", "FieldValueInvalid", f"Invalid value: {since_seconds}: must be greater than 0")
        )
    if causes:
        texts = [f"{field}: {message}" for field, _reason, message in causes]
        joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        raise StoreError(
            422,
            "Invalid",
            f'PodLogOptions "{name}" is invalid: {joined}',
            {
                "name": name,
                "kind": "PodLogOptions",
                "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes],
            },
        )
    since = None
    if since_seconds is not None:
        since = time.time() - since_seconds
    elif query.get("sinceTime"):
        try:
            since = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise StoreError(
                400,
                "BadRequest",
                f'parsing time "{query["sinceTime"]}" as "2006-01-02T15:04:05Z07:00": cannot parse',
            ) from exc
    return since, tail, limit


def _render(lines: list[tuple[float, str]], timestamps: bool) -> bytes:
    if timestamps:
        return "".join(f"{rfc3339_nano(ts)} {line}\n" for ts, line in lines).encode()
    return "".join(f"{line}\n" for _ts, line in lines).encode()


def pod_logs(api: Server, h: Connection, route: Route, query: dict[str, str]) -> None:
    """``pods/log``: text/plain with tailLines, sinceSeconds/sinceTime, timestamps, limitBytes, follow."""
    assert route.name is not None and route.namespace is not None
    pod = api.store.peek(route.rt, route.namespace, route.name)
    if pod is None:
        raise not_found(route.rt, route.name)
    since, tail, budget = _log_options(route.name, query)
    container = _container(pod, route.name, query.get("container"))
    everything = api.store.log_lines(route.namespace, route.name, container)
    lines = [entry for entry in everything if since is None or entry[0] >= since]
    if tail is not None:
        lines = lines[len(lines) - tail :] if tail > 0 else []
    timestamps = query.get("timestamps") in ("true", "1")
    data = _render(lines, timestamps)[:budget]
    if query.get("follow") not in ("true", "1"):
        return h.send_bytes(200, data, "text/plain")
    h.start_chunked("text/plain")
    h.write_chunk(data)
    if budget is not None:
        budget -= len(data)
    if _follow_log(api, h, route, container, len(everything), timestamps, budget):
        h.end_chunked()
    else:
        h.close_connection = True


def _follow_log(
    api: Server,
    h: Connection,
    route: Route,
    container: str,
    start: int,
    timestamps: bool,
    budget: int | None,
) -> bool:
    """Stream new log lines until the pod is gone or the byte limit is reached (True), or until
    stop/disconnect (False)."""
    assert route.name is not None and route.namespace is not None
    store = api.store
    while not api.stopping.is_set() and not store.closed:
        new = store.follow_log(route.namespace, route.name, container, start, _TICK)
        if new:
            start += len(new)
            data = _render(new, timestamps)
            if budget is not None:
                data, budget = data[:budget], budget - len(data)
            h.write_chunk(data)
            if budget is not None and budget <= 0:
                return True
        elif store.peek(route.rt, route.namespace, route.name) is None:
            return True
        if client_gone(h.connection):
            return False
    return False
