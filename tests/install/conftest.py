"""The project as a user installs it: the wheel built from this checkout, installed into a fresh
virtual environment, its commands run from a folder outside the checkout.

- ``wheel`` (session): ``pip wheel`` of the checkout (the build backend from pyproject.toml).
- ``installed`` (session): a fresh venv (``python -m venv``) with ``pip install <wheel>``; its
  dependencies come from the package index (the pip cache makes that seconds, not minutes).
- ``outside``: an empty working folder outside the checkout; :meth:`Installed.run` runs a command
  there with only the fresh venv on ``PATH`` (the test environment's own ``bin`` removed, no
  ``RUNBOOK_NOTEBOOKS``, no ``PYTHONPATH``), so nothing of the checkout can leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: variables of the test environment that would let the checkout leak into the installed commands
_LEAKS = ("PYTHONPATH", "VIRTUAL_ENV", "RUNBOOK_NOTEBOOKS", "PYTHONHOME", "CONDA_PREFIX")


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with the wheel installed."""

    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        own_bin = str(Path(sys.prefix) / "bin")
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != own_bin]
        env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
        env["PATH"] = os.pathsep.join([str(self.bin), *path])
        env.update(extra)
        return env

    def run(
        self, args: list[str] | str, cwd: Path, *, timeout: float = 300, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command (a list, or a bash command line) in ``cwd`` with the fresh venv first on PATH."""
        cmd = ["bash", "-eo", "pipefail", "-c", args] if isinstance(args, str) else args
        return subprocess.run(
            cmd, cwd=cwd, env=self.env(**extra), capture_output=True, text=True, timeout=timeout, check=False
        )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = dist.glob("flux_runbooks-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = Installed(venv, wheel)
    # --no-compile: byte-compiling the kubernetes client's thousands of modules takes longer than the
    # install itself; Python compiles what it imports on first use
    install = [str(env.bin / "pip"), "install", "-q", "--no-compile", str(wheel)]
    proc = env.run(install, cwd=venv.parent, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "anderswo"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder
