"""kustomize-controller: build ``spec.path`` at the source's artifact revision, apply, prune, inventory.

The build understands plain YAML files and ``kustomization.yaml`` ``resources`` lists (files and
directories) plus its ``namespace`` field; that is all the guide's repository uses. Apply is
three-way like server-side apply for fields never owned: fields the last apply set and the new
manifest lacks are removed, fields others set (``spec.suspend`` from ``flux suspend``) stay.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Iterable
from typing import Any

import yaml

from flux_sandbox.sim.controllers.base import (
    Controller,
    Key,
    Obj,
    Reconcile,
    finalize_status,
    format_duration,
    is_ready,
    parse_duration,
    set_condition,
)
from flux_sandbox.sim.controllers.catalog import image_available
from flux_sandbox.sim.controllers.workload import rollout
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Change, StoreError

KS = "kustomize.toolkit.fluxcd.io"
KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: apply order of kustomize/ssa: cluster definitions and namespaces before everything else
FIRST = ("CustomResourceDefinition", "Namespace", "ClusterIssuer")


#: PyYAML problem texts -> go-yaml's (what kustomize prints)
GO_YAML = (
    ("expected <block end>, but found", "did not find expected key"),
    ("mapping values are not allowed here", "mapping values are not allowed in this context"),
    ("found character '\\t' that cannot start any token", "found character that cannot start any token"),
    ("could not find expected ':'", "could not find expected ':'"),
)


class BuildError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- build (pure) -------------------------------------------------------------------------------------


def _acc_error(rel: str, detail: str) -> BuildError:
    return BuildError(
        "BuildFailed",
        f"kustomize build failed: accumulating resources: accumulation err="
        f"'accumulating resources from '{rel}': {detail}'",
    )


def _load(files: dict[str, bytes], path: str, rel: str, *, resources: bool = True) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(files[path].decode("utf-8")))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problem = next((go for py, go in GO_YAML if problem.startswith(py)), problem)
        raise _acc_error(rel, f"MalformedYAMLError: yaml: {line}{problem} in File: {rel}") from None
    out = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or (
            resources and (not doc.get("kind") or not (doc.get("metadata") or {}).get("name"))
        ):
            raise _acc_error(rel, f"missing Resource metadata in File: {rel}")
        out.append(doc)
    return out


def _is_dir(files: dict[str, bytes], path: str) -> bool:
    return any(f.startswith(path + "/") for f in files)


def _kfile(files: dict[str, bytes], d: str) -> str | None:
    return next((f"{d}/{n}" for n in KFILES if f"{d}/{n}" in files), None)


def _build_dir(files: dict[str, bytes], d: str) -> list[Obj]:
    kfile = _kfile(files, d)
    if kfile is None:
        return _build_plain(files, d)
    docs = _load(files, kfile, posixpath.relpath(kfile, d), resources=False)
    spec = docs[0] if docs else {}
    out: list[Obj] = []
    for res in spec.get("resources") or []:
        path = posixpath.normpath(posixpath.join(d, res))
        if path in files:
            out += _load(files, path, res)
        elif _is_dir(files, path):
            out += _build_dir(files, path)
        else:
            raise _acc_error(res, f"open /tmp/kustomization/{path}: no such file or directory")
    if spec.get("namespace"):
        for obj in out:
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return out


def _build_plain(files: dict[str, bytes], d: str) -> list[Obj]:
    """Flux's generated kustomization: every YAML file below ``d``; sub-kustomizations as units."""
    out: list[Obj] = []
    units: set[str] = set()
    for path in sorted(f for f in files if f.startswith(d + "/")):
        parent = posixpath.dirname(path)
        unit = next((p for p in _parents(parent, d) if _kfile(files, p)), None)
        if unit:
            if unit not in units:
                units.add(unit)
                out += _build_dir(files, unit)
        elif path.endswith((".yaml", ".yml")):
            out += _load(files, path, posixpath.relpath(path, d))
    return out


def _parents(path: str, stop: str) -> list[str]:
    chain = []
    while path != stop and path.startswith(stop + "/"):
        chain.append(path)
        path = posixpath.dirname(path)
    return list(reversed(chain))


