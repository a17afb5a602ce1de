"""Rollback: preview and apply a revert (default) or a reset with backup and lease.

Same shape as :mod:`runbook_lib.gitops.change`: the types (:class:`RollbackPlan`, :class:`RollbackResult`),
the plan, the apply. ``plan_rollback`` is the preview (``dry_run = True`` in the runbook): the commits
undone, the diff stat, the affected Flux objects and the exact git commands. It records the previewed
head; ``apply_rollback`` refuses if the checkout moved since, and a reset pushes with
``--force-with-lease`` against that head, so a commit someone pushed meanwhile is never overwritten.
The git sequences themselves (revert all or nothing, backup tag, reset and undo) are in
:mod:`runbook_lib.gitops.history`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from runbook_lib.errors import UsageError
from runbook_lib.gitops import render
from runbook_lib.gitops.affected import AffectedObject, find_affected
from runbook_lib.gitops.history import (
    Selection,
    backup,
    force_reset,
    revert_all,
    revert_message,
    select_reset,
    select_revert,
)
from runbook_lib.gitops.interrupt import on_interrupt, recover_commit, recover_reset
from runbook_lib.gitops.push import push
from runbook_lib.gitops.render import CommitInfo
from runbook_lib.gitops.repo import (
    Checkout,
    Command,
    identity,
    open_repo,
    preflight,
    require_unmoved,
    run_git,
    shell,
)
from runbook_lib.report import Rendered, Reporter, default_reporter, plural

#: the two ways back: ``revert`` adds a commit that undoes (history stays), ``reset`` moves the branch
#: back and force-pushes (history is rewritten, so it needs ``allow_force_push``)
STRATEGIES = ("revert", "reset")

#: backup tags of a reset are ``rollback-backup/<UTC time>-<short sha>``: one prefix, so
#: ``git tag -l 'rollback-backup/*'`` lists every old head a reset replaced
BACKUP_PREFIX = "rollback-backup"


# --- types -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RollbackPlan(Rendered):
    """The preview: what is undone, what changes, and the commands ``apply_rollback`` runs."""

    checkout: Checkout  # checkout.head is the previewed head, the lease for a reset
    strategy: str
    commits: tuple[CommitInfo, ...]  # undone, newest first
    mainlines: tuple[int | None, ...]
    target: str  # the commit whose tree the branch returns to
    reason: str
    message: str  # the revert commit's message ("" for reset)
    backup_tag: str  # "" for revert
    diffstat: str
    changed_files: tuple[str, ...]
    affected: tuple[AffectedObject, ...]
    commands: tuple[Command, ...]
    author: str

    @property
    def title(self) -> str:
        what = "Revert" if self.strategy == "revert" else "Reset mit Force-Push"
        return f"Vorschau Rollback ({what}) auf {self.checkout.branch}, Stand {self.checkout.head[:7]}"

    def _notes(self) -> list[str]:
        c = self.checkout
        notes = [f"Remote: {c.upstream} ({c.remote_url})", f"Grund: {self.reason or '(keiner angegeben)'}"]
        if self.strategy == "reset":
            notes.append(
                f"Sicherung des alten Stands {c.head[:7]} als Tag {self.backup_tag} "
                f"(lokal und auf {c.remote}); Push nur, wenn {c.upstream} noch auf {c.head[:7]} steht "
                "(--force-with-lease)."
            )
        return notes

    def __str__(self) -> str:
        return "\n".join(
            [
                self.title + " (Vorschau: noch nichts geändert)",
                *self._notes(),
                render.section("Zurückgenommene Commits", render.commits_text(self.commits)),
                render.section("Änderungen", self.diffstat.rstrip() or "(keine)"),
                render.section("Betroffene Flux-Objekte", render.affected_text(self.affected)),
                render.section("apply_rollback führt aus", render.commands_text(self.commands)),
            ]
        )

    def _repr_html_(self) -> str:
        return render.html_block(
            self.title + " (Vorschau: noch nichts geändert)",
            *[render.para(n) for n in self._notes()],
            render.commits_html(self.commits, "Zurückgenommene Commits"),
            f"<pre>{render.escape_text(self.diffstat)}</pre>",
            render.affected_html(self.affected),
            render.para("apply_rollback führt aus:"),
            render.commands_html(self.commands),
        )


@dataclass(frozen=True, kw_only=True)
class RollbackResult(Rendered):
    """What happened: the new head, whether it is pushed, and how to restore after a reset."""

    plan: RollbackPlan
    new_head: str
    pushed: bool
    remote_head: str
    backup_tag: str  # "" for revert
    restore_commands: tuple[Command, ...]

    def _lines(self) -> list[str]:
        c, n = self.plan.checkout, len(self.plan.commits)
        state = f"ist auf {c.upstream}" if self.pushed else "ist lokal vorhanden, nicht gepusht"
        mark, short = ("✔" if self.pushed else "✗"), self.new_head[:7]
        commits = plural(n, "Commit", "Commits")
        if self.plan.strategy == "revert":
            return [f"{mark} Revert-Commit {short} nimmt {commits} zurück und {state}."]
        return [
            f"{mark} {c.branch} zurückgesetzt auf {short} ({commits} entfernt), {state}.",
            f"Der alte Stand {c.head[:7]} ist gesichert als Tag {self.backup_tag} "
            f"(lokal und auf {c.remote}).",
        ]

    def __str__(self) -> str:
        parts = [
            *self._lines(),
            render.section("Betroffene Flux-Objekte", render.affected_text(self.plan.affected)),
        ]
        if self.restore_commands:
            parts.append(
                render.section(
                    "Wiederherstellen des alten Stands", render.commands_text(self.restore_commands)
                )
            )
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        restore = ""
        if self.restore_commands:
            restore = render.para("Wiederherstellen des alten Stands:") + render.commands_html(
                self.restore_commands
            )
        return render.html_block(
            "Rollback",
            *[render.para(line) for line in self._lines()],
            render.affected_html(self.plan.affected),
            restore,
        )


# --- plan ------------------------------------------------------------------------------------------


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
    count = len(selection.commits)
    would = "würde" if count == 1 else "würden"
    reporter.success(f"Vorschau: {plural(count, 'Commit', 'Commits')} {would} zurückgenommen ({strategy})")
    return RollbackPlan(
        checkout=checkout,
        strategy=strategy,
        commits=selection.commits,
        mainlines=selection.mainlines,
        target=selection.base,
        reason=reason.strip(),
        message=message,
        backup_tag=tag,
        diffstat=diffstat,
        changed_files=files,
        affected=affected,
        commands=commands,
        author=author,
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
    note = f"Sicherung von {checkout.branch} auf {checkout.head} vor dem Zurücksetzen auf {selection.base}"
    note += f"\n\nGrund: {reason.strip()}" if reason.strip() else ""
    return (
        ("git", "tag", "-a", tag, "-m", note, checkout.head),
        ("git", "push", checkout.remote, f"refs/tags/{tag}"),
        ("git", "reset", "--hard", selection.base),
        lease_push_command(checkout, checkout.head),
    )


def backup_tag_name(head: str, now: datetime | None = None) -> str:
    """``rollback-backup/20250101T120000Z-abc1234``: unique per reset, sortable by time."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{BACKUP_PREFIX}/{stamp}-{head[:7]}"


