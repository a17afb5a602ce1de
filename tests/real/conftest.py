"""Fixtures for the real engine (marker ``real``): they need the built components.

- ``real_sandbox`` (session): ``python -m flux_sandbox.real up --state DIR`` as a child process, healthy
  scenario; yields the state directory once the ``ready:`` line came. Read from it, do not change it.
  Teardown sends SIGTERM and checks the exit code and that no process of the sandbox is left.
- ``make_engine(scenario)``: a fresh :class:`~flux_sandbox.real.engine.Engine` in-process for tests
  that change the cluster, stopped after the test.

Without a build in the cache (``python -m flux_sandbox.real.build``) the tests are skipped, unless
``RUNBOOK_REAL=1``: then a missing build is a failure (CI builds first).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flux_sandbox.real import build  # noqa: E402
from flux_sandbox.real.engine import Engine  # noqa: E402

#: seconds the session sandbox may take to print ready: (a cold, loaded CI machine)
START_TIMEOUT = 420


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real: needs the real engine (built Kubernetes and Flux binaries)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if build.is_built():
        return
    if os.environ.get("RUNBOOK_REAL") == "1":
        return  # the fixtures fail with the build's message
    skip = pytest.mark.skip(reason="echte Engine nicht gebaut: `python -m flux_sandbox.real.build`")
    for item in items:
        if item.get_closest_marker("real") is not None:
            item.add_marker(skip)


def _require_build() -> None:
    if not build.is_built():
        pytest.fail(
            f"Die echte Engine ist nicht gebaut ({build.cache_dir()}): `python -m flux_sandbox.real.build`."
        )


def sandbox_pids(state_dir: Path) -> list[int]:
    """PIDs of the engine's child processes (``DIR/real/pids``) that still run that binary."""
    pids_file = state_dir / "real" / "pids"
    alive = []
    if not pids_file.exists():
        return alive
    for line in pids_file.read_text(encoding="utf-8").splitlines():
        pid, _, binary = line.partition(" ")
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.split(b"\0")[0] == binary.encode():
            alive.append(int(pid))
    return alive


class RealSandbox:
    def __init__(self, state_dir: Path, proc: subprocess.Popen[str], ready_line: str, output: list[str]):
        self.state_dir = state_dir
        self.proc = proc
        self.ready_line = ready_line
        self.output = output

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"


@pytest.fixture(scope="session")
def real_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSandbox]:
    _require_build()
    state = tmp_path_factory.mktemp("real")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux_sandbox.real", "up", "--state", str(state)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith("ready:"):
                ready.set()
        proc.stdout.close()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(1):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Die echte Sandbox wurde nicht bereit:\n" + "\n".join(output[-40:]))
        ready_line = next(line for line in output if line.startswith("ready:"))
        yield RealSandbox(state, proc, ready_line, output)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        reader.join(10)
        left = sandbox_pids(state)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert code == 0, "\n".join(output[-30:])
        assert not left, f"Prozesse der Sandbox nach SIGTERM noch da: {left}"


EngineFactory = Callable[[str], Engine]


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[EngineFactory]:
    _require_build()
    started: list[Engine] = []

    def make(scenario: str = "healthy") -> Engine:
        engine = Engine(tmp_path / f"engine-{len(started)}", scenario, progress=lambda line: None)
        started.append(engine)
        return engine.start()

    yield make
    for engine in started:
        engine.stop()
        assert not sandbox_pids(engine.state_dir), "Prozesse der Engine nach stop() noch da"
