"""The API errors of the simulated API server: HTTP code, Status reason, message and details."""

from __future__ import annotations

from typing import Any

from flux_sandbox.sim.resources import ResourceType


class StoreError(Exception):
    """An API error: HTTP code, Status reason and message (the wire texts stay as Kubernetes words them)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}


def qualified(rt: ResourceType) -> str:
    """``plural.group`` as the API server names a resource in messages (``pods`` for the core group)."""
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def not_found(rt: ResourceType, name: str) -> StoreError:
    return StoreError(
        404,
        "NotFound",
        f'{qualified(rt)} "{name}" not found',
        {"name": name, "group": rt.group, "kind": rt.plural},
    )
