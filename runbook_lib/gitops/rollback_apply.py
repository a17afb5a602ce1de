"""Apply a previewed rollback. Every failure path leaves the checkout whole: the revert commit is
either complete or not there, a reset is undone locally when its push is refused."""

from __future__ import annotations

import contextlib

import git

from runbook_lib.errors import GitError, PreflightError
from runbook_lib.gitops.push import classify_push_error, push, push_detail
from runbook_lib.gitops.repo import (
    Command,
    NotPushed,
    PushFailed,
    dirty_files,
    git_stderr,
    identity,
    open_repo,
    require_unmoved,
    run_git,
    shell,
)
from runbook_lib.gitops.rollback_model import RollbackPlan, RollbackResult, restore_commands
from runbook_lib.report import Reporter


def apply_revert(plan: RollbackPlan, reporter: Reporter) -> RollbackResult:
    repo = open_repo(plan.checkout.path)
    require_unmoved(repo, plan.checkout)
    identity(repo)
    *reverts, commit_cmd, push_cmd = plan.commands
    _revert_all(repo, plan, reverts, commit_cmd, reporter)
    new_head = repo.head.commit.hexsha
    reporter.success(f"Revert-Commit {new_head[:7]} erstellt")
    result = RollbackResult(plan, new_head, False, plan.checkout.remote_head, "", ())
    push(
        repo,
        push_cmd,
        checkout=plan.checkout,
        kept_commit=new_head,
        what="Revert-Commit",
        reporter=reporter,
        result=result,
    )
    return RollbackResult(plan, new_head, True, repo.commit(plan.checkout.upstream).hexsha, "", ())


def _revert_all(
    repo: git.Repo, plan: RollbackPlan, reverts: list[Command], commit_cmd: Command, reporter: Reporter
) -> None:
    """All reverts and the commit, or none of them (the checkout is reset to the previewed head)."""
    try:
        for command in reverts:
            reporter.action(shell(command))
            run_git(repo, command)
        if not run_git(repo, ("git", "diff", "--cached", "--name-only")).strip():
            _undo(repo, plan)
            raise GitError(
                "Der Revert ändert nichts: die Änderungen sind bereits zurückgenommen.",
                f"Mit `git log -p {plan.checkout.branch}` prüfen; es wurde nichts geändert.",
            )
        run_git(repo, commit_cmd)
    except git.GitCommandError as exc:
        conflicts = _conflicts(repo)
        _undo(repo, plan)
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


def _conflicts(repo: git.Repo) -> list[str]:
    return run_git(repo, ("git", "diff", "--name-only", "--diff-filter=U")).split()


def _undo(repo: git.Repo, plan: RollbackPlan) -> None:
    """Back to the previewed head with a clean tree and no revert in progress."""
    run_git(repo, ("git", "reset", "--hard", "-q", plan.checkout.head))
    with contextlib.suppress(git.GitCommandError):
        run_git(repo, ("git", "revert", "--quit"))
    if dirty_files(repo) or repo.head.commit.hexsha != plan.checkout.head:
        raise PreflightError(
            "Der Checkout konnte nicht sauber zurückgesetzt werden.",
            f"Von Hand prüfen: `git status`; zurück mit `git reset --hard {plan.checkout.head[:7]}`.",
        )


def apply_reset(plan: RollbackPlan, reporter: Reporter) -> RollbackResult:
    repo = open_repo(plan.checkout.path)
    require_unmoved(repo, plan.checkout)
    identity(repo)
    tag_cmd, tag_push_cmd, reset_cmd, push_cmd = plan.commands
    _backup(repo, plan, tag_cmd, tag_push_cmd, reporter)
    reporter.action(shell(reset_cmd))
    run_git(repo, reset_cmd)
    reporter.action(shell(push_cmd))
    try:
        run_git(repo, push_cmd, network=True)
    except git.GitCommandError as exc:
        run_git(repo, ("git", "reset", "--hard", "-q", plan.checkout.head))
        reporter.failure("Force-Push abgelehnt, lokaler Branch wieder auf dem alten Stand")
        raise _reset_push_error(plan, git_stderr(exc)) from exc
    restore = restore_commands(plan)
    c = plan.checkout
    reporter.success(f"{c.upstream} steht auf {plan.target[:7]}; Sicherung: {plan.backup_tag}")
    reporter.info("Wiederherstellen: " + " && ".join(shell(cmd) for cmd in restore))
    return RollbackResult(plan, plan.target, True, repo.commit(c.upstream).hexsha, plan.backup_tag, restore)


def _backup(
    repo: git.Repo, plan: RollbackPlan, tag_cmd: Command, push_cmd: Command, reporter: Reporter
) -> None:
    """The backup tag, locally and on the remote, before anything moves; on failure nothing is left."""
    reporter.action(f"sichere {plan.checkout.head[:7]} als Tag {plan.backup_tag}")
    try:
        run_git(repo, tag_cmd)
    except git.GitCommandError as exc:
        raise GitError(
            f"Sicherungs-Tag {plan.backup_tag} konnte nicht angelegt werden: {git_stderr(exc)}",
            "Die Vorschau neu erstellen (neuer Tag-Name). Es wurde nichts geändert.",
        ) from exc
    try:
        run_git(repo, push_cmd, network=True)
    except git.GitCommandError as exc:
        run_git(repo, ("git", "tag", "-d", plan.backup_tag))
        stderr = git_stderr(exc)
        raise GitError(
            f"Die Sicherung konnte nicht auf `{plan.checkout.remote}` ({plan.checkout.remote_url}) "
            f"gepusht werden: {push_detail(stderr)}. Es wurde nichts zurückgesetzt.",
            "Erreichbarkeit und Rechte prüfen (`git remote -v`, `git fetch`), dann erneut ausführen.",
        ) from exc
    reporter.success(f"Sicherung {plan.backup_tag} liegt lokal und auf {plan.checkout.remote}")


def _reset_push_error(plan: RollbackPlan, stderr: str) -> GitError:
    c, cause = plan.checkout, classify_push_error(stderr)
    kept = (
        f"Lokal steht {c.branch} wieder auf {c.head[:7]}; die Sicherung {plan.backup_tag} bleibt "
        f"(lokal und auf {c.remote}). Nichts wurde überschrieben."
    )
    if cause == "lease":
        return NotPushed(
            f"Force-Push abgelehnt: auf {c.upstream} hat seit der Vorschau jemand gepusht "
            f"(erwartet {c.head[:7]}). {kept}",
            f"Neuen Stand holen (`git pull --rebase {c.remote} {c.remote_branch}`), die Vorschau neu "
            "erstellen und entscheiden, ob die neuen Commits mit zurückgenommen werden sollen. "
            f"Commit {c.head[:7]} ist erhalten.",
            kept_commit=c.head,
            cause=cause,
        )
    if cause in ("hook", "moved"):
        return NotPushed(
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
