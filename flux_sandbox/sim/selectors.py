"""Label and field selectors as the API server understands them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, joined by
commas. Field selectors: ``path=value``, ``path==value``, ``path!=value``; the path is a dotted path
into the object (``metadata.name``, ``involvedObject.kind``, ``status.phase``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


class SelectorError(ValueError):
    """The selector cannot be parsed."""


def _split_top(selector: str) -> list[str]:
    """Split at commas that are not inside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


LabelTest = Callable[[dict[str, str]], bool]


def _label_test(term: str) -> LabelTest:
    m = _SET_RE.match(term)
    if m:
        neg, key, op, values = m.groups()
        if op:
            vals = frozenset(x.strip() for x in values.split(",") if x.strip())
            if op == "in":
                return lambda lb: lb.get(key) in vals
            return lambda lb: lb.get(key) not in vals
        if neg:
            return lambda lb: key not in lb
        return lambda lb: key in lb
    if "!=" in term:
        k, v = (s.strip() for s in term.split("!=", 1))
        return lambda lb: lb.get(k) != v
    if "=" in term:
        k, v = (s.strip() for s in re.split(r"==?", term, maxsplit=1))
        return lambda lb: lb.get(k) == v
    raise SelectorError(f"unable to parse requirement: {term!r}")


def parse_label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda _obj: True
    tests = [_label_test(term) for term in _split_top(selector)]

    def pred(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return pred


def field_value(obj: dict[str, Any], path: str) -> str | None:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def _field_test(term: str) -> Predicate:
    if "!=" in term:
        path, value = (x.strip() for x in term.split("!=", 1))
        return lambda o: (field_value(o, path) or "") != value
    if "=" in term:
        path, value = (x.strip() for x in re.split(r"==?", term, maxsplit=1))
        return lambda o: (field_value(o, path) or "") == value
    raise SelectorError(f"invalid field selector: {term!r}")


def parse_field_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda _obj: True
    tests = [_field_test(term) for term in _split_top(selector)]
    return lambda obj: all(t(obj) for t in tests)
