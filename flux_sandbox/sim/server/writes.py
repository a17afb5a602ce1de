"""What the write verbs of the simulated API server check before the store acts: ``dryRun`` and
``fieldValidation``, the applied configuration of a server-side apply, a Pod's grace period.
Pure functions over the request (docs/flux-facts.md §14)."""

from __future__ import annotations

import json
from typing import Any

from flux_sandbox.sim.errors import StoreError, not_found
from flux_sandbox.sim.server.wire import Route, parse_object
from flux_sandbox.sim.store import Obj, Store

_FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


def check_write_options(query: dict[str, str]) -> None:
    """``dryRun`` (only ``All``) and ``fieldValidation`` as the real server checks them."""
    dry = query.get("dryRun")
    if dry not in (None, "", "All"):
        raise StoreError(400, "BadRequest", f'Invalid dry run value: {dry}: supported values: "All"')
    validation = query.get("fieldValidation")
    if validation not in (None, "", *_FIELD_VALIDATION):
        raise StoreError(
            400,
            "BadRequest",
            f"fieldValidation parameter unsupported: {validation}. Valid values: Ignore, Warn, Strict",
        )


def write_options(warnings: list[str], query: dict[str, str]) -> dict[str, Any]:
    """The store's keyword arguments of a write: dry run, field validation (default Warn), warnings."""
    return {
        "dry_run": query.get("dryRun") == "All",
        "field_validation": query.get("fieldValidation") or "Warn",
        "warnings": warnings,
    }


def applied_config(route: Route, body: bytes) -> Obj:
    """The applied configuration of a server-side apply; its apiVersion, kind and name must be the
    route's."""
    config = parse_object("application/yaml", body)
    meta = config.get("metadata") or {}
    if config.get("apiVersion") != route.api_version:
        raise StoreError(
            400,
            "BadRequest",
            f"the API version in the data ({config.get('apiVersion')}) does not match the expected "
            f"API version ({route.api_version})",
        )
    if config.get("kind") != route.rt.kind:
        raise StoreError(
            400,
            "BadRequest",
            f"the kind in the data ({config.get('kind')}) does not match the expected kind ({route.rt.kind})",
        )
    if meta.get("name") not in (None, route.name):
        raise StoreError(
            400,
            "BadRequest",
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({route.name})",
        )
    return config


def grace_period(store: Store, route: Route, query: dict[str, str], body: bytes) -> int:
    """A Pod's grace period: ``gracePeriodSeconds`` of the query or of the DeleteOptions body, else
    the Pod's ``terminationGracePeriodSeconds`` (default 30), as the real pod registry takes it."""
    assert route.name is not None
    given: Any = query.get("gracePeriodSeconds")
    if given is None and body.strip():
        try:
            given = json.loads(body).get("gracePeriodSeconds")
        except (ValueError, AttributeError):
            given = None
    if given is None:
        pod = store.peek(route.rt, route.namespace, route.name)
        if pod is None:
            raise not_found(route.rt, route.name)
        given = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    try:
        return max(0, int(given))
    except (TypeError, ValueError):
        raise StoreError(400, "BadRequest", f"invalid gracePeriodSeconds {given!r}") from None
