"""Kinds as data: one record per custom resource kind, generic code everywhere else.

Versions follow ``reference/flux-behaviour.md`` section 1: the storage versions of Flux 2.4-2.9
(source v1, kustomize v1, helm v2, notification v1/v1beta3, image v1). ``versions`` lists what a
client may fall back to, newest first (OCIRepository is v1beta2 on Flux 2.4/2.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class FluxKind:
    """A Kubernetes custom resource kind the runbooks read or change."""

    kind: str
    plural: str
    group: str
    versions: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    #: "source", "kustomize", "helm", "notification", "image" or "cert-manager"
    family: str = "source"
    namespaced: bool = True
    #: the controller that reconciles it (Deployment name in flux-system)
    controller: str = ""
    #: ``flux get sources <sub>`` subcommand, for sources
    source_sub: str = ""

    @property
    def version(self) -> str:
        return self.versions[0]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def human(self) -> str:
        """Lower-case kind as the flux CLI prints it (``kustomization``)."""
        return self.kind.lower()

    @property
    def is_flux(self) -> bool:
        return self.group.endswith("toolkit.fluxcd.io")

    @property
    def is_source(self) -> bool:
        return self.family == "source"

    def names(self) -> tuple[str, ...]:
        return (self.kind.lower(), self.plural, *self.aliases)


_SRC = "source.toolkit.fluxcd.io"
_SC = "source-controller"

FLUX_KINDS: tuple[FluxKind, ...] = (
    FluxKind(
        "GitRepository", "gitrepositories", _SRC, ("v1",), ("gitrepo", "git"), "source", True, _SC, "git"
    ),
    FluxKind(
        "OCIRepository",
        "ocirepositories",
        _SRC,
        ("v1", "v1beta2"),
        ("ocirepo", "oci"),
        "source",
        True,
        _SC,
        "oci",
    ),
    FluxKind(
        "HelmRepository", "helmrepositories", _SRC, ("v1",), ("helmrepo", "helm"), "source", True, _SC, "helm"
    ),
    FluxKind("HelmChart", "helmcharts", _SRC, ("v1",), ("hc", "chart"), "source", True, _SC, "chart"),
    FluxKind("Bucket", "buckets", _SRC, ("v1",), ("bucket",), "source", True, _SC, "bucket"),
    FluxKind(
        "Kustomization",
        "kustomizations",
        "kustomize.toolkit.fluxcd.io",
        ("v1",),
        ("ks",),
        "kustomize",
        True,
        "kustomize-controller",
    ),
    FluxKind(
        "HelmRelease",
        "helmreleases",
        "helm.toolkit.fluxcd.io",
        ("v2",),
        ("hr",),
        "helm",
        True,
        "helm-controller",
    ),
    FluxKind(
        "Receiver",
        "receivers",
        "notification.toolkit.fluxcd.io",
        ("v1",),
        (),
        "notification",
        True,
        "notification-controller",
    ),
    FluxKind(
        "Alert",
        "alerts",
        "notification.toolkit.fluxcd.io",
        ("v1beta3",),
        (),
        "notification",
        True,
        "notification-controller",
    ),
    FluxKind(
        "Provider",
        "providers",
        "notification.toolkit.fluxcd.io",
        ("v1beta3",),
        ("alert-provider",),
        "notification",
        True,
        "notification-controller",
    ),
)

_CM = "cert-manager.io"
CERT_KINDS: tuple[FluxKind, ...] = (
    FluxKind(
        "Certificate", "certificates", _CM, ("v1",), ("cert", "certs"), "cert-manager", True, "cert-manager"
    ),
    FluxKind(
        "CertificateRequest",
        "certificaterequests",
        _CM,
        ("v1",),
        ("cr", "crs"),
        "cert-manager",
        True,
        "cert-manager",
    ),
    FluxKind("Issuer", "issuers", _CM, ("v1",), ("iss",), "cert-manager", True, "cert-manager"),
    FluxKind(
        "ClusterIssuer", "clusterissuers", _CM, ("v1",), ("ciss",), "cert-manager", False, "cert-manager"
    ),
    FluxKind("Order", "orders", "acme.cert-manager.io", ("v1",), (), "cert-manager", True, "cert-manager"),
    FluxKind(
        "Challenge", "challenges", "acme.cert-manager.io", ("v1",), (), "cert-manager", True, "cert-manager"
    ),
)

ALL_KINDS = FLUX_KINDS + CERT_KINDS

GIT_REPOSITORY, OCI_REPOSITORY, HELM_REPOSITORY, HELM_CHART, BUCKET = FLUX_KINDS[:5]
KUSTOMIZATION, HELM_RELEASE = FLUX_KINDS[5], FLUX_KINDS[6]
SOURCE_KINDS = FLUX_KINDS[:5]

#: the order of ``flux get all`` (reference section 3)
GET_ALL_ORDER = (
    "OCIRepository",
    "Bucket",
    "GitRepository",
    "HelmRepository",
    "HelmChart",
    "HelmRelease",
    "Kustomization",
    "Receiver",
    "Provider",
    "Alert",
)


def by_kind(kind: str) -> FluxKind:
    """The record for an exact kind name (``HelmRelease``)."""
    for k in ALL_KINDS:
        if k.kind == kind:
            return k
    raise UsageError(f"Unbekannte Art '{kind}'.", f"Bekannte Arten: {', '.join(k.kind for k in ALL_KINDS)}.")


def resolve(name: str, *, choices: tuple[FluxKind, ...] = FLUX_KINDS) -> FluxKind:
    """Resolve what a user typed (``ks``, ``hr``, ``gitrepo``, ``HelmRelease``, ``helmreleases``)."""
    wanted = name.strip().lower()
    for k in choices:
        if wanted in k.names():
            return k
    import difflib

    every = sorted({n for k in choices for n in (k.kind.lower(), *k.aliases)})
    close = difflib.get_close_matches(wanted, every, n=3, cutoff=0.5)
    hint = f"Meinten Sie: {', '.join(close)}? " if close else ""
    raise UsageError(
        f"Unbekannte Art '{name}'.",
        f"{hint}Erlaubt sind: {', '.join(every)}.",
    )
