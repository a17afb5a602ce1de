"""Server-side apply (``PATCH`` with ``application/apply-patch+yaml``) for the sandbox's store.

The subset the sandbox supports (docs/development.md, "Server-side apply and dry run"):

- field ownership per manager in ``metadata.managedFields`` (``FieldsV1``, operation ``Apply``), with
  the real server's set semantics: a manager owns the fields of its last applied configuration; a
  field it applied before and leaves out now is removed, unless another manager owns it too;
- keyed lists are merged by their key (``name`` for containers, env, ports, volumes, ...; ``type`` for
  conditions; the CRD's ``x-kubernetes-list-map-keys`` are not read); every other list is atomic;
- a field another appliers owns with a different value is a conflict: 409 ``Conflict`` with the real
  server's message, or, with ``force=true``, the field changes owner;
- writes that are not applies (``Update`` operations) are not tracked as managers, so an apply never
  conflicts with them (a real server reports conflicts with those managers too).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
Path = tuple[str, ...]

#: list item keys by list field name: what the real (strategic/structured) merge keys on
_LIST_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
    "imagePullSecrets": "name",
    "dependsOn": "name",
}
#: metadata fields that identify the object; an apply names them, nobody owns them
_IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


class ApplyError(Exception):
    """An apply the server refuses: code, Status reason, message, details."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}


def _item_key(list_name: str, item: Any) -> str | None:
    key = _LIST_KEYS.get(list_name)
    if key is None or not isinstance(item, dict) or key not in item:
        return None
    return "k:" + json.dumps({key: item[key]}, separators=(",", ":"))


def leaf_paths(obj: Any, prefix: Path = ()) -> set[Path]:
    """Every field path of ``obj``: map keys as ``f:<key>``, keyed list items as ``k:{...}``."""
    paths: set[Path] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = (*prefix, f"f:{key}")
            if isinstance(value, list) and value and all(_item_key(key, i) for i in value):
                paths.add(here)
                for item in value:
                    item_path = (*here, str(_item_key(key, item)))
                    paths.add(item_path)
                    paths |= leaf_paths(item, item_path)
            elif isinstance(value, dict) and value:
                paths.add(here)
                paths |= leaf_paths(value, here)
            else:
                paths.add(here)
    return paths


def to_fields_v1(paths: set[Path]) -> Obj:
    """The ``fieldsV1`` tree of a path set, as an Apply entry has it: maps are not owned as such, keyed
    list items are (``"."``)."""
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    _mark(tree, paths, ())
    return tree


def _mark(node: Obj, paths: set[Path], prefix: Path) -> None:
    for part, child in node.items():
        if part == ".":
            continue
        here = (*prefix, part)
        if child and here in paths and part.startswith("k:"):  # a keyed list item is owned as such
            child["."] = {}
        _mark(child, paths, here)


def from_fields_v1(tree: Obj, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for part, child in tree.items():
        if part == ".":
            continue
        here = (*prefix, part)
        paths.add(here)
        paths |= from_fields_v1(child, here)
    return paths


def _get(obj: Any, path: Path) -> tuple[bool, Any]:
    cur = obj
    for part in path:
        kind, _, rest = part.partition(":")
        if kind == "f" and isinstance(cur, dict) and rest in cur:
            cur = cur[rest]
        elif kind == "k" and isinstance(cur, list):
            ((key, value),) = json.loads(rest).items()
            found = [i for i in cur if isinstance(i, dict) and i.get(key) == value]
            if not found:
                return False, None
            cur = found[0]
        else:
            return False, None
    return True, cur


def _remove(obj: Obj, path: Path) -> None:
    present, parent = _get(obj, path[:-1])
    if not present:
        return
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        ((key, value),) = json.loads(rest).items()
        parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == value)]


def _merge(live: Any, config: Any, name: str = "") -> Any:
    if isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for key, value in config.items():
            out[key] = _merge(live.get(key), value, key) if key in live else copy.deepcopy(value)
        return out
    if (
        isinstance(live, list)
        and isinstance(config, list)
        and config
        and all(_item_key(name, i) for i in config)
    ):
        out_list = list(live)
        for item in config:
            key = _item_key(name, item)
            index = next((n for n, i in enumerate(out_list) if _item_key(name, i) == key), None)
            if index is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[index] = _merge(out_list[index], item, name)
        return out_list
    return copy.deepcopy(config)


