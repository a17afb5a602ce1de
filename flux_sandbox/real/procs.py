"""Child processes of the engine: started in their own process group, logged to files, all ended.

:class:`Supervisor` keeps every process it started; ``stop_all()`` ends them in reverse start order
(SIGTERM to the process group, SIGKILL after a grace period), so no child outlives the engine.
A process can also log in the CRI container log format (``<RFC3339Nano> stderr F <line>``), the format
a kubelet writes and kwok reads: that is how a Flux controller's own log becomes its pod's log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .errors import EngineError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float, proc: Proc | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def _cri_pump(source: IO[bytes], target: Path, stream: str) -> None:
    """Copy lines from ``source`` into ``target`` in the CRI log format, flushing each line."""
    with target.open("ab") as out:
        for raw in iter(source.readline, b""):
            line = raw.rstrip(b"\n")
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
            out.write(stamp + b" " + stream.encode() + b" F " + line + b"\n")
            out.flush()
    source.close()


class Proc:
    """One running child process."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path, pumps: list[threading.Thread]):
        self.name = name
        self.popen = popen
        self.log = log
        self._pumps = pumps

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        else:
            # the leader is gone; end anything left in its group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        for pump in self._pumps:
            pump.join(5)


class Supervisor:
    """Starts child processes and ends every one of them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []
        self._lock = threading.Lock()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        cri_log: Path | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> Proc:
        """Start ``argv``; its output goes to ``<log_dir>/<name>.log``, or with ``cri_log`` in the CRI
        format to that file (stdout and stderr as their own streams)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        full_env = dict(os.environ if env is None else env)
        pumps: list[threading.Thread] = []
        try:
            if cri_log is None:
                with log.open("ab") as handle:
                    popen = subprocess.Popen(
                        list(argv), cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
                    )  # fmt: skip
            else:
                cri_log.parent.mkdir(parents=True, exist_ok=True)
                log = cri_log
                popen = subprocess.Popen(
                    list(argv), cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                    preexec_fn=preexec,
                )  # fmt: skip
                for stream, source in (("stdout", popen.stdout), ("stderr", popen.stderr)):
                    assert source is not None
                    pump = threading.Thread(
                        target=_cri_pump,
                        args=(source, cri_log, stream),
                        name=f"log-{name}-{stream}",
                        daemon=True,
                    )
                    pump.start()
                    pumps.append(pump)
        except OSError as exc:
            raise EngineError(
                f"{name} ließ sich nicht starten: {exc}",
                f"Ist die Binärdatei {argv[0]} vorhanden? `python -m flux_sandbox.real.build` baut sie.",
            ) from exc
        proc = Proc(name, popen, log, pumps)
        with self._lock:
            self.procs.append(proc)
        return proc

    def dead(self) -> list[Proc]:
        return [p for p in self.procs if not p.alive()]

    def stop(self, proc: Proc, grace: float = 10.0) -> None:
        proc.stop(grace)
        with self._lock:
            if proc in self.procs:
                self.procs.remove(proc)

    def stop_all(self, grace: float = 10.0) -> None:
        with self._lock:
            procs = list(reversed(self.procs))
            self.procs.clear()
        for proc in procs:
            proc.stop(grace)
