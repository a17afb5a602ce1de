"""The simulated outside world: Helm repositories with their charts, and the image registry.

Kite follows docs/flux-facts.md §12 (chart ``kite`` 0.6.1-0.6.3 with appVersion ``v0.6.x`` at
https://zxh326.github.io/kite); cert-manager is the jetstack chart. ``render`` plays ``helm template``
for these two charts; it produces only kinds the sandbox serves (no Ingress, no RBAC).
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flux_sandbox.sim import schema
from flux_sandbox.sim.controllers.workload import deployment

Obj = dict[str, Any]


@dataclass(frozen=True)
class ChartVersion:
    name: str
    version: str
    app_version: str
    description: str
    home: str


@dataclass(frozen=True)
class HelmRepo:
    url: str
    charts: tuple[ChartVersion, ...]


_KITE_DESC = "A modern, lightweight Kubernetes dashboard"
_CM_DESC = "A Helm chart for cert-manager"
REPOSITORIES: tuple[HelmRepo, ...] = (
    HelmRepo(
        "https://zxh326.github.io/kite",
        tuple(
            ChartVersion("kite", v, f"v{v}", _KITE_DESC, "https://github.com/zxh326/kite")
            for v in ("0.6.1", "0.6.2", "0.6.3")
        ),
    ),
    HelmRepo(
        "https://charts.jetstack.io",
        tuple(
            ChartVersion("cert-manager", v, v, _CM_DESC, "https://cert-manager.io")
            for v in ("v1.19.1", "v1.20.0", "v1.21.1")
        ),
    ),
)

#: image repository -> tags the simulated registry has
REGISTRY: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "ghcr.io/zxh326/kite": frozenset({"v0.6.1", "v0.6.2", "v0.6.3"}),
        # the plain Deployment apps/whoami of the GitOps repository
        "traefik/whoami": frozenset({"v1.10.3", "v1.11.0"}),
        **{
            f"quay.io/jetstack/cert-manager-{c}": frozenset({"v1.19.1", "v1.20.0", "v1.21.1"})
            for c in ("controller", "webhook", "cainjector")
        },
        # the controller images of the Flux release the simulator claims (docs/flux-facts.md §15)
        **{
            f"ghcr.io/fluxcd/{c}": frozenset({v})
            for c, v in schema.data()["components"].items()
            if c.endswith("-controller")
        },
    }
)


def image_available(image: str) -> bool:
    repo, _, tag = image.rpartition(":")
    return tag in REGISTRY.get(repo, frozenset())


def find_repo(url: str) -> HelmRepo | None:
    return next((r for r in REPOSITORIES if r.url.rstrip("/") == str(url).rstrip("/")), None)


def index_yaml(repo: HelmRepo) -> str:
    """A deterministic index.yaml text; its sha256 is the HelmRepository revision."""
    lines = ["apiVersion: v1", "entries:"]
    for name in sorted({c.name for c in repo.charts}):
        lines.append(f"  {name}:")
        for c in sorted(
            (c for c in repo.charts if c.name == name), key=lambda c: _vkey(c.version), reverse=True
        ):
            lines += [
                "  - apiVersion: v2",
                f"    appVersion: {c.app_version}",
                f"    name: {c.name}",
                f"    version: {c.version}",
                f"    urls: [{repo.url}/{c.name}-{c.version}.tgz]",
            ]
    return "\n".join(lines) + "\n"


def index_digest(repo: HelmRepo) -> str:
    return hashlib.sha256(index_yaml(repo).encode()).hexdigest()


def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def resolve_version(repo: HelmRepo, chart: str, constraint: str | None) -> ChartVersion | None:
    """Exact version, ``*``/empty (latest) or an ``x`` wildcard such as ``0.6.x``."""
    candidates = sorted(
        (c for c in repo.charts if c.name == chart), key=lambda c: _vkey(c.version), reverse=True
    )
    want = (constraint or "*").strip()
    if want == "*":
        return candidates[0] if candidates else None
    pattern = re.compile("^" + re.escape(want.lstrip("v")).replace(r"\*", ".*").replace("x", r"\d+") + "$")
    return next((c for c in candidates if pattern.match(c.version.lstrip("v"))), None)


# --- rendering ----------------------------------------------------------------------------------------


def _defaults(chart: str) -> Obj:
    if chart == "kite":
        return {
            "replicaCount": 1,
            "image": {"repository": "ghcr.io/zxh326/kite", "tag": "", "pullPolicy": "IfNotPresent"},
            "service": {"type": "ClusterIP", "port": 8080},
            "ingress": {"enabled": False, "className": "nginx"},
            "anonymousUserEnabled": False,
            "host": "",
            "resources": {},
            "db": {"type": "sqlite"},
            "rbac": {"create": True},
            "serviceAccount": {"create": True},
        }
    return {"replicaCount": 1, "crds": {"enabled": False}, "resources": {}}


def merge_values(base: Obj, override: Obj) -> Obj:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_values(chart: str) -> Obj:
    return _defaults(chart)


def _labels(chart: ChartVersion, release: str, component: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": chart.name,
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/version": chart.app_version,
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"{chart.name}-{chart.version}",
    }
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _service(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def _account(name: str, ns: str, labels: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    }


def _render_kite(chart: ChartVersion, release: str, ns: str, values: Obj) -> list[Obj]:
    labels = _labels(chart, release)
    selector = {"app.kubernetes.io/name": chart.name, "app.kubernetes.io/instance": release}
    image = values["image"]
    port = int(values["service"].get("port", 8080))
    container = {
        "name": "kite",
        "image": f"{image['repository']}:{image.get('tag') or chart.app_version}",
        "imagePullPolicy": image.get("pullPolicy", "IfNotPresent"),
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "resources": values.get("resources") or {},
    }
    deploy = deployment(
        release,
        ns,
        labels=labels,
        template_labels=selector,
        containers=[container],
        replicas=int(values.get("replicaCount", 1)),
        service_account=release,
    )
    return [_account(release, ns, labels), _service(release, ns, labels, selector, port), deploy]


def certmanager_deployments(chart: ChartVersion, release: str, ns: str, values: Obj) -> list[Obj]:
    out = []
    for comp, name in (
        ("controller", release),
        ("cainjector", f"{release}-cainjector"),
        ("webhook", f"{release}-webhook"),
    ):
        app = "cert-manager" if comp == "controller" else comp
        tmpl = {
            "app": app,
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": comp,
        }
        container = {
            "name": f"cert-manager-{comp}",
            "image": f"quay.io/jetstack/cert-manager-{comp}:{chart.app_version}",
            "resources": values.get("resources") or {},
        }
        out.append(
            deployment(
                name,
                ns,
                labels={**_labels(chart, release, comp), "app": app},
                template_labels=tmpl,
                containers=[container],
                service_account=name,
                replicas=int(values.get("replicaCount", 1)),
            )
        )
    return out


def _render_certmanager(chart: ChartVersion, release: str, ns: str, values: Obj) -> list[Obj]:
    deploys = certmanager_deployments(chart, release, ns, values)
    out: list[Obj] = [_account(d["metadata"]["name"], ns, d["metadata"]["labels"]) for d in deploys]
    out.append(_service(release, ns, _labels(chart, release, "controller"), {"app": "cert-manager"}, 9402))
    out.append(
        _service(f"{release}-webhook", ns, _labels(chart, release, "webhook"), {"app": "webhook"}, 443)
    )
    return out + deploys


def render(chart: ChartVersion, release: str, namespace: str, values: Obj) -> list[Obj]:
    """``helm template`` for the charts of the catalog: the manifests in install order."""
    merged = merge_values(_defaults(chart.name), values)
    if chart.name == "kite":
        return _render_kite(chart, release, namespace, merged)
    return _render_certmanager(chart, release, namespace, merged)