def _shown(path: Path) -> str:
    """A path as the conflict message prints it: ``.spec.interval``, ``.spec.containers[name="x"]``."""
    out = ""
    for part in path:
        kind, _, rest = part.partition(":")
        if kind == "f":
            out += f".{rest}"
        else:
            ((key, value),) = json.loads(rest).items()
            out += f"[{key}={json.dumps(value)}]"
    return out


def _entry(manager: str, api_version: str, paths: set[Path]) -> Obj:
    return {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }


def _owned(config: Obj) -> set[Path]:
    body = {k: v for k, v in config.items() if k not in ("apiVersion", "kind", "status")}
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in ("name", "namespace")}
    if meta:
        body["metadata"] = meta
    else:
        body.pop("metadata", None)
    return {p for p in leaf_paths(body) if p not in _IDENTITY}


def apply(live: Obj | None, config: Obj, manager: str, *, force: bool) -> Obj:
    """The object after ``manager`` applied ``config`` to ``live`` (None: the object is new)."""
    if not manager:
        raise ApplyError(
            422,
            "Invalid",
            'PatchOptions.meta.k8s.io "" is invalid: '
            "fieldManager: Required value: is required for apply patch",
            {
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: is required for apply patch",
                        "field": "fieldManager",
                    }
                ],
            },
        )
    api_version = str(config.get("apiVersion", ""))
    applied = _owned(config)
    clean_config = {k: v for k, v in config.items() if k != "status"}
    if live is None:
        new = copy.deepcopy(clean_config)
        new.setdefault("metadata", {})["managedFields"] = [_entry(manager, api_version, applied)]
        return new
    entries = [e for e in (live.get("metadata") or {}).get("managedFields") or [] if isinstance(e, dict)]
    others = [e for e in entries if not (e.get("manager") == manager and e.get("operation") == "Apply")]
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), None)
    conflicts: dict[str, list[Path]] = {}
    kept: list[Obj] = []
    for entry in others:
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        clashing = []
        for path in sorted(applied & owned):
            has_live, live_value = _get(live, path)
            _has, want = _get(config, path)
            if has_live and live_value != want and not isinstance(want, (dict, list)):
                clashing.append(path)
        if clashing and not force:
            conflicts[str(entry.get("manager"))] = clashing
        if force and clashing:
            entry = {**entry, "fieldsV1": to_fields_v1(owned - set(clashing))}
        kept.append(entry)
    if conflicts:
        raise _conflict(conflicts)
    new = copy.deepcopy(live)
    before = from_fields_v1(mine.get("fieldsV1") or {}) if mine else set()
    shared = set().union(*(from_fields_v1(e.get("fieldsV1") or {}) for e in kept)) if kept else set()
    for path in sorted(before - applied - shared, key=len, reverse=True):
        _remove(new, path)
    new = _merge(new, {k: v for k, v in clean_config.items() if k != "metadata"})
    meta = _merge(
        new.get("metadata") or {},
        {k: v for k, v in (config.get("metadata") or {}).items() if k not in ("managedFields",)},
    )
    meta["managedFields"] = [*kept, _entry(manager, api_version, applied)]
    new["metadata"] = meta
    return new


def _conflict(conflicts: dict[str, list[Path]]) -> ApplyError:
    count = sum(len(p) for p in conflicts.values())
    parts = []
    for manager, paths in conflicts.items():
        if len(paths) == 1:
            parts.append(f'conflict with "{manager}": {_shown(paths[0])}')
        else:
            parts.append(f'conflicts with "{manager}":\n' + "\n".join(f"- {_shown(p)}" for p in paths))
    text = f"Apply failed with {count} conflict{'' if count == 1 else 's'}: " + "\n".join(parts)
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": _shown(p)}
        for m, paths in conflicts.items()
        for p in paths
    ]
    return ApplyError(409, "Conflict", text, {"causes": causes})
