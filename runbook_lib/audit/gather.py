"""What the audit reads: workloads and Flux objects from the cluster, manifests and commits from the
checkout. Each part has an error slot: a part the server refuses (no right to list StatefulSets) is
reported as not checked, the other checks still run. An unreachable cluster ends the audit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from runbook_lib.audit.rules import WORKLOAD_KINDS, Commit, Manifest
from runbook_lib.cluster import Cluster
from runbook_lib.errors import ClusterUnreachable, RunbookError
from runbook_lib.gitops.repo import dirty_files, open_repo, run_git
from runbook_lib.kinds import FLUX_KINDS
from runbook_lib.kube import api_get, list_objects, where

Obj = dict[str, Any]

#: the plural of each workload kind in apps/v1
_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
#: a manifest larger than this is not a hand-written manifest (a vendored CRD bundle); not indexed
_MAX_MANIFEST = 2 * 1024 * 1024
#: folders of a checkout that never hold manifests Flux applies
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})


@dataclass(frozen=True)
class RepoFacts:
    """What the checkout says: where objects are defined, the last commits of the followed branch, and
    what is not pushed."""

    path: str
    branch: str
    manifests: Mapping[tuple[str, str, str], Manifest]
    commits: tuple[Commit, ...]
    dirty: tuple[str, ...] = ()
    ahead: int = 0


@dataclass(frozen=True)
class AuditInput:
    """Everything the rules need; ``skipped`` names the parts that could not be read, with the reason."""

    workloads: tuple[Obj, ...]
    flux_objects: tuple[Obj, ...]
    now: datetime
    repo: RepoFacts | None = None
    skipped: tuple[str, ...] = field(default=())


def gather(
    cluster: Cluster,
    *,
    namespace: str | None = None,
    repo_path: str | None = None,
    commits: int = 20,
    now: datetime | None = None,
) -> AuditInput:
    """Read the cluster (and the checkout when ``repo_path`` is given)."""
    skipped: list[str] = []
    workloads: list[Obj] = []
    scope = f"namespaces/{namespace}/" if namespace else ""
    for kind, plural in _PLURALS.items():
        items = _part(
            skipped,
            f"{kind}s",
            lambda plural=plural, kind=kind: api_get(
                cluster, f"/apis/apps/v1/{scope}{plural}", f"die {kind}s {where(namespace)}"
            ),
        )
        for item in (items or {}).get("items") or []:
            workloads.append({"kind": kind, **item})
    flux: list[Obj] = []
    for fk in FLUX_KINDS:
        items = _part(skipped, fk.kind, lambda fk=fk: list_objects(cluster, fk, namespace=namespace))
        flux += [{"kind": fk.kind, **item} for item in items or []]
    repo = read_repo(repo_path, flux, commits) if repo_path else None
    return AuditInput(
        workloads=tuple(workloads),
        flux_objects=tuple(flux),
        now=now or datetime.now(UTC),
        repo=repo,
        skipped=tuple(skipped),
    )


def _part(skipped: list[str], what: str, read: Any) -> Any:
    """One read with its error slot: an unreachable cluster ends the audit, other refusals are noted."""
    try:
        return read()
    except ClusterUnreachable:
        raise
    except RunbookError as exc:
        skipped.append(f"{what}: {exc.message}")
        return None


def followed_branch(flux: list[Obj]) -> str:
    """The branch the root GitRepository follows (``flux-system``, else the first with a branch)."""
    repos = [o for o in flux if o.get("kind") == "GitRepository"]
    repos.sort(key=lambda o: (o.get("metadata") or {}).get("name") != "flux-system")
    for r in repos:
        branch = ((r.get("spec") or {}).get("ref") or {}).get("branch")
        if branch:
            return str(branch)
    return ""


def read_repo(path: str, flux: list[Obj], count: int) -> RepoFacts:
    """The checkout at ``path``: manifest index, the last ``count`` commits of the branch Flux follows
    (its remote-tracking ref when there is one: what Flux sees), uncommitted files and unpushed commits."""
    repo = open_repo(path)
    root = Path(repo.working_tree_dir or path)
    branch = followed_branch(flux) or _current(repo)
    tracking = f"origin/{branch}"
    ref = tracking if _exists(repo, tracking) else branch if _exists(repo, branch) else "HEAD"
    log = run_git(repo, ("git", "log", f"-n{max(count, 0)}", "--format=%H%x00%s%x00%an%x00%as", ref, "--"))
    found = tuple(Commit(*line.split("\x00", 3)) for line in log.splitlines() if line.count("\x00") == 3)
    ahead = 0
    if ref == tracking and _current(repo) == branch:
        ahead = int(run_git(repo, ("git", "rev-list", "--count", f"{tracking}..HEAD")) or 0)
    return RepoFacts(
        path=str(root),
        branch=branch or ref,
        manifests=index_manifests(root),
        commits=found,
        dirty=tuple(dirty_files(repo)),
        ahead=ahead,
    )


def _current(repo: git.Repo) -> str:
    try:
        return str(repo.active_branch.name)
    except TypeError:  # detached HEAD
        return ""


def _exists(repo: git.Repo, ref: str) -> bool:
    if not ref:
        return False
    try:
        repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def index_manifests(root: Path) -> dict[tuple[str, str, str], Manifest]:
    """(kind, namespace, name) -> file and line of every object in the YAML files under ``root``.

    Files that are not valid YAML are skipped (kustomize would refuse them, `troubleshoot-sync` says so).
    """
    yaml = YAML(typ="rt")
    found: dict[tuple[str, str, str], Manifest] = {}
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if file.suffix not in (".yaml", ".yml") or _SKIP_DIRS.intersection(rel.parts) or not file.is_file():
            continue
        if file.stat().st_size > _MAX_MANIFEST:
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for key, manifest in index_text(rel.as_posix(), text, yaml).items():
            found.setdefault(key, manifest)
    return found


def index_text(file: str, text: str, yaml: YAML | None = None) -> dict[tuple[str, str, str], Manifest]:
    """(kind, namespace, name) -> ``file`` and line of each object in one YAML text ({} if invalid)."""
    yaml = yaml or YAML(typ="rt")
    found: dict[tuple[str, str, str], Manifest] = {}
    try:
        docs = list(yaml.load_all(text))
    except (YAMLError, ValueError):
        return found
    for doc in docs:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("metadata"), Mapping):
            continue
        meta = doc["metadata"]
        key = (str(doc.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))
        line = getattr(getattr(doc, "lc", None), "line", 0) or 0
        found.setdefault(key, Manifest(file, line + 1))
    return found


__all__ = [
    "WORKLOAD_KINDS",
    "AuditInput",
    "RepoFacts",
    "gather",
    "index_manifests",
    "index_text",
    "read_repo",
]
