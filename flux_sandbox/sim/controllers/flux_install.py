"""What ``flux install``/``flux bootstrap`` and the cert-manager chart leave in a cluster before any sync.

Namespaces, the controller Deployments with Flux's labels and one Running Pod each (container
``manager``, image ``ghcr.io/fluxcd/<ctrl>:<ver>``), the CRDs of every custom type the sandbox serves
(Flux's labelled ``app.kubernetes.io/part-of=flux``), and the bootstrap objects: Secret, GitRepository
and Kustomization ``flux-system`` as ``gotk-sync.yaml`` defines them.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import yaml

from flux_sandbox.sim import schema
from flux_sandbox.sim.controllers import catalog
from flux_sandbox.sim.controllers.recording import zap_ts
from flux_sandbox.sim.controllers.workload import deployment, rollout
from flux_sandbox.sim.gitrepo import GitOpsRepo
from flux_sandbox.sim.resources import CUSTOM_TYPES, ResourceType, by_kind
from flux_sandbox.sim.store import Store, StoreError
from runbook_lib.kinds import ALL_KINDS

Obj = dict[str, Any]
#: the Flux release the simulator claims: the real engine's (docs/flux-facts.md §1 and §14)
FLUX_VERSION = schema.flux_version()
#: controller -> image tag (the flux2 module's pins of that release, docs/flux-facts.md §1)
CONTROLLERS = {
    name: schema.component_version(name)
    for name in ("source-controller", "kustomize-controller", "helm-controller", "notification-controller")
}
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "flux-system", "cert-manager")
BOOTSTRAP_LABELS = {
    "kustomize.toolkit.fluxcd.io/name": "flux-system",
    "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
}


def _create(store: Store, obj: Obj) -> Obj:
    rt = store.rtype_of(obj)
    try:
        return store.create(rt, obj)
    except StoreError as exc:
        if exc.code != 409:
            raise
        return store.get(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])


def flux_labels(ctrl: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/component": ctrl,
        "app.kubernetes.io/instance": "flux-system",
        "app.kubernetes.io/part-of": "flux",
    }


def controller_deployment(ctrl: str, version: str) -> Obj:
    labels = {
        **flux_labels(ctrl),
        "app.kubernetes.io/version": FLUX_VERSION,
        "control-plane": "controller",
        **BOOTSTRAP_LABELS,
    }
    container = {
        "name": "manager",
        "image": f"ghcr.io/fluxcd/{ctrl}:{version}",
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
            "--watch-all-namespaces=true",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
        ],
        "ports": [
            {"name": "http-prom", "containerPort": 8080, "protocol": "TCP"},
            {"name": "healthz", "containerPort": 9440, "protocol": "TCP"},
        ],
        "resources": {
            "limits": {"cpu": "1000m", "memory": "1Gi"},
            "requests": {"cpu": "100m", "memory": "64Mi"},
        },
    }
    return deployment(
        ctrl,
        "flux-system",
        labels=labels,
        template_labels={"app": ctrl, **flux_labels(ctrl)},
        containers=[container],
        service_account=ctrl,
    )


def crd(rt: ResourceType) -> Obj:
    """The CRD of a custom type: from the claimed release's CRD data where there is one (schema
    without descriptions), else a schemaless CRD with the type's printer columns."""
    data = schema.crds().get(rt.key)
    if rt.group.endswith("toolkit.fluxcd.io"):
        ctrl = next((k.controller for k in ALL_KINDS if k.group == rt.group), "source-controller")
        labels = {**flux_labels(ctrl), "app.kubernetes.io/version": FLUX_VERSION, **BOOTSTRAP_LABELS}
    else:
        labels = {
            "app.kubernetes.io/name": "cert-manager",
            "app.kubernetes.io/instance": "cert-manager",
            "app.kubernetes.io/version": schema.component_version("cert-manager"),
            "helm.toolkit.fluxcd.io/name": "cert-manager",
            "helm.toolkit.fluxcd.io/namespace": "cert-manager",
        }
    if data is not None:
        versions = [
            {
                "name": v.name,
                "served": v.served,
                "storage": v.storage,
                "schema": {"openAPIV3Schema": v.schema},
                "subresources": {"status": {}},
                "additionalPrinterColumns": list(v.columns),
            }
            for v in data.versions
        ]
    else:
        columns = [
            {
                "name": c.name,
                "type": c.type,
                "jsonPath": c.json_path,
                **({"priority": c.priority} if c.priority else {}),
            }
            for c in rt.columns
        ]
        versions = [
            {
                "name": v,
                "served": True,
                "storage": v == rt.version,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
            }
            for v in (rt.version, *rt.extra_versions)
        ]
    names = {
        "plural": rt.plural,
        "singular": rt.singular,
        "kind": rt.kind,
        "listKind": f"{rt.kind}List",
        "shortNames": list(rt.short_names),
        "categories": list(rt.categories),
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{rt.plural}.{rt.group}", "labels": labels},
        "spec": {
            "group": rt.group,
            "names": names,
            "scope": "Namespaced" if rt.namespaced else "Cluster",
            "versions": versions,
        },
        "status": {
            "storedVersions": [rt.version],
            "acceptedNames": names,
            "conditions": [
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                }
            ],
        },
    }


