"""The sandbox's object store: what etcd plus the generic registry do in a real API server.

Objects are plain dicts. Stored dicts are never mutated in place (every write stores a new dict), so
``list`` can hand out the stored objects without copying; callers must treat them as read-only.
``get`` returns a deep copy that the caller may change and write back.

Semantics kept from Kubernetes: one global, increasing resourceVersion; uid and creationTimestamp on
create; ``metadata.generation`` bumped only by spec changes on the main resource; the ``status``
subresource changes only status; optimistic concurrency on ``metadata.resourceVersion``; a bounded
change history for watches, older resourceVersions answer 410 Gone.
"""

from __future__ import annotations

import builtins
import copy
import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flux_sandbox.sim.admission import admit, check_applied_fields
from flux_sandbox.sim.apply import ApplyError
from flux_sandbox.sim.apply import apply as server_side_apply
from flux_sandbox.sim.errors import StoreError, not_found, qualified
from flux_sandbox.sim.patch import PatchError, json_patch, merge_patch
from flux_sandbox.sim.resources import ALL_TYPES, ResourceType
from flux_sandbox.sim.selectors import SelectorError, parse_field_selector, parse_label_selector

__all__ = ["WATCH_WINDOW", "Change", "Obj", "Store", "StoreError", "not_found", "now_rfc3339"]

Obj = dict[str, Any]
#: seconds of changes a watch can replay: the real watch cache's eventFreshDuration (75 s)
WATCH_WINDOW = 75.0


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    rtype: ResourceType
    obj: Obj
    #: time.perf_counter() when the write happened (benchmarks measure reaction times against it)
    at: float = 0.0


def _clone(rt: ResourceType, obj: Obj) -> Obj:
    """A private copy of ``obj``. CRDs (large schemas, plain JSON) go through JSON, several times
    faster than ``deepcopy``; this keeps the sandbox's start at about 2 s."""
    if rt.kind == "CustomResourceDefinition":
        loaded: Obj = json.loads(json.dumps(obj))
        return loaded
    return copy.deepcopy(obj)


