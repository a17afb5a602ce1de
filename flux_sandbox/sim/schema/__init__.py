"""The CRDs of the Flux and cert-manager releases the simulator claims, as the project's own data.

``crds.json`` is derived by :mod:`flux_sandbox.real.crd_data` from the real CRDs of the pinned
releases (Flux v2.9.5, cert-manager v1.21.1; docs/flux-facts.md §14): names, served versions, printer
columns and the structural schemas the simulated API server validates custom resources against
(:mod:`.validate`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "crds.json"


@dataclass(frozen=True)
class CrdVersion:
    name: str
    served: bool
    storage: bool
    columns: tuple[dict[str, Any], ...]
    schema: dict[str, Any]
    #: the schema has CEL rules (which the simulator does not evaluate)
    has_rules: bool


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    namespaced: bool
    versions: tuple[CrdVersion, ...]

    @property
    def storage(self) -> CrdVersion:
        return next(v for v in self.versions if v.storage)

    @property
    def served(self) -> tuple[str, ...]:
        """Served versions, the storage version first."""
        rest = [v.name for v in self.versions if v.served and not v.storage]
        return (self.storage.name, *rest)

    def version(self, name: str) -> CrdVersion | None:
        return next((v for v in self.versions if v.name == name), None)


def _has_rules(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "x-kubernetes-validations" in schema or any(_has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_rules(v) for v in schema)
    return False


@cache
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


@cache
def crds() -> dict[tuple[str, str], Crd]:
    """(group, plural) -> Crd."""
    out = {}
    for rec in data()["crds"]:
        versions = tuple(
            CrdVersion(
                v["name"],
                v["served"],
                v["storage"],
                tuple(v["columns"]),
                v["schema"],
                _has_rules(v["schema"]),
            )
            for v in rec["versions"]
        )
        out[(rec["group"], rec["plural"])] = Crd(
            rec["group"],
            rec["kind"],
            rec["plural"],
            tuple(rec["shortNames"]),
            tuple(rec["categories"]),
            rec["namespaced"],
            versions,
        )
    return out


def flux_version() -> str:
    """The Flux release the data was derived from (the simulator claims it)."""
    return str(data()["flux"])


def component_version(name: str) -> str:
    """Version of ``source-controller``, ``kustomize-controller``, ``helm-controller``, ``cert-manager``."""
    return str(data()["components"][name])
