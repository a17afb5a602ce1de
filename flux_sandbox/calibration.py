"""Calibration of the simulated engine against the real one: one *view* of a cluster, taken the same
way on both engines, with every volatile part normalised.

The view holds what the runbooks read (docs/flux-facts.md §13):

- per Flux object (``Kind ns/name``): the conditions (type, status, reason, normalised message), the
  observedGeneration behaviour (``current``/``behind``/``absent``), revisions, ``status.history`` of a
  HelmRelease and the inventory of a Kustomization;
- Events of Flux objects: type, reason, normalised message, annotation keys, ``once``/``repeated``;
- Helm's storage Secrets: revision, status, label keys, chart version, description;
- the workloads of the Helm releases: Deployments (images) and their live pods (image, waiting
  reason), Terminating pods left out as the runbooks leave them out;
- controller log lines about the scenario's objects: level, keys, normalised message (and error).

``record`` (``./dev -s calibrate``) takes the view of every scenario the real engine supports and writes
``tests/calibration/fixtures/<scenario>.json``; ``tests/calibration`` takes the same view of the
simulated engine and compares it with :func:`compare`. Rerun the recorder whenever the pinned Flux
release (``flux_sandbox/real/versions.py``) is bumped.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from runbook_lib.helm import decode_release

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "calibration" / "fixtures"

#: (group, version, plural, kind) of the Flux kinds both engines run
FLUX_KINDS: tuple[tuple[str, str, str, str], ...] = (
    ("source.toolkit.fluxcd.io", "v1", "gitrepositories", "GitRepository"),
    ("source.toolkit.fluxcd.io", "v1", "helmrepositories", "HelmRepository"),
    ("source.toolkit.fluxcd.io", "v1", "helmcharts", "HelmChart"),
    ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease"),
)
KIND_NAMES = {kind for *_, kind in FLUX_KINDS}
CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")
#: log keys that every line has or whose values are per run (they say nothing about behaviour)
VOLATILE_LOG_KEYS = frozenset({"ts", "reconcileID", "caller", "stacktrace"})

# --- normalisation ----------------------------------------------------------------------------

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Helm's log tail appended to UpgradeFailed/InstallFailed events (docs/flux-facts.md §13)
    (re.compile(r"\n\nLast Helm logs:\n\n.*", re.S), "\n\nLast Helm logs:\n\n<helm logs>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"\b(sha1|sha256):[0-9a-f]{7,64}\b"), r"\1:<hash>"),
    (re.compile(r"\b[0-9a-f]{40}\b|\b[0-9a-f]{64}\b"), "<hash>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uid>"),
    (re.compile(r"\b[a-z]+://[^\s'\"]+"), "<url>"),
    (re.compile(r"\b(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    # pod names: <deployment>-<pod-template-hash>-<suffix>
    (re.compile(r"\b([a-z0-9-]+?)-[a-z0-9]{8,10}-[a-z0-9]{5}\b"), r"\1-<pod>"),
    (re.compile(r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*\b"), "<duration>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(B|kB|MB|KiB|MiB)\b"), "<size>"),
    (re.compile(r"\s+$"), ""),
)


def normalise(text: str | None) -> str:
    """A message with its volatile parts (times, hashes, uids, URLs, ports, pod names, durations,
    sizes, Helm's log tail) replaced by placeholders."""
    out = text or ""
    for pattern, repl in _RULES:
        out = pattern.sub(repl, out)
    return out


def _revision(value: Any) -> str | None:
    return normalise(str(value)) if value else None


def _observed(obj: Obj) -> str:
    observed = (obj.get("status") or {}).get("observedGeneration")
    if observed is None:
        return "absent"
    return "current" if observed == obj["metadata"].get("generation") else "behind"


def object_view(obj: Obj) -> Obj:
    """The part of one Flux object the runbooks read, normalised."""
    status = obj.get("status") or {}
    conditions = sorted(
        (
            {
                "type": c.get("type"),
                "status": c.get("status"),
                "reason": c.get("reason"),
                "message": normalise(c.get("message")),
            }
            for c in status.get("conditions") or []
        ),
        key=lambda c: str(c["type"]),
    )
    view: Obj = {"conditions": conditions, "observedGeneration": _observed(obj)}
    revisions = {
        key: _revision(status.get(key))
        for key in ("lastAppliedRevision", "lastAttemptedRevision", "lastAttemptedRevisionDigest")
        if key in status
    }
    if "artifact" in status:
        revisions["artifact"] = _revision((status.get("artifact") or {}).get("revision"))
    if revisions:
        view["revisions"] = revisions
    if obj.get("kind") == "HelmRelease":
        view["history"] = [
            {k: h.get(k) for k in ("chartName", "chartVersion", "status", "version")}
            for h in status.get("history") or []
        ]
        view["failures"] = {k: status.get(k, 0) for k in ("installFailures", "upgradeFailures")}
    if obj.get("kind") == "Kustomization":
        view["inventory"] = sorted(e["id"] for e in (status.get("inventory") or {}).get("entries") or [])
    if obj.get("spec", {}).get("suspend"):
        view["suspend"] = True
    return view


def event_view(events: Iterable[Obj]) -> list[Obj]:
    """Events of Flux objects, one row per (object, type, reason, normalised message)."""
    rows: dict[tuple[str, ...], Obj] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") not in KIND_NAMES:
            continue
        target = f"{involved['kind']} {involved.get('namespace')}/{involved.get('name')}"
        message = normalise(event.get("message"))
        if event.get("reason") == "Progressing":
            # a Kustomization's change set lists objects in fluxcd/pkg ssa's apply order; the lines are
            # compared as a set (the runbooks show the message, they do not read the order)
            message = "\n".join(sorted(message.splitlines()))
        annotations: list[str] = sorted((event.get("metadata") or {}).get("annotations") or {})
        row: Obj = {
            "object": target,
            "type": event.get("type"),
            "reason": event.get("reason"),
            "message": message,
            "annotations": annotations,
        }
        key = (target, str(row["type"]), str(row["reason"]), message)
        count = int(event.get("count") or 1)
        if key in rows:
            count += 2  # two Event objects for one message: repeated
            row["annotations"] = sorted(set(annotations) | set(rows[key]["annotations"]))
        row["count"] = "repeated" if count > 1 else "once"
        rows[key] = row
    return sorted(rows.values(), key=lambda r: (r["object"], r["reason"], r["message"]))


def helm_storage_view(secrets: Iterable[Obj]) -> list[Obj]:
    rows = []
    for secret in secrets:
        if secret.get("type") != "helm.sh/release.v1":
            continue
        labels = (secret.get("metadata") or {}).get("labels") or {}
        release: Obj = {}
        data = (secret.get("data") or {}).get("release")
        if data:
            release = decode_release(base64.b64decode(data))
        info = release.get("info") or {}
        rows.append(
            {
                "release": f"{secret['metadata']['namespace']}/{labels.get('name')}",
                "version": int(labels.get("version", 0)),
                "status": labels.get("status"),
                "labels": sorted(labels),
                "chartVersion": ((release.get("chart") or {}).get("metadata") or {}).get("version"),
                "description": normalise(info.get("description")),
            }
        )
    return sorted(rows, key=lambda r: (r["release"], r["version"]))


def workload_view(deployments: Iterable[Obj], pods: Iterable[Obj]) -> Obj:
    """Deployments and live pods of the Helm releases (label ``app.kubernetes.io/instance``)."""
    out: Obj = {"deployments": [], "pods": []}
    for dep in deployments:
        meta = dep["metadata"]
        if "app.kubernetes.io/instance" not in (meta.get("labels") or {}):
            continue
        containers = dep["spec"]["template"]["spec"]["containers"]
        out["deployments"].append(
            {"name": f"{meta['namespace']}/{meta['name']}", "images": sorted(c["image"] for c in containers)}
        )
    for pod in pods:
        meta = pod["metadata"]
        if "app.kubernetes.io/instance" not in (meta.get("labels") or {}) or meta.get("deletionTimestamp"):
            continue
        states = (pod.get("status") or {}).get("containerStatuses") or []
        waiting = sorted({(s.get("state") or {}).get("waiting", {}).get("reason", "") for s in states} - {""})
        out["pods"].append(
            {
                "name": normalise(f"{meta['namespace']}/{meta['name']}"),
                "images": sorted(c["image"] for c in pod["spec"]["containers"]),
                "waiting": waiting,
                "ready": all(s.get("ready") for s in states) and bool(states),
            }
        )
    out["deployments"].sort(key=lambda d: d["name"])
    out["pods"].sort(key=lambda p: (p["name"], p["images"]))
    return out


def _log_object(entry: Obj) -> str | None:
    for kind in KIND_NAMES:
        ref = entry.get(kind)
        if isinstance(ref, dict) and ref.get("name"):
            return f"{kind} {ref.get('namespace')}/{ref['name']}"
    return None


def log_view(controller: str, text: str) -> list[Obj]:
    """Distinct (object, level, keys, message, error) of a controller's JSON log lines about Flux
    objects."""
    rows: dict[str, Obj] = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        target = _log_object(entry)
        if target is None:
            continue
        row = {
            "controller": controller,
            "object": target,
            "level": entry.get("level"),
            "keys": sorted(set(entry) - VOLATILE_LOG_KEYS),
            "msg": normalise(entry.get("msg")),
        }
        if "error" in entry:
            row["error"] = normalise(str(entry["error"]))
        rows[json.dumps(row, sort_keys=True)] = row
    return sorted(rows.values(), key=lambda r: (r["object"], r["level"], r["msg"]))


# --- taking the view of a running cluster ---------------------------------------------------


def take_view(kubeconfig: Path, scenario: str) -> Obj:
    """The view of the cluster behind ``kubeconfig`` (context ``runbook-sandbox``)."""
    from kubernetes import client, config

    with config.new_client_from_config(config_file=str(kubeconfig), context="runbook-sandbox") as api:
        custom = client.CustomObjectsApi(api)
        core = client.CoreV1Api(api)
        apps = client.AppsV1Api(api)
        objects: Obj = {}
        for group, version, plural, kind in FLUX_KINDS:
            listed = cast(Obj, custom.list_cluster_custom_object(group, version, plural))
            for item in listed["items"]:
                item["kind"] = kind
                meta = item["metadata"]
                objects[f"{kind} {meta['namespace']}/{meta['name']}"] = object_view(item)
        # raw JSON: the client's models would reject what a divergent simulator writes
        events = _raw(core.list_event_for_all_namespaces)
        secrets = _raw(core.list_secret_for_all_namespaces)
        deployments = _raw(apps.list_deployment_for_all_namespaces)
        pods = _raw(core.list_pod_for_all_namespaces)
        logs: list[Obj] = []
        for controller in CONTROLLERS:
            logs.extend(log_view(controller, _controller_log(core, controller)))
    return {
        "scenario": scenario,
        "objects": dict(sorted(objects.items())),
        "events": event_view(events),
        "helm": helm_storage_view(secrets),
        "workloads": workload_view(deployments, pods),
        "logs": logs,
    }


def _raw(call: Any, *args: Any, **kwargs: Any) -> list[Obj]:
    items: list[Obj] = json.loads(call(*args, _preload_content=False, **kwargs).data)["items"]
    return items


def _controller_log(core: Any, controller: str) -> str:
    text = []
    for pod in _raw(core.list_namespaced_pod, "flux-system", label_selector=f"app={controller}"):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        resp = core.read_namespaced_pod_log(
            pod["metadata"]["name"], "flux-system", container="manager", _preload_content=False
        )
        text.append(resp.data.decode("utf-8", "replace"))
    return "\n".join(text)


# --- comparison -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """A deliberate divergence of the simulated engine: ``path`` (a regular expression over the
    difference's path, ``scenario`` ``*`` for all) with the reason it is accepted."""

    scenario: str
    path: str
    reason: str
    #: "any" difference, or only rows the real engine has and the simulated one lacks ("real-only")
    side: str = "any"
    #: the difference depends on timing and may or may not show in a run (exempt from the check that
    #: every entry of a scenario still matches something)
    timing: bool = False

    def matches(self, scenario: str, path: str, got: Any = None) -> bool:
        if self.side == "real-only" and got != MISSING:
            return False
        return self.scenario in ("*", scenario) and re.fullmatch(self.path, path, re.S) is not None


MISSING = "<fehlt>"


def _key(row: Obj, fields: tuple[str, ...]) -> str:
    return " ".join(str(row.get(f)) for f in fields)


#: list fields compared as sets of rows, identified by these fields
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("object", "type", "reason", "message"),
    "helm": ("release", "version"),
    "logs": ("controller", "object", "level", "msg"),
    "conditions": ("type",),
    "deployments": ("name",),
    "pods": ("name", "images"),
    "history": ("version",),
}


