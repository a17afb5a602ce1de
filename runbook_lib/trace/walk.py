"""``trace``: from any object to the Flux object that manages it, its source, and the line in Git.

Gathering follows what the cluster says, in the order ``flux trace`` does (docs/flux-facts.md §3,
"Labels on applied objects"): owner references up to the object that carries the markers, then

- ``helm.toolkit.fluxcd.io/name``/``namespace`` labels (helm-controller's post-renderer) -> the
  HelmRelease; failing those, Helm's ``meta.helm.sh/release-name``/``release-namespace`` annotations ->
  the HelmRelease whose release that is, or Helm without Flux;
- ``kustomize.toolkit.fluxcd.io/name``/``namespace`` labels -> the Kustomization; failing those, a
  Kustomization whose ``status.inventory`` lists the object;
- for a HelmRelease its HelmChart and chart source, and the Kustomization that applied the HelmRelease;
  for a Kustomization its source and the applied revision, and the Kustomizations above it.

The file and line come from :mod:`.locate` (the checkout), the Helm values key from
:func:`.locate.values_candidates` over the HelmRelease's values and the chart's defaults (read from the
newest Helm release Secret).
"""

from __future__ import annotations

from runbook_lib import kinds
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.kube import get_object
from runbook_lib.objects import meta
from runbook_lib.trace.chain import (
    HELM_ANNOTATION,
    HR_LABEL,
    KS_LABEL,
    HelmFacts,
    Walk,
    _field_managers,
    _group,
    _helm_links,
    _helmrelease_of_release,
    _kustomization_by_inventory,
    _kustomization_links,
    _object_detail,
    _owners,
    _text,
    ref_of,
)
from runbook_lib.trace.ingit import _in_git, _with
from runbook_lib.trace.locate import (
    parse_field,
    show_field,
    value_at,
)
from runbook_lib.trace.model import Link, Trace
from runbook_lib.trace.resources import Discovery


def trace(
    kind: str,
    name: str,
    *,
    namespace: str | None = None,
    field: str | None = None,
    repo_path: str | None = ".",
    client: Cluster | None = None,
) -> Trace:
    """Trace ``kind``/``name`` to the Flux object that manages it, its source, and the line in Git.

    ``field`` (``spec.template.spec.containers[0].image``) asks which line sets that field: for an
    object a Kustomization applies, the line in its manifest; for a Helm-managed object, the
    HelmRelease's ``values`` key. ``repo_path`` is the GitOps checkout (``None``: no file lookup).
    """
    segments = parse_field(field) if field else ()
    cluster = default_cluster(client)
    disc = Discovery(cluster)
    res = disc.resolve(kind)
    ns = (namespace or "default") if res.namespaced else None
    obj = disc.require(res, ns, name)
    obj.setdefault("kind", res.kind)
    obj.setdefault("apiVersion", res.api_version)
    w = Walk(cluster=cluster, disc=disc)
    value = value_at(obj, segments) if segments else None
    if segments and value is None:
        w.notes.append(f"Das Feld {show_field(segments)} gibt es an {ref_of(obj)} nicht (Pfad prüfen).")
    w.chain.append(Link("Objekt", ref_of(obj), _object_detail(obj), None))
    top = _owners(w, obj)
    labels, notes = meta(top).get("labels") or {}, meta(top).get("annotations") or {}
    helm: HelmFacts | None = None
    managed = "none"
    if labels.get(f"{HR_LABEL}/name"):
        hr = get_object(
            cluster, kinds.HELM_RELEASE, labels.get(f"{HR_LABEL}/namespace"), labels[f"{HR_LABEL}/name"]
        )
        if hr is not None:
            helm, managed = _helm_links(w, hr), "helmrelease"
    if helm is None and notes.get(f"{HELM_ANNOTATION}/release-name"):
        release = str(notes[f"{HELM_ANNOTATION}/release-name"])
        release_ns = str(notes.get(f"{HELM_ANNOTATION}/release-namespace") or meta(top).get("namespace"))
        hr = _helmrelease_of_release(cluster, release, release_ns)
        if hr is not None:
            helm, managed = _helm_links(w, hr), "helmrelease"
        else:
            managed = "helm"
            w.chain.append(
                Link("verwaltet von", f"Helm-Release {release_ns}/{release}", "ohne HelmRelease", None)
            )
    if managed == "none":
        ks = None
        if labels.get(f"{KS_LABEL}/name"):
            ks = get_object(
                cluster, kinds.KUSTOMIZATION, labels.get(f"{KS_LABEL}/namespace"), labels[f"{KS_LABEL}/name"]
            )
        if ks is None:
            ks = _kustomization_by_inventory(cluster, top, _group(top))
        if ks is not None:
            managed = "kustomization"
            _kustomization_links(w, ks, "verwaltet von")
    if managed == "none" and w.orphan:
        managed = "unknown"
    elif managed == "none":
        w.notes.append(
            "Nicht in Git: eine Änderung daran setzt Flux nicht zurück, und neu anlegen würde es niemand. "
            "Soll Flux es verwalten, das Manifest ins GitOps-Repository legen (runbook run change)."
        )
    managers = () if managed != "none" else _field_managers(obj)
    trace_result = Trace(
        target=ref_of(obj),
        managed=managed,
        field=show_field(segments) if segments else "",
        field_value=_text(value),
        chain=tuple(w.chain),
        current=w.current,
        current_note=w.current_note,
        managers=managers,
    )
    if repo_path is None or managed in ("none", "helm", "unknown"):
        return _with(trace_result, w)
    return _in_git(
        trace_result, w, top=top, obj=obj, segments=segments, value=value, helm=helm, repo_path=repo_path
    )
