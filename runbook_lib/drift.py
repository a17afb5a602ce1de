"""What the cluster would do with manifests: a server-side dry run of each object, diffed against the live
object, like ``flux diff kustomization``.

Each desired object is sent as server-side apply (``PATCH`` with ``application/apply-patch+yaml``, field
manager ``kustomize-controller``, ``force=true``: what kustomize-controller sends, docs/flux-facts.md §17)
with ``dryRun=All``. The answer is the object as the server would store it (defaults, admission,
merging with other managers' fields); the diff against the live object ignores what changes on every
write (``managedFields``, ``resourceVersion``, ``generation``, ``uid``, timestamps, ``status``) and masks
Secret data. Objects of the inventory that are no longer rendered would be pruned.

**Safety.** A dry run must never write. Before the first object a throwaway ConfigMap is dry-run created
(:func:`_probe`): a server that refuses ``dryRun`` (400) or that ignored it (the ConfigMap exists
afterwards; it is deleted again) is reported as "kann keinen Probelauf" and nothing else is sent.
After every object the live object is read again: a changed ``resourceVersion`` (or an object that now
exists) means the server wrote, and :class:`DryRunWrote` stops at once.
"""

from __future__ import annotations

import copy
import difflib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import yaml

from runbook_lib.cluster import Cluster
from runbook_lib.errors import ClusterUnreachable, Forbidden, NotFound, RunbookError
from runbook_lib.kube import api_get, api_send
from runbook_lib.masking import mask
from runbook_lib.report import Rendered, color_style, html_table, plural, text_table

Obj = dict[str, Any]

#: the field manager of kustomize-controller's apply (flux diff uses the same)
FIELD_MANAGER = "kustomize-controller"
APPLY_PATCH = "application/apply-patch+yaml"
#: metadata that changes on every write or is the server's bookkeeping, not the object's content
_VOLATILE_META = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
_VOLATILE_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)
#: actions, in the order a result lists them
CREATED, CHANGED, UNCHANGED, PRUNED, REFUSED = "neu", "geändert", "unverändert", "würde gelöscht", "abgelehnt"
_ORDER = (REFUSED, CREATED, CHANGED, PRUNED, UNCHANGED)
_SYMBOLS = {CREATED: "+", CHANGED: "~", UNCHANGED: "=", PRUNED: "-", REFUSED: "✗"}


class DryRunWrote(RunbookError):
    """The API server changed an object although the request said ``dryRun=All``."""


@dataclass(frozen=True)
class ObjectDiff:
    """One object: what the apply would do, and the diff (live -> result) as unified text."""

    ref: str
    action: str
    diff: str = ""
    message: str = ""


@dataclass(frozen=True)
class DryRunDiff(Rendered):
    """The dry run of a set of objects; ``supported`` False says why the server could not be asked, and
    ``fallback`` is then what Git shows instead."""

    objects: tuple[ObjectDiff, ...] = ()
    supported: bool = True
    reason: str = ""
    fallback: str = ""
    #: notes on how the objects were rendered (e.g. kustomize patches not applied)
    notes: tuple[str, ...] = field(default=())
    title: str = "Probelauf auf dem Cluster (server-side dry run)"

    def count(self, action: str) -> int:
        return sum(o.action == action for o in self.objects)

    @property
    def changes(self) -> tuple[ObjectDiff, ...]:
        return tuple(o for o in self.objects if o.action != UNCHANGED)

    def headline(self) -> str:
        if not self.supported:
            return f"⚠ Kein Probelauf auf dem Cluster möglich: {self.reason}"
        if not self.objects:
            return "✔ Keine Objekte betroffen."
        parts = [f"{self.count(a)} {a}" for a in _ORDER if self.count(a)]
        mark = "✗" if self.count(REFUSED) else "✔"
        return f"{mark} {plural(len(self.objects), 'Objekt', 'Objekte')}: {', '.join(parts)}"

    def _rows(self) -> list[list[str]]:
        return [[_SYMBOLS[o.action], o.ref, o.action, o.message] for o in self.objects]

    def __str__(self) -> str:
        out = [f"{self.title}:", self.headline(), *[f"  {n}" for n in self.notes]]
        if not self.supported:
            if self.fallback:
                out += ["Stattdessen der Diff in Git:", self.fallback.rstrip("\n")]
            return "\n".join(out) + "\n"
        if self.objects:
            out += ["", text_table(["", "OBJEKT", "AKTION", "MELDUNG"], self._rows())]
        for o in self.changes:
            if o.diff:
                out += ["", f"--- {o.ref} ({o.action})", o.diff.rstrip("\n")]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        tone = "warning" if not self.supported else "failure" if self.count(REFUSED) else "success"
        head = f"<p><b>{escape(self.title)}</b></p>"
        head += f'<p style="{color_style(tone)};font-weight:bold">{escape(self.headline())}</p>'
        head += "".join(f"<p><i>{escape(n)}</i></p>" for n in self.notes)
        if not self.supported:
            fb = (
                f"<p>Stattdessen der Diff in Git:</p><pre>{escape(self.fallback)}</pre>"
                if self.fallback
                else ""
            )
            return head + fb
        marks = [
            "failing" if o.action == REFUSED else "suspended" if o.action == PRUNED else ""
            for o in self.objects
        ]
        table = (
            html_table(["", "OBJEKT", "AKTION", "MELDUNG"], self._rows(), row_classes=marks)
            if self.objects
            else ""
        )
        diffs = "".join(
            f"<p><code>{escape(o.ref)}</code> ({escape(o.action)})</p><pre>{escape(o.diff)}</pre>"
            for o in self.changes
            if o.diff
        )
        return head + table + diffs


