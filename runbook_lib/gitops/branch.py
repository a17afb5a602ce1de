"""Test branches ("Branches für Tests" of the guide): a commit on a new branch without touching the
checkout, and the merge of such a branch into the branch Flux follows.

The commit is built with git's plumbing (``hash-object``, a temporary index, ``write-tree``,
``commit-tree``) and only then referenced by ``git branch``: the user's working tree, index and checked-out
branch never change, and an interruption leaves either no branch or a complete one. Pushing a new branch
uses ``--force-with-lease=<ref>:`` (empty: the branch must not exist on the remote), so nobody's branch
is overwritten.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from typing import Any

import git

from runbook_lib.errors import UsageError
from runbook_lib.gitops.repo import Command, run_git

#: what `git check-ref-format --branch` accepts, narrowed to what teams use for branch names
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])$")


def check_branch_name(repo: git.Repo, name: str, *, remote: str = "origin") -> str:
    """``name`` if it is a valid branch name that exists neither locally nor on ``remote`` (as last
    fetched); a German UsageError otherwise."""
    text = str(name).strip()
    if not _BRANCH.match(text) or text.endswith(".lock"):
        raise UsageError(
            f"'{name}' ist kein gültiger Branch-Name.",
            "Buchstaben, Ziffern, '-', '_', '.' und '/' verwenden, z. B. `test/kite-v0.6.2`.",
        )
    for ref in (f"refs/heads/{text}", f"refs/remotes/{remote}/{text}"):
        try:
            repo.git.rev_parse("--verify", "--quiet", ref)
        except git.GitCommandError:
            continue
        branch = text
        raise UsageError(
            f"Den Branch `{branch}` gibt es schon ({ref.removeprefix('refs/')}).",
            f"Einen neuen Namen wählen; was ein vorhandener Branch täte, zeigt "
            f"`runbook run preview -p branch {branch}`.",
        )
    return text


def commit_on_branch(repo: git.Repo, *, base: str, file: str, text: str, message: str, branch: str) -> str:
    """A commit with ``file`` set to ``text`` on top of ``base``, referenced by the new ``branch``; the
    checkout stays as it is. Returns the commit's SHA."""
    with tempfile.TemporaryDirectory(prefix="runbook-branch-") as tmp:
        content = os.path.join(tmp, "content")
        with open(content, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        blob = run_git(repo, ("git", "hash-object", "-w", "--path", file, content))
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.execute(["git", "read-tree", base], env=env)
        repo.git.execute(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{file}"], env=env)
        tree = str(repo.git.execute(["git", "write-tree"], env=env))
    commit = run_git(repo, ("git", "commit-tree", tree, "-p", base, "-m", message))
    run_git(repo, ("git", "branch", branch, commit))
    return commit


def push_new_branch_command(remote: str, branch: str) -> Command:
    """Push ``branch`` only if the remote has no branch of that name yet."""
    ref = f"refs/heads/{branch}"
    return ("git", "push", f"--force-with-lease={ref}:", remote, f"{ref}:{ref}")


def stop_if_test_branch(result: Any) -> str:
    """End the change runbook after a push to a test branch (Flux does not follow it, so there is no
    rollout to check) naming the preview; else a ► line."""
    branch = getattr(result.plan, "new_branch", None)
    if branch:
        sys.stdout.write(
            f"✔ Commit {result.commit[:7]} ist auf dem Test-Branch {branch}; der Cluster bleibt "
            "unverändert.\n"
            f"  Vorschau und Übernahme: `runbook run preview -p branch {branch}` (mit `-p merge True`).\n"
        )
        sys.stdout.flush()
        raise SystemExit(0)
    return f"► Commit {result.commit[:7]} ist auf dem Branch, dem Flux folgt: jetzt ausrollen."
