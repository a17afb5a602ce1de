"""reconcile / suspend / resume against the sandbox over HTTP with the official client."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from flux_sandbox.sim import Timing
from runbook_lib.cluster import connect
from runbook_lib.errors import NotFound, ReconcileFailed, Suspended, UsageError, WaitTimeout
from runbook_lib.reconcile.actions import REQUESTED_AT, reconcile, resume, suspend
from runbook_lib.report import RecordingReporter

pytestmark = pytest.mark.sandbox

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def push_commit(checkout: Path, note: str) -> str:
    """Commit a harmless change (a new ConfigMap-free comment) and push it; returns the new sha."""
    git("pull", "--ff-only", "-q", cwd=checkout)
    target = checkout / "clusters" / "orbstack" / "apps" / "kite" / "helmrelease.yaml"
    target.write_text(target.read_text() + f"\n# {note}\n")
    git("commit", "-qam", f"Kommentar ergänzt: {note}", cwd=checkout)
    git("push", "-q", "origin", "HEAD:main", cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout).strip()


@pytest.fixture
def fresh(make_sandbox):
    sb = make_sandbox("healthy")
    return sb, connect(str(sb.kubeconfig))


def test_kustomization_with_source_fetches_the_new_commit_first(fresh):
    sb, cluster = fresh
    sha = push_commit(Path(sb.checkout), "reconcile-test")
    rep = RecordingReporter()
    result = reconcile("ks", "apps", with_source=True, timeout="30s", client=cluster, reporter=rep)
    assert result.ok
    refs = [s.ref for s in result.steps]
    assert refs[0] == "GitRepository flux-system/flux-system"
    assert refs[-1] == "Kustomization flux-system/apps"
    # infrastructure (apps dependsOn it) comes in between when it had not applied the commit yet
    assert refs[1:-1] in ([], ["Kustomization flux-system/infrastructure"])
    assert [s.dependency for s in result.steps] == [ref.endswith("/infrastructure") for ref in refs]
    assert result.steps[0].revision_after == f"main@sha1:{sha}"
    assert result.target.revision_before != f"main@sha1:{sha}"
    assert all(s.revision_after == f"main@sha1:{sha}" for s in result.steps)
    levels = [level for level, _ in rep.lines]
    assert levels[:3] == ["action", "success", "waiting"]


def test_a_dependency_behind_the_source_is_reconciled_first_instead_of_waiting_for_the_requeue(fresh):
    """kustomize-controller holds apps back until infrastructure has applied the same revision and
    only looks again after --requeue-dependency (30 s by default): the sync reconciles infrastructure
    first and is done long before that (docs/flux-facts.md §19)."""
    sb, cluster = fresh
    kustomize = sb._controllers.get("kustomize-controller")
    kustomize.timing = kustomize.timing.scaled(dependency_requeue=30.0, step=0.3)
    sha = push_commit(Path(sb.checkout), "abhaengigkeit")
    rep = RecordingReporter()
    result = reconcile("ks", "apps", with_source=True, timeout="15s", client=cluster, reporter=rep)
    assert result.ok, str(result)
    assert [(s.ref, s.dependency) for s in result.steps] == [
        ("GitRepository flux-system/flux-system", False),
        ("Kustomization flux-system/infrastructure", True),
        ("Kustomization flux-system/apps", False),
    ]
    assert all(s.revision_after == f"main@sha1:{sha}" for s in result.steps)
    assert "Kustomization flux-system/infrastructure (Abhängigkeit)" in str(result)
    assert any("spec.dependsOn" in text for level, text in rep.lines if level == "info")


def test_a_new_commit_is_not_applied_without_the_source(fresh):
    sb, cluster = fresh
    sha = push_commit(Path(sb.checkout), "ohne-quelle")
    result = reconcile("kustomization", "apps", timeout="30s", client=cluster)
    assert result.ok
    assert result.target.revision_after != f"main@sha1:{sha}"


def test_helmrelease_with_source_goes_through_its_helmchart(sandbox):
    cluster = connect(str(sandbox.kubeconfig))
    result = reconcile("hr", "kite", namespace="kube-system", with_source=True, timeout="30s", client=cluster)
    assert result.ok, str(result)
    assert [s.ref.split(" ")[0] for s in result.steps] == ["HelmRepository", "HelmChart", "HelmRelease"]
    assert result.steps[1].ref == "HelmChart flux-system/kube-system-kite"
    assert result.target.revision_after == "0.6.3"
    hr = cluster.custom.get_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite"
    )
    assert hr["status"]["lastHandledReconcileAt"] == result.target.requested_at
    assert hr["metadata"]["annotations"][REQUESTED_AT] == result.target.requested_at


def test_force_sets_force_at_to_the_same_token(fresh):
    _sb, cluster = fresh
    result = reconcile("hr", "kite", namespace="kube-system", force=True, timeout="30s", client=cluster)
    hr = cluster.custom.get_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite"
    )
    annotations = hr["metadata"]["annotations"]
    assert (
        annotations["reconcile.fluxcd.io/forceAt"] == annotations[REQUESTED_AT] == result.target.requested_at
    )


def test_suspended_object_is_refused_with_resume_hint_and_resume_waits_for_ready(fresh):
    _sb, cluster = fresh
    suspend("ks", "apps", client=cluster)
    with pytest.raises(Suspended) as err:
        reconcile("ks", "apps", timeout="10s", client=cluster)
    assert "flux resume ks apps -n flux-system" in err.value.hint
    ks = cluster.custom.get_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "apps"
    )
    assert REQUESTED_AT not in (ks["metadata"].get("annotations") or {}), (
        "a suspended object gets no annotation"
    )
    done = resume("ks", "apps", timeout="30s", client=cluster)
    assert not done.suspended
    ks = cluster.custom.get_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "apps"
    )
    assert "suspend" not in ks["spec"] or ks["spec"]["suspend"] is False
    ready = next(c for c in ks["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert ks["status"]["observedGeneration"] == ks["metadata"]["generation"]


def test_failing_helmrelease_fails_fast_with_the_controllers_message(make_sandbox):
    sb = make_sandbox("helmrelease-upgrade-failed")
    cluster = connect(str(sb.kubeconfig))
    start = time.monotonic()
    result = reconcile("hr", "kite", namespace="kube-system", timeout="2m", client=cluster)
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.target.state == "failed"
    # Stalled after the rollback of the last failure: the message carries the upgrade's error (Released)
    assert "Helm upgrade failed for release kube-system/kite" in result.target.message
    assert elapsed < 60, "must not run into the 2m timeout"
    with pytest.raises(ReconcileFailed, match="kube-system/kite"):
        result.check()


def test_timeout_reports_what_was_last_seen(make_sandbox):
    # one simulated controller step takes longer than this timeout
    sb = make_sandbox("healthy", timing=Timing.fast().scaled(step=0.5))
    cluster = connect(str(sb.kubeconfig))
    with pytest.raises(WaitTimeout) as err:
        reconcile("ks", "apps", timeout="100ms", client=cluster)
    assert "Kustomization flux-system/apps" in err.value.message
    assert "Zuletzt gesehen: Anfrage noch nicht bearbeitet" in err.value.message


def test_unknown_name_names_close_matches(sandbox):
    cluster = connect(str(sandbox.kubeconfig))
    with pytest.raises(NotFound) as err:
        reconcile("ks", "app", timeout="5s", client=cluster)
    assert "flux-system/apps" in err.value.hint


def test_bad_kind_and_bad_duration_are_usage_errors(sandbox):
    cluster = connect(str(sandbox.kubeconfig))
    with pytest.raises(UsageError, match="helmreleas"):
        reconcile("helmreleas", "kite", client=cluster)
    with pytest.raises(UsageError, match="5 Minuten"):
        reconcile("ks", "apps", timeout="5 Minuten", client=cluster)


def test_status_of_an_unknown_name_suggests_the_closest_object(sandbox):
    from runbook_lib import status

    cluster = connect(str(sandbox.kubeconfig))
    with pytest.raises(NotFound) as err:
        status.get("hr", name="kiet", namespace="kube-system", client=cluster)
    assert "Meinten Sie: kube-system/kite?" in err.value.hint
    assert "flux get helmreleases -A" in err.value.hint


def test_git_auth_failure_is_fixed_by_the_new_token_and_a_sync(make_sandbox):
    import base64

    sb = make_sandbox("git-auth-failure")
    cluster = connect(str(sb.kubeconfig))
    failed = reconcile("gitrepo", "flux-system", timeout="30s", client=cluster)
    assert not failed.ok and "authentication required" in failed.target.message
    token = sb.git_token.read_text().strip()
    assert oct(sb.git_token.stat().st_mode & 0o777) == "0o600"
    encoded = base64.b64encode(token.encode()).decode()
    cluster.core.patch_namespaced_secret("flux-system", "flux-system", {"data": {"password": encoded}})
    fixed = reconcile("ks", "apps", with_source=True, timeout="30s", client=cluster)
    assert fixed.ok, str(fixed)
    assert token not in str(fixed) + repr(fixed), "secrets never appear in output"


def test_with_source_refuses_a_suspended_target_before_touching_its_source(make_sandbox):
    sb = make_sandbox("suspended")
    cluster = connect(str(sb.kubeconfig))
    repo_before = cluster.custom.get_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system"
    )
    with pytest.raises(Suspended):
        reconcile("ks", "apps", with_source=True, timeout="10s", client=cluster)
    repo_after = cluster.custom.get_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system"
    )
    before = (repo_before["metadata"].get("annotations") or {}).get(REQUESTED_AT)
    assert (repo_after["metadata"].get("annotations") or {}).get(REQUESTED_AT) == before


def test_resume_does_not_wait_for_a_request_made_while_suspended(fresh):
    _sb, cluster = fresh
    suspend("ks", "apps", client=cluster)
    # a webhook receiver (or kubectl annotate) asks for a reconcile while the object is suspended
    cluster.custom.patch_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "flux-system",
        "kustomizations",
        "apps",
        {"metadata": {"annotations": {REQUESTED_AT: "by-receiver-1"}}},
    )
    done = resume("ks", "apps", timeout="15s", client=cluster)
    assert not done.suspended


def test_rollout_without_waiting_reports_what_it_could_not_ask_instead_of_raising(make_sandbox):
    from runbook_lib.reconcile.rollout import roll_out

    sb = make_sandbox("suspended")
    cluster = connect(str(sb.kubeconfig))

    class Ks:
        kind, name, namespace = "Kustomization", "apps", "flux-system"

    report = roll_out([Ks()], commit="0" * 40, wait=False, client=cluster)
    assert report.check().startswith("◎")
    assert any("ausgesetzt" in note for note in report.warnings)


def test_reconcile_hr_without_source_fails_fast_on_a_stalled_chart(make_sandbox):
    """The HelmRelease waits (SourceNotReady) for a HelmChart Flux has given up on: without
    ``with_source`` the wait would last the whole timeout (docs/flux-facts.md §14)."""
    sb = make_sandbox("chart-version-missing")
    cluster = connect(str(sb.kubeconfig))
    start = time.monotonic()
    result = reconcile("hr", "kite", namespace="kube-system", timeout="2m", client=cluster)
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.target.state == "failed"
    assert result.target.reason == "InvalidChartReference"
    assert "HelmChart flux-system/kube-system-kite hängt (Stalled)" in result.target.message
    assert "0.6.9" in result.target.message
    assert elapsed < 60, "must not run into the 2m timeout"
