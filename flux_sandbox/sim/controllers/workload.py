"""Deployments, their ReplicaSets and Pods, as kube-controller-manager and the kubelet leave them.

Each template gets a ReplicaSet ``<deployment>-<pod-template-hash>`` owned by the Deployment; its Pods
are owned by the ReplicaSet (ownerReferences with uids, ``controller`` and ``blockOwnerDeletion``), so
a changed template rolls out new Pods under a new ReplicaSet and scales the old one to 0. An image the
simulated registry lacks leaves the new Pod in ``ImagePullBackOff`` and the old one running, like a
stuck rolling update. The Pods' ServiceAccount exists (the chart or ``flux install`` created it; a
real API server refuses a Pod whose ServiceAccount is missing).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flux_sandbox.sim.controllers.recording import EventRecorder, now_iso
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Store, StoreError

Obj = dict[str, Any]
DEPLOY = by_kind("Deployment")
REPLICASET = by_kind("ReplicaSet")
POD = by_kind("Pod")
SERVICE_ACCOUNT = by_kind("ServiceAccount")
NODE = "orbstack"


def deployment(
    name: str,
    namespace: str,
    *,
    labels: dict[str, str],
    template_labels: dict[str, str],
    containers: list[Obj],
    replicas: int = 1,
    service_account: str | None = None,
) -> Obj:
    """A Deployment manifest (no status)."""
    pod_spec: Obj = {"containers": containers, "terminationGracePeriodSeconds": 10}
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(template_labels)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {"metadata": {"labels": dict(template_labels)}, "spec": pod_spec},
        },
    }


def template_hash(deploy: Obj) -> str:
    raw = json.dumps(deploy["spec"]["template"], sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:10]


@dataclass(frozen=True)
class Rollout:
    ready: bool
    #: the first container problem, e.g. ``Back-off pulling image "ghcr.io/zxh326/kite:v9"``
    problem: str = ""


def _owner(obj: Obj) -> Obj:
    """The controller ownerReference to ``obj`` (a stored object, so it has a uid)."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _replicaset(store: Store, deploy: Obj, phash: str) -> Obj:
    """The stored ReplicaSet of the Deployment's current template, created when missing."""
    meta = deploy["metadata"]
    name = f"{meta['name']}-{phash}"
    found = store.find(REPLICASET, meta["namespace"], name)
    if found is not None:
        return found
    template = deploy["spec"]["template"]
    labels = {**template["metadata"].get("labels", {}), "pod-template-hash": phash}
    revision = 1 + max(
        (
            int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
            for rs in _replicasets(store, deploy)
        ),
        default=0,
    )
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(deploy["spec"].get("replicas", 1)),
                "deployment.kubernetes.io/max-replicas": str(int(deploy["spec"].get("replicas", 1)) + 1),
                "deployment.kubernetes.io/revision": str(revision),
            },
            "ownerReferences": [_owner(deploy)],
        },
        "spec": {
            "replicas": int(deploy["spec"].get("replicas", 1)),
            "selector": {
                "matchLabels": {**deploy["spec"]["selector"]["matchLabels"], "pod-template-hash": phash}
            },
            "template": {**template, "metadata": {**template["metadata"], "labels": labels}},
        },
    }
    try:
        return store.create(REPLICASET, rs)
    except StoreError as exc:
        if exc.code != 409:
            raise
        return store.get(REPLICASET, meta["namespace"], name)


def _replicasets(store: Store, deploy: Obj) -> list[Obj]:
    items, _ = store.list(REPLICASET, deploy["metadata"]["namespace"])
    uid = deploy["metadata"].get("uid")
    return [
        rs for rs in items if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or ())
    ]


def _scale(store: Store, rs: Obj, replicas: int, ready: int) -> None:
    """Write the ReplicaSet's desired replicas and its status (what the ReplicaSet controller does)."""
    meta = rs["metadata"]
    live = store.find(REPLICASET, meta["namespace"], meta["name"])
    if live is None:
        return
    if live["spec"].get("replicas") != replicas:
        store.patch(REPLICASET, meta["namespace"], meta["name"], {"spec": {"replicas": replicas}})
        live = store.get(REPLICASET, meta["namespace"], meta["name"])
    status: Obj = {"replicas": replicas, "observedGeneration": live["metadata"].get("generation", 1)}
    if replicas:  # zero counts are left out, as the API server's omitempty does
        status["fullyLabeledReplicas"] = replicas
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready)
    if live.get("status") != status:
        live["status"] = status
        live["metadata"].pop("resourceVersion", None)
        store.replace(REPLICASET, live, subresource="status")


def _ensure_service_account(store: Store, namespace: str, name: str) -> None:
    if store.find(SERVICE_ACCOUNT, namespace, name) is None:
        with contextlib.suppress(StoreError):  # 409: made meanwhile
            store.create(SERVICE_ACCOUNT, {"metadata": {"name": name, "namespace": namespace}})


