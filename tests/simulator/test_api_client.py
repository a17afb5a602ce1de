"""The sandbox API server against the official Python client (and raw HTTP where the client cannot look)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.server.apiserver import ApiServer
from flux_sandbox.sim.server.streams import rfc3339_nano
from flux_sandbox.sim.store import Store

if TYPE_CHECKING:  # test directories are not packages; pytest provides the fixtures
    from conftest import ApiFactory, BareApi

pytestmark = pytest.mark.sandbox

HR = ("helm.toolkit.fluxcd.io", "v2", "helmreleases")
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def helmrelease(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system", "labels": labels or {}},
        "spec": {
            "interval": "5m",
            "chart": {"spec": {"chart": name, "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
        },
    }


def ready(store: Store, name: str, status: str = "True") -> None:
    cond = {
        "type": "Ready",
        "status": status,
        "reason": "InstallSucceeded",
        "message": f"installed {name}",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    store.patch(
        by_kind("HelmRelease"), "flux-system", name, {"status": {"conditions": [cond]}}, subresource="status"
    )


def api_exception(call: Any, *args: Any, **kwargs: Any) -> tuple[ApiException, dict[str, Any]]:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value, json.loads(info.value.body)


# -- basics ---------------------------------------------------------------------------------------


def test_version_and_health(api_client: client.ApiClient, bare_api: BareApi) -> None:
    version = client.VersionApi(api_client).get_code()
    assert (version.git_version, version.major, version.minor) == ("v1.34.2", "1", "34")
    for probe in ("/healthz", "/readyz", "/livez"):
        assert bare_api.request(probe)[::2] == (200, b"ok")


def test_refuses_non_loopback_host() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            ApiServer(Store(), host=host)


def test_token_is_required_when_set(make_api: ApiFactory) -> None:
    api = make_api(token="s3cret")
    anonymous = client.ApiClient(client.Configuration(host=api.url))
    with anonymous:
        exc, body = api_exception(client.CoreV1Api(anonymous).list_namespace)
    assert exc.status == 401
    assert (body["kind"], body["status"], body["reason"]) == ("Status", "Failure", "Unauthorized")
    assert body["code"] == 401
    authorized = config.new_client_from_config(config_file=str(api.kubeconfig))
    with authorized:
        names = [ns.metadata.name for ns in client.CoreV1Api(authorized).list_namespace().items]
    assert names == ["default", "flux-system", "kube-system"]
    assert api.request("/healthz")[0] == 200


# -- CRUD -----------------------------------------------------------------------------------------


def test_create_answers_201_with_the_object(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    created = custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    core = client.CoreV1Api(api_client)
    data, status, _headers = core.create_namespaced_config_map_with_http_info(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"a": "1"})
    )
    assert status == 201
    assert data.metadata.name == "settings" and data.data == {"a": "1"}


def test_get_and_list_with_label_and_field_selectors(api_client: client.ApiClient, bare_api: BareApi) -> None:
    custom = client.CustomObjectsApi(api_client)
    for name, team in (("kite", "a"), ("owl", "b"), ("crow", "a")):
        body = helmrelease(name, {"team": team})
        custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], body)
    owl = custom.get_namespaced_custom_object(*HR[:2], "flux-system", HR[2], "owl")
    assert owl["spec"]["interval"] == "5m"
    listed = custom.list_namespaced_custom_object(*HR[:2], "flux-system", HR[2], label_selector="team=a")
    assert listed["kind"] == "HelmReleaseList" and listed["metadata"]["resourceVersion"]
    assert [o["metadata"]["name"] for o in listed["items"]] == ["crow", "kite"]
    by_name = custom.list_cluster_custom_object(*HR, field_selector="metadata.name=owl")
    assert [o["metadata"]["name"] for o in by_name["items"]] == ["owl"]
    core = client.CoreV1Api(api_client)
    for i, kind in enumerate(("HelmRelease", "Kustomization", "HelmRelease")):
        core.create_namespaced_event(
            "flux-system",
            client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=f"ev{i}"),
                involved_object=client.V1ObjectReference(kind=kind, name="kite", namespace="flux-system"),
                reason="Progressing",
                type="Normal",
            ),
        )
    events = core.list_namespaced_event("flux-system", field_selector="involvedObject.kind=HelmRelease")
    assert [e.metadata.name for e in events.items] == ["ev0", "ev2"]


def test_list_pages_with_limit_and_continue(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    for i in range(5):
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"c{i}"))
        core.create_namespaced_config_map("default", cm)
    first = core.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["c0", "c1"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    last = core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    assert [c.metadata.name for c in second.items + last.items] == ["c2", "c3", "c4"]
    assert last.metadata._continue is None


def test_merge_json_and_strategic_patch(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite", {"team": "a"}))
    custom.patch_namespaced_custom_object(
        *HR[:2], "flux-system", HR[2], "kite", {"spec": {"suspend": True, "timeout": "3m"}}
    )
    merged = custom.patch_namespaced_custom_object(
        *HR[:2], "flux-system", HR[2], "kite", {"spec": {"timeout": None}}
    )
    assert merged["spec"]["suspend"] is True and "timeout" not in merged["spec"]
    # the CRD's defaults are applied, as a real API server does
    assert merged["spec"]["chart"]["spec"]["reconcileStrategy"] == "ChartVersion"
    ops = [
        {"op": "replace", "path": "/spec/suspend", "value": False},
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
    ]
    patched = custom.patch_namespaced_custom_object(
        *HR[:2], "flux-system", HR[2], "kite", ops, _content_type="application/json-patch+json"
    )
    assert patched["spec"]["suspend"] is False and patched["metadata"]["labels"] == {
        "team": "a",
        "tier": "web",
    }
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    cm = core.patch_namespaced_config_map("c", "default", {"metadata": {"annotations": {"a": "b"}}})
    assert cm.metadata.annotations == {"a": "b"}


def test_unsupported_patch_types_answer_415(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    for content_type in ("application/strategic-merge-patch+json",):
        exc, body = api_exception(
            custom.patch_namespaced_custom_object,
            *HR[:2],
            "flux-system",
            HR[2],
            "kite",
            {"spec": {"suspend": True}},
            _content_type=content_type,
        )
        assert exc.status == 415 and body["reason"] == "UnsupportedMediaType"
        assert body["message"].endswith("application/json-patch+json, application/apply-patch+yaml")
    spec = custom.get_namespaced_custom_object(*HR[:2], "flux-system", HR[2], "kite")["spec"]
    assert "suspend" not in spec


def test_generation_counts_spec_changes_only(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))

    def patch(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return custom.patch_namespaced_custom_object(*HR[:2], "flux-system", HR[2], "kite", body, **kw)

    annotated = patch({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}})
    assert annotated["metadata"]["generation"] == 1
    status = custom.patch_namespaced_custom_object_status(
        *HR[:2], "flux-system", HR[2], "kite", {"status": {"observedGeneration": 1}}
    )
    assert status["metadata"]["generation"] == 1
    assert int(status["metadata"]["resourceVersion"]) > int(annotated["metadata"]["resourceVersion"])
    assert patch({"spec": {"suspend": True}})["metadata"]["generation"] == 2


def test_status_subresource_leaves_spec_alone(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    both = {"spec": {"interval": "1h"}, "status": {"observedGeneration": 1}}
    after = custom.patch_namespaced_custom_object_status(*HR[:2], "flux-system", HR[2], "kite", both)
    assert after["spec"]["interval"] == "5m" and after["status"] == {"observedGeneration": 1}
    main = custom.patch_namespaced_custom_object(
        *HR[:2], "flux-system", HR[2], "kite", {"status": {"observedGeneration": 7}}
    )
    assert main["status"] == {"observedGeneration": 1}
    current = custom.get_namespaced_custom_object_status(*HR[:2], "flux-system", HR[2], "kite")
    current["status"]["lastAttemptedRevision"] = "1.0.0"
    current["spec"]["interval"] = "2h"
    replaced = custom.replace_namespaced_custom_object_status(*HR[:2], "flux-system", HR[2], "kite", current)
    assert replaced["status"]["lastAttemptedRevision"] == "1.0.0" and replaced["spec"]["interval"] == "5m"


def test_status_bodies_for_404_and_409(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    exc, body = api_exception(custom.get_namespaced_custom_object, *HR[:2], "flux-system", HR[2], "nope")
    assert exc.status == 404
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["reason"] == "NotFound" and body["code"] == 404
    assert body["message"] == 'helmreleases.helm.toolkit.fluxcd.io "nope" not found'
    assert body["details"] == {"name": "nope", "group": "helm.toolkit.fluxcd.io", "kind": "helmreleases"}
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    exc, body = api_exception(
        custom.create_namespaced_custom_object, *HR[:2], "flux-system", HR[2], helmrelease("kite")
    )
    assert exc.status == 409 and body["reason"] == "AlreadyExists" and body["details"]["name"] == "kite"
    exc, body = api_exception(client.CoreV1Api(api_client).read_namespaced_pod, "nope", "default")
    assert exc.status == 404 and body["message"] == 'pods "nope" not found'


def test_delete_answers_object_or_status_like_the_real_registries(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    gone = custom.delete_namespaced_custom_object(*HR[:2], "flux-system", HR[2], "kite")
    assert gone["kind"] == "HelmRelease" and gone["metadata"]["name"] == "kite"
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    status = core.delete_namespaced_config_map("c", "default")
    assert status["status"] == "Success" and status["details"]["name"] == "c"
    assert core.list_namespaced_config_map("default").items == []


def test_served_versions_and_cluster_scope(api_client: client.ApiClient, bare_api: BareApi) -> None:
    """Flux v2.9 serves OCIRepository only as v1: v1beta2 is an unknown path (plain-text 404)."""
    custom = client.CustomObjectsApi(api_client)
    body = {
        "metadata": {"name": "podinfo"},
        "spec": {"url": "oci://ghcr.io/stefanprodan/manifests/podinfo", "interval": "5m"},
    }
    created = custom.create_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", "flux-system", "ocirepositories", body
    )
    assert created["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    path = "/apis/source.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/ocirepositories/podinfo"
    status, headers, data = bare_api.request(path)
    assert (status, data) == (404, b"404 page not found\n")
    assert headers["Content-Type"].startswith("text/plain")
    issuer = custom.create_cluster_custom_object(
        "cert-manager.io", "v1", "clusterissuers", {"metadata": {"name": "letsencrypt"}, "spec": {}}
    )
    assert "namespace" not in issuer["metadata"]
    status, _, _ = bare_api.request("/apis/cert-manager.io/v1/namespaces/default/clusterissuers/letsencrypt")
    assert status == 404


# -- discovery and tables -------------------------------------------------------------------------


def test_discovery_documents(bare_api: BareApi) -> None:
    groups = json.loads(bare_api.request("/apis")[2])
    source = next(g for g in groups["groups"] if g["name"] == "source.toolkit.fluxcd.io")
    assert [v["version"] for v in source["versions"]] == ["v1"]
    assert source["preferredVersion"]["version"] == "v1"
    helm = json.loads(bare_api.request("/apis/helm.toolkit.fluxcd.io/v2")[2])
    by_name = {r["name"]: r for r in helm["resources"]}
    assert by_name["helmreleases"]["shortNames"] == ["hr"] and by_name["helmreleases"]["namespaced"] is True
    assert by_name["helmreleases/status"]["verbs"] == ["get", "patch", "update"]
    core = {r["name"] for r in json.loads(bare_api.request("/api/v1")[2])["resources"]}
    assert {"pods", "pods/log", "events", "namespaces"} <= core
    source_v1 = json.loads(bare_api.request("/apis/source.toolkit.fluxcd.io/v1")[2])
    # Flux v2.9: OCIRepository only as v1, and the new kind ExternalArtifact
    assert {"ocirepositories", "externalartifacts"} <= {r["name"] for r in source_v1["resources"]}
    assert bare_api.request("/apis/source.toolkit.fluxcd.io/v1beta2")[:3:2] == (404, b"404 page not found\n")
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, headers, raw = bare_api.request("/apis", headers={"Accept": accept})
    assert status == 200 and "as=APIGroupDiscoveryList" in headers["Content-Type"]
    names = [item["metadata"]["name"] for item in json.loads(raw)["items"]]
    assert "helm.toolkit.fluxcd.io" in names and "" not in names


def test_table_output(bare_api: BareApi) -> None:
    store = bare_api.store
    store.create(by_kind("HelmRelease"), helmrelease("kite"))
    store.create(by_kind("HelmRelease"), helmrelease("owl"))
    ready(store, "kite")
    path = "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"
    table = json.loads(bare_api.request(path, headers={"Accept": TABLE_ACCEPT})[2])
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age", "Ready", "Status"]
    assert table["columnDefinitions"][0]["format"] == "name"
    kite, owl = table["rows"]
    assert kite["cells"][0] == "kite" and kite["cells"][2:] == ["True", "installed kite"]
    assert kite["cells"][1].endswith("s")  # a human duration, like the real server
    assert owl["cells"][2:] == [None, None]
    assert kite["object"]["kind"] == "PartialObjectMetadata"
    assert kite["object"]["metadata"]["namespace"] == "flux-system"
    full = json.loads(bare_api.request(path + "?includeObject=Object", headers={"Accept": TABLE_ACCEPT})[2])
    assert full["rows"][0]["object"]["spec"]["interval"] == "5m"


# -- watch ----------------------------------------------------------------------------------------


def test_watch_from_resource_version_sees_later_changes(
    api_client: client.ApiClient, bare_api: BareApi
) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(*HR[:2], "flux-system", HR[2], helmrelease("kite"))
    rv = custom.list_namespaced_custom_object(*HR[:2], "flux-system", HR[2])["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(*HR[:2], "flux-system", HR[2], "kite", {"spec": {"suspend": True}})

    def later() -> None:
        time.sleep(0.2)
        ready(bare_api.store, "kite")
        bare_api.store.create(by_kind("ConfigMap"), {"metadata": {"name": "other", "namespace": "default"}})
        bare_api.store.delete(by_kind("HelmRelease"), "flux-system", "kite")

    threading.Thread(target=later, daemon=True).start()
    seen = []
    w = watch.Watch()
    for event in w.stream(
        custom.list_namespaced_custom_object,
        *HR[:2],
        "flux-system",
        HR[2],
        resource_version=rv,
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"]["metadata"]["generation"]))
        if event["type"] == "DELETED":
            w.stop()
    assert seen == [("MODIFIED", 2), ("MODIFIED", 2), ("DELETED", 2)]


def test_watch_ends_after_timeout_seconds(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespace, timeout_seconds=1))
    elapsed = time.monotonic() - started
    assert [e["object"].metadata.name for e in events] == ["default", "flux-system", "kube-system"]
    assert 0.9 <= elapsed < 3


def test_watch_on_an_expired_resource_version_raises_410(make_api: ApiFactory) -> None:
    api = make_api(history=3)
    for i in range(6):
        api.store.create(by_kind("ConfigMap"), {"metadata": {"name": f"c{i}", "namespace": "default"}})
    with config.new_client_from_config(config_file=str(api.kubeconfig)) as api_client:
        core = client.CoreV1Api(api_client)
        with pytest.raises(ApiException) as info:
            list(
                watch.Watch().stream(
                    core.list_namespaced_config_map, "default", resource_version="2", timeout_seconds=2
                )
            )
    assert info.value.status == 410 and "too old resource version" in info.value.reason


def test_legacy_watch_path_with_label_selector(bare_api: BareApi) -> None:
    bare_api.store.create(by_kind("HelmRelease"), helmrelease("kite", {"team": "a"}))
    bare_api.store.create(by_kind("HelmRelease"), helmrelease("owl", {"team": "b"}))
    path = (
        "/apis/helm.toolkit.fluxcd.io/v2/watch/namespaces/flux-system/helmreleases"
        "?labelSelector=team%3Db&timeoutSeconds=1"
    )
    status, headers, raw = bare_api.request(path)
    events = [json.loads(line) for line in raw.splitlines()]
    assert status == 200 and headers["Transfer-Encoding"] == "chunked"
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "owl")]


def test_stop_closes_streaming_watches_promptly(api_client: client.ApiClient, bare_api: BareApi) -> None:
    core = client.CoreV1Api(api_client)
    ended = threading.Event()

    def consume() -> None:
        with contextlib.suppress(Exception):  # the connection is cut; any client error is fine here
            list(watch.Watch().stream(core.list_namespace, timeout_seconds=60))
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.3)
    started = time.monotonic()
    bare_api.server.stop()
    assert ended.wait(2) and time.monotonic() - started < 2


# -- pod logs -------------------------------------------------------------------------------------


def _pod(store: Store, name: str, containers: list[str]) -> None:
    store.create(
        by_kind("Pod"),
        {
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"containers": [{"name": c, "image": "x"} for c in containers]},
        },
    )


def test_pod_logs_with_tail_since_and_timestamps(api_client: client.ApiClient, bare_api: BareApi) -> None:
    store = bare_api.store
    _pod(store, "helm-controller-1", ["manager"])
    now = time.time()
    store.append_log("flux-system", "helm-controller-1", "manager", "old", ts=now - 3600)
    for i in range(3):
        store.append_log("flux-system", "helm-controller-1", "manager", f"line {i}", ts=now - 10 + i)
    core = client.CoreV1Api(api_client)

    def logs(**kw: Any) -> str:
        return core.read_namespaced_pod_log("helm-controller-1", "flux-system", **kw)

    assert logs() == "old\nline 0\nline 1\nline 2\n"
    assert logs(tail_lines=2) == "line 1\nline 2\n"
    assert logs(since_seconds=60).splitlines() == ["line 0", "line 1", "line 2"]
    stamp, text = logs(tail_lines=1, timestamps=True).rstrip("\n").split(" ", 1)
    assert text == "line 2" and stamp == rfc3339_nano(now - 10 + 2)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", stamp)
    assert logs(limit_bytes=6) == "old\nli"
    _, headers, _ = bare_api.request("/api/v1/namespaces/flux-system/pods/helm-controller-1/log")
    assert headers["Content-Type"].startswith("text/plain")


def test_pod_log_errors(api_client: client.ApiClient, bare_api: BareApi) -> None:
    _pod(bare_api.store, "two", ["manager", "sidecar"])
    core = client.CoreV1Api(api_client)
    exc, body = api_exception(core.read_namespaced_pod_log, "two", "flux-system")
    assert exc.status == 400
    expected = "a container name must be specified for pod two, choose one of: [manager sidecar]"
    assert body["message"] == expected
    exc, body = api_exception(core.read_namespaced_pod_log, "two", "flux-system", container="nope")
    assert exc.status == 400 and body["message"] == "container nope is not valid for pod two"
    exc, _ = api_exception(core.read_namespaced_pod_log, "gone", "flux-system")
    assert exc.status == 404
    assert core.read_namespaced_pod_log("two", "flux-system", container="sidecar") == ""


def test_pod_log_follow_streams_new_lines(api_client: client.ApiClient, bare_api: BareApi) -> None:
    _pod(bare_api.store, "src-1", ["manager"])
    bare_api.store.append_log("flux-system", "src-1", "manager", "first")
    core = client.CoreV1Api(api_client)
    resp = core.read_namespaced_pod_log("src-1", "flux-system", follow=True, _preload_content=False)
    try:
        threading.Timer(0.2, bare_api.store.append_log, ("flux-system", "src-1", "manager", "second")).start()
        received = b""
        for chunk in resp.stream(64):
            received += chunk
            if b"second\n" in received:
                break
    finally:
        resp.close()
        resp.release_conn()
    assert received == b"first\nsecond\n"


# -- performance ----------------------------------------------------------------------------------


def test_large_list_is_served_quickly(bare_api: BareApi) -> None:
    rt = by_kind("HelmRelease")
    for i in range(5000):
        bare_api.store.create(rt, helmrelease(f"app-{i:04d}", {"team": str(i % 7)}))
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        status, _, raw = bare_api.request("/apis/helm.toolkit.fluxcd.io/v2/helmreleases")
        timings.append(time.perf_counter() - started)
    items = json.loads(raw)["items"]
    assert status == 200 and len(items) == 5000 and items[0]["metadata"]["name"] == "app-0000"
    assert min(timings) < 0.5, timings
