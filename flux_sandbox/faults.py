"""A fault-injecting proxy in front of any Kubernetes API server, for tests and for trying the runbooks
under a bad network.

It is a ``kubectl proxy`` with faults: it reads a kubeconfig (any engine, any cluster: plain HTTP or
TLS, token or client certificate, through the official client's own connection setup), listens on
127.0.0.1 without authentication, and forwards every request with the kubeconfig's credentials. On
the way it can

- add **latency** to every request (``Faults.latency`` seconds);
- answer a share of requests with an **error** instead (``Faults.error_rate``, status
  ``Faults.error_status``: 503 by default, 429 with ``Retry-After``), chosen by a seeded random
  generator so a test sees the same sequence every time;
- **drop streams** (watches, followed logs) after ``Faults.drop_streams_after`` seconds, cutting the
  connection in the middle of the chunked body as a load balancer or a restarting server does;
- **cut a response** in the middle of its body (:meth:`FaultProxy.cut_next`, e.g. from
  ``at_request``): the client has the status and half the JSON when the connection ends;
- **freeze** (:meth:`FaultProxy.freeze`): accept connections but answer nothing, in-flight streams
  included, like a stopped (SIGSTOP) or overloaded API server;
- be **killed** (:meth:`FaultProxy.kill`): stop listening and reset every open connection, like a
  crashed API server; :meth:`FaultProxy.revive` listens again on the same port.

``at_request(n, action)`` runs ``action`` when the n-th request arrives, so a test can kill or freeze
the server at a precise point of a runbook without sleeping. ``runbook sandbox proxy`` runs it from a
shell (SIGUSR1 toggles freeze, SIGUSR2 toggles kill).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from urllib3.exceptions import HTTPError

#: request headers that belong to one hop (or that the proxy sets itself) and are not forwarded
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "upgrade",
        "host",
        "authorization",
    }
)
_REASONS = {
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class Faults:
    """What the proxy does to the traffic; change the fields while it runs."""

    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_streams_after: float | None = None
    seed: int = 0


class _Server(ThreadingHTTPServer):
    # clients send requests side by side (the rights check asks 8 at once), which can overflow the
    # default listen backlog of 5: the kernel resends a dropped connect after 1 s, as long as the fault
    # tests' whole request timeout. A real kube-apiserver listens with the system's somaxconn.
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.proxy._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _any(self) -> None:
        try:
            self.server.proxy._forward(self)
        except (OSError, ValueError, HTTPError):  # a side went away, or the connection was cut on purpose
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any


class FaultProxy:
    """``FaultProxy(kubeconfig).start()``; ``url`` and :meth:`write_kubeconfig` for clients."""

    def __init__(
        self,
        kubeconfig: str | Path,
        *,
        context: str | None = None,
        port: int = 0,
        faults: Faults | None = None,
        upstream_timeout: float = 300.0,
    ) -> None:
        from runbook_lib.cluster import connect

        self.kubeconfig = Path(kubeconfig)
        cluster = connect(str(kubeconfig), context)  # German errors for a bad kubeconfig
        self.context = context or cluster.context
        self._client = cluster.api_client
        self.upstream = cluster.server.rstrip("/")
        self.faults = faults or Faults()
        self.port = port
        self.upstream_timeout = upstream_timeout
        #: requests received so far (the n of :meth:`at_request`)
        self.requests = 0
        #: streams cut by ``drop_streams_after`` so far
        self.dropped = 0
        self._cut_pending = False
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._thawed = threading.Event()
        self._thawed.set()
        self._triggers: dict[int, Callable[[], None]] = {}
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def kill(self) -> None:
        """Stop listening and reset every open connection (a crashed API server). Safe to call from
        a request (``at_request``): handlers run in their own threads, not in the serving one."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                conn.shutdown(socket.SHUT_RDWR)

    def revive(self) -> None:
        """Listen again on the same port after :meth:`kill`."""
        if self._server is None:
            self.start()

    def stop(self) -> None:
        self.thaw()
        self.kill()
        self._client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def freeze(self) -> None:
        """Answer nothing until :meth:`thaw` (connections are accepted and held)."""
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    @property
    def frozen(self) -> bool:
        return not self._thawed.is_set()

    def cut_next(self) -> None:
        """Cut the body of the next response (the current one, when called from ``at_request``) in half."""
        with self._lock:
            self._cut_pending = True

    def at_request(self, n: int, action: Callable[[], None]) -> None:
        """Run ``action`` when request number ``n`` (counting from 1) arrives, before it is forwarded."""
        self._triggers[n] = action

    def write_kubeconfig(self, path: str | Path, context: str | None = None) -> Path:
        """A kubeconfig pointing at the proxy (mode 0600), keeping the upstream context's name."""
        import yaml

        name = context or self.context
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": self.url}}],
            "users": [{"name": name, "user": {}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        target.chmod(0o600)
        return target

    # -- forwarding --------------------------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def _count(self) -> tuple[Callable[[], None] | None, bool]:
        with self._lock:
            self.requests += 1
            trigger = self._triggers.pop(self.requests, None)
            failing = self.faults.error_rate > 0 and self._random.random() < self.faults.error_rate
        return trigger, failing

    def _forward(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        trigger, failing = self._count()
        if trigger is not None:
            trigger()
        with self._lock:
            cut, self._cut_pending = self._cut_pending, False
        if self._server is None:  # killed by the trigger: this request dies with the server
            raise ConnectionResetError
        self._thawed.wait()
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if failing:
            return self._send_error(h)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
        headers.update(self._auth_headers())
        resp = self._client.rest_client.pool_manager.request(
            h.command,
            self.upstream + h.path,
            body=body,
            headers=headers,
            preload_content=False,
            decode_content=False,
            redirect=False,
            retries=False,
            timeout=self.upstream_timeout,
        )
        try:
            self._relay(h, resp, cut=cut)
        finally:
            resp.release_conn()

    def _auth_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        self._client.update_params_for_auth(headers, [], ["BearerToken"], "", "GET", None)
        headers.pop("Content-Type", None)
        return headers

    def _send_error(self, h: _Handler) -> None:
        status = self.faults.error_status
        reason = _REASONS.get(status, "InternalError")
        body = json.dumps(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"injected fault: {reason}",
                "reason": reason,
                "code": status,
                **({"details": {"retryAfterSeconds": 1}} if status == 429 else {}),
            }
        ).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        if status == 429:
            h.send_header("Retry-After", "1")
        h.end_headers()
        h.wfile.write(body)

    def _relay(self, h: _Handler, resp: Any, *, cut: bool = False) -> None:
        streamed = resp.headers.get("Transfer-Encoding", "").lower() == "chunked"
        h.send_response(resp.status)
        for key, value in resp.headers.items():
            if key.lower() not in _HOP and key.lower() != "content-length":
                h.send_header(key, value)
        data = b"" if streamed else resp.read()
        if not streamed:
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            self._thawed.wait()
            if cut:  # announce all of it, send half, hang up
                h.wfile.write(data[: len(data) // 2])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            h.wfile.write(data)
            return
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        timer = self._drop_timer(h, resp)
        try:
            for chunk in resp.read_chunked(decode_content=False):
                self._thawed.wait()
                h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                h.wfile.flush()
            h.wfile.write(b"0\r\n\r\n")
        finally:
            if timer is not None:
                timer.cancel()

    def _drop_timer(self, h: _Handler, resp: Any) -> threading.Timer | None:
        """For a watch or a followed log: cut the connection after ``drop_streams_after`` seconds."""
        after = self.faults.drop_streams_after
        query = parse_qs(urlsplit(h.path).query)
        streaming = query.get("watch", [""])[0] in ("true", "1") or query.get("follow", [""])[0] == "true"
        if after is None or not streaming:
            return None

        def drop() -> None:  # in the middle of the chunked body, as a restarting server does
            with self._lock:
                self.dropped += 1
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                resp.shutdown()  # unblocks the upstream read

        timer = threading.Timer(after, drop)
        timer.daemon = True
        timer.start()
        return timer


def serve(kubeconfig: str, state: str, *, context: str | None, port: int, faults: Faults) -> int:
    """``runbook sandbox proxy``: run until SIGINT/SIGTERM; SIGUSR1 toggles freeze, SIGUSR2 kill/revive."""
    import signal
    import sys

    from flux_sandbox.sim import port_error
    from runbook_lib.errors import UsageError

    stop = threading.Event()
    target = Path(state) / "kubeconfig"
    if target.resolve() == Path(kubeconfig).resolve():
        raise UsageError(
            f"--state {state} würde die Kubeconfig {kubeconfig} überschreiben, vor der der Proxy steht.",
            "Ein eigenes Verzeichnis für den Proxy angeben, z. B. `--state DIR/proxy`.",
        )
    proxy = FaultProxy(kubeconfig, context=context, port=port, faults=faults)
    try:
        proxy.start()
    except OSError as exc:
        raise port_error(port, exc) from exc

    def toggle_freeze(*_: object) -> None:
        (proxy.thaw if proxy.frozen else proxy.freeze)()
        print(f"◎ Proxy {'eingefroren' if proxy.frozen else 'antwortet wieder'}", file=sys.stderr, flush=True)

    def toggle_kill(*_: object) -> None:
        down = proxy._server is None
        (proxy.revive if down else proxy.kill)()
        print(
            f"◎ Proxy {'lauscht wieder' if down else 'beendet (Verbindungen abgelehnt)'}",
            file=sys.stderr,
            flush=True,
        )

    handlers = {
        signal.SIGINT: lambda *_: stop.set(),
        signal.SIGTERM: lambda *_: stop.set(),
        signal.SIGUSR1: toggle_freeze,
        signal.SIGUSR2: toggle_kill,
    }
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        target = proxy.write_kubeconfig(target)
        print(
            f"ready: Störungs-Proxy auf {proxy.url} vor {proxy.upstream} ({describe(faults)}), Kubeconfig "
            f"{target} — export KUBECONFIG={target}",
            flush=True,
        )
        # with a timeout: a signal the kernel delivers to another thread sets `stop` from the
        # main thread's next bytecode, which a wait without timeout (a lock) never reaches
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        proxy.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def describe(faults: Faults) -> str:
    """The faults in German, for the ready line."""
    parts = []
    if faults.latency:
        parts.append(f"Verzögerung {faults.latency:g} s")
    if faults.error_rate:
        parts.append(f"{faults.error_rate:.0%} Fehler {faults.error_status}")
    if faults.drop_streams_after is not None:
        parts.append(f"Streams nach {faults.drop_streams_after:g} s getrennt")
    return ", ".join(parts) or "ohne Störungen"
