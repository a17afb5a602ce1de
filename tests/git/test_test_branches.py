"""Test branches with real repositories: `change` on a new branch leaves the checkout alone, and the
merge of `preview` fast-forwards, writes a German merge commit, or aborts a conflict without losing
anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitworld import KITE_FILE, World, git

from runbook_lib.diagnose.model import Diagnosis
from runbook_lib.drift import DryRunDiff
from runbook_lib.errors import GitError, UsageError
from runbook_lib.gitops import apply_change, plan_change
from runbook_lib.preview import BranchPreview, merge_preview
from runbook_lib.report import SilentReporter

QUIET = SilentReporter()
THREE = {"spec.values.replicas": 3}


def branch_commit(alice: Path, branch: str, tag: str) -> str:
    plan = plan_change(
        alice,
        file=KITE_FILE,
        set_values={"spec.values.image.tag": tag},
        message=f"kite: Image-Tag {tag} testen",
        new_branch=branch,
        reporter=QUIET,
    )
    return apply_change(plan, reporter=QUIET).commit


def preview_of(alice: Path, branch: str) -> BranchPreview:
    """The preview's Git facts without a cluster (what merge_preview uses)."""
    git(alice, "fetch", "-q", "origin")
    base_head = git(alice, "rev-parse", "origin/main")
    head = git(alice, "rev-parse", f"origin/{branch}")
    merge_base = git(alice, "merge-base", "origin/main", head)
    from runbook_lib.audit.rules import Commit

    commits = tuple(
        Commit(*line.split("\x00"))
        for line in git(alice, "log", "--format=%H%x00%s%x00%an%x00%as", f"origin/main..{head}").splitlines()
    )
    return BranchPreview(
        repo_path=str(alice),
        remote="origin",
        branch=branch,
        base="main",
        branch_head=head,
        base_head=base_head,
        merge_base=merge_base,
        commits=commits,
        files=(KITE_FILE,),
        git_diff="",
        cluster=DryRunDiff(),
        affected=(),
        checks=Diagnosis(title="Audit"),
    )


def test_change_on_a_new_branch_leaves_the_checkout_alone(world: World, alice: Path) -> None:
    before = git(alice, "rev-parse", "HEAD")
    commit = branch_commit(alice, "test/kite", "v0.4.2")
    assert git(alice, "rev-parse", "HEAD") == before
    assert git(alice, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(alice, "status", "--porcelain") == ""
    assert "tag: 'v0.4.1'" in (alice / KITE_FILE).read_text()
    assert git(world.remote, "rev-parse", "test/kite") == commit
    assert world.remote_head() == before
    assert "tag: 'v0.4.2'" in git(alice, "show", f"{commit}:{KITE_FILE}")
    with pytest.raises(UsageError, match=r"Den Branch `test/kite` gibt es schon"):
        plan_change(
            alice, file=KITE_FILE, set_values=THREE, message="kite: drei Replikate", new_branch="test/kite"
        )
    with pytest.raises(UsageError, match=r"kein gültiger Branch-Name"):
        plan_change(
            alice, file=KITE_FILE, set_values=THREE, message="kite: drei Replikate", new_branch="a..b"
        )


def test_merge_fast_forwards_when_main_did_not_move(world: World, alice: Path) -> None:
    commit = branch_commit(alice, "test/kite", "v0.4.2")
    preview = preview_of(alice, "test/kite")
    assert preview.fast_forward
    merged = merge_preview(preview, reporter=QUIET)
    assert merged.pushed and merged.fast_forward and merged.commit == commit
    assert world.remote_head() == commit


def test_merge_commit_with_german_message_when_main_moved(world: World, alice: Path, bob: Path) -> None:
    commit = branch_commit(alice, "test/kite", "v0.4.2")
    other = world.commit(bob, "README.md", "Neu\n", "README: Kontakt des Plattform-Teams ergänzt", push=True)
    git(alice, "pull", "-q", "--ff-only")
    preview = preview_of(alice, "test/kite")
    assert not preview.fast_forward
    merged = merge_preview(preview, reporter=QUIET)
    assert not merged.fast_forward and merged.pushed
    assert world.remote_head() == merged.commit
    message = git(alice, "log", "-1", "--format=%B", merged.commit)
    assert message.startswith(
        "Test-Branch test/kite nach main übernehmen\n\n1 Commit: kite: Image-Tag v0.4.2 testen"
    )
    parents = git(alice, "log", "-1", "--format=%P", merged.commit).split()
    assert parents == [other, commit]


def test_a_conflict_is_aborted_and_nothing_is_lost(world: World, alice: Path, bob: Path) -> None:
    commit = branch_commit(alice, "test/kite", "v0.4.2")
    text = (bob / KITE_FILE).read_text().replace("v0.4.1", "v0.4.3")
    other = world.commit(bob, KITE_FILE, text, "kite: Image-Tag v0.4.3", push=True)
    git(alice, "pull", "-q", "--ff-only")
    preview = preview_of(alice, "test/kite")
    with pytest.raises(GitError, match=r"Der Merge von test/kite in main ist fehlgeschlagen"):
        merge_preview(preview, reporter=QUIET)
    assert git(alice, "rev-parse", "HEAD") == other
    assert git(alice, "status", "--porcelain") == ""
    assert not (Path(alice) / ".git" / "MERGE_HEAD").exists()
    assert world.remote_head() == other
    assert git(world.remote, "rev-parse", "test/kite") == commit


def test_a_branch_that_moved_since_the_preview_is_refused(world: World, alice: Path) -> None:
    branch_commit(alice, "test/kite", "v0.4.2")
    preview = preview_of(alice, "test/kite")
    git(alice, "switch", "-q", "test/kite")
    world.commit(alice, "README.md", "Noch was\n", "README: Hinweis auf den Test-Branch", push=True)
    git(alice, "switch", "-q", "main")
    before = world.remote_head()
    with pytest.raises(GitError, match=r"Seit der Vorschau hat sich test/kite oder main bewegt"):
        merge_preview(preview, reporter=QUIET)
    assert world.remote_head() == before
