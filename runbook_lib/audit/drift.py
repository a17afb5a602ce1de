"""Drift: changes made in the cluster that Git does not have.

For each Kustomization the files under its path are rendered at the revision it last applied
(``status.lastAppliedRevision``, when the checkout has that commit) and dry-run against the cluster
(:mod:`runbook_lib.drift`). An object the apply would change was changed by hand since (``kubectl edit``,
``scale``, ``patch``); one it would create was deleted by hand. Comparing with the *applied* revision keeps
a commit Flux has not applied yet from looking like drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import git

from runbook_lib.cluster import Cluster
from runbook_lib.diagnose.model import WARNING, Finding
from runbook_lib.drift import CHANGED, CREATED, DryRunDiff, dry_run
from runbook_lib.gitops.affected import contains, scan_flux_objects
from runbook_lib.gitops.cluster_preview import blob_reader, owner_of, render_files
from runbook_lib.gitops.repo import open_repo

#: diff lines shown in a finding's evidence (the whole diff is one `flux diff` away)
_MAX_DIFF_LINES = 30


@dataclass(frozen=True)
class DriftFacts:
    """Per Kustomization (``namespace/name``) the dry run at its applied revision; ``not_run`` says why
    the check could not run at all."""

    diffs: Mapping[str, tuple[str, str, DryRunDiff]] = field(default_factory=dict)
    not_run: str = ""
    skipped: tuple[str, ...] = ()


def gather_drift(cluster: Cluster, repo_path: str, kustomizations: Iterable[Mapping[str, Any]]) -> DriftFacts:
    """Dry-run each Kustomization's files at the revision it last applied."""
    repo = open_repo(repo_path)
    diffs: dict[str, tuple[str, str, DryRunDiff]] = {}
    skipped = []
    for ks in kustomizations:
        meta, status = ks.get("metadata") or {}, ks.get("status") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        revision = str(status.get("lastAppliedRevision") or "")
        sha = revision.rpartition(":")[2] if "sha1:" in revision else ""
        if not sha or not _has(repo, sha):
            skipped.append(f"Kustomization {name}: Revision {revision or '–'} nicht in der Arbeitskopie")
            continue
        flux = scan_flux_objects(repo, sha)
        own = next((k for k in flux if k.kind == "Kustomization" and f"{k.namespace}/{k.name}" == name), None)
        if own is None or own.path is None:
            skipped.append(f"Kustomization {name}: nicht in Git definiert")
            continue
        read = blob_reader(repo, sha)
        files = {
            p: read(p) or ""
            for p in _yaml_files(repo, sha)
            if contains(own.path, p) and (owner := owner_of(p, flux)) is not None and owner.name == own.name
        }
        rendered = render_files(files, flux, read)
        result = dry_run(rendered.objects, client=cluster, notes=rendered.notes)
        if not result.supported:
            return DriftFacts(not_run=f"kein Probelauf möglich: {result.reason}")
        diffs[name] = (sha, own.path, result)
    return DriftFacts(diffs=diffs, skipped=tuple(skipped))


def _has(repo: Any, sha: str) -> bool:
    try:
        repo.git.rev_parse("--verify", "--quiet", f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def _yaml_files(repo: Any, sha: str) -> list[str]:
    return [
        str(item.path)
        for item in repo.commit(sha).tree.traverse()
        if str(getattr(item, "path", "")).endswith((".yaml", ".yml")) and getattr(item, "type", "") == "blob"
    ]


def drift_findings(facts: DriftFacts) -> list[Finding]:
    """One warning per object the cluster has changed (or lost) since Flux applied it (pure)."""
    found = []
    for name, (sha, path, result) in facts.diffs.items():
        ks = name.split("/", 1)[1]
        for obj in result.objects:
            if obj.action not in (CHANGED, CREATED):
                continue
            lines = obj.diff.splitlines()
            shown = "\n".join(lines[:_MAX_DIFF_LINES]) + (
                f"\n… ({len(lines) - _MAX_DIFF_LINES} weitere Zeilen)" if len(lines) > _MAX_DIFF_LINES else ""
            )
            gone = obj.action == CREATED
            found.append(
                Finding(
                    severity=WARNING,
                    title="Im Cluster gelöscht (fehlt gegenüber Git)"
                    if gone
                    else "Drift: im Cluster geändert",
                    cause=(
                        f"Das Objekt weicht vom Stand {sha[:7]} ab, den Kustomization {name} zuletzt "
                        "angewendet hat: "
                        + (
                            "Es wurde im Cluster gelöscht."
                            if gone
                            else "Jemand hat es direkt im Cluster geändert (kubectl edit, scale, patch)."
                        )
                        + " Flux stellt beim nächsten Abgleich den Git-Stand wieder her; die Änderung geht "
                        "dann verloren."
                    ),
                    evidence=f"Server-side dry run (Diff: Cluster → Git-Stand):\n{shown}",
                    next_step=(
                        "Soll die Änderung bleiben: in Git übernehmen (Runbook `change`). Sonst den "
                        "Git-Stand wiederherstellen: Runbook `sync` (Flux wendet ihn erneut an)."
                    ),
                    command=f"flux diff kustomization {ks} -n {name.split('/', 1)[0]} --path ./{path}",
                    subject=obj.ref,
                )
            )
    return found
