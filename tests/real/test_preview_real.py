"""Test branches on the real engine: `change` commits to a new branch without touching the checkout,
`preview` shows what the branch would do (dry run: changed and pruned objects, audit findings) and,
told to, merges, pushes and checks the rollout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from flux_sandbox.real.engine import Engine
from runbook_lib.cluster import connect
from runbook_lib.drift import CHANGED, PRUNED
from runbook_lib.gitops import apply_change, plan_change
from runbook_lib.kube import api_get
from runbook_lib.preview import plan_preview
from runbook_lib.report import SilentReporter

EngineFactory = Callable[[str], Engine]

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]

WHOAMI = "clusters/orbstack/apps/whoami/deployment.yaml"


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
    ).stdout


def test_branch_preview_then_merge_and_rollout(make_engine: EngineFactory, tmp_path: Path) -> None:
    engine = make_engine("healthy")
    state = engine.state_dir
    checkout, kubeconfig = state / "checkout", state / "kubeconfig"
    cluster = connect(str(kubeconfig))
    main_before = git(checkout, "rev-parse", "main").strip()

    plan = plan_change(
        str(checkout),
        file=WHOAMI,
        set_values={"spec.replicas": 2, "spec.template.spec.containers[0].image": "traefik/whoami:latest"},
        message="whoami: zwei Replikate zum Testen",
        new_branch="test/whoami",
        reporter=SilentReporter(),
    )
    result = apply_change(plan, reporter=SilentReporter())
    assert result.pushed
    # the checkout did not move: same branch, same commit, clean
    assert git(checkout, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(checkout, "rev-parse", "HEAD").strip() == main_before
    assert git(checkout, "status", "--porcelain") == ""
    assert git(checkout, "rev-parse", "origin/test/whoami").strip() == result.commit

    preview = plan_preview(str(checkout), branch="test/whoami", client=cluster, reporter=SilentReporter())
    assert preview.fast_forward and [c.sha for c in preview.commits] == [result.commit]
    [obj] = preview.cluster.objects
    assert (obj.ref, obj.action) == ("Deployment default/whoami", CHANGED)
    assert "-  replicas: 1\n+  replicas: 2" in obj.diff
    assert "+      - image: traefik/whoami:latest" in obj.diff
    titles = {(f.subject, f.title) for f in preview.checks.findings}
    assert ("Deployment default/whoami", "Image ohne festen Tag") in titles
    assert [a.ref for a in preview.affected] == [
        "Kustomization flux-system/flux-system",
        "Kustomization flux-system/apps",
    ]
    live = api_get(cluster, "/apis/apps/v1/namespaces/default/deployments/whoami", "whoami") or {}
    assert live["spec"]["replicas"] == 1  # the dry run wrote nothing

    args = ["-p", "repo_path", str(checkout), "-p", "branch", "test/whoami", "-p", "merge", "True"]
    args += ["--kubeconfig", str(kubeconfig), "--output", str(tmp_path / "preview.ipynb")]
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "run", "preview", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "per Fast-Forward in main übernommen" in proc.stdout
    assert f"✔ Commit {result.commit[:7]} ist im Cluster angekommen." in proc.stdout
    assert git(checkout, "rev-parse", "origin/main").strip() == result.commit
    live = api_get(cluster, "/apis/apps/v1/namespaces/default/deployments/whoami", "whoami") or {}
    assert live["spec"]["replicas"] == 2


def test_a_branch_that_removes_an_app_shows_it_as_pruned(make_engine: EngineFactory) -> None:
    engine = make_engine("healthy")
    checkout = engine.state_dir / "checkout"
    cluster = connect(str(engine.state_dir / "kubeconfig"))
    git(checkout, "switch", "-q", "-c", "test/ohne-whoami")
    git(checkout, "rm", "-q", "-r", "clusters/orbstack/apps/whoami")
    apps = checkout / "clusters/orbstack/apps/kustomization.yaml"
    apps.write_text(apps.read_text(encoding="utf-8").replace("  - whoami\n", ""), encoding="utf-8")
    git(checkout, "commit", "-q", "-am", "whoami entfernen: wird nicht mehr gebraucht")
    git(checkout, "push", "-q", "origin", "test/ohne-whoami")
    git(checkout, "switch", "-q", "main")

    preview = plan_preview(
        str(checkout), branch="test/ohne-whoami", client=cluster, reporter=SilentReporter()
    )
    actions = {o.ref: o.action for o in preview.cluster.objects}
    assert actions == {"Deployment default/whoami": PRUNED}
    assert "würde gelöscht" in str(preview)
    assert api_get(cluster, "/apis/apps/v1/namespaces/default/deployments/whoami", "whoami") is not None