def _tidy(meta: Obj) -> Obj:
    """Drop empty label and annotation maps, as ObjectMeta's ``omitempty`` does on a real server."""
    for key in ("labels", "annotations"):
        if key in meta and not meta[key]:
            del meta[key]
    return meta


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Thread-safe in-memory object store with watches and pod logs."""

    def __init__(
        self,
        types: Iterable[ResourceType] = ALL_TYPES,
        *,
        history: int = 20000,
        watch_window: float = WATCH_WINDOW,
    ) -> None:
        self.types: dict[tuple[str, str], ResourceType] = {rt.key: rt for rt in types}
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {k: {} for k in self.types}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._rv = 1
        self._history: deque[Change] = deque(maxlen=history)
        #: seconds an API watch can replay changes for (see :meth:`watch_floor`)
        self.watch_window = watch_window
        self._logs: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
        #: (group, plural) -> resourceVersion at which its CRD was created: the type's watch cache
        #: starts there, older resourceVersions are too old for it (as on a real API server)
        self._type_start: dict[tuple[str, str], int] = {}
        self.closed = False

    # -- types ------------------------------------------------------------------------------------

    def rtype(self, group: str, plural: str) -> ResourceType:
        try:
            return self.types[(group, plural)]
        except KeyError:
            raise StoreError(404, "NotFound", "the server could not find the requested resource") from None

    def rtype_of(self, obj_or_kind: Obj | str) -> ResourceType:
        kind = obj_or_kind if isinstance(obj_or_kind, str) else obj_or_kind["kind"]
        for rt in self.types.values():
            if rt.kind == kind:
                return rt
        raise StoreError(404, "NotFound", f"no resource type for kind {kind}")

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    @property
    def oldest_rv(self) -> int:
        with self._lock:
            return self._history[0].rv if self._history else self._rv

    # -- internals --------------------------------------------------------------------------------

    def _record(self, rt: ResourceType, kind: str, obj: Obj) -> None:
        self._history.append(Change(self._rv, kind, rt, obj, time.perf_counter()))
        self._cond.notify_all()

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _check_namespace(self, rt: ResourceType, namespace: str | None) -> None:
        if not rt.namespaced:
            return
        if not namespace:
            raise StoreError(400, "BadRequest", "the namespace of the object must be given")
        if ("", namespace) not in self._objects[("", "namespaces")]:
            raise StoreError(
                404,
                "NotFound",
                f'namespaces "{namespace}" not found',
                {"name": namespace, "kind": "namespaces"},
            )

    # -- CRUD -------------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        obj: Obj,
        namespace: str | None = None,
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        """Store a new object. ``dry_run``: validate and default it, answer what would be stored,
        store nothing (no resourceVersion, no watch event). ``warnings`` collects the pruned fields."""
        obj = _clone(rt, obj)
        meta = obj.setdefault("metadata", {})
        ns = (meta.get("namespace") or namespace or "") if rt.namespaced else ""
        if namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise StoreError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
            else:
                raise StoreError(422, "Invalid", f"{rt.kind} is invalid: metadata.name: Required value")
        with self._lock:
            self._check_namespace(rt, ns)
            bucket = self._objects[rt.key]
            if (ns, meta["name"]) in bucket:
                raise StoreError(
                    409,
                    "AlreadyExists",
                    f'{qualified(rt)} "{meta["name"]}" already exists',
                    {"name": meta["name"], "group": rt.group, "kind": rt.plural},
                )
            _tidy(meta)
            if rt.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            obj["apiVersion"] = rt.api_version
            obj["kind"] = rt.kind
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if rt.generation:
                meta["generation"] = 1
            if meta.get("resourceVersion"):
                raise StoreError(
                    500, "InternalError", "resourceVersion should not be set on objects to be created"
                )
            if rt.kind == "Namespace":
                obj.setdefault("status", {"phase": "Active"})
            obj = admit(rt, obj, field_validation, warnings, "create")
            if dry_run:
                return obj
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self._next_rv())
            if rt.kind == "CustomResourceDefinition":
                spec = obj.get("spec") or {}
                plural = (spec.get("names") or {}).get("plural", "")
                self._type_start[(spec.get("group", ""), plural)] = self._rv
            bucket[(ns, meta["name"])] = obj
            self._record(rt, "ADDED", obj)
            return _clone(rt, obj)

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            obj = self._objects[rt.key].get((namespace or "" if rt.namespaced else "", name))
            if obj is None:
                raise not_found(rt, name)
            return copy.deepcopy(obj)

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself (a read-only reference, like ``list`` hands out), None if missing."""
        with self._lock:
            return self._objects[rt.key].get((namespace or "" if rt.namespaced else "", name))

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.get(rt, namespace, name)
        except StoreError:
            return None

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], int]:
        """Matching objects (read-only references) sorted by namespace and name, and the list's rv."""
        try:
            lsel = parse_label_selector(label_selector)
            fsel = parse_field_selector(field_selector, rt.kind)
        except SelectorError as exc:
            raise StoreError(400, "BadRequest", str(exc)) from exc
        with self._lock:
            items = [
                o
                for (ns, _n), o in sorted(self._objects[rt.key].items())
                if (not namespace or ns == namespace) and lsel(o) and fsel(o)
            ]
            return items, self._rv

    def replace(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        meta = obj.get("metadata") or {}
        with self._lock:
            key = (meta.get("namespace", "") if rt.namespaced else "", meta.get("name", ""))
            old = self._objects[rt.key].get(key)
            if old is None:
                raise not_found(rt, key[1])
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise StoreError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {qualified(rt)} "{key[1]}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    {"name": key[1], "group": rt.group, "kind": rt.plural},
                )
            return self._write(
                rt, key, old, copy.deepcopy(obj), subresource, dry_run, field_validation, warnings, "update"
            )

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        with self._lock:
            key = (namespace or "" if rt.namespaced else "", name)
            old = self._objects[rt.key].get(key)
            if old is None:
                raise not_found(rt, name)
            try:
                new = json_patch(old, body) if patch_type == "json" else merge_patch(old, body)
            except (PatchError, ValueError, KeyError, IndexError, TypeError) as exc:
                raise StoreError(422, "Invalid", f"the patch could not be applied: {exc}") from exc
            want_rv = (new.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise StoreError(
                    409,
                    "Conflict",
                    f"Operation cannot be fulfilled on {qualified(rt)} "
                    f'"{name}": the object has been modified; please apply your changes to the '
                    "latest version and try again",
                    {"name": name, "group": rt.group, "kind": rt.plural},
                )
            return self._write(rt, key, old, new, subresource, dry_run, field_validation, warnings, "patch")

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: Obj,
        manager: str,
        *,
        force: bool = False,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: builtins.list[str] | None = None,
    ) -> tuple[Obj, bool]:
        """Server-side apply of ``config`` by ``manager`` (:mod:`flux_sandbox.sim.apply`); returns the
        object and whether it was created."""
        check_applied_fields(rt, config, namespace, name)
        with self._lock:
            key = (namespace or "" if rt.namespaced else "", name)
            old = self._objects[rt.key].get(key)
            try:
                new = server_side_apply(old, config, manager, force=force)
            except ApplyError as exc:
                raise StoreError(exc.code, exc.reason, exc.message, exc.details) from exc
            options = {"dry_run": dry_run, "field_validation": field_validation, "warnings": warnings}
            if old is None:
                if subresource:
                    raise not_found(rt, name)
                new.setdefault("metadata", {}).pop("resourceVersion", None)
                return self.create(rt, new, namespace=namespace, **options), True  # type: ignore[arg-type]
            want_rv = (config.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise StoreError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {qualified(rt)} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    {"name": name, "group": rt.group, "kind": rt.plural},
                )
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self._write(
                rt, key, old, new, subresource, dry_run, field_validation, warnings, "patch"
            ), False

    def _write(
        self,
        rt: ResourceType,
        key: tuple[str, str],
        old: Obj,
        new: Obj,
        subresource: str | None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: builtins.list[str] | None = None,
        verb: str = "update",
    ) -> Obj:
        if subresource == "status":
            merged = dict(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            merged["metadata"] = dict(old["metadata"])
            new = merged
        else:
            new = dict(new)
            meta = dict(new.get("metadata") or {})
            for fixed in ("uid", "creationTimestamp", "namespace", "name"):
                if fixed in old["metadata"]:
                    meta[fixed] = old["metadata"][fixed]
            new["metadata"] = _tidy(meta)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            if rt.status_subresource:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
        new = admit(rt, new, field_validation, warnings, verb)
        if rt.generation and subresource != "status":
            # after pruning and defaulting: generation counts changes of what is stored
            before = {k: v for k, v in old.items() if k not in ("metadata", "status")}
            after = {k: v for k, v in new.items() if k not in ("metadata", "status")}
            gen = old["metadata"].get("generation", 1)
            new["metadata"] = {**new["metadata"], "generation": gen + 1 if before != after else gen}
        if new == old or dry_run:
            return copy.deepcopy(
                {
                    **new,
                    "metadata": {**new["metadata"], "resourceVersion": old["metadata"]["resourceVersion"]},
                }
            )
        new["metadata"] = {**new["metadata"], "resourceVersion": str(self._next_rv())}
        self._objects[rt.key][key] = new
        self._record(rt, "MODIFIED", new)
        return copy.deepcopy(new)

    def terminate(self, rt: ResourceType, namespace: str | None, name: str, grace: int) -> Obj:
        """Graceful deletion: set ``deletionTimestamp`` (now + ``grace``) and
        ``deletionGracePeriodSeconds``; the object stays (Terminating) until :meth:`delete`. An object
        already terminating is answered as it is."""
        with self._lock:
            key = (namespace or "" if rt.namespaced else "", name)
            old = self._objects[rt.key].get(key)
            if old is None:
                raise not_found(rt, name)
            if old["metadata"].get("deletionTimestamp"):
                return copy.deepcopy(old)
            when = datetime.fromtimestamp(time.time() + grace, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            meta = {
                **old["metadata"],
                "deletionTimestamp": when,
                "deletionGracePeriodSeconds": grace,
                "resourceVersion": str(self._next_rv()),
            }
            new = {**old, "metadata": meta}
            self._objects[rt.key][key] = new
            self._record(rt, "MODIFIED", new)
            return copy.deepcopy(new)

    def delete(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            key = (namespace or "" if rt.namespaced else "", name)
            old = self._objects[rt.key].pop(key, None)
            if old is None:
                raise not_found(rt, name)
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._next_rv())}}
            self._record(rt, "DELETED", gone)
            if rt.kind == "Namespace":
                for other_key, bucket in self._objects.items():
                    other = self.types[other_key]
                    if other.namespaced:
                        for k in [k for k in bucket if k[0] == name]:
                            self._record(other, "DELETED", bucket.pop(k))
            return copy.deepcopy(old)

    # -- watch ------------------------------------------------------------------------------------

    def changes_since(self, rv: int) -> builtins.list[Change]:
        """Changes with a resourceVersion above ``rv``; raises 410 if history no longer reaches back."""
        with self._lock:
            if self._history and rv < self._history[0].rv - 1:
                oldest = self._history[0].rv - 1
                raise StoreError(410, "Expired", f"too old resource version: {rv} ({oldest})")
            # the history is ordered by resourceVersion: walk back from the newest change only
            found: builtins.list[Change] = []
            for change in reversed(self._history):
                if change.rv <= rv:
                    break
                found.append(change)
            found.reverse()
            return found

    def watch_floor(self, rt: ResourceType) -> int:
        """The oldest resourceVersion an API watch on ``rt`` may start from (older: 410 Expired).

        The real API server serves watches from a per-type watch cache: it starts at the type's
        creation (for a custom resource: when its CRD was created, so ``resourceVersion=1`` is too old
        at once) and drops events once they are older than ``eventFreshDuration`` (75 s) and the
        buffer is full (docs/flux-facts.md §14). Here: the type's start and the newest change of the
        type older than :attr:`watch_window`."""
        with self._lock:
            floor = self._type_start.get(rt.key, 0)
            if self._history and len(self._history) == self._history.maxlen:
                floor = max(floor, self._history[0].rv - 1)
            cutoff = time.perf_counter() - self.watch_window
            for change in self._history:
                if change.at >= cutoff:
                    break
                if change.rtype.key == rt.key:
                    floor = max(floor, change.rv)
            return floor

    def check_watch_start(self, rt: ResourceType, rv: int) -> None:
        """Raise the real server's 410 ``Expired`` when a watch from ``rv`` cannot be served."""
        floor = self.watch_floor(rt)
        if rv < floor:
            raise StoreError(410, "Expired", f"too old resource version: {rv} ({floor})")

    def wait_for_changes(self, rv: int, timeout: float) -> builtins.list[Change]:
        """Block until there are changes after ``rv`` (or the timeout passes, or the store closes)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.changes_since(rv)
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self.closed:
                    return found
                self._cond.wait(remaining)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout: float = 1800.0,
        send_initial: bool | None = None,
    ) -> Iterator[tuple[str, Obj]]:
        """Yield ``(type, object)`` pairs. Without a resourceVersion (or "0") the current objects come
        first as ADDED events, as the API server does."""
        try:
            lsel = parse_label_selector(label_selector)
            fsel = parse_field_selector(field_selector, rt.kind)
        except SelectorError as exc:
            raise StoreError(400, "BadRequest", str(exc)) from exc
        if resource_version in (None, "", "0"):
            items, start = self.list(
                rt, namespace, label_selector=label_selector, field_selector=field_selector
            )
            initial = items
        else:
            try:
                start = int(resource_version)
            except ValueError as exc:
                raise StoreError(400, "BadRequest", f"invalid resourceVersion {resource_version!r}") from exc
            self.check_watch_start(rt, start)  # raises 410 when too old
            initial = []
        yield from (("ADDED", o) for o in initial)
        deadline = time.monotonic() + timeout
        rv = start
        while not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            for change in self.wait_for_changes(rv, min(remaining, 1.0)):
                rv = change.rv
                if change.rtype.key != rt.key:
                    continue
                obj = change.obj
                if namespace and obj["metadata"].get("namespace") != namespace:
                    continue
                if lsel(obj) and fsel(obj):
                    yield change.type, obj

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # -- pod logs ---------------------------------------------------------------------------------

    def append_log(
        self, namespace: str, pod: str, container: str, line: str, ts: float | None = None
    ) -> None:
        with self._cond:
            self._logs.setdefault((namespace, pod, container), []).append((ts or time.time(), line))
            self._cond.notify_all()

    def log_lines(self, namespace: str, pod: str, container: str) -> builtins.list[tuple[float, str]]:
        with self._lock:
            return list(self._logs.get((namespace, pod, container), []))

    def follow_log(
        self, namespace: str, pod: str, container: str, start: int, timeout: float
    ) -> builtins.list[tuple[float, str]]:
        """Lines from index ``start`` on, waiting up to ``timeout`` for new ones."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                lines = self._logs.get((namespace, pod, container), [])
                remaining = deadline - time.monotonic()
                if len(lines) > start or remaining <= 0 or self.closed:
                    return lines[start:]
                self._cond.wait(remaining)
