"""Shared fixtures: sandboxes with simulated Flux controllers and a real GitOps repository.

- ``sandbox`` (session): the healthy sandbox with fast timing. Read from it freely; do not change it
  (no commits, no patches, no suspend). Tests that change something use ``make_sandbox``.
- ``make_sandbox(scenario="healthy", **kwargs)`` (function): a fresh, started sandbox in its own
  temporary directory, stopped after the test. Keyword arguments go to :class:`Sandbox`.
- ``kubeconfig``: path (str) of the session sandbox's kubeconfig (context ``runbook-sandbox``).

Every sandbox's ``remote.git`` and ``checkout`` live under pytest's temporary directory; its git
calls use an isolated configuration, so no user config leaks in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flux_sandbox.sim import Sandbox, Timing

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The shared healthy sandbox (read-only for tests)."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), "healthy", timing=Timing.fast()) as sb:
        yield sb


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Factory for sandboxes a test may change: ``make_sandbox("helmrelease-upgrade-failed")``."""
    started: list[Sandbox] = []

    def make(scenario: str = "healthy", **kwargs: object) -> Sandbox:
        kwargs.setdefault("timing", Timing.fast())
        sb = Sandbox(tmp_path / f"sandbox-{len(started)}", scenario, **kwargs)  # type: ignore[arg-type]
        started.append(sb)
        return sb.start()

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture(scope="session")
def kubeconfig(sandbox: Sandbox) -> str:
    """Kubeconfig path of the shared healthy sandbox."""
    return str(sandbox.kubeconfig)
