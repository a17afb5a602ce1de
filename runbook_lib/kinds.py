"""Kinds as data: one record per custom resource kind, generic code everywhere else.

Versions are the storage versions of Flux 2.4-2.9 (source v1, kustomize v1, helm v2, notification
v1/v1beta3, image v1; see docs/flux-facts.md). ``versions`` lists what a
client may fall back to, newest first (OCIRepository is v1beta2 on Flux 2.4/2.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.errors import UsageError


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
    #: the controller that reconciles it (its Deployment name in the Flux namespace)
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


@dataclass(frozen=True)
class ObjectRef:
    """One object: its kind, namespace and name; prints as errors and summaries name objects
    (``HelmRelease kube-system/kite``; cluster-scoped objects without the slash)."""

    kind: FluxKind
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind.kind} {self.namespace}/{self.name}"
        return f"{self.kind.kind} {self.name}"


_SRC = "source.toolkit.fluxcd.io"
_CM = "cert-manager.io"


def _source(
    kind: str, plural: str, aliases: tuple[str, ...], sub: str, versions: tuple[str, ...] = ("v1",)
) -> FluxKind:
    return FluxKind(
        kind=kind,
        plural=plural,
        group=_SRC,
        versions=versions,
        aliases=aliases,
        family="source",
        controller="source-controller",
        source_sub=sub,
    )


def _cert_manager(
    kind: str, plural: str, aliases: tuple[str, ...] = (), *, group: str = _CM, namespaced: bool = True
) -> FluxKind:
    return FluxKind(
        kind=kind,
        plural=plural,
        group=group,
        versions=("v1",),
        aliases=aliases,
        family="cert-manager",
        namespaced=namespaced,
        controller="cert-manager",
    )


def _notification(kind: str, plural: str, version: str, aliases: tuple[str, ...] = ()) -> FluxKind:
    return FluxKind(
        kind=kind,
        plural=plural,
        group="notification.toolkit.fluxcd.io",
        versions=(version,),
        aliases=aliases,
        family="notification",
        controller="notification-controller",
    )


GIT_REPOSITORY = _source("GitRepository", "gitrepositories", ("gitrepo", "git"), "git")
#: v1beta2 on Flux 2.4/2.5, v1 since Flux 2.6
OCI_REPOSITORY = _source("OCIRepository", "ocirepositories", ("ocirepo", "oci"), "oci", ("v1", "v1beta2"))
#: no alias "helm": it would as well mean HelmRelease or HelmChart (see :func:`resolve`)
HELM_REPOSITORY = _source("HelmRepository", "helmrepositories", ("helmrepo",), "helm")
HELM_CHART = _source("HelmChart", "helmcharts", ("hc", "chart"), "chart")
BUCKET = _source("Bucket", "buckets", ("bucket",), "bucket")
KUSTOMIZATION = FluxKind(
    kind="Kustomization",
    plural="kustomizations",
    group="kustomize.toolkit.fluxcd.io",
    versions=("v1",),
    aliases=("ks",),
    family="kustomize",
    controller="kustomize-controller",
)
HELM_RELEASE = FluxKind(
    kind="HelmRelease",
    plural="helmreleases",
    group="helm.toolkit.fluxcd.io",
    versions=("v2",),
    aliases=("hr",),
    family="helm",
    controller="helm-controller",
)

FLUX_KINDS: tuple[FluxKind, ...] = (
    GIT_REPOSITORY,
    OCI_REPOSITORY,
    HELM_REPOSITORY,
    HELM_CHART,
    BUCKET,
    KUSTOMIZATION,
    HELM_RELEASE,
    _notification("Receiver", "receivers", "v1"),
    _notification("Alert", "alerts", "v1beta3"),
    _notification("Provider", "providers", "v1beta3", ("alert-provider",)),
)

CERT_KINDS: tuple[FluxKind, ...] = (
    _cert_manager("Certificate", "certificates", ("cert", "certs")),
    _cert_manager("CertificateRequest", "certificaterequests", ("cr", "crs")),
    _cert_manager("Issuer", "issuers", ("iss",)),
    _cert_manager("ClusterIssuer", "clusterissuers", ("ciss",), namespaced=False),
    _cert_manager("Order", "orders", group="acme.cert-manager.io"),
    _cert_manager("Challenge", "challenges", group="acme.cert-manager.io"),
)

ALL_KINDS = FLUX_KINDS + CERT_KINDS

#: the order of ``flux get all`` (docs/flux-facts.md §3)
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
    """Resolve what a user typed (``ks``, ``hr``, ``gitrepo``, ``HelmRelease``, ``helmreleases``).

    A word that starts several kinds' names (``helm``: HelmRelease, HelmRepository, HelmChart) is
    ambiguous and refused with the candidates, never guessed.
    """
    wanted = name.strip().lower()
    for k in choices:
        if wanted in k.names():
            return k
    starting = [k for k in choices if len(wanted) >= 3 and any(n.startswith(wanted) for n in k.names())]
    starting.sort(key=lambda k: k.is_source)  # the object people work on (HelmRelease) before its sources
    if len(starting) > 1:
        listed = ", ".join(f"{k.kind} ({k.aliases[0] if k.aliases else k.kind.lower()})" for k in starting)
        first = starting[0]
        raise UsageError(
            f"Die Art '{name}' ist mehrdeutig: gemeint sein können {listed}.",
            f"Eine davon angeben, z. B. `-p kind {first.aliases[0] if first.aliases else first.kind}`.",
        )
    import difflib

    every = sorted({n for k in choices for n in (k.kind.lower(), *k.aliases)})
    close = [k.kind.lower() for k in starting] or difflib.get_close_matches(wanted, every, n=3, cutoff=0.5)
    hint = f"Meinten Sie: {', '.join(close)}? " if close else ""
    raise UsageError(
        f"Unbekannte Art '{name}'.",
        f"{hint}Erlaubt sind: {', '.join(every)}.",
    )