def _pod(deploy: Obj, rs: Obj, phash: str, image_ok: Callable[[str], bool]) -> Obj:
    meta = deploy["metadata"]
    template = deploy["spec"]["template"]
    containers = template["spec"]["containers"]
    bad = [c for c in containers if not image_ok(c["image"])]
    now = now_iso()
    statuses = []
    for c in containers:
        ok = c not in bad
        state = (
            {"running": {"startedAt": now}}
            if ok
            else {
                "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c["image"]}"'}
            }
        )
        statuses.append(
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": ok,
                "started": ok,
                "restartCount": 0,
                "state": state,
            }
        )
    ready = "False" if bad else "True"
    conds = [
        {"type": t, "status": s, "lastTransitionTime": now, "lastProbeTime": None}
        for t, s in (
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", ready),
            ("ContainersReady", ready),
            ("PodScheduled", "True"),
        )
    ]
    if bad:
        names = ", ".join(c["name"] for c in bad)
        for cond in conds[2:4]:
            cond.update(reason="ContainersNotReady", message=f"containers with unready status: [{names}]")
    ip = f"10.42.0.{secrets.randbelow(200) + 20}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{meta['name']}-{phash}-{secrets.token_hex(3)[:5]}",
            "namespace": meta["namespace"],
            "labels": {**template["metadata"].get("labels", {}), "pod-template-hash": phash},
            "generateName": f"{meta['name']}-{phash}-",
            "ownerReferences": [_owner(rs)],
        },
        "spec": {
            **template["spec"],
            "serviceAccountName": template["spec"].get("serviceAccountName", "default"),
            "serviceAccount": template["spec"].get("serviceAccountName", "default"),
            "nodeName": NODE,
        },
        "status": {
            "phase": "Pending" if bad else "Running",
            "conditions": conds,
            "containerStatuses": statuses,
            "hostIP": "192.168.139.2",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "qosClass": "Burstable",
        },
    }


def _pod_events(kubelet: EventRecorder | None, pod: Obj) -> None:
    if kubelet is None:
        return
    for status in pod["status"]["containerStatuses"]:
        image = status["image"]
        kubelet.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        if status["ready"]:
            kubelet.event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}"')
            kubelet.event(pod, "Normal", "Created", f"Created container {status['name']}")
            kubelet.event(pod, "Normal", "Started", f"Started container {status['name']}")
        else:
            kubelet.event(
                pod,
                "Warning",
                "Failed",
                f'Failed to pull image "{image}": rpc error: code = NotFound '
                f'desc = failed to pull and unpack image "{image}": not found',
            )
            kubelet.event(pod, "Warning", "Failed", "Error: ImagePullBackOff")
            kubelet.event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"')


def _selector(deploy: Obj) -> str:
    return ",".join(f"{k}={v}" for k, v in deploy["spec"]["selector"]["matchLabels"].items())


def rollout(
    store: Store, deploy: Obj, image_ok: Callable[[str], bool], kubelet: EventRecorder | None = None
) -> Rollout:
    """Bring the Pods of the stored Deployment ``deploy`` in line with its template; write its status."""
    meta = deploy["metadata"]
    phash = template_hash(deploy)
    if "uid" not in meta:  # a manifest, not the stored object: owners need the uid
        deploy = store.get(DEPLOY, meta["namespace"], meta["name"])
        meta = deploy["metadata"]
    rs = _replicaset(store, deploy, phash)
    _ensure_service_account(
        store, meta["namespace"], deploy["spec"]["template"]["spec"].get("serviceAccountName", "default")
    )
    pods, _ = store.list(POD, meta["namespace"], label_selector=_selector(deploy))
    current = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == phash]
    want = int(deploy["spec"].get("replicas", 1))
    while len(current) < want:
        pod = store.create(POD, _pod(deploy, rs, phash, image_ok))
        _pod_events(kubelet, pod)
        current.append(pod)
    for extra in current[want:]:
        store.delete(POD, meta["namespace"], extra["metadata"]["name"])
    current = current[:want]
    ready = [p for p in current if p["status"]["phase"] == "Running"]
    names = {p["metadata"]["name"] for p in current}
    old = [
        p
        for p in pods
        if p["metadata"]["name"] not in names and p["metadata"]["labels"].get("pod-template-hash") != phash
    ]
    if len(ready) >= want:
        for p in old:
            with contextlib.suppress(StoreError):
                store.delete(POD, meta["namespace"], p["metadata"]["name"])
        old = []
    _scale(store, rs, want, len(ready))
    for other in _replicasets(store, deploy):
        if other["metadata"]["name"] != rs["metadata"]["name"]:
            left = [
                p
                for p in old
                if p["metadata"]["labels"].get("pod-template-hash")
                == other["metadata"]["name"].rsplit("-", 1)[-1]
            ]
            _scale(store, other, len(left), sum(1 for p in left if p["status"]["phase"] == "Running"))
    _write_status(store, deploy, len(current), len(ready), len(old))
    if len(ready) >= want:
        return Rollout(True)
    waiting = next(
        s["state"]["waiting"]
        for p in current
        for s in p["status"]["containerStatuses"]
        if "waiting" in s["state"]
    )
    return Rollout(False, waiting["message"])


def _write_status(store: Store, deploy: Obj, updated: int, ready: int, old: int) -> None:
    live = store.find(DEPLOY, deploy["metadata"]["namespace"], deploy["metadata"]["name"])
    if live is None:
        return
    want = int(live["spec"].get("replicas", 1))
    now = now_iso()
    total_ready = ready + old
    available = "True" if total_ready >= want else "False"
    name = live["metadata"]["name"]
    rs = f"{name}-{template_hash(live)}"
    progressing = (
        {"reason": "NewReplicaSetAvailable", "message": f'ReplicaSet "{rs}" has successfully progressed.'}
        if ready >= want
        else {"reason": "ReplicaSetUpdated", "message": f'ReplicaSet "{rs}" is progressing.'}
    )
    live["status"] = {
        "observedGeneration": live["metadata"].get("generation", 1),
        "replicas": updated + old,
        "updatedReplicas": updated,
        "readyReplicas": total_ready,
        "availableReplicas": total_ready,
        "conditions": [
            {
                "type": "Available",
                "status": available,
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": "MinimumReplicasAvailable" if available == "True" else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available == "True"
                else "Deployment does not have minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                **progressing,
            },
        ],
    }
    if updated + old - total_ready > 0:
        live["status"]["unavailableReplicas"] = updated + old - total_ready
    live["metadata"].pop("resourceVersion", None)
    store.replace(DEPLOY, live, subresource="status")
