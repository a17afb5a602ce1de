"""Helpers of the simulator tests: wait for a state, read objects and conditions from the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flux_sandbox.sim import Sandbox
from flux_sandbox.sim.controllers.base import get_condition
from flux_sandbox.sim.resources import by_kind


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def get(sb: Sandbox, kind: str, ns: str | None, name: str) -> dict[str, Any]:
    """The stored object (raises when it does not exist)."""
    return sb.store.get(by_kind(kind), ns, name)


def cond(sb: Sandbox, kind: str, ns: str | None, name: str, type_: str = "Ready") -> dict[str, Any]:
    """The object's condition of that type, or ``{}``."""
    return get_condition(get(sb, kind, ns, name).get("status") or {}, type_) or {}
