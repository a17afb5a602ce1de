"""The GitOps checkout a trace reads: is it there, is it the source's repository, and at which commit."""

from __future__ import annotations

import re
from typing import Any

import git

from runbook_lib.errors import GitError
from runbook_lib.gitops.repo import open_repo, remote_url
from runbook_lib.masking import mask
from runbook_lib.objects import meta, spec

#: ``https://user:pw@host/x.git/`` and ``ssh://git@host/x`` compare as ``host/x``
_URL = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?")


def same_repository(a: str, b: str) -> bool:
    """Whether two remote URLs name the same repository (scheme, user and ``.git`` ignored; a local
    folder cannot be compared and counts as the same; pure)."""

    def norm(url: str) -> str:
        text = _URL.sub("", url.strip()).rstrip("/")
        text = (
            text.removesuffix(".git").replace(":", "/", 1) if "://" not in url else text.removesuffix(".git")
        )
        return text.lower()

    if not (a and b):
        return False
    if any(_local(u) for u in (a, b)):
        return True  # a folder on this machine (a mirror, a test setup) may serve the same repository
    return norm(a) == norm(b)


def _local(url: str) -> bool:
    return url.startswith(("/", "file://", "./", "../", "~"))


def open_checkout(path: str, notes: list[str]) -> git.Repo | None:
    """The checkout at ``path``, or None with a note saying how to give one (the cluster part of a
    trace is useful without it)."""
    try:
        return open_repo(path)
    except GitError as exc:
        notes.append(f"Datei und Zeile fehlen: {exc.message} Arbeitskopie angeben: -p repo_path ~/gitops.")
        return None


def compare(repo: git.Repo, applied: str, source: dict[str, Any] | None, notes: list[str]) -> None:
    """Notes when the checkout is not the source's repository or not at the applied commit."""
    url = str(spec(source).get("url") or "") if source else ""
    remotes = [remote_url(repo, r.name) for r in repo.remotes]
    if url and remotes and not any(same_repository(url, r) for r in remotes):
        notes.append(
            f"Die Arbeitskopie ist ein anderes Repository ({mask(remotes[0], hide_user=True)}) als die "
            f"Quelle {meta(source).get('name')} ({mask(url, hide_user=True)}): Datei und Zeile können "
            "abweichen."
        )
    commit = applied.rpartition(":")[2] if "sha1:" in applied else ""
    if not commit:
        return
    head = repo.head.commit.hexsha
    if head == commit:
        return
    try:
        repo.commit(commit)
        known = True
    except (ValueError, git.BadName):
        known = False
    ahead = known and repo.is_ancestor(repo.commit(commit), repo.head.commit)
    if ahead:
        notes.append(
            f"Die Arbeitskopie steht auf {head[:8]}, neuer als die angewendete Revision {commit[:8]}: "
            "die Zeile kann schon geändert sein (git log --oneline " + commit[:8] + "..HEAD)."
        )
    else:
        notes.append(
            f"Die Arbeitskopie steht auf {head[:8]}, angewendet ist {commit[:8]}: vorher `git pull` "
            "ausführen, sonst zeigt die Zeile einen alten Stand."
        )
