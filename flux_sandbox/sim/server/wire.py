"""The HTTP wire format of the sandbox API server: resource paths, request bodies, list paging, Status
bodies and compact JSON. Pure functions, no sockets."""

from __future__ import annotations

import base64
import bisect
import json
import socket
import threading
from dataclasses import dataclass
from email.message import Message
from typing import Any, Protocol

import yaml

from flux_sandbox.sim.resources import ResourceType
from flux_sandbox.sim.server import discovery
from flux_sandbox.sim.server.tables import TableSpec
from flux_sandbox.sim.store import Obj, Store, StoreError


class Connection(Protocol):
    """What a streaming response (watch, ``logs?follow``) needs from the HTTP handler."""

    headers: Message
    connection: socket.socket
    close_connection: bool

    def send_bytes(self, code: int, body: bytes, content_type: str = ...) -> None: ...
    def start_chunked(self, content_type: str) -> None: ...
    def write_chunk(self, data: bytes) -> None: ...
    def end_chunked(self) -> None: ...


class Server(Protocol):
    """What a streaming response needs from the API server."""

    store: Store
    stopping: threading.Event

    def encode(self, obj: Obj, api_version: str) -> bytes: ...
    def table_spec(self, rt: ResourceType) -> TableSpec: ...


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes, as the API server sends them."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Obj:
    """A Failure ``Status`` as the API server sends it (empty detail fields, and empty details, left
    out)."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    kept = {k: v for k, v in (details or {}).items() if v not in ("", None)}
    if kept:  # the real server leaves an empty details object out
        body["details"] = kept
    body["code"] = code
    return body


def not_allowed() -> StoreError:
    return StoreError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unsupported(accepted: list[str]) -> StoreError:
    return StoreError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - "
        f"accepted media types include: {', '.join(accepted)}",
    )


class PathNotFound(StoreError):
    """A path the server does not serve at all (unknown group, version or resource, or a non-resource
    path): the real server answers the Go mux's plain-text ``404 page not found``, not a Status."""

    def __init__(self) -> None:
        super().__init__(404, "NotFound", "404 page not found")


@dataclass(frozen=True)
class Route:
    """An API request path: resource type, version, namespace, name, subresource, legacy /watch/ prefix."""

    rt: ResourceType
    version: str
    namespace: str | None
    name: str | None
    sub: str | None
    watch: bool

    @property
    def api_version(self) -> str:
        return f"{self.rt.group}/{self.version}" if self.rt.group else self.version


def parse_route(types: dict[tuple[str, str], ResourceType], parts: list[str]) -> Route | None:
    """The resource route of a path, None for non-resource paths; StoreError 404 for unknown resources."""
    if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = rest[0] == "watch"
    rest = rest[1:] if watch else rest
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, rest[2]) in types:
        namespace, rest = rest[1], rest[2:]
    rt = types.get((group, rest[0])) if rest else None
    missing = PathNotFound()
    if rt is None or version not in discovery.served_versions(rt) or len(rest) > 3:
        raise missing
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if (namespace is not None and not rt.namespaced) or (rt.namespaced and name and namespace is None):
        raise missing
    if sub not in (None, "status" if rt.status_subresource else None, "log" if rt.kind == "Pod" else None):
        raise missing
    return Route(rt, version, namespace, name, sub, watch)


def parse_object(content_type_header: str, body: bytes) -> Obj:
    """The request body as an object (JSON, or YAML when the Content-Type says so)."""
    content_type = (content_type_header or "application/json").split(";")[0].strip().lower()
    try:
        if content_type.endswith("yaml"):
            obj = yaml.safe_load(body)
        elif content_type in ("application/json", ""):
            obj = json.loads(body or b"null")
        else:
            raise unsupported(["application/json", "application/yaml"])
    except (ValueError, yaml.YAMLError) as exc:
        raise StoreError(400, "BadRequest", f"the object provided is unrecognized: {exc}") from exc
    if not isinstance(obj, dict):
        raise StoreError(400, "BadRequest", "the object provided is unrecognized (must be of type map)")
    return obj


def paginate(items: list[Obj], rv: int, limit: str | None, token: str | None) -> tuple[list[Obj], Obj]:
    """One page of a sorted list and its ListMeta (``continue``, ``remainingItemCount``)."""
    meta: Obj = {"resourceVersion": str(rv)}
    if token:
        try:
            start = json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(400, "BadRequest", f"continue key is not valid: {exc}") from exc
        keys = [(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items]
        items = items[bisect.bisect_right(keys, tuple(start)) :]
    try:
        size = int(limit or 0)
    except ValueError as exc:
        raise StoreError(400, "BadRequest", f"invalid limit {limit!r}") from exc
    if 0 < size < len(items):
        last = items[size - 1]["metadata"]
        start = [last.get("namespace", ""), last["name"]]
        meta["continue"] = base64.urlsafe_b64encode(dumps({"rv": rv, "start": start})).decode()
        meta["remainingItemCount"] = len(items) - size
        items = items[:size]
    return items, meta
