"""Which commits a rollback undoes: resolve ``HEAD~2`` or ``A..B``, check ancestry, choose mainlines."""

from __future__ import annotations

from dataclasses import dataclass

import git

from runbook_lib.errors import UsageError
from runbook_lib.gitops.render import CommitInfo
from runbook_lib.gitops.repo import run_git


@dataclass(frozen=True)
class Selection:
    """Commits to undo (newest first), the mainline per commit (None: not a merge), the diff base."""

    commits: tuple[CommitInfo, ...]
    mainlines: tuple[int | None, ...]
    base: str  # the state the undone commits started from
    tip: str  # the state they ended in; the rollback's change is the diff tip -> base


def commit_info(repo: git.Repo, rev: str) -> CommitInfo:
    c = repo.commit(rev)
    return CommitInfo(
        sha=c.hexsha,
        author=f"{c.author.name} <{c.author.email}>",
        date=c.authored_datetime.isoformat(),
        subject=c.summary if isinstance(c.summary, str) else c.summary.decode(),
        parents=tuple(p.hexsha for p in c.parents),
    )


def resolve(repo: git.Repo, rev: str) -> str:
    try:
        return repo.commit(rev).hexsha
    except (git.BadName, ValueError, git.GitCommandError) as exc:
        raise UsageError(
            f"`{rev}` ist kein Commit in diesem Repository.",
            "Einen Commit-Hash, `HEAD`, `HEAD~2` oder einen Bereich `A..B` angeben (`git log --oneline`).",
        ) from exc


def is_ancestor(repo: git.Repo, ancestor: str, descendant: str) -> bool:
    try:
        run_git(repo, ("git", "merge-base", "--is-ancestor", ancestor, descendant))
    except git.GitCommandError:
        return False
    return True


def _require_on_branch(repo: git.Repo, sha: str, rev: str, branch: str) -> None:
    if not is_ancestor(repo, sha, "HEAD"):
        raise UsageError(
            f"Commit `{rev}` ({sha[:7]}) ist nicht Teil von Branch `{branch}`.",
            f"Nur Commits aus `git log {branch}` können zurückgenommen werden.",
        )


def first_parent_chain(repo: git.Repo) -> set[str]:
    return set(run_git(repo, ("git", "rev-list", "--first-parent", "HEAD")).split())


def choose_mainline(info: CommitInfo, mainline: int | None, chain: set[str]) -> int | None:
    """Mainline parent for reverting ``info``; None for ordinary commits. Pure."""
    if not info.is_merge:
        return None
    if mainline is not None:
        if not 1 <= mainline <= len(info.parents):
            raise UsageError(
                f"Merge-Commit {info.short} hat {len(info.parents)} Eltern; "
                f"mainline={mainline} gibt es nicht.",
                f"mainline zwischen 1 und {len(info.parents)} wählen (1 = der Branch, in den gemergt wurde).",
            )
        return mainline
    if info.sha in chain:
        return 1
    raise UsageError(
        f"Merge-Commit {info.short} „{info.subject}“ liegt nicht auf der Hauptlinie des Branches; "
        "welche Seite bleiben soll, ist nicht eindeutig.",
        f"Die Eltern prüfen (`git show --no-patch --format=%P {info.short}`) und `mainline=1` "
        "(erste Elternseite bleibt) oder `mainline=2` angeben.",
    )


def select_revert(repo: git.Repo, commit: str, mainline: int | None, branch: str) -> Selection:
    """The commits ``git revert`` would undo for ``commit`` (``HEAD~1``, a sha, or ``A..B``)."""
    if ".." in commit:
        shas = _range(repo, commit, branch)
    else:
        sha = resolve(repo, commit)
        _require_on_branch(repo, sha, commit, branch)
        shas = [sha]
    infos = tuple(commit_info(repo, s) for s in shas)
    if not infos[-1].parents:
        raise UsageError(
            f"Commit {infos[-1].short} ist der erste Commit des Repositorys "
            "und kann nicht zurückgenommen werden.",
            "Einen späteren Commit wählen.",
        )
    chain = first_parent_chain(repo)
    mainlines = tuple(choose_mainline(i, mainline, chain) for i in infos)
    oldest, oldest_mainline = infos[-1], mainlines[-1] or 1
    return Selection(infos, mainlines, base=oldest.parents[oldest_mainline - 1], tip=infos[0].sha)


def _range(repo: git.Repo, commit: str, branch: str) -> list[str]:
    start, _, end = commit.partition("..")
    if end.startswith(".") or not start or not end:
        raise UsageError(
            f"Bereich `{commit}` wird nicht unterstützt.",
            "Einen Bereich `A..B` angeben: alle Commits nach A bis einschließlich B.",
        )
    a, b = resolve(repo, start), resolve(repo, end)
    _require_on_branch(repo, b, end, branch)
    if not is_ancestor(repo, a, b):
        raise UsageError(
            f"Im Bereich `{commit}` ist {start} kein Vorgänger von {end}.",
            "Den älteren Commit zuerst angeben: `ÄLTER..NEUER`.",
        )
    out = run_git(repo, ("git", "rev-list", "--first-parent", "--topo-order", f"{a}..{b}"))
    shas = out.split()
    if not shas:
        raise UsageError(
            f"Der Bereich `{commit}` enthält keine Commits.", "Bereich prüfen: `git log --oneline A..B`."
        )
    return shas


def select_reset(repo: git.Repo, commit: str, branch: str) -> Selection:
    """The commits a ``git reset --hard commit`` removes from the branch (all of ``commit..HEAD``)."""
    if ".." in commit:
        raise UsageError(
            f'Für `strategy="reset"` ist `commit` das Ziel, kein Bereich (`{commit}`).',
            "Den Commit angeben, auf den der Branch zurückgesetzt wird, z. B. `HEAD~2`.",
        )
    target = resolve(repo, commit)
    head = repo.head.commit.hexsha
    if target == head:
        raise UsageError(
            f"`{commit}` ist der aktuelle Stand von `{branch}`; ein Reset dorthin ändert nichts.",
            "Das Ziel angeben, auf das zurückgesetzt werden soll, z. B. `HEAD~1`.",
        )
    _require_on_branch(repo, target, commit, branch)
    shas = run_git(repo, ("git", "rev-list", "--topo-order", f"{target}..HEAD")).split()
    infos = tuple(commit_info(repo, s) for s in shas)
    return Selection(infos, tuple(None for _ in infos), base=target, tip=head)


def revert_message(selection: Selection, reason: str) -> str:
    """Git's revert message format, naming every reverted commit, plus the reason."""
    infos = selection.commits
    if len(infos) == 1:
        title = f'Revert "{infos[0].subject}"'
    else:
        title = f"Revert {len(infos)} commits {infos[-1].short}..{infos[0].short}"
    body = []
    for info, mainline in zip(infos, selection.mainlines, strict=True):
        line = f"This reverts commit {info.sha}"
        if mainline is not None:
            line += f", reversing changes made to {info.parents[mainline - 1]}"
        body.append(line + ".")
    reason_line = [f"Reason: {reason.strip()}"] if reason.strip() else []
    return "\n".join([title, "", *body, *(["", *reason_line] if reason_line else [])])
