"""Any kind the cluster serves, found by API discovery (``kubectl api-resources``), and read raw.

``trace`` starts from any object (a Deployment, a Service, a Certificate, a CRD's object) and walks
owner references whose ``apiVersion``/``kind`` it cannot know in advance; the Flux kinds of
:mod:`runbook_lib.kinds` are not enough. Discovery answers are read once per trace (:class:`Discovery`
caches them) through :func:`runbook_lib.kube.api_get`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook_lib.cluster import Cluster
from runbook_lib.errors import UsageError
from runbook_lib.kube import api_get, closest_names, not_found
from runbook_lib.names import check_name, check_namespace

#: groups looked at first when a kind name is resolved: the kinds people trace most
PREFERRED_GROUPS = ("", "apps", "networking.k8s.io", "batch", "cert-manager.io")


@dataclass(frozen=True)
class Resource:
    """One served resource: where its objects live in the API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{base}{scope}/{self.plural}" + (f"/{name}" if name else "")

    def names(self) -> tuple[str, ...]:
        singular = self.kind.lower()
        return (
            singular,
            self.plural,
            *self.short_names,
            f"{self.plural}.{self.group}",
            f"{singular}.{self.group}",
        )


def resources_of(body: dict[str, Any] | None, group: str, version: str) -> list[Resource]:
    """The top-level resources of an APIResourceList (pure; subresources like ``pods/log`` left out)."""
    out = []
    for item in (body or {}).get("resources") or []:
        if "/" in str(item.get("name", "")):
            continue
        out.append(
            Resource(
                group=group,
                version=version,
                plural=str(item.get("name")),
                kind=str(item.get("kind")),
                namespaced=bool(item.get("namespaced")),
                short_names=tuple(item.get("shortNames") or ()),
            )
        )
    return out


@dataclass
class Discovery:
    """The cluster's served resources, read lazily group by group (a trace needs few of them)."""

    cluster: Cluster
    _versions: dict[str, list[str]] | None = None
    _lists: dict[str, list[Resource]] = field(default_factory=dict)

    def _group_versions(self) -> dict[str, list[str]]:
        """group -> versions, preferred version first (``""`` is the core group)."""
        if self._versions is None:
            versions: dict[str, list[str]] = {"": ["v1"]}
            body = api_get(self.cluster, "/apis", "die API-Gruppen (Discovery)") or {}
            for group in body.get("groups") or []:
                preferred = (group.get("preferredVersion") or {}).get("groupVersion", "")
                listed = [v.get("groupVersion", "") for v in group.get("versions") or []]
                ordered = [preferred, *[v for v in listed if v != preferred]] if preferred else listed
                versions[str(group.get("name"))] = [gv.split("/", 1)[1] for gv in ordered if "/" in gv]
            self._versions = versions
        return self._versions

    def _resources(self, group: str, version: str) -> list[Resource]:
        key = f"{group}/{version}"
        if key not in self._lists:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            self._lists[key] = resources_of(
                api_get(self.cluster, path, f"die Ressourcen von {key}"), group, version
            )
        return self._lists[key]

    def _order(self) -> list[str]:
        groups = list(self._group_versions())
        return [g for g in PREFERRED_GROUPS if g in groups] + [g for g in groups if g not in PREFERRED_GROUPS]

    def by_api_version(self, api_version: str, kind: str) -> Resource | None:
        """The resource of an ``apiVersion``/``kind`` pair (an owner reference)."""
        group, _, version = api_version.rpartition("/")
        return next((r for r in self._resources(group, version) if r.kind == kind), None)

    def resolve(self, name: str) -> Resource:
        """``Deployment``, ``deploy``, ``deployments``, ``certificate.cert-manager.io`` -> the resource
        (preferred version); an unknown name is a UsageError naming the closest kinds."""
        wanted = name.strip().lower()
        if not wanted:
            raise UsageError(
                "Die Art des Objekts ist leer.", "Eine Art angeben, z. B. -p resource Deployment."
            )
        seen: list[str] = []
        for group in self._order():
            versions = self._group_versions()[group]
            if not versions:
                continue
            for res in self._resources(group, versions[0]):
                if wanted in res.names():
                    return res
                seen.append(res.kind)
        raise UsageError(
            f"Die Art '{name}' kennt dieser Cluster nicht.",
            f"{closest_names(name, seen)} Auflisten: `kubectl api-resources`.",
        )

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        check_name(name)
        if res.namespaced and namespace:
            check_namespace(namespace)
        where = f"{namespace}/{name}" if res.namespaced and namespace else name
        body = api_get(self.cluster, res.path(namespace, name), f"{res.kind} {where}")
        return dict(body) if body is not None else None

    def require(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        found = self.get(res, namespace, name)
        if found is not None:
            return found
        listing = api_get(self.cluster, res.path(namespace), f"die {res.kind}-Objekte") or {}
        prefix = f"{namespace}/" if res.namespaced and namespace else ""
        names = [prefix + str((o.get("metadata") or {}).get("name")) for o in listing.get("items") or []]
        scope = f" -n {namespace}" if res.namespaced and namespace else ""
        raise not_found(
            res.kind, name, namespace if res.namespaced else None, names, f"kubectl get {res.plural}{scope}"
        )

    def list(
        self, res: Resource, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict]:
        query = {"labelSelector": label_selector} if label_selector else None
        body = api_get(self.cluster, res.path(namespace), f"die {res.kind}-Objekte", query) or {}
        return list(body.get("items") or [])