def build(files: dict[str, bytes], path: str) -> list[Obj]:
    """The objects of ``path`` in ``files`` (an artifact's tree), or BuildError."""
    root = posixpath.normpath((path or "./").lstrip("/")).removeprefix("./")
    if root in ("", "."):
        root = ""
    if root and not _is_dir(files, root):
        raise BuildError(
            "ArtifactFailed",
            f"kustomization path not found: stat /tmp/kustomization/{root}: no such file or directory",
        )
    if not root:
        return _build_plain({f"./{k}": v for k, v in files.items()}, ".")
    return _build_dir(files, root)


def three_way(live: Any, last: Any, desired: Any) -> Any:
    """kubectl-apply style merge: drop what ``last`` set and ``desired`` lacks, then set ``desired``."""
    if not (isinstance(live, dict) and isinstance(desired, dict)):
        return copy.deepcopy(desired)
    out = dict(live)
    last = last if isinstance(last, dict) else {}
    for key in last:
        if key not in desired:
            out.pop(key, None)
    for key, value in desired.items():
        out[key] = three_way(out.get(key), last.get(key), value)
    return out


def inventory_id(obj: Obj, namespaced: bool) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    ns = obj["metadata"].get("namespace", "") if namespaced else ""
    return f"{ns}_{obj['metadata']['name'].replace(':', '__')}_{group}_{obj['kind']}"


def parse_inventory_id(entry: str) -> tuple[str, str, str, str]:
    ns, rest = entry.split("_", 1)
    rest, kind = rest.rsplit("_", 1)
    name, group = rest.rsplit("_", 1)
    return ns, name.replace("__", ":"), group, kind


# --- controller ---------------------------------------------------------------------------------------


