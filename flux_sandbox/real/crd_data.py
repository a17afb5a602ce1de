"""Derive the simulator's CRD data from the real CRDs of the pinned Flux and cert-manager releases.

    python -m flux_sandbox.real.crd_data [CACHE_DIR]   # writes flux_sandbox/sim/schema/crds.json

The real engine's build copies each controller's ``config/crd/bases`` (and cert-manager's
``deploy/crds``) into ``<cache>/manifests/`` (see :mod:`flux_sandbox.real.build`). This tool keeps from
them only what the simulated API server enforces or serves: names, scope, served/storage versions,
printer columns, subresources and the structural schema without descriptions (types, properties,
required fields, patterns, enums, formats, bounds, defaults, the ``x-kubernetes-*`` markers). The
upstream files stay out of the repository; :func:`derive` is deterministic, so a test derives again
from the real CRDs and compares (``tests/simulator/test_crd_schema.py``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from flux_sandbox.real.versions import FLUX_VERSION, cache_dir, component

#: schema keywords the simulator keeps (everything else, descriptions first, is dropped)
KEEP = (
    "type",
    "format",
    "pattern",
    "enum",
    "required",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "nullable",
    "default",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
)
#: where the build puts the CRDs, relative to ``<cache>/manifests``
CRD_FOLDERS = (
    "source-controller/config/crd/bases",
    "kustomize-controller/config/crd/bases",
    "helm-controller/config/crd/bases",
    "cert-manager/deploy/crds",
)
#: the simulator's data file (this tool sits with the real engine: the simulator never imports it)
DATA = Path(__file__).resolve().parent.parent / "sim" / "schema" / "crds.json"


def strip(schema: dict[str, Any]) -> dict[str, Any]:
    """The structural part of an OpenAPI v3 schema node, recursively, in a stable key order."""
    out: dict[str, Any] = {k: schema[k] for k in KEEP if k in schema}
    if "properties" in schema:
        out["properties"] = {name: strip(sub) for name, sub in sorted(schema["properties"].items())}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = strip(schema[key])
        elif key in schema:
            out[key] = schema[key]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            out[key] = [strip(sub) for sub in schema[key]]
    if "x-kubernetes-validations" in schema:
        # CEL rules are not evaluated by the simulator; kept (rule and message) so the data says so
        out["x-kubernetes-validations"] = [
            {k: rule[k] for k in ("rule", "message") if k in rule}
            for rule in schema["x-kubernetes-validations"]
        ]
    return out


def _columns(version: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("name", "type", "jsonPath", "priority", "format")
    return [{k: c[k] for k in keys if k in c} for c in version.get("additionalPrinterColumns") or []]


def crd_record(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd["spec"]
    names = spec["names"]
    return {
        "group": spec["group"],
        "kind": names["kind"],
        "plural": names["plural"],
        "singular": names.get("singular", names["kind"].lower()),
        "shortNames": names.get("shortNames") or [],
        "categories": names.get("categories") or [],
        "namespaced": spec["scope"] == "Namespaced",
        "versions": [
            {
                "name": v["name"],
                "served": v["served"],
                "storage": v["storage"],
                "columns": _columns(v),
                "status": "status" in (v.get("subresources") or {}),
                "schema": strip(v["schema"]["openAPIV3Schema"]),
            }
            for v in spec["versions"]
        ],
    }


def load_crds(manifests: Path) -> list[dict[str, Any]]:
    crds = []
    for folder in CRD_FOLDERS:
        for path in sorted((manifests / folder).glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(doc)
    return crds


def notification_version(cache: Path) -> str:
    """notification-controller's version in the flux2 module (its ``manifests/bases`` release URL);
    the real engine does not build it, the simulator labels its Deployment with it."""
    text = (cache / "src/flux/manifests/bases/notification-controller/kustomization.yaml").read_text()
    match = re.search(r"notification-controller/releases/download/(v[0-9.]+)/", text)
    if match is None:
        raise ValueError("notification-controller version not found in the flux2 module")
    return match.group(1)


def derive(cache: Path) -> dict[str, Any]:
    """The data file's content from the real engine's cache folder (``manifests/``, ``src/flux``)."""

    records = sorted(
        (crd_record(c) for c in load_crds(cache / "manifests")), key=lambda r: (r["group"], r["kind"])
    )
    versions = {
        name: component(name).version
        for name in ("source-controller", "kustomize-controller", "helm-controller", "cert-manager")
    }
    return {
        "flux": FLUX_VERSION,
        "components": {**versions, "notification-controller": notification_version(cache)},
        "crds": records,
    }


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:

    args = sys.argv[1:] if argv is None else argv
    cache = Path(args[0]) if args else cache_dir()
    if not (cache / "manifests").is_dir():
        print(
            f"no CRDs under {cache}/manifests: "
            "build the real engine first (python -m flux_sandbox.real.build)"
        )
        return 2
    DATA.write_text(dump(derive(cache)), encoding="utf-8")
    print(f"wrote {DATA} ({DATA.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
