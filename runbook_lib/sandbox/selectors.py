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
    parts, depth, cur = [], 0, []
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


def parse_label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda _obj: True
    tests: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_top(selector):
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda lb, k=k, v=v: lb.get(k) != v)
        elif "==" in term or ("=" in term and " in " not in term and "notin" not in term):
            k, v = (s.strip() for s in re.split(r"==?", term, maxsplit=1))
            tests.append(lambda lb, k=k, v=v: lb.get(k) == v)
        else:
            m = _SET_RE.match(term)
            if not m:
                raise SelectorError(f"unable to parse requirement: {term!r}")
            neg, key, op, values = m.groups()
            if op:
                vals = {x.strip() for x in values.split(",") if x.strip()}
                if op == "in":
                    tests.append(lambda lb, k=key, vals=vals: lb.get(k) in vals)
                else:
                    tests.append(lambda lb, k=key, vals=vals: lb.get(k) not in vals)
            elif neg:
                tests.append(lambda lb, k=key: k not in lb)
            else:
                tests.append(lambda lb, k=key: k in lb)

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


def parse_field_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda _obj: True
    tests: list[Predicate] = []
    for term in _split_top(selector):
        if "!=" in term:
            path, value = term.split("!=", 1)
            tests.append(lambda o, p=path.strip(), v=value.strip(): (field_value(o, p) or "") != v)
        elif "=" in term:
            path, value = re.split(r"==?", term, maxsplit=1)
            tests.append(lambda o, p=path.strip(), v=value.strip(): (field_value(o, p) or "") == v)
        else:
            raise SelectorError(f"invalid field selector: {term!r}")
    return lambda obj: all(t(obj) for t in tests)
