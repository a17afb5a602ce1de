"""The server-side dry-run diff on the real kube-apiserver: what `change` shows before a push, refusals by
the CRD schema, new objects, and that nothing is written (resourceVersions before and after)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.cluster import connect
from runbook_lib.drift import CHANGED, CREATED, REFUSED, dry_run
from runbook_lib.gitops import plan_change
from runbook_lib.gitops.cluster_preview import preview_change
from runbook_lib.kinds import HELM_RELEASE
from runbook_lib.kube import api_get, get_object
from runbook_lib.report import SilentReporter

RealSandbox = Any

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]

HR_FILE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def rv(cluster: Any) -> str:
    hr = get_object(cluster, HELM_RELEASE, "kube-system", "kite")
    assert hr is not None
    return str(hr["metadata"]["resourceVersion"])


def test_change_preview_diffs_the_helmrelease_and_writes_nothing(real_sandbox: RealSandbox) -> None:
    state = real_sandbox.state_dir
    cluster = connect(str(state / "kubeconfig"))
    plan = plan_change(
        str(state / "checkout"),
        file=HR_FILE,
        set_values={"spec.values.image.tag": "v0.6.2"},
        message="Kite: zurück auf v0.6.2 (Probelauf im Test)",
        reporter=SilentReporter(),
    )
    before = rv(cluster)
    result = preview_change(plan, client=cluster)
    assert result.supported, result.reason
    [obj] = result.objects
    assert (obj.ref, obj.action) == ("HelmRelease kube-system/kite", CHANGED)
    assert "-      tag: v0.6.3\n+      tag: v0.6.2" in obj.diff
    assert "managedFields" not in obj.diff and "resourceVersion" not in obj.diff
    assert rv(cluster) == before
    live = get_object(cluster, HELM_RELEASE, "kube-system", "kite") or {}
    assert live["spec"]["values"]["image"]["tag"] == "v0.6.3"


def test_schema_refusal_and_new_objects(real_sandbox: RealSandbox) -> None:
    cluster = connect(str(real_sandbox.state_dir / "kubeconfig"))
    bad = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "kite", "namespace": "kube-system"},
        "spec": {"interval": "fünf"},
    }
    new = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "probe-neu", "namespace": "default"},
        "stringData": {"password": "hunter2"},
    }
    result = dry_run([bad, new], client=cluster)
    actions = {o.ref: o for o in result.objects}
    refused = actions["HelmRelease kube-system/kite"]
    assert refused.action == REFUSED
    assert "(422)" in refused.message and "spec.interval" in refused.message
    created = actions["Secret default/probe-neu"]
    assert created.action == CREATED
    assert "hunter2" not in str(result) and "aHVudGVyMg" not in str(result)
    assert api_get(cluster, "/api/v1/namespaces/default/secrets/probe-neu", "Secret") is None
    leftovers = api_get(cluster, "/api/v1/namespaces/default/configmaps", "ConfigMaps") or {}
    assert not [
        c for c in leftovers.get("items", []) if c["metadata"]["name"].startswith("runbook-dryrun-probe")
    ]


def test_change_runbook_shows_the_cluster_diff_before_the_push(
    real_sandbox: RealSandbox, tmp_path: Path
) -> None:
    state = real_sandbox.state_dir
    args = [
        "-p",
        "repo_path",
        str(state / "checkout"),
        "-p",
        "file",
        HR_FILE,
        "--kubeconfig",
        str(state / "kubeconfig"),
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook_lib.cli",
            "run",
            "change",
            *args,
            "--output",
            str(tmp_path / "change.ipynb"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Was der Cluster mit dem Commit täte (server-side dry run, noch nichts gepusht):" in out
    assert "~  HelmRelease kube-system/kite  geändert" in out
    assert "-    replicaCount: 1\n+    replicaCount: 2" in out
    assert out.index("Was der Cluster") < out.index("Probelauf beendet")
