"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on plain dicts; inputs are not modified."""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """The patch cannot be applied."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc: Any, pointer: str) -> tuple[Any, str | int]:
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    parts = [_unescape(p) for p in pointer[1:].split("/")]
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise PatchError(f"path {pointer!r} does not exist")
    last: str | int = parts[-1]
    if isinstance(cur, list) and last != "-":
        last = int(last)
    return cur, last


def _get(doc: Any, pointer: str) -> Any:
    parent, key = _walk(doc, pointer)
    try:
        return parent[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise PatchError(f"path {pointer!r} does not exist") from exc


def json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"test failed at {path!r}")
            continue
        if kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op["from"]))
            if kind == "move":
                doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
            doc = json_patch(doc, [{"op": "add", "path": path, "value": value}])
            continue
        if path == "":
            if kind in ("add", "replace"):
                doc = copy.deepcopy(op.get("value"))
                continue
            raise PatchError("cannot remove the whole document")
        parent, key = _walk(doc, path)
        if kind == "add":
            if isinstance(parent, list):
                if key == "-":
                    parent.append(copy.deepcopy(op.get("value")))
                else:
                    parent.insert(int(key), copy.deepcopy(op.get("value")))
            else:
                parent[key] = copy.deepcopy(op.get("value"))
        elif kind == "replace":
            try:
                parent[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise PatchError(f"path {path!r} does not exist") from exc
            parent[key] = copy.deepcopy(op.get("value"))
        elif kind == "remove":
            try:
                del parent[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise PatchError(f"path {path!r} does not exist") from exc
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return doc


def strip_directives(patch: Any) -> Any:
    """A strategic merge patch without its ``$``-directives (``$patch``, ``$setElementOrder/...``), so the
    sandbox can apply it as a merge patch; list merges by key are not modelled."""
    if isinstance(patch, dict):
        return {k: strip_directives(v) for k, v in patch.items() if not k.startswith("$")}
    if isinstance(patch, list):
        return [strip_directives(v) for v in patch]
    return patch
