"""``trace`` against the simulated sandbox: from the Deployment kite to the line of its image tag in the
HelmRelease file, objects a Kustomization applies, objects nobody manages, and an old checkout."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.cluster import connect
from runbook_lib.trace import trace

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]
HELMRELEASE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def line_of(checkout: Path, file: str, text: str) -> int:
    lines = (checkout / file).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_runbook_names_the_helmrelease_file_and_values_key_of_the_image(sandbox: Any, tmp_path: Path) -> None:
    kube = ["--kubeconfig", str(sandbox.kubeconfig), "--output", str(tmp_path / "trace.ipynb")]
    proc = subprocess.run(
        [*RUNBOOK, "run", "trace", *kube, "-p", "repo_path", str(sandbox.checkout)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    tag_line = line_of(sandbox.checkout, HELMRELEASE, "tag: v0.6.3")
    assert f"► {HELMRELEASE}:{tag_line}  spec.values.image.tag: v0.6.3" in out
    assert "HelmRelease kube-system/kite" in out and "Kustomization flux-system/apps" in out
    assert "Angewendet ist die aktuelle Revision der Quelle" in out
    # the repository comes from the chart's defaults: named as such, with where to override it
    assert "spec.values.image.repository: ghcr.io/zxh326/kite  (Standardwert des Charts" in out
    assert f"runbook run change -p repo_path {sandbox.checkout} -p file {HELMRELEASE}" in out
    assert """-p set_values '{"spec.values.image.tag": "v0.6.3"}'""" in out


def test_the_change_command_it_prints_plans_the_edit_of_that_line(sandbox: Any, tmp_path: Path) -> None:
    cluster = connect(str(sandbox.kubeconfig))
    result = trace(
        "deploy",
        "kite",
        namespace="kube-system",
        field="spec.replicas",
        repo_path=str(sandbox.checkout),
        client=cluster,
    )
    assert result.managed == "helmrelease"
    assert result.primary is not None
    assert result.primary.key == "spec.values.replicaCount"
    assert result.primary.line == line_of(sandbox.checkout, HELMRELEASE, "replicaCount:")
    # the printed command, run as a dry run with another value, changes exactly that key
    command = result.change_command.replace('"spec.values.replicaCount": 1', '"spec.values.replicaCount": 3')
    parts = shlex.split(command)
    assert parts[:3] == ["runbook", "run", "change"]
    proc = subprocess.run(
        [*RUNBOOK, *parts[1:], "--kubeconfig", str(sandbox.kubeconfig), "--output", str(tmp_path / "c.nb")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "+    replicaCount: 3" in proc.stdout


def test_an_object_a_kustomization_applies_points_to_its_manifest_line(sandbox: Any) -> None:
    result = trace("certificate", "kite-tls", namespace="kube-system", field="spec.dnsNames[0]",
                   repo_path=str(sandbox.checkout), client=connect(str(sandbox.kubeconfig)))  # fmt: skip
    assert result.managed == "kustomization"
    file = "clusters/orbstack/apps/kite/certificate.yaml"
    assert result.primary is not None and result.primary.file == file
    assert result.primary.line == line_of(sandbox.checkout, file, "- kite.beispiel.de")
    assert [link.ref for link in result.chain][1:] == [
        "Kustomization flux-system/apps",
        "GitRepository flux-system/flux-system",
        "Kustomization flux-system/flux-system",
    ]
    assert '"spec.dnsNames.0": "kite.beispiel.de"' in result.change_command


def test_unmanaged_objects_and_an_old_checkout(make_sandbox: Any) -> None:
    sb = make_sandbox()
    cluster = connect(str(sb.kubeconfig))
    cluster.core.create_namespaced_config_map(
        "default", {"metadata": {"name": "by-hand"}, "data": {"a": "b"}}
    )
    result = trace("cm", "by-hand", namespace="default", repo_path=str(sb.checkout), client=cluster)
    assert result.managed == "none" and not result.locations and not result.change_command
    assert str(result).startswith("⚠ ConfigMap default/by-hand wird nicht von Flux verwaltet.")
    # installed with helm, without a HelmRelease: said so, with the release
    helm = {"meta.helm.sh/release-name": "grafana", "meta.helm.sh/release-namespace": "default"}
    body = {"metadata": {"name": "grafana", "annotations": helm}, "data": {}}
    cluster.core.create_namespaced_config_map("default", body)
    by_helm = trace("configmap", "grafana", namespace="default", repo_path=str(sb.checkout), client=cluster)
    assert by_helm.managed == "helm"
    assert by_helm.headline == "ConfigMap default/grafana wird von Helm ohne Flux verwaltet."
    assert "Helm-Release default/grafana" in str(by_helm)
    # a local commit the cluster has not seen: the line may already differ, and the trace says so
    subprocess.run(
        ["git", "-C", str(sb.checkout), "commit", "--allow-empty", "-qm", "lokaler Test-Commit"], check=True
    )
    ahead = trace("hr", "kite", namespace="kube-system", repo_path=str(sb.checkout), client=cluster)
    assert any("neuer als die angewendete Revision" in note for note in ahead.notes)
    # no checkout at all: the cluster part still answers, the note says how to get the line
    none = trace("hr", "kite", namespace="kube-system", repo_path=str(sb.state_dir), client=cluster)
    assert none.managed == "kustomization" and not none.locations
    assert any("-p repo_path" in note for note in none.notes)


def test_unknown_kinds_and_names_are_usage_errors_with_suggestions(sandbox: Any, tmp_path: Path) -> None:
    base = [
        *RUNBOOK,
        "run",
        "trace",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--output",
        str(tmp_path / "t.ipynb"),
    ]
    proc = subprocess.run([*base, "-p", "resource", "Deploymnt"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Die Art 'Deploymnt' kennt dieser Cluster nicht." in proc.stdout + proc.stderr
    assert "Meinten Sie: Deployment" in proc.stdout + proc.stderr
    proc = subprocess.run([*base, "-p", "name", "kyte"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Deployment kube-system/kyte wurde nicht gefunden" in proc.stdout + proc.stderr
    assert "kube-system/kite" in proc.stdout + proc.stderr
    proc = subprocess.run([*base, "-p", "field", "spec..image"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Feldpfad" in proc.stdout + proc.stderr
