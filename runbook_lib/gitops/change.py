"""The change workflow: edit YAML values in the checkout, commit with a descriptive message, push.

``plan_change`` checks the checkout (preflight with fetch), edits in memory and renders the diff and
the exact commands; it writes nothing, so a dry run is simply a plan that is not applied.
``apply_change`` re-checks that nothing moved, writes, commits and pushes. A refused push keeps the
commit and raises :class:`~runbook_lib.errors.NotPushed` naming it (``.result`` says "nicht gepusht").
Ctrl+C during the apply raises :class:`~runbook_lib.errors.Interrupted` naming the state it left
(:mod:`runbook_lib.gitops.interrupt`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import git

from runbook_lib.errors import GitError, UsageError
from runbook_lib.gitops import render
from runbook_lib.gitops.affected import AffectedObject, find_affected
from runbook_lib.gitops.branch import check_branch_name, commit_on_branch, push_new_branch_command
from runbook_lib.gitops.edit import YamlEdit, edit_yaml
from runbook_lib.gitops.interrupt import on_interrupt, recover_commit
from runbook_lib.gitops.message import check_message
from runbook_lib.gitops.push import push
from runbook_lib.gitops.repo import (
    Checkout,
    Command,
    git_stderr,
    identity,
    open_repo,
    preflight,
    require_unmoved,
    run_git,
)
from runbook_lib.report import Rendered, Reporter, default_reporter, plural


@dataclass(frozen=True, kw_only=True)
class ChangePlan(Rendered):
    """What ``apply_change`` would do; rendering it is the dry run."""

    checkout: Checkout
    file: str  # relative to the repository root, with "/"
    message: str
    author: str
    edit: YamlEdit
    affected: tuple[AffectedObject, ...]
    commands: tuple[Command, ...]
    warnings: tuple[str, ...] = ()
    #: a test branch to commit to instead of the checked-out branch ("Branches für Tests")
    new_branch: str | None = None

    @property
    def diff(self) -> str:
        return self.edit.diff(self.file)

    def _summary(self) -> list[str]:
        c = self.checkout
        target = f"{c.branch} → {c.upstream}"
        if self.new_branch:
            target = f"neuer Branch {self.new_branch} → {c.remote}/{self.new_branch} (von {c.branch})"
        return [
            f"Datei: {self.file}",
            f"Branch: {target} ({c.remote_url}), Stand {c.head[:7]}",
            f"Commit-Message: {self.message}",
            f"Autor: {self.author}",
        ]

    def _edits(self) -> list[str]:
        return [f"{e.path}: {'(neu)' if e.created else repr(e.old)} → {e.new!r}" for e in self.edit.edits]

    def __str__(self) -> str:
        parts = [
            "Vorschau der Änderung (noch nichts geschrieben):",
            *self._summary(),
            render.section("Werte", "\n".join(f"  {e}" for e in self._edits())),
            self.diff.rstrip("\n"),
            render.section("Betroffene Flux-Objekte", render.affected_text(self.affected)),
            render.section("apply_change führt aus", render.commands_text(self.commands, self._comments())),
            *[f"⚠ {w}" for w in self.warnings],
        ]
        return "\n".join(parts)

    def _comments(self) -> list[str]:
        return [f"{self.file} bearbeiten: {e}" for e in self._edits()]

    def _repr_html_(self) -> str:
        return render.html_block(
            "Vorschau der Änderung (noch nichts geschrieben)",
            *[render.para(s) for s in self._summary()],
            render.diff_html(self.diff),
            render.affected_html(self.affected),
            render.para("apply_change führt aus:"),
            render.commands_html(self.commands, self._comments()),
            *[render.para(f"⚠ {w}") for w in self.warnings],
        )


@dataclass(frozen=True, kw_only=True)
class ChangeResult(Rendered):
    """The outcome: the commit, and whether it reached the remote."""

    plan: ChangePlan
    commit: str
    pushed: bool
    remote_head: str  # the remote branch as last known locally

    def _lines(self) -> list[str]:
        c = self.plan.checkout
        if self.pushed and self.plan.new_branch:
            head = (
                f"✔ Commit {self.commit[:7]} „{self.plan.message}“ ist auf dem Test-Branch "
                f"{c.remote}/{self.plan.new_branch} ({c.remote_url}); {c.upstream} ist unverändert."
            )
        elif self.pushed:
            head = f"✔ Commit {self.commit[:7]} „{self.plan.message}“ ist auf {c.upstream} ({c.remote_url})."
        else:
            head = f"✗ Commit {self.commit[:7]} „{self.plan.message}“ ist lokal vorhanden, nicht gepusht."
        return [head, f"Datei: {self.plan.file}"]

    def __str__(self) -> str:
        return "\n".join(
            [
                *self._lines(),
                self.plan.diff.rstrip("\n"),
                render.section("Betroffene Flux-Objekte", render.affected_text(self.plan.affected)),
            ]
        )

    def _repr_html_(self) -> str:
        return render.html_block(
            "Änderung" + (" gepusht" if self.pushed else " nicht gepusht"),
            *[render.para(s) for s in self._lines()],
            render.diff_html(self.plan.diff),
            render.affected_html(self.plan.affected),
        )


def repo_relative(root: Path, file: str | Path) -> str:
    """``file`` relative to the repository ``root``; UsageError if it lies outside."""
    base = root.resolve()
    candidate = Path(file)
    full = (candidate if candidate.is_absolute() else base / candidate).resolve()
    try:
        relative = full.relative_to(base)
    except ValueError as exc:
        raise UsageError(
            f"Die Datei {file} liegt außerhalb des Repositorys {root}.",
            "Einen Pfad relativ zum Repository angeben, "
            "z. B. `clusters/orbstack/apps/kite/helmrelease.yaml`.",
        ) from exc
    if (relative.parts and relative.parts[0] == ".git") or not relative.parts:
        raise UsageError(f"{file} ist keine Manifest-Datei.", "Eine YAML-Datei im Repository angeben.")
    if not full.is_file():
        raise UsageError(
            f"Die Datei {relative.as_posix()} gibt es im Repository nicht.",
            "Pfad prüfen (`git ls-files '*.yaml'` listet die Manifeste).",
        )
    return relative.as_posix()


def plan_change(
    repo_path: str | Path,
    *,
    file: str,
    set_values: dict[str, Any],
    message: str,
    branch: str | None = None,
    remote: str = "origin",
    new_branch: str | None = None,
    reporter: Reporter | None = None,
) -> ChangePlan:
    """Check the checkout, edit ``file`` in memory and describe the commit and push (writes nothing).

    With ``new_branch`` the commit goes to that new branch (created from the checked-out branch and
    pushed as a new remote branch) instead: Flux does not see it until it is merged (runbook `preview`).
    """
    reporter = default_reporter(reporter)
    message = check_message(message)
    repo = open_repo(repo_path)
    root = Path(str(repo.working_tree_dir))
    relative = repo_relative(root, file)
    checkout = preflight(repo, branch=branch, remote=remote, reporter=reporter)
    author = identity(repo)
    original = (root / relative).read_bytes().decode("utf-8")
    edit = edit_yaml(original, set_values, file=relative)
    if edit.updated == original:
        raise UsageError(
            f"In {relative} ist nichts zu ändern: die Werte sind bereits gesetzt.",
            "Werte prüfen; es wurde nichts geändert.",
        )
    warnings: tuple[str, ...] = ()
    if edit.reformatted:
        warnings = ("Beim Schreiben ändert sich auch die Formatierung anderer Zeilen; siehe Diff.",)
    commands: tuple[Command, ...] = (
        ("git", "add", relative),
        ("git", "commit", "-m", message),
        checkout.push_command(),
    )
    if new_branch:
        new_branch = check_branch_name(repo, new_branch, remote=remote)
        commands = (
            ("git", "switch", "-c", new_branch),
            *commands[:2],
            push_new_branch_command(remote, new_branch),
            ("git", "switch", checkout.branch),
        )
    plan = ChangePlan(
        checkout=checkout,
        file=relative,
        message=message,
        author=author,
        edit=edit,
        affected=find_affected(repo, [relative]),
        commands=commands,
        warnings=warnings,
        new_branch=new_branch,
    )
    reporter.success(
        f"Vorschau: {plural(len(edit.edits), 'Wert', 'Werte')} in {relative}, Commit auf "
        f"{new_branch or checkout.branch}"
    )
    return plan


def apply_change(plan: ChangePlan, *, reporter: Reporter | None = None) -> ChangeResult:
    """Write, commit and push the planned change; a refused push keeps the commit (NotPushed)."""
    reporter = default_reporter(reporter)
    repo = open_repo(plan.checkout.path)
    require_unmoved(repo, plan.checkout)
    identity(repo)
    if plan.new_branch:
        return _apply_on_branch(repo, plan, plan.new_branch, reporter)
    # Ctrl+C from here on leaves a named state (gitops.interrupt), never a half-written file
    with on_interrupt(lambda: recover_commit(repo, plan.checkout, what="Commit")):
        commit = _commit(repo, plan, reporter)
        result = ChangeResult(plan=plan, commit=commit, pushed=False, remote_head=plan.checkout.remote_head)
        push(
            repo,
            plan.commands[-1],
            checkout=plan.checkout,
            kept_commit=commit,
            what="Commit",
            reporter=reporter,
            result=result,
        )
        return replace(result, pushed=True, remote_head=_remote_head(repo, plan.checkout))


def _apply_on_branch(repo: git.Repo, plan: ChangePlan, branch: str, reporter: Reporter) -> ChangeResult:
    """Commit on the new test branch without touching the checkout, then push it as a new branch."""
    check_branch_name(repo, branch, remote=plan.checkout.remote)
    reporter.action(
        f"committe auf den neuen Branch {branch} (der Checkout bleibt auf {plan.checkout.branch})"
    )
    commit = commit_on_branch(
        repo,
        base=plan.checkout.head,
        file=plan.file,
        text=plan.edit.updated,
        message=plan.message,
        branch=branch,
    )
    reporter.success(f"Commit {commit[:7]} „{plan.message}“ auf Branch {branch} erstellt")
    result = ChangeResult(plan=plan, commit=commit, pushed=False, remote_head="")
    target = replace(plan.checkout, branch=branch, remote_branch=branch, remote_head=plan.checkout.head)
    push(
        repo,
        push_new_branch_command(plan.checkout.remote, branch),
        checkout=target,
        kept_commit=commit,
        what="Commit",
        reporter=reporter,
        result=result,
    )
    return replace(result, pushed=True, remote_head=commit)


def _commit(repo: git.Repo, plan: ChangePlan, reporter: Reporter) -> str:
    path = Path(plan.checkout.path) / plan.file
    reporter.action(f"schreibe {plan.file}")
    path.write_bytes(plan.edit.updated.encode("utf-8"))
    try:
        for command in plan.commands[:-1]:
            run_git(repo, command)
    except git.GitCommandError as exc:
        run_git(repo, ("git", "reset", "-q", "HEAD", "--", plan.file))
        path.write_bytes(plan.edit.original.encode("utf-8"))
        raise GitError(
            f"Commit fehlgeschlagen: {git_stderr(exc)}",
            f"Die Datei {plan.file} ist wieder im alten Stand; Ursache beheben und erneut ausführen.",
        ) from exc
    commit = repo.head.commit.hexsha
    reporter.success(f"Commit {commit[:7]} „{plan.message}“ erstellt")
    return commit


def _remote_head(repo: git.Repo, checkout: Checkout) -> str:
    return repo.commit(checkout.upstream).hexsha
