"""The rights each runbook needs, as data (pure): the preflight checks them, ``runbook show`` lists
them, and the RBAC roles in ``rbac/`` and the README's rights section are made from them
(``python -m runbook_lib.rbac write``; a unit test fails when the files differ).

A right is a verb on a resource in a namespace. The namespace is a template: ``{namespace}`` is the
runbook's ``namespace`` parameter (``None`` there: all namespaces), ``{flux_namespace}`` the Flux
namespace of the settings, ``None`` all namespaces or a cluster-scoped resource. A ``required`` right
is one the runbook cannot do its job without; without an ``optional`` one it goes on and marks that
part "nicht lesbar (fehlendes Recht: …)". ``when="acting"`` rights are needed only when the runbook
changes something (``dry_run=False``).

The shipped runbooks' rights are :data:`RUNBOOK_RIGHTS`. A team's own runbook declares its rights in
its notebook metadata, ``{"runbook": {"rights": [{"verbs": ["list"], "resources": ["pods"], "group": "",
"namespace": "{namespace}", "optional": true, "purpose": "…"}]}}`` (:func:`from_metadata`).
docs/flux-facts.md §11 says which API calls each Flux operation makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook_lib.errors import UsageError

#: the shipped roles (files ``rbac/<name>.yaml``)
READ = "flux-runbooks-read"
OPERATE = "flux-runbooks-operate"
HELM_HISTORY = "flux-runbooks-helm-history"
ROLES = (READ, OPERATE, HELM_HISTORY)

_SOURCE = "source.toolkit.fluxcd.io"
_KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
_HELM = "helm.toolkit.fluxcd.io"
_NOTIFICATION = "notification.toolkit.fluxcd.io"
_CM = "cert-manager.io"
_ACME = "acme.cert-manager.io"
_SOURCES = ("gitrepositories", "ocirepositories", "helmrepositories", "helmcharts", "buckets")
NS, FLUX_NS, ALL = "{namespace}", "{flux_namespace}", None


@dataclass(frozen=True)
class Right:
    """Some verbs on some resources of one API group in one namespace (template, see module doc)."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    group: str = ""
    namespace: str | None = NS
    optional: bool = False
    #: what the runbook reads or does with it, in German
    purpose: str = ""
    #: the shipped role that grants it
    role: str = READ
    #: "" always; "acting" only when the runbook changes something (``dry_run`` is False)
    when: str = ""

    def checks(self, params: Mapping[str, Any]) -> list[Check]:
        """One :class:`Check` per verb and resource, the namespace filled in from ``params``."""
        if self.when == "acting" and params.get("dry_run", False):
            return []
        ns = resolve_namespace(self.namespace, params)
        return [
            Check(verb, resource, self.group, ns, self.optional, self.purpose, self.role)
            for resource in self.resources
            for verb in self.verbs
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "verbs": list(self.verbs),
            "resources": list(self.resources),
            "group": self.group,
            "namespace": self.namespace,
            "optional": self.optional,
            "purpose": self.purpose,
        }


def resolve_namespace(template: str | None, params: Mapping[str, Any]) -> str | None:
    """The namespace a right is checked in (None: all namespaces / cluster scope)."""
    if template == NS:
        value = params.get("namespace")
        return str(value) if value else None
    if template == FLUX_NS:
        return str(params.get("flux_namespace") or "flux-system")  # the caller passes the settings' one
    return template


@dataclass(frozen=True)
class Check:
    """One verb on one resource in one namespace (None: cluster-wide): what an access review asks."""

    verb: str
    resource: str
    group: str
    namespace: str | None
    optional: bool = False
    purpose: str = ""
    role: str = READ

    @property
    def base(self) -> str:
        return self.resource.partition("/")[0]

    @property
    def subresource(self) -> str:
        return self.resource.partition("/")[2]

    def __str__(self) -> str:
        """``list pods in kube-system``, ``get customresourcedefinitions.apiextensions.k8s.io
        (clusterweit)``: the form :func:`runbook_lib.errors.missing_right` gives a 403 too."""
        name = f"{self.base}.{self.group}" if self.group else self.base
        name += f"/{self.subresource}" if self.subresource else ""
        scope = f"in {self.namespace}" if self.namespace else "(clusterweit)"
        return f"{self.verb} {name} {scope}"

    def scope(self) -> str:
        """Where a rule for it goes, in German."""
        if self.namespace:
            return f"Role im Namespace {self.namespace} (mit RoleBinding) oder ClusterRole"
        return "ClusterRole (mit ClusterRoleBinding)"


