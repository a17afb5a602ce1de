"""Ctrl+C at every step of a change and of a rollback (revert and reset) leaves a named state, says
which, and loses nothing; a checkout left in the middle of a revert gets the right hint.

The interrupt is injected into GitPython's command execution: at the n-th git command that changes
something (add, commit, revert, tag, reset, push), either before it runs or right after it finished.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git as gitpython
import pytest
from gitworld import KITE_FILE, World, git

from runbook_lib.errors import Interrupted, PreflightError
from runbook_lib.gitops import apply_change, apply_rollback, plan_change, plan_rollback
from runbook_lib.gitops import repo as repo_module
from runbook_lib.report import SilentReporter

pytestmark = pytest.mark.git

ACTING = {"add", "commit", "revert", "tag", "reset", "push"}
MESSAGE = "kite: raise image tag to v0.5.0 for the login fix"


class Interrupter:
    """Raise KeyboardInterrupt at the ``at``-th acting git command (once), ``before`` or after it ran.

    Local commands run through GitPython, network commands (push, ls-remote) through subprocess.run;
    both are wrapped."""

    def __init__(self, at: int, *, before: bool) -> None:
        self.at, self.before, self.seen, self.fired = at, before, [], False

    def around(self, command: Any, call: Callable[[], Any]) -> Any:
        acting = isinstance(command, list | tuple) and len(command) > 1 and command[1] in ACTING
        if not acting or self.fired:
            return call()
        self.seen.append(" ".join(command[:3]))
        if len(self.seen) == self.at and self.before:
            self.fired = True
            raise KeyboardInterrupt
        result = call()
        if len(self.seen) == self.at:
            self.fired = True
            raise KeyboardInterrupt
        return result


@pytest.fixture
def interrupt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def install(at: int, before: bool) -> Interrupter:
        interrupter = Interrupter(at, before=before)
        real_execute, real_run = gitpython.cmd.Git.execute, subprocess.run

        def execute(git_self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            return interrupter.around(command, lambda: real_execute(git_self, command, *args, **kwargs))

        def run(command: Any, *args: Any, **kwargs: Any) -> Any:
            return interrupter.around(command, lambda: real_run(command, *args, **kwargs))

        monkeypatch.setattr(gitpython.cmd.Git, "execute", execute)
        monkeypatch.setattr(repo_module.subprocess, "run", run)
        return interrupter

    yield install


def steps(count: int) -> list[tuple[int, bool]]:
    return [(n, before) for n in range(1, count + 1) for before in (True, False)]


def state(world: World, repo: Path) -> dict[str, Any]:
    git_dir = repo / ".git"
    return {
        "head": world.head(repo),
        "remote": world.remote_head(),
        "clean": world.status(repo) == "",
        "in_progress": any((git_dir / m).exists() for m in ("REVERT_HEAD", "CHERRY_PICK_HEAD", "sequencer")),
        "tags": set(git(repo, "tag", "-l").split()),
        "remote_tags": set(git(world.remote, "tag", "-l").split()),
    }


# --- change: git add, git commit, git push ----------------------------------------------------------------


@pytest.mark.parametrize(("at", "before"), steps(3))
def test_ctrl_c_at_each_step_of_a_change(
    world: World, alice: Path, interrupt: Any, at: int, before: bool
) -> None:
    plan = plan_change(
        alice,
        file=KITE_FILE,
        set_values={"spec.values.image.tag": "v0.5.0"},
        message=MESSAGE,
        reporter=SilentReporter(),
    )
    start = state(world, alice)
    original = (alice / KITE_FILE).read_text()
    step = interrupt(at, before)
    with world.keeps_all_commits(), pytest.raises(Interrupted) as info:
        apply_change(plan, reporter=SilentReporter())
    error, after = info.value, state(world, alice)
    assert error.exit_code == 130 and after["clean"] and not after["in_progress"]
    committed = at > 2 or (at == 2 and not before)
    pushed = at == 3 and not before
    if not committed:  # before `git commit` finished: as found
        assert after == start and (alice / KITE_FILE).read_text() == original
        assert "bevor etwas committet oder gepusht war" in error.message
        assert "Checkout ist wieder wie vorgefunden" in error.message
        assert error.hint == "Das Runbook einfach erneut ausführen."
    elif not pushed:  # the commit exists only locally, and is kept
        assert after["head"] != start["head"] and after["remote"] == start["remote"]
        assert git(alice, "log", "-1", "--format=%s") == MESSAGE
        assert f"{after['head'][:7]} ist lokal erstellt, aber nicht gepusht" in error.message
        assert f"git -C {alice} push origin main" in (error.hint or "")
        assert f"git -C {alice} reset --hard {start['head'][:7]}" in (error.hint or "")
    else:
        assert after["remote"] == after["head"] != start["head"]
        assert "nach dem Push" in error.message and "runbook run status" in (error.hint or "")
    assert step.fired


def test_the_hint_after_an_interrupted_change_works(world: World, alice: Path, interrupt: Any) -> None:
    """Following the printed hint pushes the kept commit; the remote then has it."""
    plan = plan_change(
        alice,
        file=KITE_FILE,
        set_values={"spec.values.replicas": 3},
        message=MESSAGE,
        reporter=SilentReporter(),
    )
    interrupt(3, True)  # before `git push`
    with pytest.raises(Interrupted) as info:
        apply_change(plan, reporter=SilentReporter())
    command = re.search(r"`(git -C \S+ push origin main)`", info.value.hint or "")
    assert command is not None
    git(alice, *command.group(1).split()[3:])
    assert world.remote_head() == world.head(alice)


# --- rollback by revert: git revert (x2), git commit, git push --------------------------------------------


@pytest.mark.parametrize(("at", "before"), steps(4))
def test_ctrl_c_at_each_step_of_a_revert(
    world: World, alice: Path, interrupt: Any, at: int, before: bool
) -> None:
    base = world.head(alice)
    world.set_tag(alice, "v0.5.0", push=True)
    world.commit(alice, "README.md", "second\n", "docs: second bad commit", push=True)
    plan = plan_rollback(alice, commit=f"{base}..HEAD", reason="login broken", reporter=SilentReporter())
    start = state(world, alice)
    interrupt(at, before)
    with world.keeps_all_commits(), pytest.raises(Interrupted) as info:
        apply_rollback(plan, reporter=SilentReporter())
    error, after = info.value, state(world, alice)
    assert after["clean"] and not after["in_progress"], "never left in the middle of a revert"
    committed = at > 3 or (at == 3 and not before)
    if not committed:
        assert after == start
        assert "Checkout ist wieder wie vorgefunden" in error.message
    elif at == 4 and not before:
        assert after["remote"] == after["head"] != start["head"] and "nach dem Push" in error.message
    else:
        assert after["remote"] == start["remote"] and after["head"] != start["head"]
        assert "Revert-Commit" in error.message and "nicht gepusht" in error.message
        assert git(alice, "rev-parse", "HEAD~1") == start["head"]


def test_a_checkout_left_in_the_middle_of_a_revert_gets_the_revert_abort_hint(
    world: World, alice: Path
) -> None:
    bad = world.set_tag(alice, "v0.5.0", push=True)
    git(alice, "revert", "--no-commit", bad)  # what a crash in the middle of a rollback leaves
    with pytest.raises(PreflightError) as info:
        plan_rollback(alice, reason="x", reporter=SilentReporter())
    assert "`git revert` nicht abgeschlossen (REVERT_HEAD" in info.value.message
    assert "git revert --abort" in (info.value.hint or "") and "git stash" not in (info.value.hint or "")
    git(alice, "revert", "--abort")  # the hint works as printed
    assert plan_rollback(alice, reason="x", reporter=SilentReporter()).commits[0].sha == bad


@pytest.mark.parametrize(
    ("setup", "marker", "command"),
    [
        (["merge", "side"], "MERGE_HEAD", "git merge --abort"),
        (["cherry-pick", "side"], "CHERRY_PICK_HEAD", "git cherry-pick --abort"),
        (["rebase", "side"], "rebase-merge", "git rebase --abort"),
    ],
)
def test_other_half_done_operations_name_their_abort(
    world: World, alice: Path, setup: list[str], marker: str, command: str
) -> None:
    git(alice, "switch", "-q", "-c", "side")
    world.set_tag(alice, "v0.7.0")
    git(alice, "switch", "-q", "main")
    world.set_tag(alice, "v0.8.0", push=True)
    git(alice, *setup, check=False)  # a conflict stops it half way
    with pytest.raises(PreflightError) as info:
        plan_change(alice, file=KITE_FILE, set_values={"spec.values.replicas": 2}, message=MESSAGE)
    assert marker in info.value.message and command in (info.value.hint or "")


# --- rollback by reset: tag, push tag, reset --hard, push --force-with-lease ---------------------------


@pytest.mark.parametrize(("at", "before"), steps(4))
def test_ctrl_c_at_each_step_of_a_reset(
    world: World, alice: Path, interrupt: Any, at: int, before: bool
) -> None:
    target = world.head(alice)
    world.set_tag(alice, "v0.5.0", push=True)
    plan = plan_rollback(
        alice,
        commit=target,
        strategy="reset",
        allow_force_push=True,
        reason="login broken",
        reporter=SilentReporter(),
    )
    start = state(world, alice)
    interrupt(at, before)
    with world.keeps_all_commits(), pytest.raises(Interrupted) as info:
        apply_rollback(plan, reporter=SilentReporter())
    error, after = info.value, state(world, alice)
    tag = plan.backup_tag
    assert after["clean"]
    if at == 4 and not before:  # the force push landed
        assert after["remote"] == after["head"] == target
        assert "nach dem Force-Push" in error.message and tag in error.message
        assert tag in after["tags"] and tag in after["remote_tags"]
        assert f"git -C {alice} reset --hard {tag}" in (error.hint or "")
    elif at == 1 or (at == 2 and before):  # the tag is at most local: removed again, all as found
        assert after == start and "Checkout ist wieder wie vorgefunden" in error.message
    else:  # the backup is on the remote; the branch stays (or is put back) on the old head
        assert after["head"] == after["remote"] == start["head"]
        assert tag in after["tags"] and tag in after["remote_tags"]
        assert f"Tag {tag} liegt lokal und auf dem Remote" in error.message
        assert "nichts wurde zurückgesetzt oder gepusht" in error.message


# --- the mainline hint works as printed ---------------------------------------------------------------


def test_the_mainline_hint_is_a_parameter_of_the_rollback_runbook(world: World, alice: Path) -> None:
    from runbook_lib.errors import UsageError
    from runbook_lib.params import validate
    from runbook_lib.runner import find

    git(alice, "switch", "-q", "-c", "feature")
    git(alice, "switch", "-q", "-c", "topic")
    world.set_tag(alice, "v0.6.0", message="kite: topic work")
    git(alice, "switch", "-q", "feature")
    world.commit(alice, "README.md", "feature\n", "docs: feature work")
    git(alice, "merge", "-q", "--no-ff", "-m", "Merge topic into feature", "topic")
    inner = world.head(alice)
    git(alice, "switch", "-q", "main")
    git(alice, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    git(alice, "push", "-q", "origin", "main")
    with pytest.raises(UsageError) as info:
        plan_rollback(alice, commit=inner, reason="x", reporter=SilentReporter())
    printed = re.search(r"`-p (mainline) (\d)`", info.value.hint or "")
    assert printed is not None
    book = find("rollback")
    values = validate(book.parameters, [("commit", inner), (printed.group(1), printed.group(2))], "rollback")
    plan = plan_rollback(
        alice, commit=inner, reason="x", mainline=values["mainline"], reporter=SilentReporter()
    )
    assert plan.mainlines == (1,)
