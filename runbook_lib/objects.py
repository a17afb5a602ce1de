"""Reading Kubernetes objects as the API returns them (dicts): metadata, spec, status, conditions.

One helper for each, so every module answers "what if it is missing" the same way: a missing part is
an empty mapping, never None, and a missing condition is ``{}`` (falsy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]


def meta(obj: Obj | None) -> Mapping[str, Any]:
    """``metadata`` of ``obj``, or ``{}``."""
    return (obj or {}).get("metadata") or {}


def spec(obj: Obj | None) -> Mapping[str, Any]:
    """``spec`` of ``obj``, or ``{}``."""
    return (obj or {}).get("spec") or {}


def status(obj: Obj | None) -> Mapping[str, Any]:
    """``status`` of ``obj``, or ``{}``."""
    return (obj or {}).get("status") or {}


def condition(obj: Obj | None, ctype: str) -> Mapping[str, Any]:
    """The status condition of type ``ctype`` (``Ready``, ``Stalled``, …), or ``{}``."""
    for cond in status(obj).get("conditions") or ():
        if cond.get("type") == ctype:
            return dict(cond)
    return {}


def is_true(obj: Obj | None, ctype: str) -> bool:
    """True when the condition ``ctype`` has status ``True``."""
    return condition(obj, ctype).get("status") == "True"
