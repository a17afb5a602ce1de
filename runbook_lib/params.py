"""Runbook parameters: read them from the ``parameters`` cell with ``ast`` and convert CLI values.

A parameter is declared as ``name: type = default  # German help``. Reading needs no kernel and no
papermill import (``runbook show`` stays fast). Conversion follows the declared type: ``bool``,
``int``, ``float``, ``str``, ``X | None`` / ``Optional[X]`` (``None``/``null`` give None), YAML for
``list``/``dict`` types, and ``Literal[...]`` checks the choices. Papermill itself neither checks
names nor types, so every value is validated here before anything runs.

Limits, because a value is untrusted text: at most :data:`MAX_VALUE` bytes, no NUL byte, YAML without
aliases (an alias bomb of 330 bytes expands to gigabytes) and at most :data:`MAX_DEPTH` levels deep,
only plain data (no dates, no ``.nan``: papermill writes values into the notebook as Python literals).
A parameter given twice is refused (the last one silently winning once pushed a change meant as a dry
run). Parameters whose *name* says what they are get the library's own check as well
(:data:`CHECKS`: ``namespace`` as Kubernetes checks a namespace, ``timeout`` as a Go duration, …), so a
value the runbook would refuse in its third cell is refused before the first.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from runbook_lib import names
from runbook_lib.errors import UsageError

_TRUE = frozenset({"true", "yes", "ja", "on", "1", "y", "j"})
_FALSE = frozenset({"false", "no", "nein", "off", "0", "n"})
_NONE = frozenset({"none", "null", "~", ""})
#: bytes of one ``-p`` value: a YAML mapping of values to change is a few hundred bytes; 64 KiB leaves
#: room for a large ``set_values`` and still bounds what is parsed and written into the notebook
MAX_VALUE = 64 * 1024
#: nesting levels of a YAML value: Helm values are rarely deeper than 6; the bound keeps the parser and
#: papermill's literal writer far from Python's recursion limit
MAX_DEPTH = 32
_TYPE_WORDS = MappingProxyType(
    {
        "bool": "einen Wahrheitswert (true/false)",
        "int": "eine ganze Zahl",
        "float": "eine Zahl",
        "list": "eine Liste (YAML/JSON, z. B. '[a, b]')",
        "dict": "eine Zuordnung (YAML/JSON, z. B. '{\"spec.values.x\": 1}')",
    }
)


@dataclass(frozen=True)
class TypeSpec:
    """A declared type reduced to what conversion needs."""

    base: str  # bool, int, float, str, list, dict, any
    optional: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Parameter:
    """One line of a ``parameters`` cell."""

    name: str
    type: str  # the annotation as written ("" if none)
    default: str  # the default as written
    help: str = ""
    line: int = 0

    @property
    def spec(self) -> TypeSpec:
        return type_spec(self.type)

    @property
    def default_value(self) -> Any:
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError):
            return self.default


# --- reading ---------------------------------------------------------------------------------------


def _comments(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    return comments


def parse_parameters(source: str) -> list[Parameter]:
    """Every top-level assignment of a ``parameters`` cell, with type, default and help comment."""
    tree = ast.parse(source)
    comments = _comments(source)
    found = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, ast.get_source_segment(source, node.annotation) or ""
            value = node.value
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            name, annotation, value = node.targets[0].id, "", node.value
        else:
            continue
        default = (ast.get_source_segment(source, value) or "") if value is not None else ""
        lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        help_text = next((comments[n] for n in lines if n in comments), "")
        found.append(Parameter(name, annotation, default, help_text, node.lineno))
    return found


# --- types -----------------------------------------------------------------------------------------


def _base(node: ast.expr) -> TypeSpec:
    if isinstance(node, ast.Name) and node.id in ("bool", "int", "float", "str", "list", "dict"):
        return TypeSpec(node.id)
    if isinstance(node, ast.Name) and node.id in ("List", "Dict", "Sequence", "Mapping"):
        return TypeSpec("list" if node.id in ("List", "Sequence") else "dict")
    if isinstance(node, ast.Subscript):
        outer = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
        if outer == "Optional":
            return TypeSpec(_base(node.slice).base, optional=True)
        if outer == "Literal":
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            choices = tuple(ast.literal_eval(e) for e in elts)
            return TypeSpec(type(choices[0]).__name__ if choices else "str", choices=choices)
        if outer == "Union":
            return _union(node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice])
        return _base(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(_flatten_or(node))
    return TypeSpec("str")


def _flatten_or(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flatten_or(node.left) + _flatten_or(node.right)
    return [node]


def _union(parts: list[ast.expr]) -> TypeSpec:
    optional = any(isinstance(p, ast.Constant) and p.value is None for p in parts)
    rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
    base = _base(rest[0]) if len(rest) == 1 else TypeSpec("any")
    return TypeSpec(base.base, optional=optional or base.optional, choices=base.choices)


def type_spec(annotation: str) -> TypeSpec:
    """``"str | None"`` -> ``TypeSpec("str", optional=True)``; unknown or missing types are ``str``."""
    if not annotation.strip():
        return TypeSpec("str")
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return TypeSpec("str")
    return _base(node)


# --- conversion ------------------------------------------------------------------------------------


def _bad(param: Parameter, raw: str, expected: str) -> UsageError:
    return UsageError(
        f"Parameter '{param.name}' erwartet {expected}, nicht {names.shown(raw)}.",
        f"Deklariert als `{param.name}: {param.type or 'str'}` ({param.help or 'ohne Beschreibung'}).",
    )


def _refused(param: Parameter, problem: str, hint: str) -> UsageError:
    return UsageError(f"Parameter '{param.name}': {problem}.", hint + " Es wurde nichts ausgeführt.")


def _scan_yaml(param: Parameter, raw: str) -> None:
    """Refuse aliases and deep nesting by reading the event stream (iterative: no recursion, no
    expansion) before anything is built from it."""
    import yaml

    depth = 0
    for event in yaml.parse(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.AliasEvent):
            raise _refused(
                param,
                f"YAML-Aliase (`*{event.anchor}`) sind in Parametern nicht erlaubt",
                "Den Wert ausgeschrieben angeben, ohne `&anker` und `*alias`.",
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refused(
                    param,
                    f"der Wert ist tiefer als {MAX_DEPTH} Ebenen verschachtelt",
                    "Einen flacheren Wert angeben; tief liegende Felder über Punkt-Pfade setzen, "
                    'z. B. `{"spec.values.image.tag": "v1"}`.',
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _plain(param: Parameter, value: Any) -> None:
    """Only what papermill can write back as a Python literal: str, int, float, bool, None, list, dict."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise _refused(param, f"`{item}` ist keine endliche Zahl", "Eine Zahl angeben.")
        elif item is not None and not isinstance(item, str | int | float | bool):
            raise _refused(
                param,
                f"`{item}` wird als {type(item).__name__} gelesen, erlaubt sind Text, Zahlen, "
                "Wahrheitswerte, Listen und Zuordnungen",
                "Den Wert in Anführungszeichen setzen, z. B. `'2025-01-01'`.",
            )