# --- pure: cleaning and diffing -----------------------------------------------------------------------


def ref_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {ns}{meta.get('name', '?')}"


def comparable(
    obj: Mapping[str, Any] | None, other: Mapping[str, Any] | None = None, *, masked: bool = True
) -> Obj:
    """The object without what changes on every write, with Secret values masked (pure): a value shows as
    ``****``, or ``**** (geändert)`` where it differs from ``other``'s value of the same key, so a diff
    shows that a value changes but never the value (no hash either: it could be guessed offline)."""
    if not obj:
        return {}
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _VOLATILE_META:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in _VOLATILE_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        meta.pop("annotations", None)
    if masked and out.get("kind") == "Secret":
        for part in ("data", "stringData"):
            theirs = (other or {}).get(part) or {}
            if isinstance(out.get(part), dict):
                out[part] = {
                    k: "****" if other is None or theirs.get(k) == v else "**** (geändert)"
                    for k, v in out[part].items()
                }
    return out


def object_diff(ref: str, live: Mapping[str, Any] | None, result: Mapping[str, Any] | None) -> str:
    """Unified diff of the two objects as YAML (keys sorted), masked (pure)."""
    old = yaml.safe_dump(comparable(live), sort_keys=True, allow_unicode=True) if live else ""
    new = yaml.safe_dump(comparable(result, live), sort_keys=True, allow_unicode=True) if result else ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"live: {ref}" if live else "/dev/null",
        tofile=f"nach dem Apply: {ref}" if result else "/dev/null",
    )
    return mask("".join(lines))


# --- gather: the server -------------------------------------------------------------------------------


@dataclass
class _Resources:
    """Discovery of the API paths of kinds (one GET per group version, cached for one dry run)."""

    cluster: Cluster
    found: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)

    def path(self, obj: Mapping[str, Any], *, name: bool = True) -> str:
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj.get("kind", ""))
        if api_version not in self.found:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            body = api_get(self.cluster, base, f"die API {api_version}") or {}
            self.found[api_version] = {
                r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in body.get("resources") or []
                if "/" not in r.get("name", "")
            }
        known = self.found[api_version]
        if kind not in known:
            raise NotFound(
                f"Der Cluster kennt {kind} ({api_version}) nicht.",
                "Ist die CRD installiert? `kubectl api-resources` listet, was der Cluster kennt.",
            )
        plural, namespaced = known[kind]
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        meta = obj.get("metadata") or {}
        scope = f"/namespaces/{meta.get('namespace') or 'default'}" if namespaced else ""
        return f"{base}{scope}/{plural}" + (f"/{meta.get('name')}" if name else "")


