"""The audit runbook against the simulated engine: what `runbook run audit` prints and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]


def run_audit(sandbox: Any, tmp_path: Path, *params: str) -> subprocess.CompletedProcess[str]:
    pairs = [x for p in params for x in ("-p", *p.split("=", 1))]
    return subprocess.run(
        [
            *RUNBOOK,
            "run",
            "audit",
            "-p",
            "repo_path",
            str(sandbox.checkout),
            *pairs,
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--output",
            str(tmp_path / "audit.ipynb"),
            "--junit",
            str(tmp_path / "audit.xml"),
            "--json",
            str(tmp_path / "audit.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_healthy_sandbox_warns_about_the_repositorys_workload_without_limits(
    sandbox: Any, tmp_path: Path
) -> None:
    proc = run_audit(sandbox, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "⚠ Audit: 2 Warnungen." in out
    assert "⚠ Warnung: Keine Resource-Limits und Requests (Deployment default/whoami)" in out
    assert "Definiert in clusters/orbstack/apps/whoami/deployment.yaml:2" in out
    assert "Angewendet von Kustomization flux-system/apps" in out
    # the sandbox's cert-manager HelmRelease has no upgrade remediation; kite has one
    assert "Keine Upgrade-Remediation (HelmRelease cert-manager/cert-manager)" in out
    assert "HelmRelease kube-system/kite" not in out
    commits = next(line for line in out.splitlines() if line.startswith("Beschreibende Commit-Messages"))
    assert commits.split()[2:] == ["4", "Commits", "auf", "main", "✔", "in", "Ordnung"]
    drift = next(line for line in out.splitlines() if line.startswith("Kein Drift"))
    assert drift.endswith("✔ in Ordnung")
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    outcomes = sorted(f["outcome"] for f in report["findings"])
    assert outcomes == ["warning", "warning"]


def test_an_error_level_finding_exits_1_and_names_it(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox()
    api = config.new_client_from_config(config_file=str(sb.kubeconfig))
    container = {"name": "web", "image": "nginx:latest", "resources": {"limits": {"memory": "64Mi"}}}
    client.AppsV1Api(api).create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
            },
        },
    )
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        "helm.toolkit.fluxcd.io",
        "v2",
        "kube-system",
        "helmreleases",
        "kite",
        {"spec": {"upgrade": {"remediation": {"retries": -1}}}},
    )
    proc = run_audit(sb, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "✗ Fehler: Image ohne festen Tag (Deployment default/web)" in out
    assert "Container web: image: nginx:latest" in out
    assert "Nicht von Flux verwaltet" in out
    assert "✗ Fehler: Unbegrenzte Wiederholungen (HelmRelease kube-system/kite)" in out
    assert "Definiert in clusters/orbstack/apps/kite/helmrelease.yaml:2" in out
    assert (
        "✗ Audit: 2 Fehler: Deployment default/web: Image ohne festen Tag; HelmRelease kube-system/kite"
        in (out + proc.stderr)
    )
    junit = (tmp_path / "audit.xml").read_text(encoding="utf-8")
    assert "Deployment default/web: Image ohne festen Tag" in junit


def test_a_bad_threshold_is_refused_before_the_first_cell(sandbox: Any, tmp_path: Path) -> None:
    proc = run_audit(sandbox, tmp_path, "suspended_for=fünf")
    assert proc.returncode == 2
    assert "Ungültige Dauer 'fünf'" in proc.stderr + proc.stdout
    assert not (tmp_path / "audit.ipynb").exists()


def test_drift_made_by_hand_is_found_by_the_dry_run(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox()
    api = config.new_client_from_config(config_file=str(sb.kubeconfig))
    client.AppsV1Api(api).patch_namespaced_deployment("whoami", "default", {"spec": {"replicas": 3}})
    proc = run_audit(sb, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "⚠ Warnung: Drift: im Cluster geändert (Deployment default/whoami)" in out
    assert "-  replicas: 3\n                    +  replicas: 1" in out
    assert "flux diff kustomization apps -n flux-system --path ./clusters/orbstack/apps" in out
    drift_row = next(line for line in out.splitlines() if line.startswith("Kein Drift"))
    assert drift_row.endswith("⚠ 1 Warnung")


def test_change_runbook_shows_the_dry_run_on_the_simulated_engine(sandbox: Any, tmp_path: Path) -> None:
    args = [
        "run",
        "change",
        "-p",
        "repo_path",
        str(sandbox.checkout),
        "--kubeconfig",
        str(sandbox.kubeconfig),
    ]
    proc = subprocess.run(
        [*RUNBOOK, *args, "--output", str(tmp_path / "change.ipynb")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "~  HelmRelease kube-system/kite  geändert" in proc.stdout
    assert "-    replicaCount: 1\n+    replicaCount: 2" in proc.stdout
