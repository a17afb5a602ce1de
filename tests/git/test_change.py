"""The change workflow on a real bare remote and clones, with the fault matrix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gitworld import KITE_FILE, REJECT_MAIN_HOOK, World, git

from runbook_lib.errors import GitError, PreflightError, UsageError
from runbook_lib.gitops import NotPushed, PushFailed, apply_change, plan_change
from runbook_lib.report import SilentReporter, color_style

pytestmark = pytest.mark.git

MESSAGE = "kite: raise image tag to v0.5.0 for the login fix"
TAG = {"spec.values.image.tag": "v0.5.0"}


def plan(repo: Path, **kwargs: object):
    options = {"file": KITE_FILE, "set_values": TAG, "message": MESSAGE, "reporter": SilentReporter()}
    options.update(kwargs)
    return plan_change(repo, **options)  # type: ignore[arg-type]


def test_change_is_committed_and_pushed(world: World, alice: Path) -> None:
    before = world.head(alice)
    result = apply_change(plan(alice), reporter=SilentReporter())
    assert result.pushed
    assert world.remote_head() == world.head(alice) == result.commit == result.remote_head
    assert git(alice, "rev-parse", "HEAD~1") == before
    assert git(alice, "log", "-1", "--format=%s|%an") == f"{MESSAGE}|Test Runner"
    text = world.remote_file(KITE_FILE)
    assert "tag: 'v0.5.0'  # keep in sync with the chart" in text
    assert "# Kite dashboard, see https://github.com/zxh326/kite" in text
    assert world.status(alice) == ""
    assert "✔ Commit" in str(result) and "nicht gepusht" not in str(result)


def test_plan_is_a_dry_run_that_shows_diff_and_commands(world: World, alice: Path) -> None:
    head, original = world.head(alice), (alice / KITE_FILE).read_text()
    change = plan(alice, set_values={"spec.values.image.tag": "v0.5.0", "spec.values.replicas": 2})
    assert (
        world.head(alice) == head
        and world.status(alice) == ""
        and (alice / KITE_FILE).read_text() == original
    )
    text = str(change)
    assert f"diff --git a/{KITE_FILE} b/{KITE_FILE}" in text
    assert "-      tag: 'v0.4.1'  # keep in sync with the chart" in text
    assert "+      tag: 'v0.5.0'  # keep in sync with the chart" in text
    assert "+    replicas: 2" in text
    assert f"git commit -m '{MESSAGE}'" in text
    assert "git push origin main" in text and "Branch: main → origin/main" in text
    assert "HelmRelease" in text and "kube-system" in text
    assert change.checkout.head == head
    html = change._repr_html_()
    assert f'<span style="{color_style("success")}">+      tag: &#x27;v0.5.0&#x27;' in html
    assert f'<span style="{color_style("failure")}">-' in html


def test_change_affects_kustomizations_on_the_path_and_the_helmrelease(alice: Path) -> None:
    refs = {(a.kind, a.namespace, a.name) for a in plan(alice).affected}
    assert refs == {
        ("Kustomization", "flux-system", "flux-system"),
        ("Kustomization", "flux-system", "apps"),
        ("HelmRelease", "kube-system", "kite"),
    }


def test_dirty_tree_is_refused_naming_the_files(world: World, alice: Path) -> None:
    (alice / "README.md").write_text("local edit\n")
    (alice / "notes.txt").write_text("scratch\n")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        plan(alice)
    assert "README.md" in err.value.message and "notes.txt" in err.value.message
    assert "git stash -u" in (err.value.hint or "")
    assert (alice / "README.md").read_text() == "local edit\n"


def test_behind_remote_is_refused_with_pull_rebase(world: World, alice: Path, bob: Path) -> None:
    world.set_tag(bob, "v0.4.2")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        plan(alice)
    assert "1 Commit hinter `origin/main`" in err.value.message
    assert "git pull --rebase" in (err.value.hint or "")


def test_diverged_branch_is_refused_and_explained(world: World, alice: Path, bob: Path) -> None:
    world.set_tag(bob, "v0.4.2")
    world.commit(alice, "README.md", "local\n", "docs: local note")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        plan(alice)
    assert "auseinandergelaufen" in err.value.message and "1 lokale und 1 entfernte" in err.value.message
    assert "git pull --rebase" in (err.value.hint or "")


def test_unpushed_local_commits_are_refused(world: World, alice: Path) -> None:
    world.commit(alice, "README.md", "local\n", "docs: local note")
    with world.keeps_all_commits(), pytest.raises(PreflightError) as err:
        plan(alice)
    assert "noch nicht auf `origin/main`" in err.value.message and "git push" in (err.value.hint or "")


def test_push_race_keeps_the_local_commit_and_names_it(world: World, alice: Path, bob: Path) -> None:
    change = plan(alice)
    theirs = world.set_tag(bob, "v0.4.2", message="kite: hotfix from bob")
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_change(change, reporter=SilentReporter())
    kept = world.head(alice)
    assert world.remote_head() == theirs
    assert git(alice, "log", "-1", "--format=%s") == MESSAGE
    assert kept[:7] in (err.value.hint or "") and err.value.kept_commit == kept
    assert "git pull --rebase origin main && git push origin main" in (err.value.hint or "")
    assert "nicht gepusht" in err.value.message
    assert err.value.result is not None and "nicht gepusht" in str(err.value.result)
    assert world.status(alice) == ""


def test_hint_after_push_race_integrates_when_run(world: World, alice: Path, bob: Path) -> None:
    change = plan(alice, set_values={"spec.values.replicas": 2})
    world.commit(bob, "README.md", "bob was here\n", "docs: describe the repository", push=True)
    with pytest.raises(NotPushed):
        apply_change(change, reporter=SilentReporter())
    git(alice, "pull", "--rebase", "-q", "origin", "main")
    git(alice, "push", "-q", "origin", "main")
    assert "replicas: 2" in world.remote_file(KITE_FILE)
    assert world.remote_file("README.md") == "bob was here"


def test_remote_unreachable_at_plan_changes_nothing(world: World, alice: Path) -> None:
    head = world.head(alice)
    world.break_remote(alice)
    with world.keeps_all_commits(), pytest.raises(GitError) as err:
        plan(alice)
    assert "nicht erreichbar" in err.value.message and "missing.git" in err.value.message
    assert world.head(alice) == head and world.status(alice) == ""


def test_remote_unreachable_at_apply_keeps_commit(world: World, alice: Path) -> None:
    change = plan(alice)
    world.break_remote(alice)
    with world.keeps_all_commits(), pytest.raises(PushFailed) as err:
        apply_change(change, reporter=SilentReporter())
    assert "nicht erreichbar" in err.value.message
    assert world.head(alice)[:7] in (err.value.hint or "")
    assert world.remote_head() == change.checkout.head
    world.repair_remote(alice)
    git(alice, "push", "-q", "origin", "main")
    assert world.remote_head() == world.head(alice)


def test_rejecting_hook_keeps_commit_and_explains(world: World, alice: Path) -> None:
    change = plan(alice)
    world.install_hook(REJECT_MAIN_HOOK)
    with world.keeps_all_commits(), pytest.raises(NotPushed) as err:
        apply_change(change, reporter=SilentReporter())
    assert err.value.cause == "hook" and "Hook" in err.value.message
    assert world.head(alice)[:7] in (err.value.hint or "")
    assert world.remote_head() == change.checkout.head


def test_plan_applied_twice_is_refused(world: World, alice: Path) -> None:
    change = plan(alice)
    apply_change(change, reporter=SilentReporter())
    pushed = world.remote_head()
    with pytest.raises(PreflightError) as err:
        apply_change(change, reporter=SilentReporter())
    assert "seit der Vorschau bewegt" in err.value.message
    assert world.remote_head() == pushed


@pytest.mark.parametrize("file", ["../outside.yaml", "/etc/hosts", "clusters/../../x.yaml"])
def test_file_outside_the_repository_is_refused(alice: Path, file: str) -> None:
    with pytest.raises(UsageError) as err:
        plan(alice, file=file)
    assert "außerhalb des Repositorys" in err.value.message


def test_absolute_path_inside_the_repository_is_accepted(alice: Path) -> None:
    assert plan(alice, file=str(alice / KITE_FILE)).file == KITE_FILE


def test_missing_file_is_refused(alice: Path) -> None:
    with pytest.raises(UsageError) as err:
        plan(alice, file="clusters/orbstack/apps/kite/missing.yaml")
    assert "gibt es im Repository nicht" in err.value.message


def test_unknown_path_is_refused_with_closest_keys(world: World, alice: Path) -> None:
    with pytest.raises(UsageError) as err:
        plan(alice, set_values={"spec.values.imag.tag": "v1"})
    assert "`image`" in (err.value.hint or "")
    assert world.status(alice) == ""


def test_generic_message_is_refused_before_anything_runs(world: World, alice: Path) -> None:
    world.break_remote(alice)  # would fail the fetch if the message were checked later
    with pytest.raises(UsageError) as err:
        plan(alice, message="update")
    assert "Beispiel" in (err.value.hint or "")


def test_missing_identity_fails_clearly(
    world: World, alice: Path, isolated_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    monkeypatch.delenv("EMAIL", raising=False)
    git(alice, "config", "--global", "user.useConfigOnly", "true")
    with pytest.raises(PreflightError) as err:
        plan(alice)
    assert "user.name" in err.value.message and "git config --global user.email" in (err.value.hint or "")


def test_identity_from_repository_config_is_used(
    world: World, alice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    git(alice, "config", "user.name", "Alice Admin")
    git(alice, "config", "user.email", "alice@example.com")
    change = plan(alice)
    assert change.author == "Alice Admin <alice@example.com>"
    apply_change(change, reporter=SilentReporter())
    assert git(world.remote, "log", "-1", "--format=%an <%ae>", "main") == "Alice Admin <alice@example.com>"


def test_wrong_branch_is_refused(alice: Path) -> None:
    with pytest.raises(PreflightError) as err:
        plan(alice, branch="production")
    assert "git switch production" in (err.value.hint or "")


def test_branch_without_upstream_is_refused(alice: Path) -> None:
    git(alice, "switch", "-q", "-c", "experiment")
    with pytest.raises(PreflightError) as err:
        plan(alice)
    assert "folgt keinem Remote-Branch" in err.value.message


def test_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(PreflightError) as err:
        plan(tmp_path / "nowhere")
    assert "kein Git-Checkout" in err.value.message


def test_credentials_in_remote_url_are_masked(world: World, alice: Path) -> None:
    secret_url = "https://deploy:s3cr3t-token@git.example.invalid/team/gitops.git"
    git(alice, "config", f"url.{world.remote}.insteadOf", secret_url)
    git(alice, "remote", "set-url", "origin", secret_url)
    change = plan(alice)
    assert "https://****@git.example.invalid/team/gitops.git" in str(change)
    assert "s3cr3t" not in str(change) and "s3cr3t" not in change._repr_html_()
    world.install_hook(REJECT_MAIN_HOOK)
    with pytest.raises(NotPushed) as err:
        apply_change(change, reporter=SilentReporter())
    assert "s3cr3t" not in str(err.value)


def test_credentials_are_masked_when_remote_is_unreachable(alice: Path) -> None:
    git(alice, "remote", "set-url", "origin", "https://deploy:s3cr3t-token@127.0.0.1:9/gitops.git")
    with pytest.raises(GitError) as err:
        plan(alice)
    assert "s3cr3t" not in str(err.value) and "****@127.0.0.1" in err.value.message


def test_new_key_under_existing_mapping_is_committed(world: World, alice: Path) -> None:
    apply_change(
        plan(alice, set_values={"spec.values.image.pullPolicy": "Always"}), reporter=SilentReporter()
    )
    assert "      pullPolicy: Always" in world.remote_file(KITE_FILE)


def test_git_is_never_called_with_a_shell_string() -> None:
    proc = subprocess.run(
        ["grep", "-rnE", "shell=True|os\\.system|Popen\\(", "runbook_lib/gitops"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout == ""
