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


def deployment_status(dep: Mapping[str, Any]) -> tuple[bool, str]:
    """The kstatus rule for Deployments: (current, German reason when not)."""
    meta, spec_, status_ = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    if status_.get("observedGeneration") != meta.get("generation"):
        return False, "neue Generation noch nicht vom Controller übernommen"
    progressing = condition(dep, "Progressing")
    if progressing.get("reason") != "NewReplicaSetAvailable":
        return False, "ReplicaSet noch nicht verfügbar"
    if condition(dep, "Available").get("status") != "True":
        return False, "Deployment nicht verfügbar"
    want = spec_.get("replicas", 1)
    have = {
        k: status_.get(k) or 0 for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    }
    if want > min(have["replicas"], have["updatedReplicas"], have["readyReplicas"]):
        return False, f"{have['readyReplicas']}/{want} Replikate bereit"
    if have["updatedReplicas"] > have["availableReplicas"]:
        return (
            False,
            f"{have['availableReplicas']}/{have['updatedReplicas']} aktualisierte Replikate verfügbar",
        )
    return True, ""
