"""Discovery documents of the sandbox API server: /version, /api, /apis and the aggregated form.

Everything here is a pure function of the served :class:`ResourceType` records. kubectl asks for
aggregated discovery (``apidiscovery.k8s.io/v2``) first and falls back to the legacy documents
(``APIVersions``, ``APIGroupList``, ``APIResourceList``) when the answer is plain JSON; both are served.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flux_sandbox.sim.resources import ResourceType

#: the Kubernetes version the sandbox claims to be (a recent release Flux 2.x supports)
VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "34",
    "emulationMajor": "1",
    "emulationMinor": "34",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "33",
    "gitVersion": "v1.34.2",
    "gitCommit": "8cc511e399b929453cd98ae65b419c3cc227ec79",
    "gitTreeState": "clean",
    "buildDate": "2025-11-11T19:10:28Z",
    "goVersion": "go1.24.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_SUB_VERBS = ["get", "patch", "update"]


def version_info() -> dict[str, str]:
    return dict(VERSION_INFO)


def served_versions(rt: ResourceType) -> tuple[str, ...]:
    """The versions a type is served at, preferred (storage) version first."""
    return (rt.version, *rt.extra_versions)


def group_versions(types: Iterable[ResourceType]) -> dict[str, list[str]]:
    """Group name -> versions (preferred first), in the order the types are listed."""
    groups: dict[str, list[str]] = {}
    for rt in types:
        versions = groups.setdefault(rt.group, [])
        for v in served_versions(rt):
            if v not in versions:
                versions.append(v)
    return groups


def _subresources(rt: ResourceType) -> list[tuple[str, str, list[str]]]:
    """(name, kind, verbs) of the subresources of a type."""
    subs = []
    if rt.status_subresource:
        subs.append(("status", rt.kind, _SUB_VERBS))
    if rt.kind == "Pod":
        subs.append(("log", "Pod", ["get"]))
    return subs


def _legacy_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": _VERBS,
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def resource_list(types: Iterable[ResourceType], group: str, version: str) -> dict[str, Any] | None:
    """The legacy ``APIResourceList`` of one group version, None if nothing is served there."""
    resources: list[dict[str, Any]] = []
    for rt in types:
        if rt.group != group or version not in served_versions(rt):
            continue
        resources.append(_legacy_resource(rt))
        for sub, kind, verbs in _subresources(rt):
            resources.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": kind,
                    "verbs": verbs,
                }
            )
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _api_group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(types: Iterable[ResourceType]) -> dict[str, Any]:
    groups = [_api_group(g, vs) for g, vs in group_versions(types).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(types: Iterable[ResourceType], group: str) -> dict[str, Any] | None:
    versions = group_versions(types).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(group, versions)}


def _aggregated_resource(rt: ResourceType, version: str) -> dict[str, Any]:
    kind = {"group": rt.group, "version": version, "kind": rt.kind}
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": kind,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": _VERBS,
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = [
        {"subresource": sub, "responseKind": {**kind, "kind": sub_kind}, "verbs": verbs}
        for sub, sub_kind, verbs in _subresources(rt)
    ]
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(types: Iterable[ResourceType], *, core: bool) -> dict[str, Any]:
    """The ``APIGroupDiscoveryList`` for /api (``core=True``) or /apis."""
    types = list(types)
    items = []
    for group, versions in group_versions(types).items():
        if bool(group) == core:
            continue
        version_docs = []
        for v in versions:
            resources = [
                _aggregated_resource(rt, v) for rt in types if rt.group == group and v in served_versions(rt)
            ]
            version_docs.append({"version": v, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": version_docs})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def wants_aggregated(accept: str) -> bool:
    """True when the Accept header asks for aggregated discovery v2 before plain JSON."""
    for part in accept.split(","):
        params = {
            p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip() for p in part.split(";")[1:] if "=" in p
        }
        if (
            params.get("g") == "apidiscovery.k8s.io"
            and params.get("v") == "v2"
            and params.get("as") == "APIGroupDiscoveryList"
            and "profile" not in params
        ):
            return True
        if part.split(";")[0].strip() in ("application/json", "*/*") and not params:
            return False
    return False


# -- OpenAPI v3 (just enough for kubectl) ------------------------------------------------------------
#
# kubectl create/apply validate by default: when the PATCH operation of a kind lists the query parameter
# ``fieldValidation`` in /openapi/v3, kubectl leaves validation to the server; otherwise it downloads
# the full OpenAPI v2 schema and fails without it. So each group version gets a document with paths and
# their PATCH operations, but no schemas (kubectl then falls back to its built-in types or merge patch).

_QUERY_PARAMS = ("fieldManager", "fieldValidation", "force", "pretty")


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_root(types: Iterable[ResourceType], revision: str) -> dict[str, Any]:
    """The /openapi/v3 index; ``revision`` goes into the hash so clients refetch after a restart."""
    paths = {}
    for group, versions in group_versions(types).items():
        for v in versions:
            gv = _gv_path(group, v)
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={revision}"}
    return {"paths": paths}


def openapi_group_version(types: Iterable[ResourceType], group: str, version: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    for rt in types:
        if rt.group != group or version not in served_versions(rt):
            continue
        base = "/" + _gv_path(group, version) + ("/namespaces/{namespace}" if rt.namespaced else "")
        params = [
            {"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for p in _QUERY_PARAMS
        ]
        gvk = {"group": group, "version": version, "kind": rt.kind}
        for suffix in ("/{name}", "/{name}/status") if rt.status_subresource else ("/{name}",):
            paths[f"{base}/{rt.plural}{suffix}"] = {
                "patch": {
                    "operationId": f"patch{rt.kind}",
                    "parameters": params,
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK"}},
                },
            }
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
