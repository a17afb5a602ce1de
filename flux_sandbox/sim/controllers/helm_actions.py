"""Helm actions of the simulated helm-controller: install, upgrade, rollback into Helm's own storage.

Each action writes a release Secret exactly as Helm's secrets driver does (``runbook_lib.helm``), applies
the rendered manifests with helm-controller's origin labels and waits for the rollout (``--wait``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from flux_sandbox.sim.controllers import catalog
from flux_sandbox.sim.controllers import helm_storage as helmlib
from flux_sandbox.sim.controllers.recording import EventRecorder
from flux_sandbox.sim.controllers.workload import rollout
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Store, StoreError

Obj = dict[str, Any]
SECRET = by_kind("Secret")
HR_LABEL = "helm.toolkit.fluxcd.io"
MAX_HISTORY = 5


@dataclass(frozen=True)
class Target:
    """Where a HelmRelease's release lives."""

    hr_name: str
    hr_namespace: str
    release: str
    namespace: str
    storage: str


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def values_checksum(values: Obj) -> str:
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()


def stored_releases(store: Store, target: Target) -> list[Obj]:
    """Decoded releases of ``target`` in its storage namespace, oldest first."""
    items, _ = store.list(SECRET, target.storage, label_selector=f"owner=helm,name={target.release}")
    releases = [
        helmlib.read_release(s["data"]["release"]) for s in items if s.get("type") == helmlib.SECRET_TYPE
    ]
    return sorted(releases, key=lambda r: r["version"])


def snapshot(release: Obj) -> Obj:
    info, meta = release["info"], release["chart"]["metadata"]
    snap = {
        "digest": digest(release),
        "name": release["name"],
        "namespace": release["namespace"],
        "version": release["version"],
        "status": info["status"],
        "chartName": meta["name"],
        "chartVersion": meta["version"],
        "appVersion": meta.get("appVersion", ""),
        "configDigest": digest(release.get("config") or {}),
        "firstDeployed": info["first_deployed"][:19] + "Z",
        "lastDeployed": info["last_deployed"][:19] + "Z",
    }
    if info.get("deleted"):
        snap["deleted"] = info["deleted"][:19] + "Z"
    return snap


def history(store: Store, target: Target) -> list[Obj]:
    """status.history: snapshots newest first."""
    return [snapshot(r) for r in reversed(stored_releases(store, target))][:MAX_HISTORY]


def _create(store: Store, storage: str, release: Obj) -> None:
    body = helmlib.release_secret(release, created_at=int(time.time()))
    body["metadata"]["namespace"] = storage
    store.create(SECRET, body)


def _set_status(
    store: Store, storage: str, release: Obj, status: str, description: str | None = None
) -> None:
    """Update a stored release's status (Helm's driver ``Update``: fresh labels with modifiedAt, no
    createdAt; docs/flux-facts.md §9)."""
    release["info"]["status"] = status
    if description is not None:
        release["info"]["description"] = description
    live = store.find(SECRET, storage, helmlib.secret_name(release["name"], release["version"]))
    if live is None:
        return
    fresh = helmlib.release_secret(release, modified_at=int(time.time()))
    live["metadata"]["labels"] = fresh["metadata"]["labels"]
    live["data"] = fresh["data"]
    live["metadata"].pop("resourceVersion", None)
    store.replace(SECRET, live)


def _manifest(objects: list[Obj], chart: str) -> str:
    parts = []
    for obj in objects:
        source = f"{chart}/templates/{obj['kind'].lower()}.yaml"
        parts.append(f"---\n# Source: {source}\n" + yaml.safe_dump(obj, sort_keys=False))
    return "".join(parts)


def _origin(objects: list[Obj], target: Target) -> list[Obj]:
    for obj in objects:
        labels = obj["metadata"].setdefault("labels", {})
        labels[f"{HR_LABEL}/name"] = target.hr_name
        labels[f"{HR_LABEL}/namespace"] = target.hr_namespace
        # as Helm itself annotates every object of a release (pkg/action: setMetadataVisitor)
        annotations = obj["metadata"].setdefault("annotations", {})
        annotations["meta.helm.sh/release-name"] = target.release
        annotations["meta.helm.sh/release-namespace"] = target.namespace
    return objects


def _apply(store: Store, objects: list[Obj]) -> list[Obj]:
    """Create or update (status kept); returns the stored Deployments."""
    deploys = []
    for obj in objects:
        rt = store.rtype_of(obj)
        meta = obj["metadata"]
        live = store.find(rt, meta.get("namespace"), meta["name"])
        if live is None:
            stored = store.create(rt, obj)
        else:
            live.update({k: v for k, v in obj.items() if k not in ("metadata", "status")})
            live["metadata"]["labels"] = {
                **(live["metadata"].get("labels") or {}),
                **(meta.get("labels") or {}),
            }
            live["metadata"]["annotations"] = {
                **(live["metadata"].get("annotations") or {}),
                **(meta.get("annotations") or {}),
            }
            live["metadata"].pop("resourceVersion", None)
            stored = store.replace(rt, live)
        if obj["kind"] == "Deployment":
            deploys.append(stored)
    return deploys