def summarize(checks: Iterable[Check]) -> str:
    """``patch/watch helmreleases, kustomizations in kube-system; …``: missing rights in few words."""
    verbs: dict[tuple[str | None, str], set[str]] = {}
    for c in checks:
        verbs.setdefault((c.namespace, c.base + (f"/{c.subresource}" if c.subresource else "")), set()).add(
            c.verb
        )
    merged: dict[tuple[str | None, tuple[str, ...]], list[str]] = {}
    for (namespace, resource), vs in verbs.items():
        merged.setdefault((namespace, tuple(sorted(vs))), []).append(resource)
    return "; ".join(
        f"{'/'.join(vs)} {', '.join(resources)} " + (f"in {ns}" if ns else "(clusterweit)")
        for (ns, vs), resources in merged.items()
    )


def rules_to_add(checks: Iterable[Check]) -> str:
    """The RBAC rules that grant ``checks``, as YAML, one rule per API group, namespace and set of
    verbs (resources with the same missing verbs together), each with where it goes."""
    verbs: dict[tuple[str, str | None, str], dict[str, set[str]]] = {}
    for c in checks:
        verbs.setdefault((c.group, c.namespace, c.role), {}).setdefault(c.resource, set()).add(c.verb)
    out = []
    for (group, namespace, role), by_resource in verbs.items():
        merged: dict[tuple[str, ...], list[str]] = {}
        for resource, missing in by_resource.items():
            merged.setdefault(tuple(sorted(missing)), []).append(resource)
        where = Check("", "", group, namespace).scope() + (f"; enthalten in rbac/{role}.yaml" if role else "")
        for granted, resources in merged.items():
            out.append(
                f"# {where}\n"
                f"- apiGroups: {json.dumps([group])}\n"
                f"  resources: {json.dumps(resources)}\n"
                f"  verbs: {json.dumps(list(granted))}"
            )
    return "\n".join(out)


def _flux(verbs: tuple[str, ...], namespace: str | None, purpose: str, **kw: Any) -> tuple[Right, ...]:
    """The same verbs on the Flux kinds a sync can reconcile (sources, Kustomizations, HelmReleases)."""
    return (
        Right(verbs, _SOURCES, _SOURCE, namespace, purpose=purpose, **kw),
        Right(verbs, ("kustomizations",), _KUSTOMIZE, namespace, purpose=purpose, **kw),
        Right(verbs, ("helmreleases",), _HELM, namespace, purpose=purpose, **kw),
    )


_LIST_FLUX = (
    *_flux(("list",), NS, "Flux-Objekte auflisten (flux get)"),
    Right(
        ("list",), ("receivers", "alerts", "providers"), _NOTIFICATION, NS, purpose="Flux-Objekte auflisten"
    ),
)
_CRDS = Right(
    ("get", "list"),
    ("customresourcedefinitions",),
    "apiextensions.k8s.io",
    ALL,
    purpose="Flux-Version und CRDs (flux check)",
)
_CONTROLLER_LOGS = (
    Right(("list",), ("deployments",), "apps", FLUX_NS, purpose="Flux-Controller finden (flux logs)"),
    Right(("list",), ("pods",), "", FLUX_NS, purpose="Pods der Flux-Controller"),
    Right(("get",), ("pods/log",), "", FLUX_NS, purpose="Logs der Flux-Controller"),
)
_STOPPED_CONTROLLER = Right(
    ("get",),
    ("deployments",),
    "apps",
    FLUX_NS,
    optional=True,
    purpose="bei Zeitüberschreitung: läuft der Controller?",
)
_ROLLOUT = (
    _CRDS,
    *_flux(("get", "list"), ALL, "betroffene Flux-Objekte lesen", when="acting"),
    *_flux(("patch", "watch"), ALL, "Abgleich anstoßen und abwarten", role=OPERATE, when="acting"),
    Right(
        ("get",),
        ("deployments",),
        "apps",
        FLUX_NS,
        optional=True,
        purpose="bei Zeitüberschreitung: läuft der Controller?",
        when="acting",
    ),
)

