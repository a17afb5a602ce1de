"""The sandbox's local sources, served over HTTP on 127.0.0.1 from threads of the engine process.

- :class:`GitServer`: Git's smart HTTP protocol for ``DIR/remote.git``, served by git's own
  ``git http-backend`` (CGI), behind HTTP basic auth. The password is the token in ``DIR/git-token``
  (user name ``git``, as ``flux bootstrap`` writes it into the Secret ``flux-system``); a wrong one gets
  ``401 Unauthorized``, which source-controller reports as ``authentication required``.
- :class:`StaticServer`: plain files (the Helm chart repositories: ``index.yaml`` and ``*.tgz``).
"""

from __future__ import annotations

import base64
import hmac
import os
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from .errors import EngineError

GIT_USER = "git"


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread."""

    def __init__(self, handler: Callable[..., BaseHTTPRequestHandler], port: int = 0) -> None:
        try:
            self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise EngineError(
                f"Port {port} auf 127.0.0.1 ist belegt: {exc}",
                "Den anderen Prozess beenden oder ein neues Verzeichnis mit --state wählen.",
            ) from exc
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name=type(self).__name__, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


class GitServer(_Server):
    """``git http-backend`` for the bare repositories in ``root`` (``/remote.git``)."""

    def __init__(self, root: Path, token: Callable[[], str], port: int = 0) -> None:
        backend = shutil.which("git-http-backend") or _git_exec_path() + "/git-http-backend"
        if not os.path.exists(backend):
            raise EngineError("git http-backend wurde nicht gefunden.", "Das Paket git installieren.")
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                server.requests.append(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return False
                return user == GIT_USER and hmac.compare_digest(password, token())

            def _handle(self) -> None:
                if not self._authorized():
                    body = b"Authentifizierung erforderlich\n"
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="runbook-sandbox"')
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = self._read_chunked()
                else:
                    data = self.rfile.read(length) if length else b""
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_CONFIG_GLOBAL": os.devnull,
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(data)),
                    "REMOTE_USER": GIT_USER,
                    "REMOTE_ADDR": self.client_address[0],
                    "SERVER_PROTOCOL": "HTTP/1.0",
                    "GATEWAY_INTERFACE": "CGI/1.1",
                }
                if self.headers.get("Content-Encoding"):
                    env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                if self.headers.get("Git-Protocol"):
                    env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                proc = subprocess.run([backend], input=data, env=env, capture_output=True, check=False)
                head, _, body = proc.stdout.partition(b"\r\n\r\n")
                if not _:
                    head, _, body = proc.stdout.partition(b"\n\n")
                headers = BytesHeaderParser().parsebytes(head + b"\n\n")
                status = headers.get("Status", "200 OK")
                code, _, reason = status.partition(" ")
                self.send_response(int(code), reason or None)
                for key, value in headers.items():
                    if key.lower() != "status":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _read_chunked(self) -> bytes:
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)

            do_GET = _handle
            do_POST = _handle

        #: "METHOD path -> status" of every request (for tests and diagnostics)
        self.requests: deque[str] = deque(maxlen=500)
        super().__init__(Handler, port)


def _git_exec_path() -> str:
    proc = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


class StaticServer(_Server):
    """Files below ``root`` (read-only, GET/HEAD)."""

    def __init__(self, root: Path, port: int = 0) -> None:
        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler, port)