def _yaml(param: Parameter, raw: str, spec: TypeSpec) -> Any:
    import yaml

    try:
        _scan_yaml(param, raw)
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _bad(param, raw, _TYPE_WORDS.get(spec.base, "gültiges YAML")) from exc
    wanted = {"list": list, "dict": dict}.get(spec.base)
    if wanted is not None and not isinstance(value, wanted):
        raise _bad(param, raw, _TYPE_WORDS[spec.base])
    _plain(param, value)
    return value


def _check_text(param: Parameter, raw: str) -> None:
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError as exc:  # bytes of another encoding on the command line
        raise _refused(
            param,
            "der Wert ist kein gültiger UTF-8-Text",
            "Das Terminal auf UTF-8 stellen (`locale`) oder den Wert ohne Sonderzeichen angeben.",
        ) from exc
    if size > MAX_VALUE:
        raise _refused(
            param,
            f"der Wert ist {size} Bytes lang, erlaubt sind höchstens {MAX_VALUE}",
            "Einen kürzeren Wert angeben.",
        )
    if "\x00" in raw:
        raise _refused(
            param, "der Wert enthält ein NUL-Zeichen (\\0)", "Den Wert ohne Steuerzeichen angeben."
        )


def convert(param: Parameter, raw: str) -> Any:
    """Convert the text of ``-p NAME VALUE`` by the parameter's declared type."""
    spec = param.spec
    _check_text(param, raw)
    if spec.optional and raw.strip().lower() in _NONE:
        return None
    if spec.base == "bool":
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise _bad(param, raw, _TYPE_WORDS["bool"])
        value: Any = word in _TRUE
    elif spec.base in ("int", "float"):
        try:
            value = int(raw.strip()) if spec.base == "int" else float(raw.strip())
        except ValueError as exc:
            raise _bad(param, raw, _TYPE_WORDS[spec.base]) from exc
        _plain(param, value)
    elif spec.base in ("list", "dict", "any"):
        value = _yaml(param, raw, spec)
    else:
        value = raw
    if spec.choices and value not in spec.choices:
        raise _bad(param, raw, "einen der Werte " + ", ".join(repr(c) for c in spec.choices))
    return value


