"""Rollback: preview and apply a revert (default) or a reset with backup and lease.

``plan_rollback`` is the preview (``dry_run = True`` in the runbook): the commits undone, the diff stat,
the affected Flux objects and the exact git commands. It records the previewed head; ``apply_rollback``
refuses if the checkout moved since, and a reset pushes with ``--force-with-lease`` against that head,
so a commit someone pushed meanwhile is never overwritten.
"""

from __future__ import annotations

from pathlib import Path

from runbook_lib.errors import UsageError
from runbook_lib.gitops.affected import find_affected
from runbook_lib.gitops.history import Selection, revert_message, select_reset, select_revert
from runbook_lib.gitops.repo import Checkout, Command, identity, open_repo, preflight, run_git
from runbook_lib.gitops.rollback_apply import apply_reset, apply_revert
from runbook_lib.gitops.rollback_model import (
    RollbackPlan,
    RollbackResult,
    backup_tag_name,
    lease_push_command,
)
from runbook_lib.report import Reporter, default_reporter

STRATEGIES = ("revert", "reset")


def plan_rollback(
    repo_path: str | Path,
    *,
    commit: str = "HEAD",
    strategy: str = "revert",
    allow_force_push: bool = False,
    reason: str = "",
    branch: str | None = None,
    remote: str = "origin",
    mainline: int | None = None,
    reporter: Reporter | None = None,
) -> RollbackPlan:
    """Preview a rollback; raises UsageError/PreflightError (German, with the fix) and changes nothing."""
    reporter = default_reporter(reporter)
    _check_strategy(strategy, allow_force_push)
    repo = open_repo(repo_path)
    checkout = preflight(repo, branch=branch, remote=remote, reporter=reporter)
    author = identity(repo)
    if strategy == "revert":
        selection = select_revert(repo, commit, mainline, checkout.branch)
    else:
        selection = select_reset(repo, commit, checkout.branch)
    diffstat = run_git(repo, ("git", "diff", "--stat", selection.tip, selection.base))
    files = tuple(run_git(repo, ("git", "diff", "--name-only", selection.tip, selection.base)).split("\n"))
    files = tuple(f for f in files if f)
    affected = find_affected(repo, files, revs=("HEAD", selection.base))
    tag = backup_tag_name(checkout.head) if strategy == "reset" else ""
    message = revert_message(selection, reason) if strategy == "revert" else ""
    commands = (
        _revert_commands(selection, message, checkout)
        if strategy == "revert"
        else _reset_commands(selection, checkout, tag, reason)
    )
    reporter.success(f"Vorschau: {len(selection.commits)} Commit(s) würden zurückgenommen ({strategy})")
    return RollbackPlan(
        checkout,
        strategy,
        selection.commits,
        selection.mainlines,
        selection.base,
        reason.strip(),
        message,
        tag,
        diffstat,
        files,
        affected,
        commands,
        author,
    )


def _check_strategy(strategy: str, allow_force_push: bool) -> None:
    if strategy not in STRATEGIES:
        raise UsageError(
            f"Unbekannte Strategie `{strategy}`.",
            "`revert` (Standard: neuer Commit, der die Änderung zurücknimmt) "
            "oder `reset` (Force-Push) wählen.",
        )
    if strategy == "reset" and not allow_force_push:
        raise UsageError(
            '`strategy="reset"` schreibt die Historie auf dem Remote um (Force-Push) und ist nur mit '
            "`allow_force_push=True` erlaubt.",
            'Besser `strategy="revert"` verwenden; für einen Reset bewusst `allow_force_push=True` setzen. '
            "Es wurde nichts geändert.",
        )


def _revert_commands(selection: Selection, message: str, checkout: Checkout) -> tuple[Command, ...]:
    commands: list[Command] = []
    for info, mainline in zip(selection.commits, selection.mainlines, strict=True):
        flags = ("-m", str(mainline)) if mainline is not None else ()
        commands.append(("git", "revert", "--no-commit", *flags, info.sha))
    commands.append(("git", "commit", "-m", message))
    commands.append(checkout.push_command())
    return tuple(commands)


def _reset_commands(selection: Selection, checkout: Checkout, tag: str, reason: str) -> tuple[Command, ...]:
    note = f"Backup of {checkout.branch} at {checkout.head} before reset to {selection.base}"
    note += f"\n\nReason: {reason.strip()}" if reason.strip() else ""
    return (
        ("git", "tag", "-a", tag, "-m", note, checkout.head),
        ("git", "push", checkout.remote, f"refs/tags/{tag}"),
        ("git", "reset", "--hard", selection.base),
        lease_push_command(checkout, checkout.head),
    )


def apply_rollback(plan: RollbackPlan, *, reporter: Reporter | None = None) -> RollbackResult:
    """Run the previewed rollback; failures leave the checkout consistent and are explained."""
    reporter = default_reporter(reporter)
    if plan.strategy == "revert":
        return apply_revert(plan, reporter)
    return apply_reset(plan, reporter)