#: the rights of the shipped runbooks, by runbook name
RUNBOOK_RIGHTS: dict[str, tuple[Right, ...]] = {
    "status": (
        *_LIST_FLUX,
        _CRDS,
        Right(("list",), ("deployments",), "apps", FLUX_NS, purpose="Controller-Deployments (flux check)"),
    ),
    "logs": (
        *_CONTROLLER_LOGS,
        *_flux(("get",), NS, "das Objekt zu den Events", optional=True),
        Right(("list",), ("events",), "", NS, optional=True, purpose="Events des Objekts"),
    ),
    "sync": (
        _CRDS,
        *_flux(("get", "list"), NS, "das Objekt und seine Quelle lesen"),
        *_flux(("patch", "watch"), NS, "Abgleich anstoßen und abwarten", role=OPERATE),
        Right(("list",), ("events",), "", NS, optional=True, purpose="Events des Abgleichs"),
        _STOPPED_CONTROLLER,
    ),
    "change": _ROLLOUT,
    "rollback": (*_flux(("list",), ALL, "Zusammenfassung vor dem Rollback"), *_ROLLOUT),
    "troubleshoot-sync": (
        Right(("get",), ("gitrepositories",), _SOURCE, NS, purpose="die GitRepository"),
        Right(("list",), ("kustomizations",), _KUSTOMIZE, ALL, optional=True, purpose="Kustomizations"),
        *(
            Right(r.verbs, r.resources, r.group, r.namespace, optional=True, purpose=r.purpose)
            for r in _CONTROLLER_LOGS
        ),
    ),
    "troubleshoot-helmrelease": (
        Right(("get",), ("helmreleases",), _HELM, NS, purpose="die HelmRelease"),
        Right(("get",), _SOURCES, _SOURCE, ALL, optional=True, purpose="HelmChart und Chart-Quelle"),
        Right(("list",), ("deployments",), "apps", NS, optional=True, purpose="Deployments der Release"),
        Right(("list",), ("pods",), "", NS, optional=True, purpose="Pods der Release"),
        Right(
            ("list",), ("events",), "", ALL, optional=True, purpose="Events der HelmRelease und des Charts"
        ),
        *(
            Right(r.verbs, r.resources, r.group, r.namespace, optional=True, purpose=r.purpose)
            for r in _CONTROLLER_LOGS
        ),
        Right(
            ("list",),
            ("secrets",),
            "",
            NS,
            optional=True,
            role=HELM_HISTORY,
            purpose="Helm-Historie (Release-Secrets)",
        ),
    ),
    "troubleshoot-certificates": (
        Right(("list",), ("certificates",), _CM, NS, purpose="die Certificates"),
        Right(("list",), ("certificaterequests",), _CM, NS, optional=True, purpose="CertificateRequests"),
        Right(
            ("list",),
            ("orders", "challenges"),
            _ACME,
            NS,
            optional=True,
            purpose="ACME-Orders und -Challenges",
        ),
        Right(("get",), ("issuers",), _CM, ALL, optional=True, purpose="Issuer"),
        Right(("get",), ("clusterissuers",), _CM, ALL, optional=True, purpose="ClusterIssuer"),
        Right(("list",), ("events",), "", ALL, optional=True, purpose="Events der Certificates"),
        Right(
            ("get",),
            ("secrets",),
            "",
            NS,
            optional=True,
            role=HELM_HISTORY,
            purpose="gibt es das Secret des Zertifikats?",
        ),
    ),
    # issue 16: the runbooks beyond the guide
    "trace": (
        _CRDS,
        *_flux(("get", "list"), ALL, "verwaltende Flux-Objekte, Quellen und Revisionen finden"),
        Right(
            ("get",),
            ("replicasets", "deployments"),
            "apps",
            NS,
            optional=True,
            purpose="Besitzer-Kette (ownerReferences) des Objekts",
        ),
        Right(
            ("list",),
            ("secrets",),
            "",
            NS,
            optional=True,
            role=HELM_HISTORY,
            purpose="Standardwerte des Charts (Release-Secret)",
        ),
    ),
    "fleet": (
        *_flux(("list",), ALL, "Flux-Objekte je Cluster (in jedem Kontext)"),
        _CRDS,
    ),
    "watch": (
        *_flux(("list", "watch"), NS, "Flux-Objekte beobachten"),
        Right(("list", "watch"), ("events",), "", NS, purpose="Events der Flux-Objekte"),
        Right(
            ("list",),
            ("alerts", "providers"),
            _NOTIFICATION,
            ALL,
            optional=True,
            purpose="Wer würde benachrichtigt? (Alerts und Provider)",
        ),
    ),
    "audit": (
        *_LIST_FLUX,
        Right(
            ("list",),
            ("deployments", "statefulsets", "daemonsets"),
            "apps",
            NS,
            purpose="Workloads: Limits, Requests und Images",
        ),
    ),
    "preview": (
        *_flux(("get", "list"), ALL, "Flux-Objekte, die der Branch berührt"),
        *_ROLLOUT,
    ),
}


