"""The shipped RBAC roles in the real engine: ``rbac/<role>.yaml`` applied as users apply them, and one
kubeconfig per role (``DIR/kubeconfig-<role>``) whose user is bound to exactly that role.

Each user is a client certificate ``CN=runbook-<role>, O=<role>``: the API server takes ``O`` as the
user's group, and the shipped binding binds the group named like the role, so the binding under test is
the one users apply, unchanged. :func:`user_kubeconfig` makes further users for tests (e.g. a role
without ``list pods``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

from runbook_lib.rbac import manifest
from runbook_lib.rights import ROLES

from .pki import Pki


class Engine(Protocol):
    """What this module uses of :class:`flux_sandbox.real.engine.Engine` (which imports this module)."""

    state_dir: Path
    pki: Pki

    def write_kubeconfig(
        self, path: Path, *, cert: str | None = None, token: str | None = None, user: str = "admin"
    ) -> None: ...

    def apply(self, objs: list[dict[str, Any]], manager: str = "flux", timeout: float = 60) -> None: ...


def kubeconfig_path(engine: Engine, role: str) -> Path:
    """``DIR/kubeconfig-<role>``."""
    return engine.state_dir / f"kubeconfig-{role}"


def user_kubeconfig(engine: Engine, user: str, group: str, path: Path) -> Path:
    """Write a kubeconfig at ``path`` for a new client certificate ``CN=user, O=group``."""
    cert = engine.pki.client(user, f"/O={group}/CN={user}")
    engine.write_kubeconfig(path, cert=cert, user=user)
    return path


def install(engine: Engine) -> list[Path]:
    """Apply every shipped role with its binding and write its kubeconfig."""
    written = []
    for role in ROLES:
        engine.apply([doc for doc in yaml.safe_load_all(manifest(role)) if doc], manager="kubectl")
        written.append(user_kubeconfig(engine, f"runbook-{role}", role, kubeconfig_path(engine, role)))
    return written
