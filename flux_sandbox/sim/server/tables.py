"""Server-side printing: ``meta.k8s.io/v1`` Tables as ``kubectl get`` asks for them.

Columns follow the apiextensions table convertor: Name first, then the type's printer columns; a
``string`` column prints the JSONPath result, ``date`` columns become a human duration ("5m") like the
real server's ``ConvertToHumanReadableDateType``, ``integer``/``number``/``boolean`` stay typed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flux_sandbox.sim.resources import ResourceType
from flux_sandbox.sim.server.printers import PRINTERS, Printer

Obj = dict[str, Any]
PathFn = Callable[[Any], list[Any]]

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated."
)
_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)
      | \[(?P<index>-?\d+)\]
      | \[\*\]|\.\*
      | \[\?\(@\.(?P<fpath>[A-Za-z0-9_.-]+)\s*==\s*(?P<q>['"])(?P<fval>.*?)(?P=q)\)\]""",
    re.VERBOSE,
)


class TableError(ValueError):
    """A column's JSONPath is not supported."""


def _step(token: re.Match[str]) -> Callable[[Any], list[Any]]:
    if token.group("field") is not None:
        name = token.group("field")
        return lambda v: [v[name]] if isinstance(v, dict) and name in v else []
    if token.group("index") is not None:
        idx = int(token.group("index"))
        return lambda v: [v[idx]] if isinstance(v, list) and -len(v) <= idx < len(v) else []
    if token.group("fpath") is not None:
        fpath, fval = token.group("fpath").split("."), token.group("fval")

        def matches(item: Any) -> bool:
            for part in fpath:
                if not isinstance(item, dict) or part not in item:
                    return False
                item = item[part]
            return item == fval

        return lambda v: [x for x in v if matches(x)] if isinstance(v, list) else []
    return lambda v: list(v) if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else []


def compile_path(expr: str) -> PathFn:
    """Compile a simple JSONPath (``.a.b``, ``[0]``, ``[*]``, ``[?(@.type=="Ready")]``); braces optional."""
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise TableError(f"unrecognized column definition {expr!r}")
        steps.append(_step(m))
        pos = m.end()

    def evaluate(obj: Any) -> list[Any]:
        values = [obj]
        for step in steps:
            values = [r for v in values for r in step(v)]
        return values

    return evaluate


def human_duration(seconds: float) -> str:
    """Go's ``duration.HumanDuration``, as the API server renders Table ages.

    Written here again on purpose (``runbook_lib.durations.human_duration`` is the library's): the
    simulator must not share the library's interpretation, or it could not catch the library's
    mistakes. ``duplicates`` lists the pair; it stays."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(value: Any, now: float) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return human_duration(now - stamp.timestamp())


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _cell(col_type: str, value: Any, now: float) -> Any:
    if value is None:
        return None
    if col_type == "string":
        return _text(value)
    if col_type == "date":
        return _age(value, now)
    if col_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if col_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if col_type == "boolean" and isinstance(value, bool):
        return value
    return None


@dataclass(frozen=True)
class TableSpec:
    """The compiled printer columns of one resource type."""

    definitions: tuple[Obj, ...]
    columns: tuple[tuple[str, PathFn], ...]
    #: a built-in type's printer (its cells are computed, as the real server's printers do)
    printer: Printer | None = None

    @classmethod
    def for_type(cls, rt: ResourceType) -> TableSpec:
        printer = PRINTERS.get(rt.kind) if not rt.custom else None
        if printer is not None:
            builtin = tuple(
                {
                    "name": n,
                    "type": t,
                    "format": "name" if n == "Name" else "",
                    "description": "",
                    "priority": p,
                }
                for n, t, p in printer.columns
            )
            return cls(builtin, (), printer)
        defs: list[Obj] = [
            {
                "name": "Name",
                "type": "string",
                "format": "name",
                "description": _NAME_DESCRIPTION,
                "priority": rt.name_priority,
            }
        ]
        cols = []
        for col in rt.columns:
            desc = col.description or (
                "Custom resource definition column (in JSONPath format): " + col.json_path
            )
            defs.append(
                {
                    "name": col.name,
                    "type": col.type,
                    "format": "",
                    "description": desc,
                    "priority": col.priority,
                }
            )
            cols.append((col.type, compile_path(col.json_path)))
        return cls(tuple(defs), tuple(cols))

    def cells(self, obj: Obj, now: float) -> list[Any]:
        if self.printer is not None:
            return self.printer.cells(obj, lambda value: _age(value, now))
        row: list[Any] = [obj["metadata"].get("name", "")]
        for col_type, path in self.columns:
            found = path(obj)
            row.append(_cell(col_type, found[0], now) if found else None)
        return row


def row_object(obj: Obj, include: str, api_version: str) -> Obj | None:
    """The row's ``object`` for ``includeObject`` None, Metadata (default) or Object."""
    if include == "None":
        return None
    if include == "Object":
        return obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def to_table(
    spec: TableSpec,
    objs: Iterable[Obj],
    list_meta: Obj,
    *,
    include: str = "Metadata",
    api_version: str,
    table_version: str = "v1",
    headers: bool = True,
) -> Obj:
    now = time.time()
    rows = []
    for obj in objs:
        row: Obj = {"cells": spec.cells(obj, now)}
        embedded = row_object(obj, include, api_version)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    table: Obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{table_version}", "metadata": list_meta}
    if headers:
        table["columnDefinitions"] = list(spec.definitions)
    table["rows"] = rows
    return table


def wanted_table_version(accept: str) -> str | None:
    """``v1``/``v1beta1`` when the Accept header asks for a Table before plain JSON, else None."""
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if (
            params.get("as") == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return params["v"]
        if fields[0] in ("application/json", "*/*") and "as" not in params:
            return None
    return None
