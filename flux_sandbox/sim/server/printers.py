"""Table columns of the built-in types as the real API server prints them (pkg/printers/internalversion).

Checked against kube-apiserver v1.36 (docs/flux-facts.md, "Kubernetes API server and kubectl"): every
column is declared ``string`` (counts are sent as integers all the same), Age is a human duration, and
Events put Name last (priority 1). Custom resources keep their CRD's printer columns (:mod:`.tables`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Age = Callable[[Any], str | None]


@dataclass(frozen=True)
class Printer:
    #: (name, type, priority) of every column, Name included where the real server puts it
    columns: tuple[tuple[str, str, int], ...]
    cells: Callable[[Obj, Age], list[Any]]


def _none(value: Any) -> Any:
    return "<none>" if value in (None, "", []) else value


def _labels(selector: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>"


def _pod_status(pod: Obj) -> str:
    """kubectl's pod STATUS: the reason of a waiting/terminated container over the phase, and
    ``Terminating`` once deletionTimestamp is set."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp") and reason != "NodeLost":
        return "Terminating"
    return str(reason)


def _pod(pod: Obj, age: Age) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    gates = spec.get("readinessGates") or []
    return [
        pod["metadata"].get("name", ""),
        f"{ready}/{len(spec.get('containers') or [])}",
        _pod_status(pod),
        str(restarts),
        age(pod["metadata"].get("creationTimestamp")),
        _none(status.get("podIP")),
        _none(spec.get("nodeName")),
        _none(status.get("nominatedNodeName")),
        "<none>" if not gates else f"0/{len(gates)}",
    ]


def _containers(template: Obj) -> tuple[str, str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _deployment(d: Obj, age: Age) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [
        d["metadata"].get("name", ""),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        age(d["metadata"].get("creationTimestamp")),
        names,
        images,
        _labels((spec.get("selector") or {}).get("matchLabels")),
    ]


def _replicaset(rs: Obj, age: Age) -> list[Any]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [
        rs["metadata"].get("name", ""),
        int(spec.get("replicas", 1)),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        age(rs["metadata"].get("creationTimestamp")),
        names,
        images,
        _labels((spec.get("selector") or {}).get("matchLabels")),
    ]


def _latest(*stamps: Any) -> Any:
    return next((s for s in stamps if s), None)


def _event(ev: Obj, age: Age) -> list[Any]:
    obj = ev.get("involvedObject") or {}
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    if source.get("host"):
        component = f"{component}, {source['host']}"
    series = ev.get("series") or {}
    last = _latest(series.get("lastObservedTime"), ev.get("lastTimestamp"), ev.get("eventTime"))
    first = _latest(ev.get("firstTimestamp"), ev.get("eventTime"))
    count = int(series.get("count") or ev.get("count") or 1)
    return [
        age(last),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
        obj.get("fieldPath", ""),
        component,
        str(ev.get("message", "")).strip(),
        age(first),
        count,
        ev["metadata"].get("name", ""),
    ]


def _secret(s: Obj, age: Age) -> list[Any]:
    return [
        s["metadata"].get("name", ""),
        s.get("type", "Opaque"),
        len(s.get("data") or {}),
        age(s["metadata"].get("creationTimestamp")),
    ]


def _configmap(c: Obj, age: Age) -> list[Any]:
    data = len(c.get("data") or {}) + len(c.get("binaryData") or {})
    return [c["metadata"].get("name", ""), data, age(c["metadata"].get("creationTimestamp"))]


def _service(svc: Obj, age: Age) -> list[Any]:
    spec = svc.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    return [
        svc["metadata"].get("name", ""),
        spec.get("type", "ClusterIP"),
        _none(spec.get("clusterIP")),
        "<none>",
        _none(ports),
        age(svc["metadata"].get("creationTimestamp")),
        _labels(spec.get("selector")),
    ]


def _namespace(ns: Obj, age: Age) -> list[Any]:
    phase = (ns.get("status") or {}).get("phase", "Active")
    return [ns["metadata"].get("name", ""), phase, age(ns["metadata"].get("creationTimestamp"))]


def _name_age(obj: Obj, age: Age) -> list[Any]:
    return [obj["metadata"].get("name", ""), age(obj["metadata"].get("creationTimestamp"))]


def _cols(*names: str) -> tuple[tuple[str, str, int], ...]:
    """Column definitions from names: ``*`` marks priority 1 (``-o wide``), ``#`` type integer."""
    return tuple((n.rstrip("*#"), "integer" if "#" in n else "string", 1 if "*" in n else 0) for n in names)


PRINTERS: dict[str, Printer] = {
    "Pod": Printer(
        _cols(
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP*",
            "Node*",
            "Nominated Node*",
            "Readiness Gates*",
        ),
        _pod,
    ),
    "Deployment": Printer(
        _cols("Name", "Ready", "Up-to-date", "Available", "Age", "Containers*", "Images*", "Selector*"),
        _deployment,
    ),
    "ReplicaSet": Printer(
        _cols("Name", "Desired#", "Current#", "Ready#", "Age", "Containers*", "Images*", "Selector*"),
        _replicaset,
    ),
    "Event": Printer(
        _cols(
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject*",
            "Source*",
            "Message",
            "First Seen*",
            "Count*",
            "Name*",
        ),
        _event,
    ),
    "Secret": Printer(_cols("Name", "Type", "Data", "Age"), _secret),
    "ConfigMap": Printer(_cols("Name", "Data", "Age"), _configmap),
    "Service": Printer(
        _cols("Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"), _service
    ),
    "Namespace": Printer(_cols("Name", "Status", "Age"), _namespace),
    "ServiceAccount": Printer(_cols("Name", "Age"), _name_age),
}
