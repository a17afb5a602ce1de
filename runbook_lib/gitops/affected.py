"""Which Flux objects a set of changed files affects.

Gather: :func:`scan_flux_objects` reads every YAML file of a revision (``HEAD`` by default) and keeps
Flux Kustomizations (with ``spec.path``) and HelmReleases (with the file that defines them).
Interpret: :func:`affected_by` is pure: a changed file affects each Kustomization whose path contains
it, and the HelmReleases defined in it. Kustomizations are assumed to read this repository (their
``sourceRef`` is not matched against the remote URL).

Namespaces: a Kustomization's ``spec.targetNamespace`` wins for the objects under its path (as kustomize
sets it), then ``metadata.namespace``, then ``default``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import git
import yaml

#: files larger than this are data, not manifests; reading them would only cost time
MAX_MANIFEST_BYTES = 1_000_000


@dataclass(frozen=True, kw_only=True)
class FluxObject:
    """A Flux object as defined in the repository."""

    kind: str  # "Kustomization" or "HelmRelease"
    name: str
    namespace: str
    file: str  # where it is defined
    path: str | None = None  # Kustomization spec.path, normalised ("" is the repository root)
    target_namespace: str | None = None


@dataclass(frozen=True)
class AffectedObject:
    """A Flux object a change affects, and why (German), for a later sync and check."""

    kind: str
    name: str
    namespace: str
    reason: str

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def normalise_path(path: str) -> str:
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def contains(directory: str, file: str) -> bool:
    return directory == "" or file == directory or file.startswith(directory + "/")


def _objects_in(file: str, docs: Iterable[Any]) -> list[FluxObject]:
    found = []
    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
            continue
        api, kind, meta = str(doc.get("apiVersion", "")), doc.get("kind"), doc["metadata"]
        spec: dict[str, Any] = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
        namespace = str(meta.get("namespace") or "")
        if kind == "Kustomization" and api.startswith("kustomize.toolkit.fluxcd.io/"):
            found.append(
                FluxObject(
                    kind=kind,
                    name=str(meta.get("name")),
                    namespace=namespace,
                    file=file,
                    path=normalise_path(spec.get("path", "")),
                    target_namespace=spec.get("targetNamespace"),
                )
            )
        elif kind == "HelmRelease" and api.startswith("helm.toolkit.fluxcd.io/"):
            found.append(FluxObject(kind=kind, name=str(meta.get("name")), namespace=namespace, file=file))
    return found


def parse_manifest(file: str, text: str) -> list[FluxObject]:
    """The Flux objects in one YAML file; files that do not parse define none."""
    try:
        return _objects_in(file, list(yaml.safe_load_all(text)))
    except yaml.YAMLError:
        return []


def scan_flux_objects(repo: git.Repo, rev: str = "HEAD") -> list[FluxObject]:
    """Every Kustomization and HelmRelease defined in the YAML files of ``rev``."""
    objects: list[FluxObject] = []
    for item in repo.commit(rev).tree.traverse():
        path = str(getattr(item, "path", ""))
        if not isinstance(item, git.Blob) or not path.endswith((".yaml", ".yml")):
            continue
        if item.size > MAX_MANIFEST_BYTES:
            continue
        text = item.data_stream.read().decode("utf-8", errors="replace")
        objects.extend(parse_manifest(path, text))
    return resolve_namespaces(objects)


def resolve_namespaces(objects: list[FluxObject]) -> list[FluxObject]:
    kustomizations = [o for o in objects if o.kind == "Kustomization"]
    resolved = []
    for obj in objects:
        owners = [k for k in kustomizations if k.path is not None and contains(k.path, obj.file)]
        deepest = max(owners, key=lambda k: len(k.path or ""), default=None)
        target = deepest.target_namespace if deepest else None
        namespace = target or obj.namespace or "default"
        resolved.append(replace(obj, namespace=namespace))
    return resolved


def affected_by(objects: Iterable[FluxObject], changed_files: Iterable[str]) -> tuple[AffectedObject, ...]:
    """Kustomizations (root path first) whose path contains a changed file, then HelmReleases in them."""
    files = sorted({normalise_path(f) for f in changed_files})
    result: dict[tuple[str, str, str], AffectedObject] = {}
    ordered = sorted(
        objects, key=lambda o: (o.kind != "Kustomization", len(o.path or ""), o.namespace, o.name)
    )
    for obj in ordered:
        key = (obj.kind, obj.namespace, obj.name)
        if key in result:
            continue
        if obj.kind == "Kustomization" and obj.path is not None:
            hits = [f for f in files if contains(obj.path, f)]
            reason = f"Pfad ./{obj.path} enthält {_files(hits)}" if hits else ""
        else:
            reason = f"definiert in {obj.file}" if obj.file in files else ""
        if reason:
            result[key] = AffectedObject(kind=obj.kind, name=obj.name, namespace=obj.namespace, reason=reason)
    return tuple(result.values())


def _files(files: list[str]) -> str:
    return ", ".join(files[:3]) + (f" (+{len(files) - 3})" if len(files) > 3 else "")


def find_affected(
    repo: git.Repo, changed_files: Iterable[str], *, revs: Iterable[str] = ("HEAD",)
) -> tuple[AffectedObject, ...]:
    """Affected Flux objects, reading the manifests of each revision in ``revs`` (union)."""
    objects: list[FluxObject] = []
    for rev in dict.fromkeys(revs):
        objects.extend(scan_flux_objects(repo, rev))
    return affected_by(objects, list(changed_files))
