"""Rollback by revert and by reset on a real bare remote and clones, with the fault matrix."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from gitworld import KITE_FILE, REJECT_MAIN_HOOK, World, git

from runbook_lib.errors import GitError, PreflightError, UsageError
from runbook_lib.gitops import NotPushed, PushFailed, apply_rollback, plan_rollback
from runbook_lib.report import SilentReporter

pytestmark = pytest.mark.git

REASON = "login broken since v0.5.0"


def preview(repo: Path, **kwargs: object):
    return plan_rollback(repo, reason=REASON, reporter=SilentReporter(), **kwargs)  # type: ignore[arg-type]


def tag_of(text: str) -> str:
    return next(ln for ln in text.splitlines() if "tag: '" in ln).split("'")[1]


# --- revert -----------------------------------------------------------------------------------------


def test_preview_lists_commits_diffstat_affected_and_commands(world: World, alice: Path) -> None:
    bad = world.set_tag(alice, "v0.5.0", message="kite: image tag v0.5.0")
    plan = preview(alice)
    assert world.head(alice) == bad and world.status(alice) == ""
    assert [c.sha for c in plan.commits] == [bad] and plan.checkout.head == bad
    assert plan.commits[0].author == "Test Runner <runner@example.com>"
    assert plan.changed_files == (KITE_FILE,)
    assert KITE_FILE in plan.diffstat and "1 file changed" in plan.diffstat
    assert {(a.kind, a.name) for a in plan.affected} >= {("HelmRelease", "kite"), ("Kustomization", "apps")}
    assert ("HelmRelease", "cert-manager") not in {(a.kind, a.name) for a in plan.affected}
    assert plan.commands[0] == ("git", "revert", "--no-commit", bad)
    assert plan.commands[-1] == ("git", "push", "origin", "main")
    text = str(plan)
    assert "noch nichts geändert" in text and bad[:7] in text and "kite: image tag v0.5.0" in text
    assert f"git revert --no-commit {bad}" in text and REASON in text
    assert "<table" in plan._repr_html_() and bad[:7] in plan._repr_html_()


def test_preview_of_an_older_commit_counts_only_its_changes(world: World, alice: Path) -> None:
    bad = world.set_tag(alice, "v0.5.0", push=True)
    notes = "clusters/orbstack/infrastructure/notes.yaml"
    world.commit(alice, notes, "a: 1\n", "infra: add notes", push=True)
    plan = preview(alice, commit="HEAD~1")
    assert [c.sha for c in plan.commits] == [bad]
    assert plan.changed_files == (KITE_FILE,)
    assert "infrastructure" not in {a.name for a in plan.affected}


def test_revert_head_is_committed_and_pushed(world: World, alice: Path) -> None:
    bad = world.set_tag(alice, "v0.5.0", push=True)
    with world.keeps_all_commits():
        result = apply_rollback(preview(alice), reporter=SilentReporter())
    assert result.pushed and world.remote_head() == world.head(alice) == result.new_head
    assert git(alice, "rev-parse", "HEAD~1") == bad
    assert tag_of(world.remote_file(KITE_FILE)) == "v0.4.1"
    message = git(alice, "log", "-1", "--format=%B")
    assert message.startswith("Zurückgenommen: „kite: image tag v0.5.0“\n\nGrund: ")
    assert f"This reverts commit {bad}." in message and f"Grund: {REASON}" in message
    assert "✔ Revert-Commit" in str(result)


def test_revert_of_a_range_is_one_commit_naming_all(world: World, alice: Path) -> None:
    base = world.head(alice)
    first = world.set_tag(alice, "v0.5.0", push=True)
    second = world.commit(alice, "README.md", "more docs\n", "docs: explain the layout", push=True)
    plan = preview(alice, commit=f"{base}..HEAD")
    assert [c.sha for c in plan.commits] == [second, first]
    result = apply_rollback(plan, reporter=SilentReporter())
    assert git(alice, "rev-parse", "HEAD~1") == second
    assert git(alice, "diff", "--stat", base, result.new_head) == ""
    message = git(alice, "log", "-1", "--format=%B")
    assert f"This reverts commit {first}." in message and f"This reverts commit {second}." in message
    assert world.remote_head() == result.new_head
    assert world.status(alice) == "" and not (alice / ".git" / "sequencer").exists()


def _merge_feature(world: World, alice: Path) -> tuple[str, str]:
    """A feature branch with one commit merged into main with --no-ff; returns (merge, feature)."""
    git(alice, "switch", "-q", "-c", "feature")
    feature = world.set_tag(alice, "v0.6.0", push=False, message="kite: try v0.6.0")
    git(alice, "switch", "-q", "main")
    world.commit(alice, "README.md", "main moved\n", "docs: main moved on")
    git(alice, "merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
    git(alice, "push", "-q", "origin", "main")
    return world.head(alice), feature


@pytest.mark.parametrize("mainline", [None, 1])
def test_revert_of_a_merge_uses_mainline_one(world: World, alice: Path, mainline: int | None) -> None:
    merge, _feature = _merge_feature(world, alice)
    plan = preview(alice, commit=merge, mainline=mainline)
    assert plan.mainlines == (1,)
    assert plan.commands[0] == ("git", "revert", "--no-commit", "-m", "1", merge)
    result = apply_rollback(plan, reporter=SilentReporter())
    assert tag_of(world.remote_file(KITE_FILE)) == "v0.4.1"
    assert world.remote_file("README.md") == "main moved"
    message = git(alice, "log", "-1", "--format=%B")
    assert (
        f"This reverts commit {merge}, reversing changes made to {git(alice, 'rev-parse', merge + '^1')}"
        in message
    )
    assert world.remote_head() == result.new_head


def test_merge_off_the_mainline_without_mainline_is_refused(world: World, alice: Path) -> None:
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
    head = world.head(alice)
    with pytest.raises(UsageError) as err:
        preview(alice, commit=inner)
    assert "-p mainline 1" in (err.value.hint or "") and inner[:7] in err.value.message
    assert world.head(alice) == head
    assert preview(alice, commit=inner, mainline=1).mainlines == (1,)


def test_invalid_mainline_is_refused(world: World, alice: Path) -> None:
    merge, _ = _merge_feature(world, alice)
    with pytest.raises(UsageError) as err:
        preview(alice, commit=merge, mainline=3)
    assert "2 Eltern" in err.value.message


def test_revert_conflict_leaves_checkout_untouched(world: World, alice: Path) -> None:
    first = world.set_tag(alice, "v0.5.0", push=True)
    world.set_tag(alice, "v0.5.1", push=True)
    head = world.head(alice)
    plan = preview(alice, commit=first)
    with world.keeps_all_commits(), pytest.raises(GitError) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert "Konflikt" in err.value.message and KITE_FILE in err.value.message
    assert world.head(alice) == head == world.remote_head()
    assert world.status(alice) == ""
    git_dir = alice / ".git"
    assert not (git_dir / "REVERT_HEAD").exists() and not (git_dir / "sequencer").exists()
    assert "You are currently reverting" not in git(alice, "status")


def test_revert_dirty_tree_is_refused(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    (alice / KITE_FILE).write_text("broken: [\n")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        preview(alice)
    assert KITE_FILE in err.value.message


def test_revert_diverged_is_refused(world: World, alice: Path, bob: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    git(bob, "pull", "-q")
    world.commit(bob, "README.md", "bob\n", "docs: bob's note", push=True)
    world.commit(alice, "clusters/orbstack/apps/kite/extra.yaml", "a: 1\n", "kite: add extra values")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        preview(alice)
    assert "auseinandergelaufen" in err.value.message


def test_revert_push_race_keeps_revert_commit(world: World, alice: Path, bob: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice)
    git(bob, "pull", "-q")
    theirs = world.commit(bob, "README.md", "bob\n", "docs: bob's note", push=True)
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_rollback(plan, reporter=SilentReporter())
    kept = world.head(alice)
    assert git(alice, "rev-parse", "HEAD~1") == plan.checkout.head
    assert kept[:7] in (err.value.hint or "") and world.remote_head() == theirs
    assert world.status(alice) == "" and "nicht gepusht" in str(err.value.result)


def test_revert_rejected_by_hook_keeps_revert_commit(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice)
    world.install_hook(REJECT_MAIN_HOOK)
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert err.value.cause == "hook" and "main is frozen" in err.value.message
    assert world.remote_head() == plan.checkout.head


def test_revert_remote_unreachable_at_apply(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice)
    world.break_remote(alice)
    with world.keeps_all_commits(), pytest.raises(PushFailed) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert "nicht erreichbar" in err.value.message and world.head(alice)[:7] in (err.value.hint or "")


def test_revert_applied_twice_pushes_once(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice)
    apply_rollback(plan, reporter=SilentReporter())
    pushed = world.remote_head()
    with pytest.raises(PreflightError):
        apply_rollback(plan, reporter=SilentReporter())
    assert world.remote_head() == pushed and git(world.remote, "rev-list", "--count", "main") == "3"


def test_commit_not_on_branch_is_refused(world: World, alice: Path) -> None:
    git(alice, "switch", "-q", "-c", "other")
    stray = world.commit(alice, "README.md", "x\n", "docs: stray commit")
    git(alice, "switch", "-q", "main")
    with pytest.raises(UsageError) as err:
        preview(alice, commit=stray)
    assert "nicht Teil von Branch `main`" in err.value.message


def test_unknown_commit_is_refused(alice: Path) -> None:
    with pytest.raises(UsageError) as err:
        preview(alice, commit="doesnotexist")
    assert "kein Commit" in err.value.message


# --- reset ------------------------------------------------------------------------------------------


def test_reset_without_flag_is_refused(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    head = world.head(alice)
    with world.keeps_all_commits(), pytest.raises(UsageError) as err:
        preview(alice, commit="HEAD~1", strategy="reset")
    assert "allow_force_push=True" in err.value.message
    assert world.head(alice) == head == world.remote_head()
    assert git(alice, "tag", "--list") == ""


def test_reset_preview_shows_backup_and_lease(world: World, alice: Path) -> None:
    base = world.head(alice)
    bad = world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice, commit="HEAD~1", strategy="reset", allow_force_push=True)
    assert plan.target == base and [c.sha for c in plan.commits] == [bad]
    assert plan.backup_tag.startswith("rollback-backup/") and bad[:7] in plan.backup_tag
    text = str(plan)
    assert f"--force-with-lease=refs/heads/main:{bad}" in text
    assert f"git reset --hard {base}" in text and plan.backup_tag in text
    assert world.head(alice) == bad and git(alice, "tag", "--list") == ""


def test_reset_backs_up_pushes_and_restore_commands_restore(world: World, alice: Path) -> None:
    base = world.head(alice)
    world.set_tag(alice, "v0.5.0", push=True)
    old = world.commit(alice, "README.md", "x\n", "docs: second bad commit", push=True)
    plan = preview(alice, commit=base, strategy="reset", allow_force_push=True)
    with world.keeps_all_commits():
        result = apply_rollback(plan, reporter=SilentReporter())
    assert result.pushed and world.remote_head() == base == world.head(alice)
    assert git(world.remote, "rev-parse", f"{result.backup_tag}^{{commit}}") == old
    assert git(alice, "rev-parse", f"{result.backup_tag}^{{commit}}") == old
    assert "Wiederherstellen" in str(result) and result.backup_tag in str(result)
    assert "Wiederherstellen" in result._repr_html_() and "--force-with-lease" in result._repr_html_()
    for command in result.restore_commands:
        git(alice, *shlex.split(shlex.join(command))[1:])
    assert world.remote_head() == old == world.head(alice)


def test_reset_lease_failure_overwrites_nothing(world: World, alice: Path, bob: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice, commit="HEAD~1", strategy="reset", allow_force_push=True)
    git(bob, "pull", "-q")
    theirs = world.commit(bob, "README.md", "bob\n", "docs: bob pushed after the preview", push=True)
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert err.value.cause == "lease" and "seit der Vorschau jemand gepusht" in err.value.message
    assert world.remote_head() == theirs
    assert world.head(alice) == plan.checkout.head and world.status(alice) == ""
    assert git(world.remote, "rev-parse", f"{plan.backup_tag}^{{commit}}") == plan.checkout.head
    assert plan.checkout.head[:7] in (err.value.hint or "")


def test_reset_rejected_by_hook_restores_local_branch(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice, commit="HEAD~1", strategy="reset", allow_force_push=True)
    world.install_hook(REJECT_MAIN_HOOK)
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert err.value.cause == "hook" and 'strategy="revert"' in (err.value.hint or "")
    assert world.head(alice) == plan.checkout.head == world.remote_head()


def test_reset_remote_unreachable_changes_nothing(world: World, alice: Path) -> None:
    world.set_tag(alice, "v0.5.0", push=True)
    plan = preview(alice, commit="HEAD~1", strategy="reset", allow_force_push=True)
    world.break_remote(alice)
    with world.keeps_all_commits(), pytest.raises(GitError) as err:
        apply_rollback(plan, reporter=SilentReporter())
    assert "nichts zurückgesetzt" in err.value.message
    assert world.head(alice) == plan.checkout.head and git(alice, "tag", "--list") == ""


def test_reset_to_head_is_refused(alice: Path) -> None:
    with pytest.raises(UsageError) as err:
        preview(alice, strategy="reset", allow_force_push=True)
    assert "ändert nichts" in err.value.message


def test_unknown_strategy_is_refused(alice: Path) -> None:
    with pytest.raises(UsageError) as err:
        preview(alice, strategy="rebase")
    assert "Unbekannte Strategie" in err.value.message
