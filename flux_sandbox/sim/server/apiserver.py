"""The sandbox's Kubernetes API server over HTTP/1.1, for the official Python client and real kubectl.

The server, dispatch and the CRUD verbs live here; paths, bodies, paging and Status bodies in
:mod:`.wire`; watches and pod logs (chunked transfer encoding) in :mod:`.streams`; discovery and the
minimal OpenAPI v3 in :mod:`.discovery`; server-side Tables in :mod:`.tables`. It binds to loopback only
and, with a token, requires ``Authorization: Bearer``. kubectl (client-go) sends bearer tokens over TLS
only, so a sandbox meant for kubectl runs without a token.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from flux_sandbox.sim.patch import strip_directives
from flux_sandbox.sim.resources import ResourceType
from flux_sandbox.sim.server import discovery, streams, writes
from flux_sandbox.sim.server.tables import TableSpec, to_table, wanted_table_version
from flux_sandbox.sim.server.wire import (
    PathNotFound,
    Route,
    dumps,
    not_allowed,
    paginate,
    parse_object,
    parse_route,
    status_body,
    unsupported,
)
from flux_sandbox.sim.store import Obj, Store, StoreError, not_found

#: where ``kubectl auth can-i`` asks (SelfSubjectAccessReview)
_ACCESS_REVIEW = ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"]
_log = logging.getLogger(__name__)

#: per-object JSON cache size; above it the cache starts over (5,000 Flux objects fit many times)
_CACHE_LIMIT = 100_000
#: types whose DELETE answers the deleted object rather than a Status (as their real registries do)
_DELETE_RETURNS_OBJECT = {"Pod", "Service", "ServiceAccount", "Namespace", "CustomResourceDefinition"}
_PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
}
_HEALTH = {"healthz", "readyz", "livez"}
_APPLY = "application/apply-patch+yaml"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer
    #: the current response is a chunked stream (errors can no longer be sent as a Status)
    streaming = False
    #: warnings of the current request, sent as ``Warning: 299 - "…"`` headers (pruned unknown fields)
    warnings: list[str]

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self.server.api._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- responses --------------------------------------------------------------------------------

    def send_bytes(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(body)))
        for warning in getattr(self, "warnings", ()):
            self.send_header("Warning", "299 - " + json.dumps(warning, ensure_ascii=False))
        self.end_headers()
        self.wfile.write(body)

    def send_status(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        self.send_bytes(code, dumps(status_body(code, reason, message, details)))

    def start_chunked(self, content_type: str) -> None:
        self.streaming = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _HttpServer(ThreadingHTTPServer):
    # clients send requests side by side (the rights check asks 8 at once), which can overflow the
    # default listen backlog of 5: the kernel resends a dropped connect after 1 s, as long as the fault
    # tests' whole request timeout. A real kube-apiserver listens with the system's somaxconn.
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: ApiServer, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.api = api
        super().__init__(address, _Handler)


class ApiServer:
    """The sandbox API server: ``ApiServer(store).start()`` serves in a daemon thread until ``stop()``."""

    def __init__(
        self, store: Store, host: str = "127.0.0.1", port: int = 0, token: str | None = None
    ) -> None:
        resolved = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.ip_address(resolved).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the sandbox API server binds to loopback only, not {host!r}")
        self.store = store
        self.host = resolved
        self.port = port
        self.token = token
        self.stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._json: dict[str, tuple[tuple[str, str, str], bytes]] = {}
        self._tables = {rt.key: TableSpec.for_type(rt) for rt in store.types.values()}
        self._revision = uuid.uuid4().hex[:16]
        self._timers: list[threading.Timer] = []
        #: seconds per second of a Pod's grace period before it disappears (tests shorten it)
        self.grace_scale = 1.0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ApiServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._httpd = _HttpServer((self.host, self.port), self, family)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, streaming watches and log follows included."""
        self.stopping.set()
        for timer in self._timers:
            timer.cancel()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # -- encoding ---------------------------------------------------------------------------------

    def encode(self, obj: Obj, api_version: str) -> bytes:
        """JSON of a stored object at a served version, cached per (uid, resourceVersion, version)."""
        meta = obj["metadata"]
        uid = meta.get("uid", "")
        key = (uid, meta.get("resourceVersion", ""), api_version)
        hit = self._json.get(uid)
        if hit is not None and hit[0] == key:
            return hit[1]
        data = dumps(obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version})
        if len(self._json) >= _CACHE_LIMIT:
            self._json.clear()
        self._json[uid] = (key, data)
        return data

    def table_spec(self, rt: ResourceType) -> TableSpec:
        return self._tables[rt.key]

    # -- dispatch ---------------------------------------------------------------------------------

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        parts = [unquote(p) for p in split.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        h.streaming = False
        h.warnings = []
        try:
            body = h.read_body()
            if not self._authorized(h, parts):
                h.send_status(401, "Unauthorized", "Unauthorized")
            elif h.command == "POST" and parts == _ACCESS_REVIEW:
                self._access_review(h, body)
            elif (route := parse_route(self.store.types, parts)) is not None:
                self._resource(h, route, query, body)
            else:
                self._non_resource(h, parts)
        except (BrokenPipeError, ConnectionError, TimeoutError):
            h.close_connection = True
        except Exception as exc:
            if not isinstance(exc, StoreError):  # a bug must not vanish silently
                _log.exception("sandbox API server: %s %s", h.command, h.path)
                exc = StoreError(500, "InternalError", f"Internal error occurred: {exc}")
            if h.streaming:
                h.close_connection = True
            elif isinstance(exc, PathNotFound):
                h.send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8")
            else:
                h.send_status(exc.code, exc.reason, exc.message, exc.details)

    def _authorized(self, h: _Handler, parts: list[str]) -> bool:
        if self.token is None or (len(parts) == 1 and parts[0] in _HEALTH | {"version"}):
            return True
        given = h.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def _non_resource(self, h: _Handler, parts: list[str]) -> None:
        if h.command != "GET":
            raise not_allowed()
        types = list(self.store.types.values())
        accept = h.headers.get("Accept", "")
        doc: Obj | None = None
        if parts and parts[0] in _HEALTH:
            return h.send_bytes(200, b"ok", "text/plain; charset=utf-8")
        if parts == ["version"]:
            doc = discovery.version_info()
        elif parts in (["api"], ["apis"]) and discovery.wants_aggregated(accept):
            agg = discovery.aggregated(types, core=parts == ["api"])
            return h.send_bytes(200, dumps(agg), discovery.AGGREGATED_V2)
        elif parts == ["api"]:
            doc = discovery.api_versions(f"{self.host}:{self.port}")
        elif parts == ["apis"]:
            doc = discovery.api_group_list(types)
        elif parts == ["api", "v1"]:
            doc = discovery.resource_list(types, "", "v1")
        elif len(parts) == 2 and parts[0] == "apis":
            doc = discovery.api_group(types, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = discovery.resource_list(types, parts[1], parts[2])
        elif parts == ["openapi", "v3"]:
            doc = discovery.openapi_root(types, self._revision)
        elif parts[:2] == ["openapi", "v3"] and len(parts) in (4, 5):
            group, version = ("", parts[3]) if parts[2] == "api" else (parts[3], parts[-1])
            doc = discovery.openapi_group_version(types, group, version)
        if doc is None:
            raise PathNotFound()
        h.send_bytes(200, dumps(doc))

    def _access_review(self, h: _Handler, body: bytes) -> None:
        """``kubectl auth can-i``: the sandbox has no RBAC, so every review is allowed, as a real API
        server with the AlwaysAllow authorizer answers. kubectl sends the review as protobuf, which the
        sandbox does not decode: it answers in JSON (kubectl accepts both) with the JSON request's spec
        when there is one."""
        try:
            spec = json.loads(body).get("spec", {}) if body.lstrip().startswith(b"{") else {}
        except ValueError:
            spec = {}
        review = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {},
            "spec": spec,
            "status": {"allowed": True},
        }
        h.send_bytes(201, dumps(review))

    def _resource(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        method = h.command
        writes.check_write_options(query)
        if method == "GET" and route.sub == "log":
            return streams.pod_logs(self, h, route, query)
        if method == "GET" and (route.watch or query.get("watch") in ("true", "1")):
            return streams.watch(self, h, route, query)
        if route.sub == "log":
            raise not_allowed()
        handlers = {
            ("GET", False): self._list,
            ("GET", True): self._get,
            ("POST", False): self._create,
            ("PUT", True): self._replace,
            ("PATCH", True): self._patch,
            ("DELETE", True): self._delete,
            ("DELETE", False): self._delete_collection,
        }
        handler = handlers.get((method, route.name is not None))
        if handler is None or (route.sub and method not in ("GET", "PUT", "PATCH")):
            raise not_allowed()
        handler(h, route, query, body)

    # -- verbs ------------------------------------------------------------------------------------

    def _list(self, h: _Handler, route: Route, query: dict[str, str], _body: bytes) -> None:
        items, rv = self.store.list(
            route.rt,
            route.namespace,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
        )
        items, list_meta = paginate(items, rv, query.get("limit"), query.get("continue"))
        table_version = wanted_table_version(h.headers.get("Accept", ""))
        if table_version:
            table = to_table(
                self.table_spec(route.rt),
                items,
                list_meta,
                api_version=route.api_version,
                include=query.get("includeObject") or "Metadata",
                table_version=table_version,
            )
            return h.send_bytes(200, dumps(table))
        head = dumps({"kind": f"{route.rt.kind}List", "apiVersion": route.api_version, "metadata": list_meta})
        encoded = b",".join(self.encode(o, route.api_version) for o in items)
        h.send_bytes(200, head[:-1] + b',"items":[' + encoded + b"]}")

    def _get(self, h: _Handler, route: Route, query: dict[str, str], _body: bytes) -> None:
        assert route.name is not None
        obj = self.store.peek(route.rt, route.namespace, route.name)
        if obj is None:
            raise not_found(route.rt, route.name)
        self._send_object(h, 200, route, obj, query)

    def _send_object(self, h: _Handler, code: int, route: Route, obj: Obj, query: dict[str, str]) -> None:
        table_version = wanted_table_version(h.headers.get("Accept", ""))
        if table_version:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            table = to_table(
                self.table_spec(route.rt),
                [obj],
                meta,
                api_version=route.api_version,
                include=query.get("includeObject") or "Metadata",
                table_version=table_version,
            )
            return h.send_bytes(code, dumps(table))
        if query.get("dryRun") == "All":  # not stored: same uid and resourceVersion, other content
            obj = (
                obj
                if obj.get("apiVersion") == route.api_version
                else {**obj, "apiVersion": route.api_version}
            )
            return h.send_bytes(code, dumps(obj))
        h.send_bytes(code, self.encode(obj, route.api_version))

    def _create(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        obj = parse_object(h.headers.get("Content-Type", ""), body)
        if obj.get("kind") not in (None, route.rt.kind):
            raise StoreError(
                400,
                "BadRequest",
                f"the kind in the data ({obj['kind']}) does not match the expected kind ({route.rt.kind})",
            )
        created = self.store.create(
            route.rt, obj, namespace=route.namespace, **writes.write_options(h.warnings, query)
        )
        self._send_object(h, 201, route, created, query)

    def _replace(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        obj = parse_object(h.headers.get("Content-Type", ""), body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != route.name:
            raise StoreError(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({route.name})",
            )
        if route.rt.namespaced and meta.setdefault("namespace", route.namespace) != route.namespace:
            raise StoreError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        replaced = self.store.replace(
            route.rt, obj, subresource=route.sub, **writes.write_options(h.warnings, query)
        )
        self._send_object(h, 200, route, replaced, query)

    def _patch(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        assert route.name is not None
        content_type = h.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == _APPLY:
            return self._apply(h, route, query, body)
        patch_type = _PATCH_TYPES.get(content_type)
        if patch_type is None or (patch_type == "strategic" and route.rt.custom):
            accepted = [t for t, kind in _PATCH_TYPES.items() if kind != "strategic" or not route.rt.custom]
            raise unsupported([*accepted, _APPLY])
        try:
            patch = json.loads(body or b"null")
        except ValueError as exc:
            raise StoreError(400, "BadRequest", f"error decoding patch: {exc}") from exc
        if patch_type == "strategic":
            patch, patch_type = strip_directives(patch), "merge"
        patched = self.store.patch(
            route.rt,
            route.namespace,
            route.name,
            patch,
            patch_type,
            subresource=route.sub,
            **writes.write_options(h.warnings, query),
        )
        self._send_object(h, 200, route, patched, query)

    def _apply(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        """Server-side apply: create or update from the applied configuration (the body)."""
        assert route.name is not None
        config = writes.applied_config(route, body)
        obj, created = self.store.apply(
            route.rt,
            route.namespace,
            route.name,
            config,
            query.get("fieldManager", ""),
            force=query.get("force") in ("true", "1"),
            subresource=route.sub,
            **writes.write_options(h.warnings, query),
        )
        self._send_object(h, 201 if created else 200, route, obj, query)

    def _remove_later(self, route: Route, pod: Obj, grace: int) -> None:
        """What the kubelet does after the grace period: confirm the deletion (the Pod disappears)."""
        uid = pod["metadata"].get("uid")

        def remove() -> None:
            live = self.store.peek(route.rt, route.namespace, route.name or "")
            if live is not None and live["metadata"].get("uid") == uid and not self.store.closed:
                with contextlib.suppress(StoreError):
                    self.store.delete(route.rt, route.namespace, route.name or "")

        timer = threading.Timer(grace * self.grace_scale, remove)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _delete(self, h: _Handler, route: Route, query: dict[str, str], body: bytes) -> None:
        assert route.name is not None
        if query.get("dryRun") == "All":
            gone = self.store.peek(route.rt, route.namespace, route.name)
            if gone is None:
                raise not_found(route.rt, route.name)
        elif route.rt.kind == "Pod" and (grace := writes.grace_period(self.store, route, query, body)) > 0:
            pod = self.store.terminate(route.rt, route.namespace, route.name, grace)
            self._remove_later(route, pod, grace)
            return self._send_object(h, 200, route, pod, query)
        else:
            gone = self.store.delete(route.rt, route.namespace, route.name)
        if route.rt.custom or route.rt.kind in _DELETE_RETURNS_OBJECT:
            return self._send_object(h, 200, route, gone, query)
        details = {
            "name": route.name,
            "group": route.rt.group,
            "kind": route.rt.plural,
            "uid": gone["metadata"].get("uid"),
        }
        success = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {k: v for k, v in details.items() if v},
        }
        h.send_bytes(200, dumps(success))

    def _delete_collection(self, h: _Handler, route: Route, query: dict[str, str], _body: bytes) -> None:
        items, _rv = self.store.list(
            route.rt,
            route.namespace,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
        )
        gone = []
        for obj in list(items):
            meta = obj["metadata"]
            if query.get("dryRun") == "All":
                gone.append(obj)
                continue
            with contextlib.suppress(StoreError):
                gone.append(self.store.delete(route.rt, meta.get("namespace"), meta["name"]))
        head = dumps(
            {
                "kind": f"{route.rt.kind}List",
                "apiVersion": route.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
            }
        )
        encoded = b",".join(self.encode(o, route.api_version) for o in gone)
        h.send_bytes(200, head[:-1] + b',"items":[' + encoded + b"]}")


def write_kubeconfig(
    path: str | os.PathLike[str], url: str, token: str | None, context: str = "runbook-sandbox"
) -> Path:
    """Write a kubeconfig for the sandbox (mode 0600, it may hold the token) and return its path."""
    user: Obj = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "preferences": {},
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    target.chmod(0o600)
    return target
