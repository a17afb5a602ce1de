"""What a change in Git would do to the cluster: the changed files rendered as Flux would apply them, then
a server-side dry run (:mod:`runbook_lib.drift`).

Rendering follows kustomize-controller for what the runbooks change: every document of a changed file
under a Kustomization's path (the deepest one applies it) gets that Kustomization's labels
(``kustomize.toolkit.fluxcd.io/name`` and ``/namespace``) and its ``targetNamespace`` (else the
document's namespace); a HelmRelease is the HelmRelease object itself (what helm-controller then renders
is not part of the dry run). kustomize's own transformers (patches, name prefixes, images, generators)
are not applied: when a ``kustomization.yaml`` on the way uses any, the result says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import git
import yaml

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.drift import DryRunDiff, dry_run
from runbook_lib.gitops.affected import FluxObject, contains, normalise_path, scan_flux_objects
from runbook_lib.gitops.change import ChangePlan
from runbook_lib.gitops.repo import open_repo

#: keys of a kustomize ``kustomization.yaml`` that only list files; any other key transforms objects
_PLAIN_KEYS = frozenset({"apiVersion", "kind", "resources", "metadata"})
_KS = "kustomize.toolkit.fluxcd.io"


@dataclass(frozen=True)
class Rendered:
    """The objects of some files as Flux would apply them, and notes on what was not rendered."""

    objects: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]


def owner_of(file: str, flux: Iterable[FluxObject]) -> FluxObject | None:
    """The Kustomization that applies ``file``: the deepest whose path contains it (None: none does)."""
    owners = [k for k in flux if k.kind == "Kustomization" and k.path is not None and contains(k.path, file)]
    return max(owners, key=lambda k: len(k.path or ""), default=None)


def render_files(files: Mapping[str, str], flux: Iterable[FluxObject], read: Any = None) -> Rendered:
    """``files`` (path -> new text) as objects with their Kustomization's labels and namespace.

    ``read(path)`` returns the text of another file at the same revision (the ``kustomization.yaml``
    files on the way), or None.
    """
    flux = list(flux)
    objects: list[dict[str, Any]] = []
    notes: list[str] = []
    for file, text in files.items():
        owner = owner_of(normalise_path(file), flux)
        if owner is None:
            notes.append(f"{file}: liegt unter keinem Kustomization-Pfad, Flux wendet die Datei nicht an.")
            continue
        try:
            docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        except yaml.YAMLError as exc:
            notes.append(
                f"{file}: kein gültiges YAML ({str(exc).splitlines()[0]}); kustomize würde abbrechen."
            )
            continue
        for doc in docs:
            if str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io/"):
                continue  # the kustomize configuration itself is not applied
            objects.append(as_applied(doc, owner))
        notes += _transformers(file, owner, read)
    return Rendered(tuple(objects), tuple(dict.fromkeys(notes)))


def as_applied(doc: dict[str, Any], owner: FluxObject) -> dict[str, Any]:
    out = dict(doc)
    out.pop("status", None)
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {
        **(meta.get("labels") or {}),
        f"{_KS}/name": owner.name,
        f"{_KS}/namespace": owner.namespace,
    }
    if owner.target_namespace:
        meta["namespace"] = owner.target_namespace
    out["metadata"] = meta
    return out


def _transformers(file: str, owner: FluxObject, read: Any) -> list[str]:
    """Notes for kustomization.yaml files between the owner's path and ``file`` that transform objects."""
    if read is None:
        return []
    notes = []
    folder = PurePosixPath(normalise_path(file)).parent
    root = PurePosixPath(owner.path or "")
    while True:
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            text = read(str(folder / name) if str(folder) != "." else name)
            if text is None:
                continue
            try:
                config = yaml.safe_load(text) or {}
            except yaml.YAMLError:
                config = {}
            extra = sorted(set(config) - _PLAIN_KEYS) if isinstance(config, dict) else []
            if extra:
                notes.append(
                    f"{folder}/{name} verwendet {', '.join(extra)}: diese Transformationen sind im Probelauf "
                    "nicht angewendet (`flux build kustomization` zeigt das vollständige Ergebnis)."
                )
        if folder == root or str(folder) in (".", ""):
            break
        folder = folder.parent
    return notes


def blob_reader(repo: git.Repo, rev: str) -> Any:
    """``read(path)`` for :func:`render_files`: a file's text at ``rev``, or None."""
    commit = repo.commit(rev)

    def read(path: str) -> str | None:
        try:
            return str(commit.tree[path].data_stream.read().decode("utf-8", errors="replace"))
        except KeyError:
            return None

    return read


def preview_change(plan: ChangePlan, *, client: Cluster | None = None) -> DryRunDiff:
    """The change plan's edited file, dry-run against the cluster: what the cluster would do if Flux
    applied the commit (nothing is written; the plan's Git diff is shown where the server cannot)."""
    cluster = client or default_cluster()
    repo = open_repo(plan.checkout.path)
    flux = scan_flux_objects(repo, "HEAD")
    rendered = render_files({plan.file: plan.edit.updated}, flux, blob_reader(repo, "HEAD"))
    return dry_run(
        rendered.objects,
        client=cluster,
        fallback=plan.diff,
        notes=rendered.notes,
        title="Was der Cluster mit dem Commit täte (server-side dry run, noch nichts gepusht)",
    )
