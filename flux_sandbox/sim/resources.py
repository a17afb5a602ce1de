"""The resource types the sandbox API server serves, as data.

Core and apps types are listed here; every Flux and cert-manager custom resource comes from
:mod:`runbook_lib.kinds` and, where the claimed release has its CRD (:mod:`flux_sandbox.sim.schema`),
takes the CRD's served versions, short names, categories and printer columns (docs/flux-facts.md §1,
§10 and §15). Kinds the release serves that the library does not know (ExternalArtifact) are served
too.
"""

from __future__ import annotations

from dataclasses import dataclass

from flux_sandbox.sim.schema import Crd, crds
from runbook_lib.kinds import ALL_KINDS, FluxKind


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    json_path: str
    priority: int = 0
    description: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    #: has a /status subresource; writes to the main resource then leave status alone
    status_subresource: bool = True
    #: spec changes bump metadata.generation
    generation: bool = True
    categories: tuple[str, ...] = ()
    #: also served at these older versions (same storage)
    extra_versions: tuple[str, ...] = ()
    #: priority of the Name column in tables (1 = only with `-o wide`, as the API server does for Events)
    name_priority: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def custom(self) -> bool:
        return "." in self.group and not self.group.endswith("k8s.io")


AGE = Column("Age", "date", ".metadata.creationTimestamp")
READY = Column("Ready", "string", '.status.conditions[?(@.type=="Ready")].status')
STATUS = Column("Status", "string", '.status.conditions[?(@.type=="Ready")].message')

CORE_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        ("ns",),
        (Column("Status", "string", ".status.phase"), AGE),
        status_subresource=True,
        generation=False,
    ),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        (Column("Status", "string", ".status.phase"), Column("Node", "string", ".spec.nodeName", 1), AGE),
        generation=False,
        categories=("all",),
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        True,
        ("svc",),
        (Column("Type", "string", ".spec.type"), Column("Cluster-IP", "string", ".spec.clusterIP"), AGE),
        generation=False,
        categories=("all",),
    ),
    ResourceType(
        "",
        "v1",
        "Secret",
        "secrets",
        True,
        (),
        (Column("Type", "string", ".type"), AGE),
        status_subresource=False,
        generation=False,
    ),
    ResourceType(
        "", "v1", "ConfigMap", "configmaps", True, ("cm",), (AGE,), status_subresource=False, generation=False
    ),
    ResourceType(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        True,
        ("sa",),
        (AGE,),
        status_subresource=False,
        generation=False,
    ),
    ResourceType(
        "",
        "v1",
        "Event",
        "events",
        True,
        ("ev",),
        (
            Column("Last Seen", "date", ".lastTimestamp"),
            Column("Type", "string", ".type"),
            Column("Reason", "string", ".reason"),
            Column("Object", "string", ".involvedObject.name"),
            Column("Message", "string", ".message"),
        ),
        status_subresource=False,
        generation=False,
        name_priority=1,
    ),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        ("deploy",),
        (
            Column("Ready", "integer", ".status.readyReplicas"),
            Column("Up-to-date", "integer", ".status.updatedReplicas"),
            Column("Available", "integer", ".status.availableReplicas"),
            AGE,
        ),
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        True,
        ("rs",),
        (AGE,),
        categories=("all",),
    ),
    # served like on every cluster, empty in the sandbox (audit and its page list them)
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        True,
        ("sts",),
        (Column("Ready", "string", ".status.readyReplicas"), AGE),
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        True,
        ("ds",),
        (
            Column("Desired", "integer", ".status.desiredNumberScheduled"),
            Column("Current", "integer", ".status.currentNumberScheduled"),
            Column("Ready", "integer", ".status.numberReady"),
            AGE,
        ),
        categories=("all",),
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        (Column("Created At", "date", ".metadata.creationTimestamp"),),
        generation=True,
    ),
)


def _columns(kind: FluxKind) -> tuple[Column, ...]:
    """Printer columns of a kind without CRD data (the notification kinds: Age, Ready, Status)."""
    del kind
    return (AGE, READY, STATUS)


def _crd_columns(crd: Crd) -> tuple[Column, ...]:
    return tuple(
        Column(c["name"], c["type"], c["jsonPath"], c.get("priority", 0)) for c in crd.storage.columns
    )


def _from_crd(crd: Crd) -> ResourceType:
    return ResourceType(
        group=crd.group,
        version=crd.storage.name,
        kind=crd.kind,
        plural=crd.plural,
        namespaced=crd.namespaced,
        short_names=crd.short_names,
        columns=_crd_columns(crd),
        categories=crd.categories,
        extra_versions=crd.served[1:],
    )


def _from_kind(kind: FluxKind) -> ResourceType:
    crd = crds().get((kind.group, kind.plural))
    if crd is not None:
        return _from_crd(crd)
    return ResourceType(
        group=kind.group,
        version=kind.version,
        kind=kind.kind,
        plural=kind.plural,
        namespaced=kind.namespaced,
        short_names=tuple(
            a for a in kind.aliases if a not in ("git", "oci", "helm", "chart", "bucket", "alert-provider")
        ),
        columns=_columns(kind),
        categories=("all",) if kind.is_flux else ("cert-manager",),
        extra_versions=kind.versions[1:],
    )


def _unknown_to_library() -> tuple[ResourceType, ...]:
    known = {(k.group, k.plural) for k in ALL_KINDS}
    return tuple(_from_crd(c) for key, c in sorted(crds().items()) if key not in known)


CUSTOM_TYPES: tuple[ResourceType, ...] = tuple(_from_kind(k) for k in ALL_KINDS) + _unknown_to_library()
ALL_TYPES: tuple[ResourceType, ...] = CORE_TYPES + CUSTOM_TYPES


def by_kind(kind: str) -> ResourceType:
    for rt in ALL_TYPES:
        if rt.kind == kind:
            return rt
    raise KeyError(kind)
