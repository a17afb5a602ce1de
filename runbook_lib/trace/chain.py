"""The cluster part of a trace: owners, the Flux object that manages it, its sources and revisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runbook_lib import kinds
from runbook_lib.cluster import Cluster
from runbook_lib.errors import RunbookError
from runbook_lib.helm import ReleaseDecodeError, decode_release, secret_name
from runbook_lib.kube import get_object, list_objects
from runbook_lib.objects import condition, deployment_status, meta, spec, status
from runbook_lib.status import truncate_hex
from runbook_lib.trace.model import Link
from runbook_lib.trace.resources import Discovery, Resource

KS_LABEL = "kustomize.toolkit.fluxcd.io"
HR_LABEL = "helm.toolkit.fluxcd.io"
HELM_ANNOTATION = "meta.helm.sh"
#: owner references followed at most (Pod -> ReplicaSet -> Deployment needs two)
MAX_OWNERS = 5
#: Kustomizations above a Kustomization followed at most (apps -> flux-system needs one)
MAX_PARENTS = 5
#: further values keys shown beside the best one
MORE_CANDIDATES = 2

Obj = dict[str, Any]
#: where Helm keeps its releases (the storage driver "secret")
SECRET = Resource(group="", version="v1", plural="secrets", kind="Secret", namespaced=True)


def ref_of(obj: Obj) -> str:
    m = meta(obj)
    where = f"{m.get('namespace')}/{m.get('name')}" if m.get("namespace") else str(m.get("name"))
    return f"{obj.get('kind')} {where}"


def ready_text(obj: Obj) -> tuple[str, bool | None]:
    """``bereit`` / the Ready message, and whether it is Ready (None when unknown)."""
    cond = condition(obj, "Ready")
    if spec(obj).get("suspend"):
        return "ausgesetzt", False
    if cond.get("status") == "True":
        return "bereit", True
    if cond.get("status") == "False":
        return f"nicht bereit: {truncate_hex(str(cond.get('message', '')))}", False
    return "in Arbeit" if cond else "ohne Status", None


def sha_of(revision: str) -> str:
    """``main@sha1:abc…`` -> ``abc…`` (the commit), ``""`` for a revision without one."""
    return revision.rpartition(":")[2] if "sha1:" in revision or "sha256:" in revision else ""


@dataclass
class Walk:
    """What the trace collects on its way (mutable while gathering; the result is :class:`Trace`)."""

    cluster: Cluster
    disc: Discovery
    chain: list[Link] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    current: bool | None = None
    current_note: str = ""
    #: the Kustomization that applied the manifest to look up, and the object it defines
    ks: Obj | None = None
    source: Obj | None = None
    #: an owner reference pointed to an object that does not exist
    orphan: bool = False


def _kustomization_by_inventory(cluster: Cluster, obj: Obj, group: str) -> Obj | None:
    m = meta(obj)
    wanted = f"{m.get('namespace') or ''}_{m.get('name')}_{group}_{obj.get('kind')}"
    for ks in list_objects(cluster, kinds.KUSTOMIZATION) or []:
        entries = (status(ks).get("inventory") or {}).get("entries") or []
        if any(e.get("id") == wanted for e in entries):
            return ks
    return None


def _release_name(hr: Obj) -> tuple[str, str]:
    """(release name, release namespace) of a HelmRelease (docs/flux-facts.md, HelmRelease names)."""
    s, m = spec(hr), meta(hr)
    target = s.get("targetNamespace") or ""
    name = s.get("releaseName") or (f"{target}-{m.get('name')}" if target else m.get("name"))
    return str(name), str(target or m.get("namespace"))


def _helmrelease_of_release(cluster: Cluster, release: str, namespace: str) -> Obj | None:
    for hr in list_objects(cluster, kinds.HELM_RELEASE) or []:
        if _release_name(hr) == (release, namespace):
            return hr
    return None


def _source_link(w: Walk, owner: Obj, role: str = "Quelle") -> Obj | None:
    ref = spec(owner).get("sourceRef") or {}
    kind_name = str(ref.get("kind") or "GitRepository")
    try:
        kind = kinds.by_kind(kind_name)
    except RunbookError:
        w.notes.append(f"Quelle der Art {kind_name} wird nicht verfolgt.")
        return None
    ns = ref.get("namespace") or meta(owner).get("namespace")
    source = get_object(w.cluster, kind, ns, str(ref.get("name")))
    if source is None:
        w.chain.append(Link(role, f"{kind_name} {ns}/{ref.get('name')}", "fehlt im Cluster", False))
        return None
    text, ok = ready_text(source)
    revision = str((status(source).get("artifact") or {}).get("revision") or "")
    url = spec(source).get("url")
    detail = " · ".join(p for p in (text, truncate_hex(revision), str(url or "")) if p)
    w.chain.append(Link(role, ref_of(source), detail, ok))
    return source


def _kustomization_links(w: Walk, ks: Obj, role: str) -> None:
    """The Kustomization, its source with the current check, and the Kustomizations above it."""
    text, ok = ready_text(ks)
    applied = str(status(ks).get("lastAppliedRevision") or "")
    w.chain.append(Link(role, ref_of(ks), f"{text} · angewendet: {truncate_hex(applied) or '–'}", ok))
    w.ks = ks
    w.source = _source_link(w, ks)
    artifact = str((status(w.source).get("artifact") or {}).get("revision") or "") if w.source else ""
    if applied and artifact:
        w.current = applied == artifact
        w.current_note = (
            f"Angewendet ist die aktuelle Revision der Quelle ({truncate_hex(applied)})."
            if w.current
            else f"Angewendet ist {truncate_hex(applied)}, die Quelle hat schon {truncate_hex(artifact)}: "
            "Flux hat den neuesten Commit noch nicht angewendet (warum: `runbook run status`; sofort "
            "abgleichen: `runbook run sync`)."
        )
    parent, seen = ks, 0
    while seen < MAX_PARENTS:
        labels = meta(parent).get("labels") or {}
        name, ns = labels.get(f"{KS_LABEL}/name"), labels.get(f"{KS_LABEL}/namespace")
        if not name or (name, ns) == (meta(parent).get("name"), meta(parent).get("namespace")):
            break
        parent = get_object(w.cluster, kinds.KUSTOMIZATION, ns, name) or {}
        if not parent:
            break
        text, ok = ready_text(parent)
        w.chain.append(Link("angewendet von", ref_of(parent), text, ok))
        seen += 1


@dataclass(frozen=True)
class HelmFacts:
    """What the Helm part of the trace found: the values set and the chart's defaults."""

    hr: Obj
    defaults: dict[str, Any]


