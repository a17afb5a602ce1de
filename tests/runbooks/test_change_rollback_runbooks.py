"""The change, sync and rollback runbooks executed by papermill against sandboxes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import papermill as pm
import pytest
from runbook_support import notebook_text, run

from runbook_lib.cluster import connect

pytestmark = pytest.mark.runbook

HR = "clusters/orbstack/apps/kite/helmrelease.yaml"


def git(checkout: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def hr_status(kubeconfig: str) -> dict:
    cluster = connect(kubeconfig)
    return cluster.custom.get_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite"
    )


def ready(obj: dict) -> str:
    return next(c["status"] for c in obj["status"]["conditions"] if c["type"] == "Ready")


def test_change_dry_run_shows_the_diff_and_changes_nothing(make_sandbox, tmp_path):
    sb = make_sandbox("healthy")
    head = git(sb.checkout, "rev-parse", "HEAD")
    nb = run("change", tmp_path, cwd=tmp_path, kubeconfig=str(sb.kubeconfig), repo_path=str(sb.checkout))
    text = notebook_text(nb)
    assert "-    replicaCount: 1" in text and "+    replicaCount: 2" in text
    assert "Probelauf beendet" in text
    assert git(sb.checkout, "rev-parse", "HEAD") == head
    assert git(sb.checkout, "status", "--porcelain") == ""
    statuses = [
        c["metadata"].get("papermill", {}).get("status") for c in nb["cells"] if c["cell_type"] == "code"
    ]
    assert statuses[-1] == "pending", "cells after the dry-run gate must not run"


def test_change_applied_reaches_the_cluster(make_sandbox, tmp_path):
    sb = make_sandbox("healthy")
    nb = run(
        "change",
        tmp_path,
        cwd=tmp_path,
        kubeconfig=str(sb.kubeconfig),
        repo_path=str(sb.checkout),
        dry_run=False,
        set_values={"spec.values.replicaCount": 3},
        message="Kite: drei Replikate für den Lasttest",
    )
    sha = git(sb.remote, "rev-parse", "main")
    assert git(sb.checkout, "rev-parse", "HEAD") == sha
    assert "ist im Cluster angekommen" in notebook_text(nb)
    cluster = connect(str(sb.kubeconfig))
    ks = cluster.custom.get_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "apps"
    )
    assert ks["status"]["lastAppliedRevision"] == f"main@sha1:{sha}"
    hr = hr_status(str(sb.kubeconfig))
    assert hr["spec"]["values"]["replicaCount"] == 3
    assert ready(hr) == "True"
    assert "# Eine Instanz reicht" in (Path(sb.checkout) / HR).read_text(), "comments are kept"


def test_change_with_a_generic_message_is_refused(make_sandbox, tmp_path):
    sb = make_sandbox("healthy")
    head = git(sb.remote, "rev-parse", "main")
    with pytest.raises(pm.PapermillExecutionError) as err:
        run(
            "change",
            tmp_path,
            cwd=tmp_path,
            kubeconfig=str(sb.kubeconfig),
            repo_path=str(sb.checkout),
            dry_run=False,
            message="update",
        )
    assert "Commit-Message" in str(err.value)
    assert git(sb.remote, "rev-parse", "main") == head


def test_rollback_of_the_bad_commit_makes_kite_ready_again(make_sandbox, tmp_path):
    sb = make_sandbox("helmrelease-upgrade-failed")
    assert ready(hr_status(str(sb.kubeconfig))) == "False"
    bad = git(sb.remote, "rev-parse", "main")
    preview = run(
        "rollback", tmp_path, cwd=tmp_path, kubeconfig=str(sb.kubeconfig), repo_path=str(sb.checkout)
    )
    text = notebook_text(preview)
    assert bad[:7] in text and "HelmRelease" in text
    assert git(sb.remote, "rev-parse", "main") == bad, "the preview changes nothing"
    nb = run(
        "rollback",
        tmp_path,
        cwd=tmp_path,
        kubeconfig=str(sb.kubeconfig),
        repo_path=str(sb.checkout),
        dry_run=False,
        reason="Image-Tag existiert nicht",
    )
    new_head = git(sb.remote, "rev-parse", "main")
    assert new_head != bad
    assert git(sb.remote, "merge-base", "--is-ancestor", bad, new_head) == ""  # history kept (revert)
    assert "Image-Tag existiert nicht" in git(sb.remote, "log", "-1", "--format=%B", "main")
    assert ready(hr_status(str(sb.kubeconfig))) == "True"
    rollout = next(
        o
        for c in nb["cells"]
        if "roll_out(" in "".join(c["source"])
        for o in c["outputs"]
        if "text/plain" in o.get("data", {})
    )
    table = "".join(rollout["data"]["text/plain"])
    assert "ist im Cluster angekommen" in table
    apps = next(line for line in table.splitlines() if line.startswith("Kustomization flux-system/apps"))
    assert f"main@sha1:{bad}" in apps and f"main@sha1:{new_head}" in apps, "before and after of the rollout"


def test_sync_runbook_reports_revision_and_events(sandbox, tmp_path):
    nb = run(
        "sync",
        tmp_path,
        cwd=tmp_path,
        kubeconfig=str(sandbox.kubeconfig),
        kind="hr",
        name="kite",
        namespace="kube-system",
    )
    text = notebook_text(nb)
    assert "Abgleich erfolgreich" in text
    assert "HelmChart flux-system/kube-system-kite" in text
    assert "0.6.3" in text