class KustomizeController(Controller):
    name = "kustomize-controller"
    kinds = ("Kustomization",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_applied: dict[tuple[str, str, str], Obj] = {}

    def related(self, change: Change) -> Iterable[Key]:
        if not self.source_changed(change, ("GitRepository", "OCIRepository", "Bucket")):
            return []
        meta = change.obj["metadata"]
        items, _ = self.store.list(by_kind("Kustomization"))
        return [
            ("Kustomization", k["metadata"]["namespace"], k["metadata"]["name"])
            for k in items
            if (k["spec"].get("sourceRef") or {}).get("name") == meta["name"]
            and (k["spec"].get("sourceRef") or {}).get("kind") == change.rtype.kind
            and ((k["spec"].get("sourceRef") or {}).get("namespace") or k["metadata"]["namespace"])
            == meta["namespace"]
        ]

    def reconcile(self, rc: Reconcile) -> float | None:
        status = copy.deepcopy(rc.obj.get("status") or {})
        spec, ns = rc.obj["spec"], rc.obj["metadata"]["namespace"]
        msg = self._dependencies(spec, ns)
        if msg:
            set_condition(status, "Ready", "False", "DependencyNotReady", msg, rc.gen)
            self.write_status(rc.obj, finalize_status(rc.obj, status))
            retry = f"Dependencies do not meet ready condition, retrying in {format_duration(30)}"
            rc.event("Normal", "DependencyNotReady", retry, self._source_revision(spec, ns))
            rc.log(retry)
            return self.timing.dependency_requeue
        ref = spec.get("sourceRef") or {}
        src_ns = ref.get("namespace") or ns
        source = self.store.find(by_kind(ref.get("kind", "GitRepository")), src_ns, ref.get("name", ""))
        art = ((source or {}).get("status") or {}).get("artifact")
        files = self.env.artifacts.get(art["path"]) if art else None
        if files is None or art is None:
            what = f"{ref.get('kind')}/{src_ns}/{ref.get('name')}"
            if source is not None:
                # kustomize-controller only logs this (info), no event, no condition change
                # (docs/flux-facts.md §2)
                rc.log("Source artifact not found, retrying in 30s")
                return self.timing.dependency_requeue
            msg = f"Source '{what}' not found"
            return self._fail(rc, status, "ArtifactFailed", msg, None, self.timing.dependency_requeue)
        revision = art["revision"]
        working = (
            revision != status.get("lastAppliedRevision")
            or rc.gen != status.get("observedGeneration")
            or not is_ready(rc.obj)
        )
        timeout = format_duration(max(parse_duration(spec.get("interval")) - 30, 30))
        if working:
            message = f"Fetching manifests for revision {revision} with a timeout of {timeout}"
            self.progress(rc, status, message)
        self.sleep()
        if working:  # kustomize-controller's second step (docs/flux-facts.md §2)
            message = f"Building manifests for revision {revision} with a timeout of {timeout}"
            self.progress(rc, status, message)
        try:
            objects = build(files, spec.get("path", "./"))
            changes, entries = self._apply_all(rc, objects, spec.get("targetNamespace"), revision)
            changes += self._prune(rc, status, entries) if spec.get("prune") else []
        except BuildError as exc:
            return self._fail(rc, status, exc.reason, exc.message, revision)
        return self._succeed(rc, status, revision, changes, entries)

    def _source_revision(self, spec: Obj, ns: str) -> str | None:
        ref = spec.get("sourceRef") or {}
        source = self.store.find(
            by_kind(ref.get("kind", "GitRepository")), ref.get("namespace") or ns, ref.get("name", "")
        )
        return ((source or {}).get("status") or {}).get("artifact", {}).get("revision")

    def _dependencies(self, spec: Obj, ns: str) -> str | None:
        """Why a dependency holds this Kustomization back, as kustomize-controller words it, or None:
        a dependency must be Ready at its generation and, when it reads the same source, have applied
        the source's current artifact revision (docs/flux-facts.md §19)."""
        ref = spec.get("sourceRef") or {}
        source = (ref.get("kind"), ref.get("name"), ref.get("namespace") or ns)
        for dep in spec.get("dependsOn") or []:
            dep_ns = dep.get("namespace") or ns
            obj = self.store.find(by_kind("Kustomization"), dep_ns, dep["name"])
            if (
                obj is None
                or not is_ready(obj)
                or obj["status"].get("observedGeneration") != obj["metadata"].get("generation")
            ):
                return f"dependency '{dep_ns}/{dep['name']}' is not ready"
            dep_ref = obj["spec"].get("sourceRef") or {}
            if (dep_ref.get("kind"), dep_ref.get("name"), dep_ref.get("namespace") or dep_ns) == source and (
                obj["status"].get("lastAppliedRevision") != self._source_revision(spec, ns)
            ):
                return f"dependency '{dep_ns}/{dep['name']}' revision is not up to date"
        return None

    def _fail(
        self,
        rc: Reconcile,
        status: Obj,
        reason: str,
        message: str,
        revision: str | None,
        after: float | None = None,
    ) -> float:
        if revision:
            status["lastAttemptedRevision"] = revision
        set_condition(status, "Ready", "False", reason, message, rc.gen)
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        rc.event("Warning", reason, message, revision)
        interval = parse_duration(rc.obj["spec"].get("retryInterval") or rc.obj["spec"].get("interval"))
        rc.log(
            f"Reconciliation failed after {format_duration(rc.elapsed())}, next try in "
            f"{format_duration(interval)}",
            level="error",
            revision=revision,
            error=message,
        )
        # kustomize-controller requeues a failure after spec.retryInterval (else spec.interval), with
        # no back-off of its own (fidelity audit #5; docs/flux-facts.md §13)
        return after if after is not None else interval * self.timing.interval_scale

    def _succeed(
        self, rc: Reconcile, status: Obj, revision: str, changes: list[str], entries: list[Obj]
    ) -> float | None:
        status["inventory"] = {"entries": entries}
        status["lastAppliedRevision"] = revision
        status["lastAttemptedRevision"] = revision
        msg = f"Applied revision: {revision}"
        set_condition(status, "Ready", "True", "ReconciliationSucceeded", msg, rc.gen)
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        if changes:
            rc.event("Normal", "Progressing", "\n".join(changes), revision)
        interval = format_duration(parse_duration(rc.obj["spec"].get("interval")))
        done = f"Reconciliation finished in {format_duration(rc.elapsed())}, next run in {interval}"
        rc.event("Normal", "ReconciliationSucceeded", done, revision)
        rc.log(done, revision=revision)
        return None

    # -- apply and prune ----------------------------------------------------------------------------------

    def _apply_all(
        self, rc: Reconcile, objects: list[Obj], target_ns: str | None, revision: str | None = None
    ) -> tuple[list[str], list[Obj]]:
        meta = rc.obj["metadata"]
        owner = {f"{KS}/name": meta["name"], f"{KS}/namespace": meta["namespace"]}
        ordered = sorted(objects, key=lambda o: 0 if o["kind"] in FIRST else 1)
        changes, output, entries = [], {}, []
        for desired in ordered:
            try:
                rt = self.store.rtype_of(desired)
            except StoreError:
                raise BuildError(
                    "ReconciliationFailed",
                    f"{desired['kind']}/{desired['metadata']['name']} dry-run "
                    f'failed: no matches for kind "{desired["kind"]}" in version '
                    f'"{desired.get("apiVersion")}"',
                ) from None
            desired = copy.deepcopy(desired)
            desired.pop("status", None)
            dmeta = desired["metadata"]
            dmeta["labels"] = {**(dmeta.get("labels") or {}), **owner}
            if rt.namespaced:
                dmeta["namespace"] = target_ns or dmeta.get("namespace") or "default"
            else:
                dmeta.pop("namespace", None)
            desired["apiVersion"] = rt.api_version
            action = self._apply(rt, desired)
            if rt.kind == "Deployment" and action != "unchanged":
                # kube-controller-manager and the kubelet: Pods and status for a plain Deployment
                stored = self.store.find(rt, dmeta["namespace"], dmeta["name"])
                if stored is not None:
                    rollout(self.store, stored, image_available)
            ident = f"{desired['kind']}/{dmeta['namespace'] + '/' if rt.namespaced else ''}{dmeta['name']}"
            output[ident] = action
            if action != "unchanged":
                changes.append(f"{ident} {action}")
            entries.append({"id": inventory_id(desired, rt.namespaced), "v": rt.version})
        rc.log("server-side apply completed", output=output, revision=revision)
        return changes, sorted(entries, key=lambda e: e["id"])

    def _apply(self, rt: Any, desired: Obj) -> str:
        meta = desired["metadata"]
        key = (rt.kind, meta.get("namespace", ""), meta["name"])
        live = self.store.find(rt, meta.get("namespace"), meta["name"])
        try:
            if live is None:
                self.store.create(rt, desired)
                self._last_applied[key] = desired
                return "created"
            merged = three_way(live, self._last_applied.get(key, {}), desired)
            if _same(merged, live):
                # server-side apply of an unchanged object writes nothing: "unchanged", and no event
                # lists it (docs/flux-facts.md §2)
                self._last_applied[key] = desired
                return "unchanged"
            merged["metadata"].pop("resourceVersion", None)
            result = self.store.replace(rt, merged)
        except StoreError as exc:
            ident = f"{rt.kind}/{meta.get('namespace', '')}/{meta['name']}".replace("//", "/")
            raise BuildError("ReconciliationFailed", f"{ident} dry-run failed: {exc.message}") from None
        self._last_applied[key] = desired
        return (
            "configured"
            if result["metadata"]["resourceVersion"] != live["metadata"]["resourceVersion"]
            else "unchanged"
        )

    def _prune(self, rc: Reconcile, status: Obj, entries: list[Obj]) -> list[str]:
        keep = {e["id"] for e in entries}
        changes = []
        for entry in (status.get("inventory") or {}).get("entries") or []:
            if entry["id"] in keep:
                continue
            ns, name, _group, kind = parse_inventory_id(entry["id"])
            try:
                rt = by_kind(kind)
                live = self.store.find(rt, ns or None, name)
                if (
                    live is None
                    or (live["metadata"].get("annotations") or {}).get(f"{KS}/prune") == "disabled"
                ):
                    continue
                self.store.delete(rt, ns or None, name)
            except (KeyError, StoreError):
                continue
            self._last_applied.pop((kind, ns, name), None)
            changes.append(f"{kind}/{ns + '/' if ns else ''}{name} deleted")
        return changes


#: metadata the API server owns; an apply does not change them
_SERVER_FIELDS = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp")


def _same(merged: Obj, live: Obj) -> bool:
    def strip(obj: Obj) -> Obj:
        body = {k: v for k, v in obj.items() if k != "status"}
        body["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_FIELDS}
        return body

    return strip(merged) == strip(live)