def _helm_links(w: Walk, hr: Obj) -> HelmFacts:
    text, ok = ready_text(hr)
    history = status(hr).get("history") or []
    deployed = history[0] if history else {}
    chart = f"{deployed.get('chartName')}@{deployed.get('chartVersion')}" if deployed else "–"
    w.chain.append(Link("verwaltet von", ref_of(hr), f"{text} · Chart {chart}", ok))
    chart_ns, _, chart_name = str(status(hr).get("helmChart") or "").partition("/")
    hc = get_object(w.cluster, kinds.HELM_CHART, chart_ns, chart_name) if chart_name else None
    if hc is not None:
        available = str((status(hc).get("artifact") or {}).get("revision") or "")
        htext, hok = ready_text(hc)
        w.chain.append(Link("Chart", ref_of(hc), f"{htext} · Version {available or '–'}", hok))
        _source_link(w, hc, "Chart-Quelle")
        if deployed.get("chartVersion") and available:
            w.current = deployed.get("chartVersion") == available
            w.current_note = (
                f"Installiert ist die aktuelle Chart-Version der Quelle ({available})."
                if w.current
                else f"Installiert ist Chart {deployed.get('chartVersion')}, die Quelle bietet {available}: "
                "die HelmRelease hat die neue Version noch nicht installiert "
                "(runbook run troubleshoot-helmrelease)."
            )
    if spec(hr).get("valuesFrom"):
        w.notes.append(
            "Die HelmRelease liest weitere Werte aus valuesFrom (ConfigMap/Secret): ein Wert kann auch "
            "dort stehen."
        )
    defaults: dict[str, Any] = {}
    if deployed.get("version"):
        storage = spec(hr).get("storageNamespace") or meta(hr).get("namespace")
        try:
            secret = w.disc.get(
                SECRET, str(storage), secret_name(str(deployed.get("name")), int(deployed["version"]))
            )
            release = (
                decode_release(str(((secret or {}).get("data") or {}).get("release") or "")) if secret else {}
            )
            defaults = dict((release.get("chart") or {}).get("values") or {})
        except (ReleaseDecodeError, RunbookError) as exc:
            w.notes.append(
                f"Die Standardwerte des Charts fehlen (Helm-Release-Daten nicht lesbar: {exc.message})."
            )
    labels = meta(hr).get("labels") or {}
    ks_name, ks_ns = labels.get(f"{KS_LABEL}/name"), labels.get(f"{KS_LABEL}/namespace")
    ks = get_object(w.cluster, kinds.KUSTOMIZATION, ks_ns, ks_name) if ks_name else None
    if ks is None:
        ks = _kustomization_by_inventory(w.cluster, hr, kinds.HELM_RELEASE.group)
    if ks is not None:
        _kustomization_links(w, ks, "angewendet von")
    else:
        w.notes.append(f"{ref_of(hr)} wurde nicht von einer Kustomization angewendet (kubectl apply?).")
    return HelmFacts(hr=hr, defaults=defaults)


def _group(obj: Obj) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def _owners(w: Walk, obj: Obj) -> Obj:
    """Follow controller owner references up (Pod -> ReplicaSet -> Deployment) to the first object
    with Flux or Helm markers, or to the top."""
    current = obj
    for _ in range(MAX_OWNERS):
        labels, notes = meta(current).get("labels") or {}, meta(current).get("annotations") or {}
        if (
            any(k.startswith((KS_LABEL, HR_LABEL)) for k in labels)
            or f"{HELM_ANNOTATION}/release-name" in notes
        ):
            return current
        refs = meta(current).get("ownerReferences") or []
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            return current
        res = w.disc.by_api_version(str(ref.get("apiVersion")), str(ref.get("kind")))
        owner = w.disc.get(res, meta(current).get("namespace"), str(ref.get("name"))) if res else None
        if owner is None:
            w.notes.append(f"Der Besitzer {ref.get('kind')} {ref.get('name')} fehlt im Cluster.")
            w.orphan = True
            return current
        owner.setdefault("kind", ref.get("kind"))
        owner.setdefault("apiVersion", ref.get("apiVersion"))
        w.chain.append(Link("Besitzer", ref_of(owner), "ownerReferences (controller)", None))
        current = owner
    return current


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _object_detail(obj: Obj) -> str:
    if obj.get("kind") == "Deployment":
        current, reason = deployment_status(obj)
        return "bereit" if current else reason
    if condition(obj, "Ready"):
        return ready_text(obj)[0]
    return f"angelegt {meta(obj).get('creationTimestamp', '')}".strip()


def _field_managers(obj: Obj) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(str(m.get("manager")) for m in meta(obj).get("managedFields") or [] if m.get("manager"))
    )
