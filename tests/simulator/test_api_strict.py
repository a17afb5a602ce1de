"""The simulated API server is as strict as a real kube-apiserver (docs/flux-facts.md §14).

Each expected answer below was taken from the real engine (kube-apiserver v1.36.3 with the Flux v2.9.5
CRDs): schema validation with 422 causes, pruning with a Warning header, field and label selector
checks, 410 for a watch from a too-old resourceVersion, pod-log option checks, plain-text 404s, dry
runs and server-side apply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from flux_sandbox.sim.controllers.flux_install import crd
from flux_sandbox.sim.resources import by_kind

if TYPE_CHECKING:  # test directories are not packages; pytest provides the fixtures
    from conftest import BareApi

    from flux_sandbox.sim import Sandbox

KUBECTL = shutil.which(
    "kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)
pytestmark = pytest.mark.sandbox
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
FUENF = f"Invalid value: \"fünf\": spec.interval in body should match '{PATTERN}'"


def kubectl(kubeconfig: str | Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(Path(kubeconfig).parent),
        "KUBECONFIG": str(kubeconfig),
    }
    return subprocess.run(
        [KUBECTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


def api_error(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value.status, json.loads(info.value.body)


def kustomization(name: str, **spec: Any) -> dict[str, Any]:
    base = {
        "interval": "10m",
        "path": "./apps",
        "prune": True,
        "sourceRef": {"kind": "GitRepository", "name": "x"},
    }
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {**base, **spec},
    }


@pytest.fixture
def custom(bare_api: BareApi) -> Any:
    api = config.new_client_from_config(config_file=str(bare_api.kubeconfig))
    with api:
        yield client.CustomObjectsApi(api)


# -- done when: 422 for `interval: fünf`, 410 for a watch from resourceVersion 1 ------------------


def test_sandbox_refuses_interval_fuenf_with_422(sandbox: Sandbox) -> None:
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    with api:
        custom = client.CustomObjectsApi(api)
        code, body = api_error(
            custom.patch_namespaced_custom_object,
            *KS[:2],
            "flux-system",
            KS[2],
            "apps",
            {"spec": {"interval": "fünf"}},
        )
        assert code == 422 and body["reason"] == "Invalid"
        assert (
            body["message"]
            == f'Kustomization.kustomize.toolkit.fluxcd.io "apps" is invalid: spec.interval: {FUENF}'
        )
        assert body["details"]["causes"] == [
            {"reason": "FieldValueInvalid", "message": FUENF, "field": "spec.interval"}
        ]
        stored = custom.get_namespaced_custom_object(*KS[:2], "flux-system", KS[2], "apps")
        assert stored["spec"]["interval"] != "fünf"


@needs_kubectl
def test_kubectl_is_refused_interval_fuenf(sandbox: Sandbox) -> None:
    proc = kubectl(
        sandbox.kubeconfig,
        "patch",
        "ks",
        "apps",
        "-n",
        "flux-system",
        "--type",
        "merge",
        "-p",
        '{"spec":{"interval":"fünf"}}',
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f'The Kustomization "apps" is invalid: spec.interval: {FUENF}'


def test_watch_from_resource_version_1_is_expired(sandbox: Sandbox) -> None:
    """The Kustomization watch cache starts when its CRD was created: resourceVersion 1 is too old."""
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    with api:
        custom = client.CustomObjectsApi(api)
        with pytest.raises(ApiException) as info:
            for _ in watch.Watch().stream(
                custom.list_cluster_custom_object, *KS, resource_version="1", timeout_seconds=2
            ):
                pytest.fail("a watch from resourceVersion 1 must not deliver events")
    assert info.value.status == 410
    assert str(info.value.reason).startswith("Expired: too old resource version: 1 (")


@needs_kubectl
def test_kubectl_watch_from_resource_version_1_gets_the_error_event(sandbox: Sandbox) -> None:
    path = "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations?watch=true&resourceVersion=1"
    proc = kubectl(sandbox.kubeconfig, "get", "--raw", path)
    event = json.loads(proc.stdout)
    assert event["type"] == "ERROR"
    status = event["object"]
    assert (status["code"], status["reason"], status["kind"]) == (410, "Expired", "Status")
    assert status["message"].startswith("too old resource version: 1 (") and "details" not in status


# -- schema validation, defaults, pruning ---------------------------------------------------------


def test_schema_errors_are_422_with_causes(custom: Any) -> None:
    body = kustomization("bad", timeout=5, prune="x", deletionPolicy="Bogus")
    del body["spec"]["sourceRef"]
    code, status = api_error(custom.create_namespaced_custom_object, *KS[:2], "flux-system", KS[2], body)
    assert code == 422
    causes = {c["field"]: c for c in status["details"]["causes"]}
    assert (
        causes["spec.timeout"]["message"]
        == 'Invalid value: "integer": spec.timeout in body must be of type string: "integer"'
    )
    assert causes["spec.prune"]["reason"] == "FieldValueTypeInvalid"
    assert causes["spec.deletionPolicy"]["message"] == (
        'Unsupported value: "Bogus": supported values: '
        '"MirrorPrune", "Delete", "WaitForTermination", "Orphan"'
    )
    assert causes["spec.sourceRef"] == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.sourceRef",
    }
    # the CRD has CEL rules, which a type error keeps the server from evaluating
    assert causes["<nil>"]["message"].startswith(
        "Invalid value: null: some validation rules were not checked"
    )
    assert status["message"].startswith('Kustomization.kustomize.toolkit.fluxcd.io "bad" is invalid: [')


def test_unknown_fields_are_pruned_with_a_warning(bare_api: BareApi, custom: Any) -> None:
    custom.create_namespaced_custom_object(*KS[:2], "flux-system", KS[2], kustomization("apps"))
    path = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"
    headers = {"Content-Type": "application/merge-patch+json"}
    body = {"spec": {"bogusField": 1, "sourceRef": {"bogus2": "x"}}}
    code, _, data = bare_api.request(path, method="PATCH", body=body, headers=headers)
    assert code == 200
    stored = json.loads(data)
    assert "bogusField" not in stored["spec"] and "bogus2" not in stored["spec"]["sourceRef"]
    assert stored["spec"]["force"] is False  # the CRD's default
    assert stored["metadata"]["generation"] == 1  # nothing stored changed
    code, _, data = bare_api.request(
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations?fieldValidation=Strict",
        method="POST",
        body=kustomization("x", bogus=1),
        headers={"Content-Type": "application/json"},
    )
    assert code == 400
    assert json.loads(data)["message"] == (
        'Kustomization in version "v1" cannot be handled as a Kustomization: strict decoding error: '
        'unknown field "spec.bogus"'
    )


def test_warning_headers_name_each_pruned_field(bare_api: BareApi) -> None:
    import http.client

    bare_api.store.create(by_kind("Kustomization"), kustomization("apps"))
    conn = http.client.HTTPConnection(bare_api.server.host, bare_api.server.port, timeout=10)
    try:
        body = json.dumps({"spec": {"bogusField": 1, "sourceRef": {"bogus2": "x"}}})
        path = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"
        conn.request("PATCH", path, body, {"Content-Type": "application/merge-patch+json"})
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert resp.status == 200
    assert sorted(resp.headers.get_all("Warning") or []) == [
        '299 - "unknown field \\"spec.bogusField\\""',
        '299 - "unknown field \\"spec.sourceRef.bogus2\\""',
    ]


def test_status_writes_are_pruned_too(bare_api: BareApi) -> None:
    """GitRepository v1 has no ``status.url``: a controller writing it loses it, as on a real server."""
    git = by_kind("GitRepository")
    repo = {
        "metadata": {"name": "r", "namespace": "flux-system"},
        "spec": {"url": "https://x/r.git", "interval": "1m"},
    }
    bare_api.store.create(git, repo)
    status = {"status": {"url": "http://storage/x.tar.gz", "observedGeneration": 1}}
    written = bare_api.store.patch(git, "flux-system", "r", status, subresource="status")
    assert written["status"] == {"observedGeneration": 1}


# -- selectors ------------------------------------------------------------------------------------


def test_field_selectors_on_custom_resources_only_by_name_and_namespace(custom: Any, api_client: Any) -> None:
    code, body = api_error(custom.list_cluster_custom_object, *KS, field_selector="spec.path=./apps")
    assert (code, body["message"], body["reason"]) == (
        400,
        "field label not supported: spec.path",
        "BadRequest",
    )
    assert (
        custom.list_cluster_custom_object(*KS, field_selector="metadata.namespace=flux-system")["items"] == []
    )
    core = client.CoreV1Api(api_client)
    code, body = api_error(core.list_pod_for_all_namespaces, field_selector="bogus.field=x")
    assert body["message"] == "field label not supported: bogus.field"
    assert core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items == []


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("a==b==c", "found '==', expected: ',' or 'end of string'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("-x", 'unable to parse requirement: <nil>: Invalid value: "-x": name part must consist of'),
    ],
)
def test_invalid_label_selectors_answer_400(api_client: Any, selector: str, message: str) -> None:
    code, body = api_error(client.CoreV1Api(api_client).list_pod_for_all_namespaces, label_selector=selector)
    assert code == 400 and body["message"].startswith(message)


# -- watch history --------------------------------------------------------------------------------


def test_watch_window_expires_old_resource_versions(bare_api: BareApi) -> None:
    """Changes older than the watch window cannot be replayed: 410 with the oldest usable version."""
    store = bare_api.store
    cm = by_kind("ConfigMap")
    store.create(cm, {"metadata": {"name": "a", "namespace": "default"}})
    start = store.resource_version
    store.patch(cm, "default", "a", {"data": {"k": "v"}})
    changed = store.resource_version
    path = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}&timeoutSeconds=1"
    events = [json.loads(line) for line in bare_api.request(path)[2].splitlines()]
    assert [e["type"] for e in events] == ["MODIFIED"]  # within the window: replayed
    store.watch_window = 0.0
    time.sleep(0.01)
    events = [json.loads(line) for line in bare_api.request(path)[2].splitlines()]
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["message"] == f"too old resource version: {start} ({changed})"
    # a watch from the newest change, or of another type, is unaffected
    ok = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={changed}&timeoutSeconds=1"
    assert bare_api.request(ok)[2] == b""
    assert bare_api.request(f"/api/v1/secrets?watch=true&resourceVersion={start}&timeoutSeconds=1")[2] == b""


def test_custom_type_watch_starts_at_its_crd(bare_api: BareApi) -> None:
    store = bare_api.store
    store.create(by_kind("CustomResourceDefinition"), crd(by_kind("Kustomization")))
    created = store.resource_version
    path = f"/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations?watch=true&resourceVersion={created - 1}"
    event = json.loads(bare_api.request(path + "&timeoutSeconds=1")[2])
    assert event["object"]["message"] == f"too old resource version: {created - 1} ({created})"


# -- pod logs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (
            "tailLines=-1",
            422,
            'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
        ),
        (
            "sinceSeconds=0",
            422,
            'PodLogOptions "p" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0',
        ),
        (
            "limitBytes=0",
            422,
            'PodLogOptions "p" is invalid: limitBytes: Invalid value: 0: must be greater than 0',
        ),
        (
            "sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
            422,
            'PodLogOptions "p" is invalid: []: Forbidden: '
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
        ("tailLines=x", 400, 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("container=nope", 400, "container nope is not valid for pod p"),
    ],
)
def test_pod_log_options_are_checked(bare_api: BareApi, query: str, code: int, message: str) -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    bare_api.store.create(by_kind("Pod"), pod)
    status, _, data = bare_api.request(f"/api/v1/namespaces/default/pods/p/log?{query}")
    assert (status, json.loads(data)["message"]) == (code, message)


def test_unknown_paths_answer_plain_text_404(bare_api: BareApi) -> None:
    for path in ("/foo/bar", "/apis/helm.toolkit.fluxcd.io/v2beta1/helmreleases", "/api/v1/nothings"):
        status, headers, data = bare_api.request(path)
        assert (status, data, headers["Content-Type"]) == (
            404,
            b"404 page not found\n",
            "text/plain; charset=utf-8",
        )
    status, _, data = bare_api.request("/apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/nope")
    assert status == 404 and json.loads(data)["reason"] == "NotFound"  # a missing object stays a Status


# -- dry run and server-side apply ----------------------------------------------------------------


def test_dry_run_validates_and_defaults_but_stores_nothing(bare_api: BareApi, custom: Any) -> None:
    store = bare_api.store
    before = store.resource_version
    made = custom.create_namespaced_custom_object(
        *KS[:2], "flux-system", KS[2], kustomization("dry"), dry_run="All"
    )
    assert made["metadata"]["uid"] and "resourceVersion" not in made["metadata"]
    assert made["spec"]["force"] is False
    assert store.find(by_kind("Kustomization"), "flux-system", "dry") is None
    assert store.resource_version == before
    code, _ = api_error(
        custom.create_namespaced_custom_object,
        *KS[:2],
        "flux-system",
        KS[2],
        kustomization("dry", interval="fünf"),
        dry_run="All",
    )
    assert code == 422
    live = store.create(by_kind("Kustomization"), kustomization("apps"))
    rv = store.resource_version
    patched = custom.patch_namespaced_custom_object(
        *KS[:2], "flux-system", KS[2], "apps", {"spec": {"interval": "7m"}}, dry_run="All"
    )
    assert patched["spec"]["interval"] == "7m" and patched["metadata"]["generation"] == 2
    assert patched["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    assert store.resource_version == rv and store.changes_since(rv) == []
    assert store.get(by_kind("Kustomization"), "flux-system", "apps")["spec"]["interval"] == "10m"
    custom.delete_namespaced_custom_object(*KS[:2], "flux-system", KS[2], "apps", dry_run="All")
    assert store.find(by_kind("Kustomization"), "flux-system", "apps") is not None


def apply(
    bare_api: BareApi, obj: dict[str, Any], manager: str, *, force: bool = False, dry: bool = False
) -> tuple[int, Any]:
    meta = obj["metadata"]
    query = f"?fieldManager={manager}" + ("&force=true" if force else "") + ("&dryRun=All" if dry else "")
    path = (
        f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{meta['namespace']}/kustomizations/{meta['name']}"
    )
    code, _, data = bare_api.request(
        path + query, method="PATCH", body=obj, headers={"Content-Type": "application/apply-patch+yaml"}
    )
    return code, json.loads(data)


def test_server_side_apply_owns_fields_and_reports_conflicts(bare_api: BareApi) -> None:
    code, made = apply(bare_api, kustomization("apps", targetNamespace="kube-system"), "flux")
    assert code == 201
    (entry,) = made["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == ("flux", "Apply", "FieldsV1")
    assert entry["fieldsV1"]["f:spec"]["f:sourceRef"] == {"f:kind": {}, "f:name": {}}
    code, body = apply(bare_api, kustomization("apps", interval="7m", path="./other"), "me")
    assert code == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Apply failed with 2 conflicts: conflicts with "flux":\n- .spec.interval\n- .spec.path'
    )
    code, _ = apply(bare_api, kustomization("apps", interval="10m"), "me")  # same value: shared
    assert code == 200
    code, forced = apply(bare_api, kustomization("apps", interval="7m"), "me", force=True)
    assert code == 200 and forced["spec"]["interval"] == "7m"
    owners = {e["manager"]: e["fieldsV1"]["f:spec"] for e in forced["metadata"]["managedFields"]}
    assert "f:interval" in owners["me"] and "f:interval" not in owners["flux"]
    # a field its only applier leaves out is removed; a shared one stays
    code, after = apply(bare_api, kustomization("apps", interval="7m"), "flux", force=True)
    assert code == 200 and "targetNamespace" not in after["spec"] and after["spec"]["path"] == "./apps"
    code, body = apply(bare_api, kustomization("apps"), "")
    assert code == 422 and "fieldManager: Required value" in body["message"]
    code, body = apply(bare_api, kustomization("apps", bogusField=1), "me")
    assert (code, body["message"]) == (
        500,
        "failed to create typed patch object (flux-system/apps; kustomize.toolkit.fluxcd.io/v1, "
        "Kind=Kustomization): .spec.bogusField: field not declared in schema",
    )


@needs_kubectl
def test_kubectl_server_side_dry_run_and_diff(bare_api: BareApi, tmp_path: Path) -> None:
    bare_api.store.create(by_kind("Kustomization"), kustomization("apps"))
    manifest = tmp_path / "ks.yaml"
    manifest.write_text(json.dumps(kustomization("apps", interval="7m")))
    rv = bare_api.store.resource_version
    proc = kubectl(bare_api.kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", str(manifest))
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.strip()
        == "kustomization.kustomize.toolkit.fluxcd.io/apps serverside-applied (server dry run)"
    )
    for extra in ((), ("--server-side",)):
        proc = kubectl(bare_api.kubeconfig, "diff", *extra, "-f", str(manifest))
        assert proc.returncode == 1, proc.stderr  # 1: differences found
        assert "-  interval: 10m\n+  interval: 7m" in proc.stdout
        assert "annotations: {}" not in proc.stdout
    assert bare_api.store.resource_version == rv
    manifest.write_text(json.dumps(kustomization("apps", interval="fünf")))
    proc = kubectl(bare_api.kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", str(manifest))
    assert proc.returncode == 1 and 'spec.interval: Invalid value: "fünf"' in proc.stderr


# -- tables ---------------------------------------------------------------------------------------


@needs_kubectl
def test_builtin_tables_have_the_real_servers_columns(sandbox: Sandbox) -> None:
    pods = kubectl(sandbox.kubeconfig, "get", "pods", "-n", "flux-system").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(line.split()[1:4] == ["1/1", "Running", "0"] for line in pods[1:])
    deploys = kubectl(sandbox.kubeconfig, "get", "deploy", "-n", "flux-system").stdout.splitlines()
    assert deploys[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert all(line.split()[1] == "1/1" for line in deploys[1:])
    events = kubectl(sandbox.kubeconfig, "get", "events", "-n", "kube-system").stdout.splitlines()
    assert events[0].split()[:5] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
    assert any("helmrelease/kite" in line.split() for line in events[1:])
    secrets = kubectl(sandbox.kubeconfig, "get", "secrets", "-n", "flux-system").stdout.splitlines()
    assert secrets[0].split() == ["NAME", "TYPE", "DATA", "AGE"]


# -- workloads and events -------------------------------------------------------------------------


def test_pods_are_owned_by_replicasets_of_their_deployment(sandbox: Sandbox) -> None:
    store = sandbox.store
    deploys, _ = store.list(by_kind("Deployment"), "kube-system")
    (kite,) = [d for d in deploys if d["metadata"]["name"] == "kite"]
    sets, _ = store.list(by_kind("ReplicaSet"), "kube-system")
    current = [rs for rs in sets if rs["spec"]["replicas"] == 1]
    assert len(current) == 1
    rs = current[0]
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "kite",
            "uid": kite["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    pods, _ = store.list(by_kind("Pod"), "kube-system", label_selector="app.kubernetes.io/name=kite")
    assert pods and all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in pods)
    for pod in pods + store.list(by_kind("Pod"), "flux-system")[0]:
        account = pod["spec"]["serviceAccountName"]
        assert store.find(by_kind("ServiceAccount"), pod["metadata"]["namespace"], account) is not None


@needs_kubectl
def test_deleted_pod_is_terminating_for_its_grace_period(bare_api: BareApi) -> None:
    store, server = bare_api.store, bare_api.server
    server.grace_scale = 0.6  # 10 s grace period -> 6 s here (kubectl needs time on a loaded machine)
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x"}], "terminationGracePeriodSeconds": 10},
        "status": {"phase": "Running"},
    }
    store.create(by_kind("Pod"), pod)
    proc = kubectl(bare_api.kubeconfig, "delete", "pod", "p", "-n", "default", "--wait=false")
    assert proc.returncode == 0, proc.stderr
    terminating = store.get(by_kind("Pod"), "default", "p")
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 10
    assert terminating["metadata"]["deletionTimestamp"]
    listed = kubectl(bare_api.kubeconfig, "get", "pods", "-n", "default").stdout.splitlines()
    assert listed[1].split()[2] == "Terminating"
    deadline = time.monotonic() + 30
    while store.find(by_kind("Pod"), "default", "p") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.find(by_kind("Pod"), "default", "p") is None
    store.create(by_kind("Pod"), pod)
    proc = kubectl(bare_api.kubeconfig, "delete", "pod", "p", "-n", "default", "--grace-period=0", "--force")
    assert proc.returncode == 0, proc.stderr
    assert store.find(by_kind("Pod"), "default", "p") is None


def test_events_with_event_time_need_a_reporting_instance(api_client: Any, sandbox: Sandbox) -> None:
    core = client.CoreV1Api(api_client)
    event = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Test",
        "type": "Normal",
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingComponent": "test",
    }
    code, body = api_error(core.create_namespaced_event, "default", event)
    assert code == 422 and body["message"] == 'Event "e1" is invalid: reportingInstance: Required value'
    core.create_namespaced_event("default", {**event, "reportingInstance": "test-1"})
    # the simulated controllers write Events as client-go's core/v1 recorder does: no eventTime
    events, _ = sandbox.store.list(by_kind("Event"), "kube-system")
    assert events and all(e.get("eventTime") is None and "action" not in e for e in events)
