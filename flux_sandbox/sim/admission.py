"""Admission of writes in the simulated API server: what a real API server checks before it stores.

Custom resources are pruned, defaulted and validated against their CRD's schema (docs/flux-facts.md
§14); core/v1 Events are checked like the real Event validation. Every refusal is a
:class:`~flux_sandbox.sim.errors.StoreError` worded as the real server words it.
"""

from __future__ import annotations

import json
from typing import Any

from flux_sandbox.sim.errors import StoreError
from flux_sandbox.sim.resources import ResourceType
from flux_sandbox.sim.schema import crds
from flux_sandbox.sim.schema.validate import Cause, invalid_message, validate

Obj = dict[str, Any]

#: the cause the real server appends when schema errors kept it from evaluating the CRD's CEL rules
_RULES_SKIPPED = Cause(
    "FieldValueInvalid",
    "Invalid value: null: some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation",
    "<nil>",
)


#: error kinds after which the real server does not evaluate CEL rules (apiextensions hasBlockingErr)
_BLOCKING = ("FieldValueTypeInvalid", "FieldValueNotSupported", "FieldValueRequired")


def check_event(event: Obj) -> None:
    """core/v1 Event validation: an Event with ``eventTime`` (the events/v1 shape) needs
    ``reportingController`` (``reportingComponent``) and ``reportingInstance``; client-go's core/v1
    recorder, which Flux and cert-manager use, writes no eventTime (docs/flux-facts.md §14)."""
    if not event.get("eventTime"):
        return
    causes = [
        Cause("FieldValueRequired", "Required value", field)
        for field, key in (
            ("reportingController", "reportingComponent"),
            ("reportingInstance", "reportingInstance"),
        )
        if not event.get(key)
    ]
    if causes:
        name = event["metadata"].get("name", "")
        raise StoreError(
            422,
            "Invalid",
            invalid_message("Event", "", name, causes),
            {"name": name, "kind": "Event", "causes": [c.wire() for c in causes]},
        )


def admit(
    rt: ResourceType,
    obj: Obj,
    field_validation: str,
    warnings: list[str] | None,
    verb: str,
) -> Obj:
    """Prune, default and validate a custom resource against its CRD's schema (docs/flux-facts.md
    §14); other types pass unchanged. Raises the real server's 422 ``Invalid`` (or, for unknown
    fields with ``fieldValidation=Strict``, its strict decoding error)."""
    if rt.kind == "Event":
        check_event(obj)
    crd = crds().get(rt.key) if rt.custom else None
    if crd is None:
        return obj
    version = crd.storage
    name = obj["metadata"].get("name", "")
    pruned, outcome = validate(version.schema, obj)
    if outcome.unknown and field_validation == "Strict":
        unknown = ", ".join(f'unknown field "{path}"' for path in outcome.unknown)
        if verb != "patch":
            raise StoreError(
                400,
                "BadRequest",
                f'{rt.kind} in version "{version.name}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {unknown}",
            )
        shown = json.dumps(json.dumps(obj, separators=(",", ":"), ensure_ascii=False), ensure_ascii=False)
        message = f"Invalid value: {shown}: strict decoding error: {unknown}"
        raise StoreError(
            422,
            "Invalid",
            f' "" is invalid: patch: {message}',
            {"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]},
        )
    if outcome.causes:
        causes = list(outcome.causes)
        if version.has_rules and any(c.reason in _BLOCKING for c in causes):
            causes.append(_RULES_SKIPPED)
        raise StoreError(
            422,
            "Invalid",
            invalid_message(rt.kind, rt.group, name, causes),
            {"name": name, "group": rt.group, "kind": rt.kind, "causes": [c.wire() for c in causes]},
        )
    if warnings is not None and field_validation != "Ignore":
        warnings.extend(f'unknown field "{path}"' for path in outcome.unknown)
    return pruned


def check_applied_fields(rt: ResourceType, config: Obj, namespace: str | None, name: str) -> None:
    """An applied configuration with a field outside the schema cannot be typed: the real server
    answers 500 whatever ``fieldValidation`` says."""
    crd = crds().get(rt.key) if rt.custom else None
    if crd is None:
        return
    _pruned, found = validate(crd.storage.schema, config)
    if found.unknown:
        raise StoreError(
            500,
            "InternalError",
            f"failed to create typed patch object ({namespace}/{name}; "
            f"{rt.group}/{crd.storage.name}, Kind={rt.kind}): "
            f".{found.unknown[0]}: field not declared in schema",
        )
