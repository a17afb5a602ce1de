"""``trace`` (and ``fleet``) against the real engine: real helm-controller labels, real release Secrets,
real kube-controller-manager owner chains."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.cluster import connect
from runbook_lib.trace import trace

RealSandbox = Any
pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]
HELMRELEASE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def line_of(checkout: Path, file: str, text: str) -> int:
    lines = (checkout / file).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_trace_of_kite_image_names_helmrelease_file_and_values_key(
    real_sandbox: RealSandbox, tmp_path: Path
) -> None:
    state = Path(real_sandbox.state_dir)
    proc = subprocess.run(
        [*RUNBOOK, "run", "trace", "--kubeconfig", str(state / "kubeconfig"), "-p", "repo_path",
         str(state / "checkout"), "--output", str(tmp_path / "trace.ipynb")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tag_line = line_of(state / "checkout", HELMRELEASE, "tag: v0.6.3")
    assert f"► {HELMRELEASE}:{tag_line}  spec.values.image.tag: v0.6.3" in proc.stdout
    assert "HelmRelease kube-system/kite" in proc.stdout and "Kustomization flux-system/apps" in proc.stdout


def test_trace_follows_a_pod_through_its_replicaset(real_sandbox: RealSandbox) -> None:
    state = Path(real_sandbox.state_dir)
    cluster = connect(str(state / "kubeconfig"))
    pods = cluster.core.list_namespaced_pod("kube-system", label_selector="app.kubernetes.io/name=kite").items
    assert pods, "kein Pod von kite"
    result = trace(
        "pod", pods[0].metadata.name, namespace="kube-system", field="spec.containers[0].image",
        repo_path=str(state / "checkout"), client=cluster,
    )  # fmt: skip
    roles = [link.role for link in result.chain]
    assert roles[:2] == ["Objekt", "Besitzer"], result.chain
    assert result.chain[1].ref.startswith("ReplicaSet kube-system/kite-")
    assert result.managed == "helmrelease"
    assert result.primary is not None and result.primary.key == "spec.values.image.tag"


def test_fleet_real_cluster_healthy_and_a_stopped_one_unreachable(
    real_sandbox: RealSandbox, tmp_path: Path
) -> None:
    import yaml

    from runbook_lib.fleet import HEALTHY, UNREACHABLE, fleet

    config = yaml.safe_load((Path(real_sandbox.state_dir) / "kubeconfig").read_text(encoding="utf-8"))
    config["contexts"][0]["name"] = "real"
    config["clusters"].append({"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}})
    config["contexts"].append(
        {"name": "gone", "context": {"cluster": "gone", "user": config["users"][0]["name"]}}
    )
    config["current-context"] = "real"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = fleet(kubeconfig=str(kubeconfig), timeout="20s")
    real, gone = result.rows
    assert (real.context, real.state, gone.state) == ("real", HEALTHY, UNREACHABLE), str(result)
    assert real.flux.startswith("v2.9") and real.revision.startswith("main@sha1:")
    assert real.counts is not None and real.counts["ready"] >= 6


def test_watch_and_notifications_on_the_real_engine(real_sandbox: RealSandbox) -> None:
    from runbook_lib import watch
    from runbook_lib.kube import api_get
    from runbook_lib.notify import notifications

    cluster = connect(str(Path(real_sandbox.state_dir) / "kubeconfig"))
    result = watch("5s", client=cluster)
    assert str(result).startswith("✔ Flux-Objekte 5s lang beobachtet"), str(result)
    assert not result.failed
    crd = api_get(
        cluster,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/alerts.notification.toolkit.fluxcd.io",
        "CRD",
    )
    told = notifications(client=cluster)
    assert told.installed == (crd is not None)
    if crd is None:  # this engine runs no notification-controller (flux_sandbox/real/install.py)
        assert "notification-controller ist nicht installiert" in str(told)