def _probe(cluster: Cluster, namespace: str) -> str:
    """ "" when the server honours ``dryRun=All``, else the German reason it cannot be used."""
    name = f"runbook-dryrun-probe-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    try:
        api_send(cluster, "POST", path, "dem Probelauf", body, query={"dryRun": "All"}, idempotent=True)
    except ClusterUnreachable:
        raise
    except Forbidden as exc:  # a dry run needs the rights of the write it tries (docs/flux-facts.md §17)
        return f"dafür fehlt ein Recht ({exc.message})"
    except RunbookError as exc:
        return f"der API-Server lehnt `dryRun=All` ab ({exc.message})"
    if api_get(cluster, f"{path}/{name}", "dem Probelauf") is not None:
        api_send(cluster, "DELETE", f"{path}/{name}", "dem Probelauf", None)
        return "der API-Server hat `dryRun=All` ignoriert und geschrieben (Test-ConfigMap wieder gelöscht)"
    return ""


def dry_run(
    desired: Iterable[Mapping[str, Any]],
    *,
    client: Cluster,
    prune: Iterable[Mapping[str, Any]] = (),
    fallback: str = "",
    notes: tuple[str, ...] = (),
    title: str = DryRunDiff.title,
) -> DryRunDiff:
    """Server-side dry run of each ``desired`` object; ``prune`` are live objects that would be deleted
    (inventory entries no longer rendered). ``fallback`` (a Git diff) is shown when the server cannot
    dry-run."""
    objects = [dict(o) for o in desired]
    reason = _probe(client, _some_namespace(objects)) if objects else ""
    if reason:
        return DryRunDiff(supported=False, reason=reason, fallback=fallback, notes=notes, title=title)
    resources = _Resources(client)
    results = [_one(client, resources, obj) for obj in objects]
    results += [ObjectDiff(ref_of(o), PRUNED, object_diff(ref_of(o), o, None)) for o in prune]
    results.sort(key=lambda d: _ORDER.index(d.action))
    return DryRunDiff(objects=tuple(results), notes=notes, fallback=fallback, title=title)


def live_objects(cluster: Cluster, objects: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """The live version of each object that exists (for objects a change removes: what would be pruned)."""
    resources = _Resources(cluster)
    found = []
    for obj in objects:
        try:
            live = api_get(cluster, resources.path(obj), ref_of(obj))
        except NotFound:
            continue
        if live is not None:
            found.append({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), **live})
    return found


def _some_namespace(objects: list[Obj]) -> str:
    """A namespace the caller works in (the first object's), for the probe; else ``default``."""
    spaces = [str((o.get("metadata") or {}).get("namespace") or "") for o in objects]
    return next((ns for ns in spaces if ns), "default")


def _one(cluster: Cluster, resources: _Resources, obj: Obj) -> ObjectDiff:
    ref = ref_of(obj)
    try:
        path = resources.path(obj)
    except NotFound as exc:
        return ObjectDiff(ref, REFUSED, message=exc.message)
    live = api_get(cluster, path, ref)
    query = {"dryRun": "All", "fieldManager": FIELD_MANAGER, "force": "true"}
    try:
        result = api_send(
            cluster, "PATCH", path, ref, obj, query=query, content_type=APPLY_PATCH, idempotent=True
        )
    except ClusterUnreachable:
        raise
    except RunbookError as exc:
        return ObjectDiff(ref, REFUSED, message=mask(exc.message))
    _require_unwritten(cluster, path, ref, live)
    if live is None:
        return ObjectDiff(ref, CREATED, object_diff(ref, None, result))
    diff = object_diff(ref, live, result)
    return ObjectDiff(ref, CHANGED if diff else UNCHANGED, diff)


def _require_unwritten(cluster: Cluster, path: str, ref: str, live: Mapping[str, Any] | None) -> None:
    """Raise :class:`DryRunWrote` when the object appeared, vanished or changed its content during its dry
    run. A new resourceVersion with the same content is a status write of its controller (Flux writes
    status on every reconcile), not the dry run."""
    after = api_get(cluster, path, ref)
    before_rv = ((live or {}).get("metadata") or {}).get("resourceVersion")
    after_rv = ((after or {}).get("metadata") or {}).get("resourceVersion")
    if (live is None) == (after is None) and (
        before_rv == after_rv or comparable(live, masked=False) == comparable(after, masked=False)
    ):
        return
    raise DryRunWrote(
        f"{ref} hat sich während des Probelaufs verändert (resourceVersion {before_rv} → {after_rv}); "
        "der API-Server hat `dryRun=All` womöglich nicht eingehalten.",
        "Abgebrochen, bevor weitere Objekte gesendet wurden. Den Zustand mit `kubectl get` prüfen; Flux "
        "stellt beim nächsten Abgleich den Stand aus Git wieder her (Runbook `sync`).",
    )