def unknown_parameter(name: str, declared: Iterable[str], runbook: str) -> UsageError:
    """The error for a name the runbook does not declare, suggesting the closest one."""
    names = sorted(declared)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    guess = f" Meinten Sie '{close[0]}'?" if close else ""
    return UsageError(
        f"Unbekannter Parameter '{name}' für das Runbook '{runbook}'.{guess}",
        f"Erlaubt sind: {', '.join(names) or 'keine'} (siehe `runbook show {runbook}`).",
    )


def _duration(value: str, what: str) -> object:
    from runbook_lib.durations import parse_duration

    return parse_duration(value, what=what)


def _kind(value: str, what: str) -> object:
    from runbook_lib.kinds import ALL_KINDS, resolve

    return resolve(value, choices=ALL_KINDS)


def _field(value: str, what: str) -> object:
    from runbook_lib.trace.locate import parse_field

    return parse_field(value)


#: checks by parameter name: the same the library applies when the runbook reaches that step (every
#: runbook names its parameters this way; see docs/development.md, "Runbook shape")
CHECKS: dict[str, Callable[[str, str], object]] = {
    "namespace": names.check_namespace,
    "name": names.check_name,
    "controller": names.check_name,
    "kustomization": names.check_ref,
    "kind": _kind,
    "timeout": _duration,
    "since": _duration,
    "follow": _duration,
    "duration": _duration,
    "field": _field,
    "suspended_for": _duration,
    "min_interval": _duration,
    "max_interval": _duration,
}


def validate(declared: Iterable[Parameter], given: Iterable[tuple[str, str]], runbook: str) -> dict[str, Any]:
    """Check names and convert values; raises :class:`UsageError` before anything runs."""
    by_name = {p.name: p for p in declared}
    values: dict[str, Any] = {}
    raw_values: dict[str, str] = {}
    for name, raw in given:
        if name not in by_name:
            raise unknown_parameter(name, by_name, runbook)
        if name in raw_values:
            raise UsageError(
                f"Parameter '{name}' ist mehrfach angegeben ({names.shown(raw_values[name])} und "
                f"{names.shown(raw)}).",
                "Jeden Parameter nur einmal mit -p angeben. Es wurde nichts ausgeführt.",
            )
        raw_values[name] = raw
        values[name] = convert(by_name[name], raw)
        check = CHECKS.get(name)
        if check is not None and isinstance(values[name], str):
            check(values[name], name)
    return values
