"""The cluster-side objects the engine applies: Flux as ``flux install`` lays it out, kwok's bits.

Flux: built from the manifests the build copied out of the pinned modules (``<cache>/manifests/``):
the flux2 module's ``manifests/install`` and ``manifests/bases/<controller>`` (ServiceAccount, labels,
patch), each controller's ``config/crd/bases`` and ``config/manager`` (Deployment, for
source-controller also the Service), and ``manifests/rbac`` and ``manifests/policies``; with the
kustomize transformations of ``flux install`` done here: namespace ``flux-system``, the labels
``app.kubernetes.io/part-of=flux``/``instance=flux-system``/``version``/``component``, the images
``ghcr.io/fluxcd/<controller>:<version>`` and the bases' patches (service account, priority class,
``GOMEMLIMIT``). The ``--events-addr`` argument is left out: this engine has no notification-controller.

The controllers' pods are run by kwok; the controller processes run locally (see :mod:`.engine`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .versions import FLUX_CONTROLLERS, FLUX_VERSION, component

Obj = dict[str, Any]
NAMESPACE = "flux-system"


def load_docs(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _folder(manifests: Path, comp: str, sub: str) -> list[Obj]:
    docs: list[Obj] = []
    for path in sorted((manifests / comp / sub).glob("*.yaml")):
        if path.name in ("kustomization.yaml", "labels.yaml", "patch.yaml"):
            continue
        docs += load_docs(path)
    return docs


def _label(obj: Obj, labels: dict[str, str]) -> None:
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    if obj.get("kind") == "Deployment":
        obj["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(labels)


def _json_patch(obj: Obj, ops: list[Obj]) -> None:
    """The few JSON patch ``add`` operations the flux2 bases use."""
    for op in ops:
        if op.get("op") != "add":
            raise ValueError(f"unsupported patch op {op}")
        parts = op["path"].strip("/").split("/")
        target: Any = obj
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        last = parts[-1]
        if isinstance(target, list):
            if last == "-":
                target.append(op["value"])
            else:
                target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]


def flux_objects(manifests: Path) -> list[Obj]:
    """Every object of ``flux install --components=source-controller,kustomize-controller,helm-controller``
    in apply order (namespace, CRDs, then the rest)."""
    flux = "flux"
    common = {
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/instance": NAMESPACE,
        "app.kubernetes.io/version": FLUX_VERSION,
    }
    namespace = load_docs(manifests / flux / "manifests/install/namespace.yaml")[0]
    crds: list[Obj] = []
    rest: list[Obj] = []
    for name in FLUX_CONTROLLERS:
        comp = component(name)
        labels = {**common, "app.kubernetes.io/component": name}
        base = manifests / flux / "manifests/bases" / name
        ops: list[Obj] = yaml.safe_load((base / "patch.yaml").read_text(encoding="utf-8")) or []
        patch = [op for op in ops if "--events-addr" not in str(op.get("value"))]
        for obj in _folder(manifests, name, "config/crd/bases"):
            _label(obj, labels)
            crds.append(obj)
        for obj in load_docs(base / "account.yaml") + _folder(manifests, name, "config/manager"):
            obj["metadata"]["namespace"] = NAMESPACE
            if obj["kind"] == "Deployment":
                _json_patch(obj, copy.deepcopy(patch))
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    if container["image"] == f"fluxcd/{name}":
                        container["image"] = f"ghcr.io/fluxcd/{name}:{comp.version}"
            _label(obj, labels)
            rest.append(obj)
    for sub in ("manifests/rbac", "manifests/policies"):
        for obj in _folder(manifests, flux, sub):
            if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
                obj["metadata"]["namespace"] = NAMESPACE
            for subject in obj.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = NAMESPACE
            _label(obj, common)
            rest.append(obj)
    _label(namespace, common)
    return [namespace, *crds, *rest]


def cert_manager_crds(manifests: Path) -> list[Obj]:
    folder = manifests / "cert-manager" / "deploy/crds"
    return [obj for path in sorted(folder.glob("*.yaml")) for obj in load_docs(path)]


def kwok_objects(manifests: Path) -> list[Obj]:
    """kwok's ``Logs`` CRD (the engine maps each controller pod to its log file with it)."""
    return load_docs(manifests / "kwok" / "kustomize/crd/bases/kwok.x-k8s.io_logs.yaml")


def node(name: str) -> Obj:
    """The cluster's one node, managed by kwok (named like the guide's OrbStack node)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "",
                "type": "kwok",
            },
        },
        "spec": {},
    }


#: kwok's own stage sets (kwokctl's defaults): node setup, node heartbeat with lease, the pod lifecycle
STAGE_FOLDERS = (
    "kustomize/stage/node/fast",
    "kustomize/stage/node/heartbeat-with-lease",
    "kustomize/stage/pod/fast",
)


def kwok_config(manifests: Path, missing_images: tuple[str, ...]) -> list[Obj]:
    """kwok's configuration: its options and the pod stages. The stages are kwok's ``fast`` set, with
    one more: a container whose image is in ``missing_images`` does not start but waits in
    ``ImagePullBackOff`` (the registry does not have that image), and ``pod-ready`` leaves such
    pods alone."""
    stages = [d for sub in STAGE_FOLDERS for d in _folder(manifests, "kwok", sub) if d.get("kind") == "Stage"]
    images_key = ".spec.containers.[].image"
    for stage in stages:
        if stage["metadata"]["name"] == "pod-ready":
            stage["spec"]["selector"]["matchExpressions"].append(
                {"key": images_key, "operator": "NotIn", "values": list(missing_images)}
            )
    stages.append(_image_pull_backoff(images_key, missing_images))
    # kwok's own defaults (kustomize/kwok/kwok.yaml), with kwok's Logs CRD switched on only
    options = load_docs(manifests / "kwok" / "kustomize/kwok/kwok.yaml")[0]
    options["options"].update(
        {
            "enableCRDs": ["Logs"],
            "manageAllNodes": True,
            "manageNodesWithAnnotationSelector": "",
            "cidr": "10.244.0.0/24",
            # the kubelet-like endpoints (/containerLogs/...) that `kubectl logs` reaches
            "enableDebuggingHandlers": True,
            "podsOnNodeSyncParallelism": 1,
        }
    )
    return [options, *stages]


def _image_pull_backoff(images_key: str, missing_images: tuple[str, ...]) -> Obj:
    template = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: PodScheduled
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  message: 'containers with unready status: [{{ range .spec.containers }}{{ .name }} {{ end }}]'
  reason: ContainersNotReady
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  message: 'containers with unready status: [{{ range .spec.containers }}{{ .name }} {{ end }}]'
  reason: ContainersNotReady
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    waiting:
      reason: ImagePullBackOff
      message: {{ printf "Back-off pulling image %q: ErrImagePull: %s %q: not found" .image
        "rpc error: code = NotFound desc = failed to pull and unpack image" .image | Quote }}
{{ end }}
{{ $hostIPs := NodeIPsWith .spec.nodeName }}
{{ with $hostIPs }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" )
   ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Pending
startTime: {{ $now | Quote }}
"""
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "pod-image-pull-backoff"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
                    {"key": images_key, "operator": "In", "values": list(missing_images)},
                    {
                        "key": ".status.containerStatuses.[].state.waiting.reason",
                        "operator": "NotIn",
                        "values": ["ImagePullBackOff"],
                    },
                ]
            },
            "next": {"statusTemplate": template},
        },
    }