def lease_push_command(checkout: Checkout, expected: str) -> Command:
    """The force-push that only lands while the remote branch still is at ``expected``."""
    command = checkout.push_command()
    lease = f"--force-with-lease=refs/heads/{checkout.remote_branch}:{expected}"
    return (*command[:2], lease, *command[2:])


def restore_commands(plan: RollbackPlan) -> tuple[Command, ...]:
    """Commands that put the branch back to the backed-up head (guarded by a lease on the reset target)."""
    c = plan.checkout
    return (
        ("git", "switch", c.branch),
        ("git", "fetch", c.remote, "tag", plan.backup_tag),
        ("git", "reset", "--hard", plan.backup_tag),
        lease_push_command(c, plan.target),
    )


# --- apply -----------------------------------------------------------------------------------------


def apply_rollback(plan: RollbackPlan, *, reporter: Reporter | None = None) -> RollbackResult:
    """Run the previewed rollback; failures leave the checkout consistent and are explained."""
    reporter = default_reporter(reporter)
    if plan.strategy == "revert":
        return apply_revert(plan, reporter=reporter)
    return apply_reset(plan, reporter=reporter)


def apply_revert(plan: RollbackPlan, *, reporter: Reporter) -> RollbackResult:
    """Create the revert commit (all or nothing) and push it; a refused push keeps it (NotPushed)."""
    repo = open_repo(plan.checkout.path)
    require_unmoved(repo, plan.checkout)
    identity(repo)
    *reverts, commit_command, push_command = plan.commands
    # Ctrl+C from here on leaves a named state (gitops.interrupt), never a revert in progress
    with on_interrupt(lambda: recover_commit(repo, plan.checkout, what="Revert-Commit")):
        new_head = revert_all(
            repo, checkout=plan.checkout, reverts=reverts, commit=commit_command, reporter=reporter
        )
        reporter.success(f"Revert-Commit {new_head[:7]} erstellt")
        result = RollbackResult(
            plan=plan,
            new_head=new_head,
            pushed=False,
            remote_head=plan.checkout.remote_head,
            backup_tag="",
            restore_commands=(),
        )
        push(
            repo,
            push_command,
            checkout=plan.checkout,
            kept_commit=new_head,
            what="Revert-Commit",
            reporter=reporter,
            result=result,
        )
        return replace(result, pushed=True, remote_head=repo.commit(plan.checkout.upstream).hexsha)


def apply_reset(plan: RollbackPlan, *, reporter: Reporter) -> RollbackResult:
    """Back up the old head (tag, local and remote), reset, force-push with lease; a refused push
    puts the branch back (NotPushed)."""
    repo = open_repo(plan.checkout.path)
    require_unmoved(repo, plan.checkout)
    identity(repo)
    c = plan.checkout
    tag_command, tag_push_command, reset_command, push_command = plan.commands
    restore = restore_commands(plan)
    recover = partial(recover_reset, repo, c, target=plan.target, tag=plan.backup_tag, restore=restore)
    with on_interrupt(recover):  # Ctrl+C from here on leaves a named state (gitops.interrupt)
        backup(
            repo,
            checkout=c,
            tag=plan.backup_tag,
            tag_command=tag_command,
            push_command=tag_push_command,
            reporter=reporter,
        )
        force_reset(
            repo,
            checkout=c,
            backup_tag=plan.backup_tag,
            reset_command=reset_command,
            push_command=push_command,
            reporter=reporter,
        )
    reporter.success(f"{c.upstream} steht auf {plan.target[:7]}; Sicherung: {plan.backup_tag}")
    reporter.info("Wiederherstellen: " + " && ".join(shell(cmd) for cmd in restore))
    return RollbackResult(
        plan=plan,
        new_head=plan.target,
        pushed=True,
        remote_head=repo.commit(c.upstream).hexsha,
        backup_tag=plan.backup_tag,
        restore_commands=restore,
    )