def differences(want: Any, got: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, want, got) for every field where ``got`` (simulated) differs from ``want`` (real)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                yield sub, want[key], MISSING
            elif key not in want:
                yield sub, MISSING, got[key]
            else:
                yield from differences(want[key], got[key], sub)
        return
    field = path.rsplit(".", 1)[-1]
    if isinstance(want, list) and isinstance(got, list) and field in ROW_KEYS:
        fields = ROW_KEYS[field]
        wanted = {_key(r, fields): r for r in want}
        gotten = {_key(r, fields): r for r in got}
        for key in sorted(set(wanted) | set(gotten)):
            yield from differences(wanted.get(key, MISSING), gotten.get(key, MISSING), f"{path}[{key}]")
        return
    if want != got:
        yield path, want, got


def count_fields(view: Any) -> int:
    """How many leaf fields a view has (the number the calibration compares)."""
    if isinstance(view, dict):
        return sum(count_fields(v) for v in view.values())
    if isinstance(view, list) and view and isinstance(view[0], dict):
        return sum(count_fields(v) for v in view)
    return 1


def compare(scenario: str, want: Obj, got: Obj, allowed: Iterable[Allowed]) -> tuple[list[str], list[str]]:
    """(unexpected differences as readable lines, allow-list entries that matched nothing)."""
    rules = [a for a in allowed if a.scenario in ("*", scenario)]
    used: set[Allowed] = set()
    lines = []
    for path, w, g in differences(want, got):
        rule = next((a for a in rules if a.matches(scenario, path, g)), None)
        if rule is not None:
            used.add(rule)
            continue
        lines.append(f"{path}\n    echt:      {json.dumps(w, ensure_ascii=False)}\n"
                     f"    simuliert: {json.dumps(g, ensure_ascii=False)}")  # fmt: skip
    unused = [
        f"{a.scenario}: {a.path}" for a in rules if a not in used and a.scenario == scenario and not a.timing
    ]
    return lines, unused


# --- the recorder -----------------------------------------------------------------------------


def record(scenarios: list[str], out: Path) -> int:
    from flux_sandbox.real.engine import Engine
    from flux_sandbox.real.scenarios import REAL_SCENARIOS
    from flux_sandbox.real.versions import FLUX_VERSION

    out.mkdir(parents=True, exist_ok=True)
    for name in scenarios or list(REAL_SCENARIOS):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"calibrate-{name}-") as tmp:
            engine = Engine(Path(tmp) / "state", name, progress=lambda line: None)
            try:
                engine.start()
                view = take_view(engine.kubeconfig, name)
            finally:
                engine.stop()
        view["flux"] = FLUX_VERSION
        (out / f"{name}.json").write_text(json.dumps(view, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"{name}: {count_fields(view)} Felder in {time.monotonic() - started:.0f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flux_sandbox.calibration")
    parser.add_argument("scenarios", nargs="*", help="Szenarien (ohne: alle der echten Engine)")
    parser.add_argument("--out", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    return record(args.scenarios, args.out)


if __name__ == "__main__":
    sys.exit(main())
