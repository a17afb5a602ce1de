"""The sandbox API server against real, unchanged kubectl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Store

if TYPE_CHECKING:  # test directories are not packages; pytest provides the fixtures
    from conftest import BareApi

KUBECTL = shutil.which(
    "kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)
pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")]

Kubectl = Callable[..., str]


def _condition(status: str, message: str) -> dict[str, str]:
    return {
        "type": "Ready",
        "status": status,
        "reason": "Succeeded" if status == "True" else "Failed",
        "message": message,
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }


def _seed(store: Store) -> None:
    """A small Flux installation: a ready HelmRelease, a failing Kustomization, a source, a controller pod
    with logs and an event about the HelmRelease."""
    hr, ks = by_kind("HelmRelease"), by_kind("Kustomization")
    kite = store.create(
        hr,
        {
            "metadata": {"name": "kite", "namespace": "flux-system"},
            "spec": {
                "interval": "5m",
                "chart": {"spec": {"chart": "kite", "sourceRef": {"kind": "HelmRepository", "name": "kite"}}},
            },
        },
    )
    ok = {"status": {"conditions": [_condition("True", "Helm install succeeded")]}}
    store.patch(hr, "flux-system", "kite", ok, subresource="status")
    source_ref = {"kind": "GitRepository", "name": "flux-system"}
    ks_spec = {"path": "./apps", "interval": "10m", "prune": True, "sourceRef": source_ref}
    store.create(ks, {"metadata": {"name": "apps", "namespace": "flux-system"}, "spec": ks_spec})
    failed = {"status": {"conditions": [_condition("False", "kustomize build failed")]}}
    store.patch(ks, "flux-system", "apps", failed, subresource="status")
    store.create(
        by_kind("GitRepository"),
        {
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"url": "ssh://git@example.com/fleet.git", "interval": "1m"},
        },
    )
    pod = "helm-controller-5d8c"
    store.create(
        by_kind("Pod"),
        {
            "metadata": {"name": pod, "namespace": "flux-system"},
            "spec": {"containers": [{"name": "manager", "image": "helm-controller"}]},
            "status": {"phase": "Running"},
        },
    )
    for i in range(4):
        store.append_log("flux-system", pod, "manager", f'{{"level":"info","msg":"step {i}"}}')
    ref = {
        "kind": "HelmRelease",
        "name": "kite",
        "namespace": "flux-system",
        "uid": kite["metadata"]["uid"],
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
    }
    events = (("kite.1", "HelmRelease", "InstallSucceeded"), ("apps.1", "Kustomization", "Failed"))
    for name, kind, reason in events:
        store.create(
            by_kind("Event"),
            {
                "metadata": {"name": name, "namespace": "flux-system"},
                "involvedObject": {**ref, "kind": kind},
                "type": "Normal",
                "reason": reason,
                "message": f"{reason} for {kind}",
                "source": {"component": "helm-controller"},
            },
        )


@pytest.fixture
def kubectl(bare_api: BareApi, tmp_path: Path) -> Kubectl:
    """Run kubectl against the seeded sandbox with a private HOME and discovery cache; returns stdout."""
    _seed(bare_api.store)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": str(bare_api.kubeconfig)}
    assert KUBECTL is not None

    def run(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [KUBECTL, "--cache-dir", str(tmp_path / "cache"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return run


def _lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines() if line.strip()]


def test_get_json_and_yaml(kubectl: Kubectl) -> None:
    obj = json.loads(kubectl("get", "hr", "kite", "-n", "flux-system", "-o", "json"))
    assert obj["kind"] == "HelmRelease" and obj["spec"]["chart"]["spec"]["chart"] == "kite"
    listed = json.loads(kubectl("get", "helmreleases", "-A", "-o", "json"))
    assert [o["metadata"]["name"] for o in listed["items"]] == ["kite"]
    doc = yaml.safe_load(kubectl("get", "gitrepo", "flux-system", "-n", "flux-system", "-o", "yaml"))
    assert doc["spec"]["url"] == "ssh://git@example.com/fleet.git"


def test_get_all_namespaces_prints_ready_column(kubectl: Kubectl) -> None:
    rows = _lines(kubectl("get", "helmreleases", "-A"))
    assert rows[0] == ["NAMESPACE", "NAME", "AGE", "READY", "STATUS"]
    assert rows[1][:2] == ["flux-system", "kite"] and rows[1][3:] == ["True", "Helm", "install", "succeeded"]
    assert rows[1][2][-1] in "smhd"


def test_get_several_kinds_with_short_names(kubectl: Kubectl) -> None:
    out = kubectl("get", "hr,ks", "-A")
    assert "helmrelease.helm.toolkit.fluxcd.io/kite" in out
    assert "kustomization.kustomize.toolkit.fluxcd.io/apps" in out
    ks_row = next(r for r in _lines(out) if r[1].endswith("/apps"))
    assert ks_row[3:] == ["False", "kustomize", "build", "failed"]


def test_api_resources_lists_flux_short_names(kubectl: Kubectl) -> None:
    rows = {r[0]: r for r in _lines(kubectl("api-resources"))}
    assert rows["helmreleases"][1:] == ["hr", "helm.toolkit.fluxcd.io/v2", "true", "HelmRelease"]
    assert rows["kustomizations"][1] == "ks" and rows["gitrepositories"][1] == "gitrepo"
    assert rows["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]


def test_describe_shows_spec_status_and_events(kubectl: Kubectl) -> None:
    out = kubectl("describe", "hr", "kite", "-n", "flux-system")
    assert "Name:         kite" in out and "Helm install succeeded" in out
    events = out.split("Events:", 1)[1]
    assert "InstallSucceeded" in events and "Failed" not in events


def test_annotate_and_merge_patch(kubectl: Kubectl, bare_api: BareApi) -> None:
    kubectl(
        "annotate",
        "hr",
        "kite",
        "-n",
        "flux-system",
        "--overwrite",
        "reconcile.fluxcd.io/requestedAt=2025-01-01T00:00:00Z",
    )
    out = kubectl(
        "patch", "hr", "kite", "-n", "flux-system", "--type", "merge", "-p", '{"spec":{"suspend":true}}'
    )
    assert "patched" in out
    stored = bare_api.store.get(by_kind("HelmRelease"), "flux-system", "kite")
    assert stored["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"] == "2025-01-01T00:00:00Z"
    assert stored["spec"]["suspend"] is True and stored["metadata"]["generation"] == 2


def test_logs_with_tail(kubectl: Kubectl) -> None:
    out = kubectl("logs", "-n", "flux-system", "helm-controller-5d8c", "--tail", "2")
    assert out.splitlines() == ['{"level":"info","msg":"step 2"}', '{"level":"info","msg":"step 3"}']


def test_get_events_with_field_selector(kubectl: Kubectl) -> None:
    out = kubectl(
        "get", "events", "-n", "flux-system", "--field-selector", "involvedObject.kind=Kustomization"
    )
    rows = _lines(out)
    # as on a real cluster: LAST SEEN TYPE REASON OBJECT MESSAGE, the event's name only with -o wide
    assert rows[0][:2] == ["LAST", "SEEN"] and len(rows) == 2 and "Failed" in rows[1]
    assert "kustomization/kite" in rows[1]  # OBJECT is <kind>/<name>
    wide = _lines(
        kubectl(
            "get",
            "events",
            "-n",
            "flux-system",
            "-o",
            "wide",
            "--field-selector",
            "involvedObject.kind=Kustomization",
        )
    )
    assert wide[0][-1] == "NAME" and wide[1][-1] == "apps.1"  # Name is the last column


def test_create_apply_and_delete_from_files(kubectl: Kubectl, bare_api: BareApi) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, namespace: default}\n"
        "data: {a: '1'}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: podinfo, namespace: default}\nspec: {url: 'https://example.com/podinfo', "
        "interval: 1m}\n"
    )
    assert "configmap/demo created" in kubectl("create", "-f", "-", stdin=manifest)
    out = kubectl("apply", "-f", "-", stdin=manifest.replace("'1'", "'2'").replace("1m", "5m"))
    assert "configmap/demo configured" in out
    assert "gitrepository.source.toolkit.fluxcd.io/podinfo configured" in out
    assert bare_api.store.get(by_kind("ConfigMap"), "default", "demo")["data"] == {"a": "2"}
    assert bare_api.store.get(by_kind("GitRepository"), "default", "podinfo")["spec"]["interval"] == "5m"
    kubectl("delete", "-f", "-", stdin=manifest)
    assert bare_api.store.find(by_kind("ConfigMap"), "default", "demo") is None


def test_get_watch_prints_changes(kubectl: Kubectl, bare_api: BareApi) -> None:
    unready = {"status": {"conditions": [_condition("False", "upgrade failed")]}}
    args = (by_kind("HelmRelease"), "flux-system", "kite", unready)
    change = threading.Timer(0.7, bare_api.store.patch, args, {"subresource": "status"})
    change.start()
    started = time.monotonic()
    out = kubectl("get", "hr", "-n", "flux-system", "--watch", "--request-timeout", "2s")
    change.join()
    assert time.monotonic() - started < 10
    rows = _lines(out)
    assert rows[0] == ["NAME", "AGE", "READY", "STATUS"]
    assert [r[0] for r in rows[1:]] == ["kite", "kite"]
    assert rows[1][2:] == ["True", "Helm", "install", "succeeded"]
    assert rows[2][2:] == ["False", "upgrade", "failed"]


def test_auth_can_i_is_allowed_without_rbac(kubectl: Kubectl) -> None:
    """The sandbox has no RBAC: `kubectl auth can-i` (as "Erste Schritte" shows it) answers yes."""
    assert kubectl(
        "auth", "can-i", "patch", "kustomizations.kustomize.toolkit.fluxcd.io", "-n", "flux-system"
    ) == ("yes\n")
    assert kubectl("auth", "can-i", "get", "pods", "--subresource=log", "-n", "flux-system") == "yes\n"
