"""The lock on a sandbox's state directory, shared by both engines: one sandbox per DIR.

``DIR/sandbox.pid`` is held with ``flock`` while the sandbox runs and names its PID, so a second
``runbook sandbox up`` on the same DIR is refused with the running one's PID instead of sharing files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from runbook_lib.errors import RunbookError


class StateLock:
    """``StateLock.acquire(dir, kubeconfig)`` holds the directory; ``release()`` lets it go (idempotent)."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle: IO[str] | None = handle

    @classmethod
    def acquire(
        cls, state_dir: Path, kubeconfig: Path, error: type[RunbookError] = RunbookError
    ) -> StateLock:
        """Lock ``state_dir`` for this process, or raise ``error`` naming the sandbox that runs there."""
        handle = open(state_dir / "sandbox.pid", "a+", encoding="utf-8")  # noqa: SIM115 (held while running)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            pid = handle.read().strip() or "unbekannt"
            handle.close()
            raise error(
                f"Im Verzeichnis {state_dir} läuft bereits eine Sandbox (PID {pid}).",
                f"Die laufende Sandbox verwenden (KUBECONFIG={kubeconfig}), sie mit Strg+C bzw. "
                f"`kill {pid}` beenden, oder ein anderes Verzeichnis mit --state wählen.",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
