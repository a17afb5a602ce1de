"""Which cluster am I on, and are the Flux controllers healthy (``flux check``).

Gather -> interpret -> render like :mod:`.status`: the interpreting functions (:func:`deployment_status`,
:func:`version_satisfies`, :func:`interpret_check`) are pure and tested from fixture dicts; the result
types render as terminal text and HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from types import MappingProxyType
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.kube import api_get
from runbook_lib.objects import deployment_status
from runbook_lib.report import SYMBOLS, TONES, Rendered, Verdict, color_style, html_table
from runbook_lib.settings import PART_OF_FLUX, settings

#: Kubernetes constraint per Flux minor version (docs/flux-facts.md §8); unknown versions use the newest
K8S_CONSTRAINTS = MappingProxyType(
    {
        (2, 4): ">=1.28.0-0",
        (2, 5): ">=1.30.0-0",
        (2, 6): ">=1.31.0-0",
        (2, 7): ">=1.32.0-0",
        (2, 8): ">=1.33.0-0",
        (2, 9): ">=1.33.0-0",
    }
)
_LATEST_CONSTRAINT = ">=1.33.0-0"


# --- which cluster am I on ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInfo(Rendered):
    """Context, server and Kubernetes version of the connection a runbook uses."""

    context: str
    server: str
    version: str
    kubeconfig: str | None = None

    def _rows(self) -> list[list[str]]:
        return [
            ["Kontext", self.context],
            ["API-Server", self.server],
            ["Kubernetes", self.version],
            ["Kubeconfig", self.kubeconfig or "Standard (KUBECONFIG bzw. ~/.kube/config)"],
        ]

    def __str__(self) -> str:
        return "\n".join(f"{k + ':':<12} {v}" for k, v in self._rows()) + "\n"

    def _repr_html_(self) -> str:
        return html_table(["", ""], self._rows(), caption="Verbunden mit")


def server_version(cluster: Cluster) -> str:
    """The API server's gitVersion (``/version``); ClusterUnreachable names context and server."""
    info = api_get(cluster, "/version", f"die Version des Clusters ({cluster.describe()})") or {}
    return str(info.get("gitVersion", "unbekannt"))


def cluster_info(*, client: Cluster | None = None) -> ClusterInfo:
    """Ask the API server for its version: proves the connection works and shows where it points."""
    cluster = default_cluster(client)
    return ClusterInfo(cluster.context, cluster.server, server_version(cluster), cluster.kubeconfig)


# --- flux check: interpret -----------------------------------------------------------------------


def _version_tuple(text: str) -> tuple[int, int, int]:
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip().lstrip(">=").strip())
    if not match:
        return (0, 0, 0)
    return (int(match[1]), int(match[2]), int(match[3] or 0))


def version_satisfies(version: str, constraint: str) -> bool:
    """``v1.33.2+k3s1`` against ``>=1.33.0-0`` (the only form the Flux constraints use)."""
    return _version_tuple(version) >= _version_tuple(constraint)


def constraint_for(distribution: str) -> str:
    """The Kubernetes constraint of a Flux distribution (``flux-v2.7.0``)."""
    major, minor, _ = _version_tuple(distribution.rsplit("-", 1)[-1]) if distribution else (0, 0, 0)
    return K8S_CONSTRAINTS.get((major, minor), _LATEST_CONSTRAINT)


@dataclass(frozen=True)
class ControllerHealth:
    name: str
    ready: bool
    reason: str
    images: tuple[str, ...]


