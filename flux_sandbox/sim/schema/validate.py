"""Validation, defaulting and pruning of custom resources against their CRD's structural schema.

What the real kube-apiserver's apiextensions registry does with a custom resource on every write
(docs/flux-facts.md §14): unknown fields are pruned (reported as warnings ``unknown field "spec.x"``,
or refused with ``fieldValidation=Strict``), defaults are applied, and the object is validated against
types, required fields, patterns, enums, formats and bounds. Violations are collected as
:class:`Cause` records; the server answers them as one 422 ``Invalid`` Status with ``details.causes``,
worded as the real server words them. CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Schema = dict[str, Any]

#: top-level fields the schema never prunes (ObjectMeta is validated by the generic registry)
_ROOT_KEEP = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class Cause:
    """One field error as ``metav1.StatusCause``: reason, message (without the field) and field path."""

    reason: str
    message: str
    field: str

    def text(self) -> str:
        return f"{self.field}: {self.message}"

    def wire(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class Outcome:
    """What validating one object found: errors and the pruned fields (paths)."""

    causes: list[Cause] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _go_quote(value: Any) -> str:
    """A value as the API server prints it in ``Invalid value: …`` (Go's %#v for strings: quoted)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return '"' + ("object" if isinstance(value, dict) else "array") + '"'
    if value is None:
        return "null"
    return str(value)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_ok(want: str, value: Any) -> bool:
    got = _type_of(value)
    if want == "number":
        return got in ("integer", "number")
    if want == "integer" and got == "number":
        return float(value).is_integer()
    return got == want


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(schema: Schema, value: Any, path: str, out: Outcome, *, prune: bool) -> Any:
    """Validate (and prune/default) ``value`` at ``path``; returns the possibly changed value."""
    if value is None:
        if schema.get("nullable"):
            return value
        if "type" in schema:
            out.causes.append(
                Cause(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "null": {path} in body must be of type {schema["type"]}: "null"',
                    path,
                )
            )
        return value
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            out.causes.append(
                Cause(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "{_type_of(value)}": {path} in body must be of type '
                    f'integer,string: "{_type_of(value)}"',
                    path,
                )
            )
        return value
    want = schema.get("type")
    if want and not _type_ok(want, value):
        got = _type_of(value)
        out.causes.append(
            Cause(
                "FieldValueTypeInvalid",
                f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"',
                path,
            )
        )
        return value
    if isinstance(value, dict):
        return _check_object(schema, value, path, out, prune=prune)
    if isinstance(value, list):
        return _check_array(schema, value, path, out, prune=prune)
    _check_scalar(schema, value, path, out)
    return value


def _check_object(schema: Schema, value: dict[str, Any], path: str, out: Outcome, *, prune: bool) -> Any:
    props: dict[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
        "x-kubernetes-embedded-resource"
    )
    result: dict[str, Any] = {}
    for key, sub in value.items():
        child = _join(path, key)
        if not path and key in _ROOT_KEEP:
            result[key] = sub
        elif key in props:
            result[key] = _check(props[key], sub, child, out, prune=prune)
        elif isinstance(extra, dict):
            result[key] = _check(extra, sub, child, out, prune=prune)
        elif extra is True or keep_unknown:
            result[key] = sub
        elif prune:
            out.unknown.append(child)
        else:
            result[key] = sub
    for key, sub in props.items():
        if key not in result and "default" in sub:
            result[key] = copy.deepcopy(sub["default"])
    for key in schema.get("required") or ():
        if key not in result:
            out.causes.append(Cause("FieldValueRequired", "Required value", _join(path, key)))
    return result


def _check_array(schema: Schema, value: list[Any], path: str, out: Outcome, *, prune: bool) -> Any:
    items = schema.get("items")
    result = [
        _check(items, sub, f"{path}[{i}]", out, prune=prune) if isinstance(items, dict) else sub
        for i, sub in enumerate(value)
    ]
    if "maxItems" in schema and len(result) > schema["maxItems"]:
        out.causes.append(
            Cause(
                "FieldValueTooMany",
                f"Too many: {len(result)}: must have at most {schema['maxItems']} items",
                path,
            )
        )
    if "minItems" in schema and len(result) < schema["minItems"]:
        out.causes.append(
            Cause(
                "FieldValueInvalid",
                f"Invalid value: {len(result)}: {path} in body should have at least "
                f"{schema['minItems']} items",
                path,
            )
        )
    if schema.get("x-kubernetes-list-type") == "set":
        seen: list[Any] = []
        for i, item in enumerate(result):
            if item in seen:
                out.causes.append(
                    Cause("FieldValueDuplicate", f"Duplicate value: {_go_quote(item)}", f"{path}[{i}]")
                )
            seen.append(item)
    return result


def _check_scalar(schema: Schema, value: Any, path: str, out: Outcome) -> None:
    shown = _go_quote(value)
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_go_quote(v) for v in schema["enum"])
        out.causes.append(
            Cause(
                "FieldValueNotSupported", f"Unsupported value: {shown}: supported values: {supported}", path
            )
        )
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.causes.append(
                Cause(
                    "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes", path
                )
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: {path} in body should be at least "
                    f"{schema['minLength']} chars long",
                    path,
                )
            )
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: {path} in body should match '{schema['pattern']}'",
                    path,
                )
            )
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: {path} in body should be greater than or equal to "
                    f"{schema['minimum']}",
                    path,
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: {path} in body should be less than or equal to "
                    f"{schema['maximum']}",
                    path,
                )
            )


def validate(schema: Schema, obj: dict[str, Any], *, prune: bool = True) -> tuple[dict[str, Any], Outcome]:
    """The pruned and defaulted object and what was found; ``obj`` itself is left unchanged."""
    out = Outcome()
    result = _check(schema, obj, "", out, prune=prune)
    return result, out


def invalid_message(kind: str, group: str, name: str, causes: list[Cause]) -> str:
    """``Kustomization.kustomize.toolkit.fluxcd.io "apps" is invalid: …`` (several errors in brackets)."""
    texts = [c.text() for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return f'{qualified} "{name}" is invalid: {joined}'