def _prune_history(store: Store, target: Target) -> None:
    releases = stored_releases(store, target)
    for old in releases[:-MAX_HISTORY] if len(releases) > MAX_HISTORY else []:
        with contextlib.suppress(StoreError):
            store.delete(SECRET, target.storage, helmlib.secret_name(old["name"], old["version"]))


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    revision: int
    error: str = ""
    #: what kept the rollout from finishing (``Back-off pulling image …``)
    problem: str = ""


def run(
    store: Store,
    target: Target,
    action: str,
    chart: catalog.ChartVersion,
    values: Obj,
    *,
    wait: Callable[[], object],
    kubelet: EventRecorder | None = None,
) -> ActionResult:
    """Install or upgrade: new release revision, apply, ``--wait`` for the Deployments."""
    releases = stored_releases(store, target)
    revision = releases[-1]["version"] + 1 if releases else 1
    now = helmlib.helm_now()
    objects = _origin(catalog.render(chart, target.release, target.namespace, values), target)
    release: Obj = {
        "name": target.release,
        "namespace": target.namespace,
        "version": revision,
        "info": {
            "first_deployed": releases[0]["info"]["first_deployed"] if releases else now,
            "last_deployed": now,
            "deleted": "",
            "description": "Initial install underway" if action == "install" else "Preparing upgrade",
            "status": "pending-install" if action == "install" else "pending-upgrade",
            "notes": "",
        },
        "chart": {
            "metadata": {
                "name": chart.name,
                "version": chart.version,
                "appVersion": chart.app_version,
                "apiVersion": "v2",
                "description": chart.description,
                "home": chart.home,
                "type": "application",
            },
            "values": catalog.default_values(chart.name),
            "templates": [],
            "files": [],
        },
        "config": values,
        "manifest": _manifest(objects, chart.name),
        "hooks": [],
    }
    _create(store, target.storage, release)
    deploys = _apply(store, objects)
    ok, problem = _wait_rollout(store, deploys, wait, kubelet)
    verb = "Install" if action == "install" else "Upgrade"
    if ok:
        for prev in releases:
            if prev["info"]["status"] == "deployed":
                _set_status(store, target.storage, prev, "superseded")
        _set_status(store, target.storage, release, "deployed", f"{verb} complete")
        _prune_history(store, target)
        return ActionResult(True, revision)
    # Helm 4's kstatus waiter, as helm-controller v1.6 reports it (docs/flux-facts.md §9)
    waiting = ", ".join(
        f"Deployment/{d['metadata'].get('namespace', target.namespace)}/{d['metadata']['name']} "
        "status: 'InProgress'"
        for d in deploys
    )
    error = f"timeout waiting for: [{waiting}]"
    label = f'Upgrade "{target.release}"' if action == "upgrade" else f'Release "{target.release}"'
    _set_status(store, target.storage, release, "failed", f"{label} failed: {error}")
    _prune_history(store, target)
    return ActionResult(False, revision, error, problem)


def _wait_rollout(
    store: Store, deploys: list[Obj], wait: Callable[[], object], kubelet: EventRecorder | None
) -> tuple[bool, str]:
    problem = ""
    for attempt in range(2):
        problem = ""
        for deploy in deploys:
            result = rollout(store, deploy, catalog.image_available, kubelet)
            if not result.ready:
                problem = result.problem
        if not problem:
            return True, ""
        if attempt == 0:
            wait()
    return False, problem


def rollback(
    store: Store, target: Target, *, wait: Callable[[], object], kubelet: EventRecorder | None = None
) -> tuple[int, Obj] | None:
    """Helm rollback to the last release before the failed one; returns (target revision, new release)."""
    releases = stored_releases(store, target)
    if len(releases) < 2:
        return None
    current = releases[-1]
    previous = next(
        (r for r in reversed(releases[:-1]) if r["info"]["status"] in ("deployed", "superseded")), None
    )
    if previous is None:
        return None
    now = helmlib.helm_now()
    new = json.loads(json.dumps(previous))
    new["version"] = current["version"] + 1
    new["info"].update(
        last_deployed=now, status="pending-rollback", description=f"Rollback to {previous['version']}"
    )
    _create(store, target.storage, new)
    # Helm's rollback supersedes every deployed release; a failed one stays failed (docs/flux-facts.md §9)
    for release in releases:
        if release["info"]["status"] == "deployed":
            _set_status(store, target.storage, release, "superseded")
    objects = list(yaml.safe_load_all(new["manifest"]))
    deploys = _apply(store, [o for o in objects if o])
    _wait_rollout(store, deploys, wait, kubelet)
    _set_status(store, target.storage, new, "deployed")
    _prune_history(store, target)
    return previous["version"], new