def _service(name: str, ns: str, selector: dict[str, str], port: int, target: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {**flux_labels(name), **BOOTSTRAP_LABELS}},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": target, "protocol": "TCP"}],
        },
    }


def _startup_logs(store: Store, pod: Obj) -> None:
    meta = pod["metadata"]
    for msg in ("starting manager", "starting server"):
        line = {
            "level": "info",
            "ts": zap_ts(),
            "logger": "setup" if msg == "starting manager" else None,
            "msg": msg,
        }
        text = json.dumps({k: v for k, v in line.items() if v is not None}, separators=(",", ":"))
        store.append_log(meta["namespace"], meta["name"], "manager", text, time.time())


def install(store: Store) -> None:
    """Namespaces, CRDs, Flux and cert-manager Deployments with running Pods."""
    for ns in NAMESPACES:
        _create(
            store,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
            },
        )
    for rt in CUSTOM_TYPES:
        _create(store, crd(rt))
    for ctrl, version in CONTROLLERS.items():
        deploy = _create(store, controller_deployment(ctrl, version))
        rollout(store, deploy, catalog.image_available)
        pods, _ = store.list(by_kind("Pod"), "flux-system", label_selector=f"app={ctrl}")
        for pod in pods:
            _startup_logs(store, pod)
    _create(store, _service("source-controller", "flux-system", {"app": "source-controller"}, 80, "http"))
    _create(
        store,
        _service("notification-controller", "flux-system", {"app": "notification-controller"}, 80, "http"),
    )
    _create(
        store,
        _service("webhook-receiver", "flux-system", {"app": "notification-controller"}, 80, "http-webhook"),
    )
    jetstack = catalog.find_repo("https://charts.jetstack.io")
    chart = catalog.resolve_version(jetstack, "cert-manager", "v1.21.1") if jetstack else None
    if chart is None:
        raise RuntimeError("the catalog lacks cert-manager v1.21.1")
    for deploy in catalog.certmanager_deployments(chart, "cert-manager", "cert-manager", {}):
        rollout(store, _create(store, deploy), catalog.image_available)


def bootstrap(store: Store, repo: GitOpsRepo, token: str) -> None:
    """``flux bootstrap``: the git credentials Secret and the sync objects from ``gotk-sync.yaml`` at HEAD."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "data": {
            "username": base64.b64encode(b"git").decode(),
            "password": base64.b64encode(token.encode()).decode(),
        },
    }
    _create(store, secret)
    text = repo.read_tree(repo.head()).get("clusters/orbstack/flux-system/gotk-sync.yaml", b"")
    for doc in yaml.safe_load_all(text.decode()):
        if doc and doc.get("kind") in ("GitRepository", "Kustomization"):
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(BOOTSTRAP_LABELS)
            _create(store, doc)
