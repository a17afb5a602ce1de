"""Fixtures for the git tests: isolated git config, a bare remote with the sandbox layout, clones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitworld import AUTHOR, GLOBAL_CONFIG, World


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user or system git config leaks into the tests; author and committer are explicit."""
    home = tmp_path_factory.mktemp("home")
    config = home / "gitconfig"
    config.write_text(GLOBAL_CONFIG)
    for var in list(os.environ):
        if var.startswith("GIT_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", AUTHOR[0])
        monkeypatch.setenv(f"GIT_{role}_EMAIL", AUTHOR[1])
    return config


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def alice(world: World) -> Path:
    """The user's checkout that the runbook works in."""
    return world.clone("alice")


@pytest.fixture
def bob(world: World) -> Path:
    """A colleague who pushes meanwhile."""
    return world.clone("bob")
