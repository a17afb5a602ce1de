"""The simulated controllers, in-process against the Store (no HTTP): triggers, conditions, revisions,
Helm storage, scenarios, logs and events."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import pytest
from kubernetes.client import ApiClient
from simhelpers import cond, get, wait_for

from flux_sandbox.sim import SCENARIOS, Sandbox
from flux_sandbox.sim.controllers.base import get_condition, is_ready
from flux_sandbox.sim.gitrepo import HELMRELEASE
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.scenarios import MISSING_TAG, edit_yaml, request_reconcile
from runbook_lib import helm

ZAP_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def ready(sb: Sandbox, kind: str, ns: str | None, name: str) -> dict:
    return cond(sb, kind, ns, name)


def set_values(sb: Sandbox, message: str, change: Callable[[dict], None]) -> str:
    sha = sb.repo.commit({HELMRELEASE: edit_yaml(sb.repo.read_file(HELMRELEASE), change)}, message)
    assert sha
    return sha


# --- healthy start --------------------------------------------------------------------------------


def test_healthy_objects_ready_at_remote_head(sandbox: Sandbox) -> None:
    revision = f"main@sha1:{sandbox.repo.head()}"
    git = get(sandbox, "GitRepository", "flux-system", "flux-system")
    assert git["status"]["artifact"]["revision"] == revision
    assert (
        ready(sandbox, "GitRepository", "flux-system", "flux-system")["message"]
        == f"stored artifact for revision '{revision}'"
    )
    assert git["status"]["artifact"]["digest"].startswith("sha256:")
    for name in ("flux-system", "infrastructure", "apps"):
        ks = get(sandbox, "Kustomization", "flux-system", name)
        assert ks["status"]["lastAppliedRevision"] == revision
        assert (
            ready(sandbox, "Kustomization", "flux-system", name)["message"] == f"Applied revision: {revision}"
        )
        assert ks["status"]["observedGeneration"] == ks["metadata"]["generation"]
    hr = get(sandbox, "HelmRelease", "kube-system", "kite")
    # other tests may force an upgrade of the shared sandbox, so the revision is not always v1
    assert re.fullmatch(
        r"Helm (install|upgrade) succeeded for release kube-system/kite\.v\d+ with chart kite@0\.6\.3",
        ready(sandbox, "HelmRelease", "kube-system", "kite")["message"],
    )
    assert hr["status"]["helmChart"] == "flux-system/kube-system-kite"
    assert hr["status"]["history"][0]["chartVersion"] == "0.6.3"
    assert (
        ready(sandbox, "HelmChart", "flux-system", "kube-system-kite")["message"]
        == "pulled 'kite' chart with version '0.6.3'"
    )
    assert is_ready(get(sandbox, "Certificate", "kube-system", "kite-tls"))


def test_inventory_labels_and_workload(sandbox: Sandbox) -> None:
    apps = get(sandbox, "Kustomization", "flux-system", "apps")
    ids = {e["id"] for e in apps["status"]["inventory"]["entries"]}
    assert "kube-system_kite_helm.toolkit.fluxcd.io_HelmRelease" in ids
    assert "kube-system_kite-tls_cert-manager.io_Certificate" in ids
    hr = get(sandbox, "HelmRelease", "kube-system", "kite")
    assert hr["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] == "apps"
    deploy = get(sandbox, "Deployment", "kube-system", "kite")
    assert deploy["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"] == "kite"
    assert deploy["status"]["readyReplicas"] == 1
    pods, _ = sandbox.store.list(by_kind("Pod"), "kube-system", label_selector="app.kubernetes.io/name=kite")
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    assert pods[0]["spec"]["containers"][0]["image"] == "ghcr.io/zxh326/kite:v0.6.3"


def test_helm_release_secret_in_helm_format(sandbox: Sandbox) -> None:
    items, _ = sandbox.store.list(by_kind("Secret"), "kube-system", label_selector="owner=helm")
    assert "sh.helm.release.v1.kite.v1" in [s["metadata"]["name"] for s in items]
    secret = max(items, key=lambda s: int(s["metadata"]["labels"]["version"]))
    assert secret["type"] == "helm.sh/release.v1"
    assert set(secret["metadata"]["labels"]) >= {"owner", "name", "status", "version", "createdAt"}
    release = helm.decode_release(secret["data"]["release"])
    assert release["info"]["status"] == "deployed"
    assert release["chart"]["metadata"]["appVersion"] == "v0.6.3"
    assert "kind: Deployment" in release["manifest"]


def test_flux_install_objects(sandbox: Sandbox) -> None:
    deploys, _ = sandbox.store.list(
        by_kind("Deployment"), "flux-system", label_selector="app.kubernetes.io/part-of=flux"
    )
    assert {d["metadata"]["name"] for d in deploys} == {
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    }
    for d in deploys:
        assert d["status"]["readyReplicas"] == d["spec"]["replicas"] == d["status"]["updatedReplicas"]
        assert d["metadata"]["labels"]["app.kubernetes.io/version"].startswith("v2.")
        selector = ",".join(f"{k}={v}" for k, v in d["spec"]["template"]["metadata"]["labels"].items())
        pods, _ = sandbox.store.list(by_kind("Pod"), "flux-system", label_selector=selector)
        assert pods and pods[0]["spec"]["containers"][0]["name"] == "manager"
        assert pods[0]["spec"]["containers"][0]["image"].startswith(
            f"ghcr.io/fluxcd/{d['metadata']['name']}:"
        )
    crds, _ = sandbox.store.list(
        by_kind("CustomResourceDefinition"), label_selector="app.kubernetes.io/part-of=flux"
    )
    names = {c["metadata"]["name"]: c["status"]["storedVersions"][-1] for c in crds}
    assert names["helmreleases.helm.toolkit.fluxcd.io"] == "v2"


# --- logs and events --------------------------------------------------------------------------------


def test_log_lines_are_zap_json(sandbox: Sandbox) -> None:
    pods, _ = sandbox.store.list(by_kind("Pod"), "flux-system", label_selector="app=helm-controller")
    lines = [
        json.loads(text)
        for _, text in sandbox.store.log_lines("flux-system", pods[0]["metadata"]["name"], "manager")
    ]
    about = [line for line in lines if line.get("name") == "kite"]
    assert about, "helm-controller logged nothing about kite"
    line = about[-1]
    assert list(line)[:3] == ["level", "ts", "msg"]
    assert ZAP_TS.match(line["ts"])
    assert line["controllerKind"] == "HelmRelease" and line["controllerGroup"] == "helm.toolkit.fluxcd.io"
    assert line["helmRelease"] == {"name": "kite", "namespace": "kube-system"}
    assert re.fullmatch(r"[0-9a-f-]{36}", line["reconcileID"])


def test_events_have_kubernetes_shape(sandbox: Sandbox) -> None:
    events, _ = sandbox.store.list(
        by_kind("Event"),
        "kube-system",
        field_selector="involvedObject.kind=HelmRelease,involvedObject.name=kite",
    )
    ev = next(e for e in events if e["reason"] in ("InstallSucceeded", "UpgradeSucceeded"))
    assert ev["type"] == "Normal" and ev["source"]["component"] == "helm-controller"
    assert (
        ev["involvedObject"]["uid"] == get(sandbox, "HelmRelease", "kube-system", "kite")["metadata"]["uid"]
    )
    assert ev["count"] >= 1 and ev["firstTimestamp"] and ev["eventTime"] is None and "action" not in ev
    model = ApiClient()._ApiClient__deserialize(ev, "CoreV1Event")  # type: ignore[attr-defined]
    assert model.involved_object.name == "kite" and model.event_time is None
    certs, _ = sandbox.store.list(
        by_kind("Event"), "kube-system", field_selector="involvedObject.kind=Certificate"
    )
    assert {"Issuing", "Requested", "Generated"} <= {e["reason"] for e in certs}


# --- triggers ---------------------------------------------------------------------------------------


def test_new_commit_applied_only_after_requested_at(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    old = get(sb, "GitRepository", "flux-system", "flux-system")["status"]["artifact"]["revision"]
    sha = set_values(
        sb, "Scale Kite to 2 replicas", lambda doc: doc["spec"]["values"].__setitem__("replicaCount", 2)
    )
    time.sleep(0.5)
    assert get(sb, "GitRepository", "flux-system", "flux-system")["status"]["artifact"]["revision"] == old
    request_reconcile(sb.store, "GitRepository", "flux-system", "flux-system")
    wait_for(
        lambda: (
            get(sb, "Kustomization", "flux-system", "apps")["status"].get("lastAppliedRevision")
            == f"main@sha1:{sha}"
        )
    )
    wait_for(lambda: get(sb, "Deployment", "kube-system", "kite")["status"].get("readyReplicas") == 2)
    git = get(sb, "GitRepository", "flux-system", "flux-system")
    assert (
        git["status"]["lastHandledReconcileAt"]
        == git["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    )
    # the Deployment becomes ready before helm-controller writes the release's status: wait for it too
    wait_for(lambda: ready(sb, "HelmRelease", "kube-system", "kite").get("reason") == "UpgradeSucceeded")


def test_suspended_object_is_skipped(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    ks = by_kind("Kustomization")
    sb.store.patch(ks, "flux-system", "apps", {"spec": {"suspend": True}})
    before = get(sb, "Kustomization", "flux-system", "apps")["status"]
    request_reconcile(sb.store, "Kustomization", "flux-system", "apps")
    pods, _ = sb.store.list(by_kind("Pod"), "flux-system", label_selector="app=kustomize-controller")

    def logged() -> bool:
        lines = sb.store.log_lines("flux-system", pods[0]["metadata"]["name"], "manager")
        return any(
            "Reconciliation is suspended for this object" in text and '"name":"apps"' in text
            for _, text in lines
        )

    wait_for(logged)
    assert get(sb, "Kustomization", "flux-system", "apps")["status"] == before


def test_spec_change_bumps_generation_and_observed_generation_follows(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox()
    repo = sb.store.patch(by_kind("HelmRepository"), "flux-system", "kite", {"spec": {"interval": "30m0s"}})
    assert repo["metadata"]["generation"] == 2
    wait_for(lambda: get(sb, "HelmRepository", "flux-system", "kite")["status"]["observedGeneration"] == 2)
    assert ready(sb, "HelmRepository", "flux-system", "kite")["status"] == "True"


def test_bad_image_fails_stalls_then_good_commit_recovers(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox("helmrelease-upgrade-failed")
    hr = get(sb, "HelmRelease", "kube-system", "kite")
    cond = ready(sb, "HelmRelease", "kube-system", "kite")
    assert cond["reason"] == "UpgradeFailed"
    assert cond["message"] == (
        "Helm upgrade failed for release kube-system/kite with chart kite@0.6.3: context deadline exceeded"
    )
    assert get_condition(hr["status"], "Stalled")["message"] == "Failed to upgrade after 3 attempt(s)"
    assert hr["status"]["history"][0]["status"] == "failed"
    records = helm.records_from_secrets(
        sb.store.list(by_kind("Secret"), "kube-system", label_selector="owner=helm")[0]
    )
    assert helm.release_history(records, "kite", "kube-system").revisions[-1].status == "failed"
    pods, _ = sb.store.list(by_kind("Pod"), "kube-system", label_selector="app.kubernetes.io/name=kite")
    waiting = [
        s["state"]["waiting"]["reason"]
        for p in pods
        for s in p["status"]["containerStatuses"]
        if "waiting" in s["state"]
    ]
    assert waiting == ["ImagePullBackOff"]
    assert f"ghcr.io/zxh326/kite:{MISSING_TAG}" in json.dumps(pods)

    set_values(
        sb,
        "Revert Kite image to v0.6.3",
        lambda doc: doc["spec"]["values"]["image"].__setitem__("tag", "v0.6.3"),
    )
    request_reconcile(sb.store, "GitRepository", "flux-system", "flux-system")
    wait_for(lambda: ready(sb, "HelmRelease", "kube-system", "kite").get("reason") == "UpgradeSucceeded")
    hr = get(sb, "HelmRelease", "kube-system", "kite")
    assert get_condition(hr["status"], "Stalled") is None
    assert hr["status"]["observedGeneration"] == hr["metadata"]["generation"]

    def running() -> bool:
        pods, _ = sb.store.list(by_kind("Pod"), "kube-system", label_selector="app.kubernetes.io/name=kite")
        return [p["status"]["phase"] for p in pods] == ["Running"]

    wait_for(running)


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "healthy"])
def test_scenario_reaches_its_state(make_sandbox: Callable[..., Sandbox], name: str) -> None:
    sb = make_sandbox(name)
    scenario = SCENARIOS[name]
    assert scenario.reached(sb.store)
    assert scenario.reached.__name__ != "healthy"
    if scenario.setup is not None and name != "git-auth-failure":
        head = sb.repo.head()
        assert sb.repo.subject(head) != "Upgrade Kite to 0.6.3"  # a scenario commit was pushed
        assert sb.repo.checkout.joinpath(HELMRELEASE).read_text() == sb.repo.read_file(HELMRELEASE)