def from_metadata(settings: Mapping[str, Any]) -> tuple[Right, ...] | None:
    """The rights a notebook declares in ``metadata.runbook.rights``; None when it declares none.

    A declaration that is not a list of rights is a UsageError naming the problem.
    """
    raw = settings.get("rights")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise UsageError(
            "metadata.runbook.rights ist keine Liste.",
            'Jedes Recht als Objekt angeben: {"verbs": ["list"], "resources": ["pods"], "group": "", '
            '"namespace": "{namespace}", "optional": true}.',
        )
    out = []
    for item in raw:
        try:
            out.append(
                Right(
                    verbs=tuple(str(v) for v in item["verbs"]),
                    resources=tuple(str(r) for r in item["resources"]),
                    group=str(item.get("group", "")),
                    namespace=item.get("namespace"),
                    optional=bool(item.get("optional", False)),
                    purpose=str(item.get("purpose", "")),
                    role=str(item.get("role", "")),
                    when=str(item.get("when", "")),
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise UsageError(
                f"Ein Recht in metadata.runbook.rights ist unvollständig: {item!r}.",
                "Jedes Recht braucht mindestens verbs und resources (Listen).",
            ) from exc
    return tuple(out)


def rights_of(name: str, settings: Mapping[str, Any] | None = None) -> tuple[Right, ...] | None:
    """The rights of runbook ``name``: its notebook's declaration first, else the shipped table."""
    declared = from_metadata(settings or {})
    return declared if declared is not None else RUNBOOK_RIGHTS.get(name)


def describe(rights: Iterable[Right]) -> list[list[str]]:
    """Rows for ``runbook show``: VERBEN, RESSOURCEN, API-GRUPPE, NAMESPACE, PFLICHT, WOFÜR."""
    rows = []
    for r in rights:
        ns = {NS: "Parameter namespace", FLUX_NS: "Flux-Namespace", ALL: "alle"}.get(
            r.namespace, r.namespace or ""
        )
        need = "optional" if r.optional else ("beim Ändern" if r.when == "acting" else "ja")
        rows.append([", ".join(r.verbs), ", ".join(r.resources), r.group or "(core)", ns, need, r.purpose])
    return rows


#: the headers of :func:`describe`
DESCRIBE_HEADERS = ["VERBEN", "RESSOURCEN", "API-GRUPPE", "NAMESPACE", "PFLICHT", "WOFÜR"]


# --- the roles ---------------------------------------------------------------------------------------


def role_rules(role: str) -> list[dict[str, list[str]]]:
    """The RBAC rules of a shipped role: every right of every runbook that role grants (operate also
    grants read's), verbs merged per resource, resources with the same verbs in one rule."""
    grants = {READ: {READ}, OPERATE: {READ, OPERATE}, HELM_HISTORY: {HELM_HISTORY}}[role]
    verbs: dict[tuple[str, str], set[str]] = {}
    for rights in RUNBOOK_RIGHTS.values():
        for r in rights:
            if r.role in grants:
                for res in r.resources:
                    verbs.setdefault((r.group, res), set()).update(r.verbs)
    if role == HELM_HISTORY:  # the Helm CLI reads single releases too (helm history, helm get)
        verbs[("", "secrets")] |= {"get", "list"}
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, res), vs in sorted(verbs.items()):
        merged.setdefault((group, tuple(sorted(vs))), []).append(res)
    return [
        {"apiGroups": [group], "resources": resources, "verbs": list(vs)}
        for (group, vs), resources in sorted(merged.items())
    ]


def grants(rules: Sequence[Mapping[str, Sequence[str]]], check: Check) -> bool:
    """Whether RBAC ``rules`` (of a ClusterRole bound cluster-wide) grant ``check`` (pure)."""

    def has(values: Sequence[str], value: str) -> bool:
        return value in values or "*" in values

    return any(
        has(rule.get("apiGroups", ()), check.group)
        and has(rule.get("resources", ()), check.resource)
        and has(rule.get("verbs", ()), check.verb)
        for rule in rules
    )
