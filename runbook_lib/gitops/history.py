"""The branch history a rollback works on: which commits it undoes, and the git sequences that undo them.

Selecting: resolve ``HEAD~2`` or ``A..B``, check ancestry, choose mainlines (:func:`select_revert`,
:func:`select_reset`). Undoing, without ever losing a commit: :func:`revert_all` creates the revert
commit completely or not at all; :func:`backup` tags the old head locally and on the remote before
anything moves; :func:`force_reset` resets and pushes with ``--force-with-lease`` and, when the push is
refused, puts the local branch back on the old head.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import git

from runbook_lib.errors import GitError, NotPushed, PreflightError, PushFailed, PushRejected, UsageError
from runbook_lib.gitops.push import classify_push_error, push_detail
from runbook_lib.gitops.render import CommitInfo
from runbook_lib.gitops.repo import Checkout, Command, dirty_files, git_stderr, run_git, shell
from runbook_lib.report import Reporter


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
                f"mainline {mainline} gibt es nicht.",
                f"`-p mainline` zwischen 1 und {len(info.parents)} wählen (1 = der Branch, in den gemergt "
                "wurde).",
            )
        return mainline
    if info.sha in chain:
        return 1
    raise UsageError(
        f"Merge-Commit {info.short} „{info.subject}“ liegt nicht auf der Hauptlinie des Branches; "
        "welche Seite bleiben soll, ist nicht eindeutig.",
        f"Die Eltern prüfen (`git show --no-patch --format=%P {info.short}`) und `-p mainline 1` "
        "(erste Elternseite bleibt) oder `-p mainline 2` angeben (im Notebook `mainline = 1`).",
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
    return Selection(
        commits=infos, mainlines=mainlines, base=oldest.parents[oldest_mainline - 1], tip=infos[0].sha
    )


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
    return Selection(commits=infos, mainlines=tuple(None for _ in infos), base=target, tip=head)


def revert_message(selection: Selection, reason: str) -> str:
    """The revert commit's message: German like every other message the team reads, with git's trailer
    ``This reverts commit <sha>.`` kept verbatim per reverted commit (tools such as GitHub, GitLab and
    ``git log --grep`` recognise a revert by it)."""
    infos = selection.commits
    if len(infos) == 1:
        title = f"Zurückgenommen: „{infos[0].subject}“"
    else:
        title = f"{len(infos)} Commits zurückgenommen ({infos[-1].short}..{infos[0].short})"
    trailers = []
    for info, mainline in zip(infos, selection.mainlines, strict=True):
        line = f"This reverts commit {info.sha}"
        if mainline is not None:
            line += f", reversing changes made to {info.parents[mainline - 1]}"
        trailers.append(line + ".")
    reason_part = ["", f"Grund: {reason.strip()}"] if reason.strip() else []
    return "\n".join([title, *reason_part, "", *trailers])


# --- undoing: revert ----------------------------------------------------------------------------------


def revert_all(
    repo: git.Repo, *, checkout: Checkout, reverts: Sequence[Command], commit: Command, reporter: Reporter
) -> str:
    """All ``reverts`` and the ``commit``, or none of them (the checkout is reset to ``checkout.head``).

    Returns the revert commit.
    """
    try:
        for command in reverts:
            reporter.action(shell(command))
            run_git(repo, command)
        if not run_git(repo, ("git", "diff", "--cached", "--name-only")).strip():
            _undo(repo, checkout.head)
            raise GitError(
                "Der Revert ändert nichts: die Änderungen sind bereits zurückgenommen.",
                f"Mit `git log -p {checkout.branch}` prüfen; es wurde nichts geändert.",
            )
        run_git(repo, commit)
    except git.GitCommandError as exc:
        conflicts = _conflicts(repo)
        _undo(repo, checkout.head)
        if conflicts:
            raise GitError(
                f"Revert-Konflikt in {', '.join(conflicts)}: spätere Commits ändern dieselben Zeilen. "
                "Der Revert wurde vollständig abgebrochen, der Checkout ist unverändert.",
                "Spätere Commits mit zurücknehmen (Bereich `A..HEAD`) oder den Revert von Hand machen: "
                "`git revert <commit>`, Konflikte lösen, `git revert --continue`, `git push`.",
            ) from exc
        raise GitError(
            f"Revert fehlgeschlagen: {git_stderr(exc)}. Der Checkout ist unverändert.",
            "Ursache beheben und die Vorschau erneut erstellen.",
        ) from exc
    return repo.head.commit.hexsha


def _conflicts(repo: git.Repo) -> list[str]:
    return run_git(repo, ("git", "diff", "--name-only", "--diff-filter=U")).split()


def _undo(repo: git.Repo, head: str) -> None:
    """Back to the previewed ``head`` with a clean tree and no revert in progress."""
    run_git(repo, ("git", "reset", "--hard", "-q", head))
    with contextlib.suppress(git.GitCommandError):
        run_git(repo, ("git", "revert", "--quit"))
    if dirty_files(repo) or repo.head.commit.hexsha != head:
        raise PreflightError(
            "Der Checkout konnte nicht sauber zurückgesetzt werden.",
            f"Von Hand prüfen: `git status`; zurück mit `git reset --hard {head[:7]}`.",
        )


# --- undoing: reset with backup and lease -------------------------------------------------------------


def backup(
    repo: git.Repo,
    *,
    checkout: Checkout,
    tag: str,
    tag_command: Command,
    push_command: Command,
    reporter: Reporter,
) -> None:
    """The backup ``tag`` of ``checkout.head``, locally and on the remote, before anything moves; on
    failure nothing is left (the local tag is deleted again)."""
    reporter.action(f"sichere {checkout.head[:7]} als Tag {tag}")
    try:
        run_git(repo, tag_command)
    except git.GitCommandError as exc:
        raise GitError(
            f"Sicherungs-Tag {tag} konnte nicht angelegt werden: {git_stderr(exc)}",
            "Die Vorschau neu erstellen (neuer Tag-Name). Es wurde nichts geändert.",
        ) from exc
    try:
        run_git(repo, push_command, network=True)
    except git.GitCommandError as exc:
        run_git(repo, ("git", "tag", "-d", tag))
        raise GitError(
            f"Die Sicherung konnte nicht auf `{checkout.remote}` ({checkout.remote_url}) "
            f"gepusht werden: {push_detail(git_stderr(exc))}. Es wurde nichts zurückgesetzt.",
            "Erreichbarkeit und Rechte prüfen (`git remote -v`, `git fetch`), dann erneut ausführen.",
        ) from exc
    reporter.success(f"Sicherung {tag} liegt lokal und auf {checkout.remote}")


def force_reset(
    repo: git.Repo,
    *,
    checkout: Checkout,
    backup_tag: str,
    reset_command: Command,
    push_command: Command,
    reporter: Reporter,
) -> None:
    """Reset the branch and force-push it (``push_command`` carries the lease on ``checkout.head``).

    A refused push puts the local branch back on ``checkout.head`` and raises :class:`NotPushed`;
    the backup tag stays.
    """
    reporter.action(shell(reset_command))
    run_git(repo, reset_command)
    reporter.action(shell(push_command))
    try:
        run_git(repo, push_command, network=True)
    except git.GitCommandError as exc:
        run_git(repo, ("git", "reset", "--hard", "-q", checkout.head))
        reporter.failure("Force-Push abgelehnt, lokaler Branch wieder auf dem alten Stand")
        raise _reset_push_error(git_stderr(exc), checkout=checkout, backup_tag=backup_tag) from exc


def _reset_push_error(stderr: str, *, checkout: Checkout, backup_tag: str) -> NotPushed:
    c, cause = checkout, classify_push_error(stderr)
    kept = (
        f"Lokal steht {c.branch} wieder auf {c.head[:7]}; die Sicherung {backup_tag} bleibt "
        f"(lokal und auf {c.remote}). Nichts wurde überschrieben."
    )
    if cause == "lease":
        return PushRejected(
            f"Force-Push abgelehnt: auf {c.upstream} hat seit der Vorschau jemand gepusht "
            f"(erwartet {c.head[:7]}). {kept}",
            f"Neuen Stand holen (`git pull --rebase {c.remote} {c.remote_branch}`), die Vorschau neu "
            "erstellen und entscheiden, ob die neuen Commits mit zurückgenommen werden sollen. "
            f"Commit {c.head[:7]} ist erhalten.",
            kept_commit=c.head,
            cause=cause,
        )
    if cause in ("hook", "moved"):
        return PushRejected(
            f"Force-Push von `{c.upstream}` abgelehnt ({push_detail(stderr)}). {kept}",
            'Der Remote verbietet ihn womöglich (geschützter Branch, Hook); stattdessen `strategy="revert"` '
            f"verwenden. Commit {c.head[:7]} ist erhalten.",
            kept_commit=c.head,
            cause=cause,
        )
    return PushFailed(
        f"Force-Push nach `{c.upstream}` ({c.remote_url}) fehlgeschlagen: {push_detail(stderr)}. {kept}",
        "Erreichbarkeit prüfen (`git remote -v`), dann die Vorschau neu erstellen. "
        f"Commit {c.head[:7]} ist erhalten.",
        kept_commit=c.head,
        cause=cause,
    )