@dataclass(frozen=True)
class CheckReport(Rendered):
    """The result of ``flux check``: prerequisites, distribution, controllers, CRDs."""

    kubernetes: str
    constraint: str
    distribution: str
    bootstrapped: bool
    controllers: tuple[ControllerHealth, ...]
    crds: tuple[str, ...]
    #: where the controllers were looked for
    namespace: str

    @property
    def kubernetes_ok(self) -> bool:
        return version_satisfies(self.kubernetes, self.constraint)

    @property
    def ok(self) -> bool:
        return self.kubernetes_ok and bool(self.controllers) and all(c.ready for c in self.controllers)

    def lines(self) -> list[tuple[str, str]]:
        """(level, text) in the order and wording of ``flux check``."""
        out = [("action", "checking prerequisites")]
        if self.kubernetes_ok:
            out.append(("success", f"Kubernetes {self.kubernetes} {self.constraint}"))
        else:
            out.append(("failure", f"Kubernetes version {self.kubernetes} does not match {self.constraint}"))
        out += [
            ("action", "checking version in cluster"),
            (
                "success" if self.distribution else "warning",
                f"distribution: {self.distribution or 'unbekannt'}",
            ),
            ("success", f"bootstrapped: {str(self.bootstrapped).lower()}"),
            ("action", "checking controllers"),
        ]
        if not self.controllers:
            out.append(
                (
                    "failure",
                    f"no controllers found in the '{self.namespace}' namespace with the label "
                    f"selector '{PART_OF_FLUX}'",
                )
            )
        for c in self.controllers:
            state = "deployment ready" if c.ready else f"deployment not ready ({c.reason})"
            out.append(("success" if c.ready else "failure", f"{c.name}: {state}"))
            out += [("action", image) for image in c.images]
        out.append(("action", "checking crds"))
        out += [("success", crd) for crd in self.crds]
        out.append(("success", "all checks passed") if self.ok else ("failure", "check failed"))
        return out

    def __str__(self) -> str:
        return "\n".join(f"{SYMBOLS[level]} {text}" for level, text in self.lines()) + "\n"

    def verdicts(self) -> tuple[Verdict, ...]:
        """The Kubernetes version and each controller as test cases (``flux check``'s own checks)."""
        version = (
            Verdict("Kubernetes-Version", "ok", f"Kubernetes {self.kubernetes} {self.constraint}")
            if self.kubernetes_ok
            else Verdict(
                "Kubernetes-Version",
                "error",
                f"Kubernetes {self.kubernetes} erfüllt nicht {self.constraint}, was Flux voraussetzt.",
            )
        )
        if not self.controllers:
            missing = Verdict(
                "Flux-Controller",
                "error",
                f"Keine Flux-Controller im Namespace '{self.namespace}' "
                f"mit dem Label '{PART_OF_FLUX}' gefunden.",
            )
            return (version, missing)
        controllers = tuple(
            Verdict(f"Flux-Controller {c.name}", "ok", "Deployment bereit")
            if c.ready
            else Verdict(f"Flux-Controller {c.name}", "error", f"Deployment nicht bereit: {c.reason}")
            for c in self.controllers
        )
        return (version, *controllers)

    def _repr_html_(self) -> str:
        styles = {level: color_style(level) if level in TONES else "" for level in SYMBOLS}
        items = "".join(
            f'<div style="{styles[level]}">{SYMBOLS[level]} {escape(text)}</div>'
            for level, text in self.lines()
        )
        return f'<div class="runbook-check" style="font-family:monospace">{items}</div>'


def interpret_check(
    *,
    kubernetes: str,
    gitrepo_crd: Mapping[str, Any] | None,
    deployments: Sequence[Mapping[str, Any]],
    crds: Sequence[Mapping[str, Any]],
    namespace: str | None = None,
) -> CheckReport:
    """Build a :class:`CheckReport` from gathered objects (pure); ``namespace``: where the controllers
    were looked for (the settings' Flux namespace when not given)."""
    labels = ((gitrepo_crd or {}).get("metadata") or {}).get("labels") or {}
    distribution = ""
    if labels.get("app.kubernetes.io/part-of"):
        distribution = f"{labels['app.kubernetes.io/part-of']}-{labels.get('app.kubernetes.io/version', '')}"
    bootstrapped = (
        "kustomize.toolkit.fluxcd.io/name" in labels and "kustomize.toolkit.fluxcd.io/namespace" in labels
    )
    controllers = []
    for dep in sorted(deployments, key=lambda d: d["metadata"]["name"]):
        ready, reason = deployment_status(dep)
        containers = ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        controllers.append(
            ControllerHealth(
                dep["metadata"]["name"], ready, reason, tuple(str(c.get("image", "")) for c in containers)
            )
        )
    crd_lines = []
    for crd in sorted(crds, key=lambda c: c["metadata"]["name"]):
        stored = (crd.get("status") or {}).get("storedVersions") or ["?"]
        crd_lines.append(f"{crd['metadata']['name']}/{stored[-1]}")
    return CheckReport(
        kubernetes,
        constraint_for(distribution),
        distribution,
        bootstrapped,
        tuple(controllers),
        tuple(crd_lines),
        namespace or settings().flux_namespace,
    )


# --- flux check: gather --------------------------------------------------------------------------


def check(*, namespace: str | None = None, client: Cluster | None = None) -> CheckReport:
    """``flux check``: Kubernetes version, Flux distribution, controller Deployments and CRDs (no polling).

    ``namespace`` defaults to the Flux namespace of the settings (``flux check -n``).
    """
    namespace = namespace or settings().flux_namespace
    cluster = default_cluster(client)
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    deployments = api_get(
        cluster,
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        f"die Flux-Controller in '{namespace}'",
        {"labelSelector": PART_OF_FLUX},
    )
    crds = api_get(cluster, crd_path, "die Flux-CRDs", {"labelSelector": PART_OF_FLUX})
    return interpret_check(
        kubernetes=server_version(cluster),
        gitrepo_crd=api_get(
            cluster, f"{crd_path}/gitrepositories.source.toolkit.fluxcd.io", "die GitRepository-CRD"
        ),
        deployments=(deployments or {}).get("items") or [],
        crds=(crds or {}).get("items") or [],
        namespace=namespace,
    )
