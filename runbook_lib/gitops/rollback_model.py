"""The rollback's plan and result types, and the commands derived from a plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from runbook_lib.gitops import render
from runbook_lib.gitops.affected import AffectedObject
from runbook_lib.gitops.render import CommitInfo
from runbook_lib.gitops.repo import Checkout, Command
from runbook_lib.report import Rendered

BACKUP_PREFIX = "rollback-backup"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
        if self.plan.strategy == "revert":
            return [f"{mark} Revert-Commit {short} nimmt {n} Commit(s) zurück und {state}."]
        return [
            f"{mark} {c.branch} zurückgesetzt auf {short} ({n} Commit(s) entfernt), {state}.",
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


def backup_tag_name(head: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{BACKUP_PREFIX}/{stamp}-{head[:7]}"


def lease_push_command(checkout: Checkout, expected: str) -> Command:
    push = checkout.push_command()
    lease = f"--force-with-lease=refs/heads/{checkout.remote_branch}:{expected}"
    return (*push[:2], lease, *push[2:])


def restore_commands(plan: RollbackPlan) -> tuple[Command, ...]:
    """Commands that put the branch back to the backed-up head (guarded by a lease on the reset target)."""
    c = plan.checkout
    return (
        ("git", "switch", c.branch),
        ("git", "fetch", c.remote, "tag", plan.backup_tag),
        ("git", "reset", "--hard", plan.backup_tag),
        lease_push_command(c, plan.target),
    )
