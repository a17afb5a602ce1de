"""What every simulated controller shares: timing, the reconcile loop, conditions, events and JSON logs.

A controller is one thread over the :class:`~flux_sandbox.sim.store.Store` (no HTTP). It reconciles
an object when it is created, when its generation changes, when ``reconcile.fluxcd.io/requestedAt``
gets a new value, and when its ``spec.interval`` has elapsed (docs/flux-facts.md §2 and §4). Suspended
objects are skipped with the log line ``Reconciliation is suspended for this object``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from flux_sandbox.sim.controllers.recording import EventRecorder, PodLogger, now_iso, redact
from flux_sandbox.sim.resources import ResourceType, by_kind
from flux_sandbox.sim.store import Change, Store, StoreError

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (kind, namespace, name)

# The simulated controllers keep their own annotation names and condition helpers instead of the
# library's (runbook_lib.reconcile.rules, runbook_lib.objects): a fake that shares the client's rules
# cannot catch the client's bugs. `duplicates` may list such pairs; they stay.
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"


@dataclass(frozen=True)
class Timing:
    """Every delay of the simulated cluster, in seconds, in one place.

    ``fast()`` keeps a full healthy start well under a second for tests; ``demo()`` is slow enough
    that a person watching ``flux get`` or a runbook sees the intermediate states.
    """

    #: one unit of simulated work (clone, build, apply, pull); real controllers take 50 ms to seconds
    step: float = 0.03
    #: longest idle wait of a controller loop before it looks at its schedule again
    poll: float = 0.25
    #: multiplies every ``spec.interval``; 1.0 keeps Flux's real intervals (1m, 10m)
    interval_scale: float = 1.0
    #: how long ``helm upgrade --wait`` waits for a rollout before "context deadline exceeded"
    helm_wait: float = 0.15
    #: requeue after a failed reconcile (controller-runtime's backoff, simplified to one value)
    retry: float = 0.1
    #: requeue of a Kustomization/HelmRelease whose dependsOn is not Ready (real default 30s)
    dependency_requeue: float = 0.2

    @classmethod
    def fast(cls) -> Timing:
        return cls()

    @classmethod
    def demo(cls) -> Timing:
        return cls(step=0.15, poll=0.25, helm_wait=2.0, retry=1.0, dependency_requeue=1.0)

    def scaled(self, **changes: float) -> Timing:
        return replace(self, **changes)


# --- durations ---------------------------------------------------------------------------


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str | None, default: float = 600.0) -> float:
    """Go duration (``1m``, ``10m0s``, ``1h30m``) in seconds."""
    if not text:
        return default
    parts = _DURATION.findall(str(text))
    if not parts:
        return default
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * factor[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for the values the controllers print (``10m0s``, ``52.3ms``)."""
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms".replace(".0ms", "ms")
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    sec_text = f"{sec:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


# --- conditions -----------------------------------------------------------------------------------


def get_condition(status: Obj, type_: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)


def is_ready(obj: Obj | None) -> bool:
    cond = get_condition((obj or {}).get("status") or {}, "Ready")
    return bool(cond and cond.get("status") == "True")


def set_condition(status: Obj, type_: str, value: str, reason: str, message: str, generation: int) -> None:
    """Set a metav1.Condition; lastTransitionTime changes only when the status value changes.
    The message is :func:`~.recording.redact`-ed (no URL credentials in conditions)."""
    conds = status.setdefault("conditions", [])
    new = {
        "type": type_,
        "status": value,
        "observedGeneration": generation,
        "lastTransitionTime": now_iso(),
        "reason": reason,
        "message": redact(message),
    }
    for i, cond in enumerate(conds):
        if cond.get("type") == type_:
            if cond.get("status") == value:
                new["lastTransitionTime"] = cond.get("lastTransitionTime", new["lastTransitionTime"])
            conds[i] = new
            return
    conds.append(new)


def delete_condition(status: Obj, type_: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_]


def finalize_status(obj: Obj, status: Obj) -> Obj:
    """kustomize-controller's ``finalizeStatus`` pattern, shared by all Flux controllers here.

    Ready=True (or Stalled=True): drop Reconciling, observedGeneration follows generation.
    Ready=False: Reconciling stays True with reason ProgressingWithRetry.
    lastHandledReconcileAt is copied from the requestedAt annotation.
    """
    gen = obj["metadata"].get("generation", 1)
    stalled = get_condition(status, "Stalled")
    if is_ready({"status": status}) or (stalled and stalled["status"] == "True"):
        delete_condition(status, "Reconciling")
        status["observedGeneration"] = gen
    else:
        rec = get_condition(status, "Reconciling")
        message = rec["message"] if rec else "Reconciliation in progress"
        ready = get_condition(status, "Ready") or {}
        # helm-controller waiting for its chart keeps Progressing "Fulfilling prerequisites"
        waiting = ready.get("reason") == "SourceNotReady" and rec and rec.get("reason") == "Progressing"
        reason = "Progressing" if waiting else "ProgressingWithRetry"
        set_condition(status, "Reconciling", "True", reason, message, gen)
    if not stalled or stalled["status"] != "True":
        delete_condition(status, "Stalled")
    requested = (obj["metadata"].get("annotations") or {}).get(REQUESTED_AT)
    if requested:
        status["lastHandledReconcileAt"] = requested
    return status


# --- the reconcile loop -----------------------------------------------------------------------------


class ArtifactStorage:
    """source-controller's artifact storage: artifact path -> content, shared with the consumers."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()

    def put(self, path: str, content: Any) -> None:
        with self._lock:
            self._items[path] = content

    def get(self, path: str) -> Any:
        with self._lock:
            return self._items.get(path)


@dataclass(frozen=True)
class Env:
    """What every controller gets: the store, timing, artifact storage and the git server's token."""

    store: Store
    timing: Timing
    artifacts: ArtifactStorage = field(default_factory=ArtifactStorage)
    #: token the simulated git server accepts in Secret ``flux-system`` (key ``password``); "" = any
    git_token: str = ""


class Reconcile:
    """One reconcile of one object: its reconcileID, a log method and an event method."""

    def __init__(self, ctrl: Controller, obj: Obj) -> None:
        self.ctrl = ctrl
        self.obj = obj
        self.id = str(uuid.uuid4())
        self.started = time.monotonic()

    @property
    def gen(self) -> int:
        return int(self.obj["metadata"].get("generation", 1))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, msg: str, level: str = "info", **extra: Any) -> None:
        meta = self.obj["metadata"]
        kind = self.obj["kind"]
        fields = {
            "controller": kind.lower(),
            "controllerGroup": self.ctrl.rtype(kind).group,
            "controllerKind": kind,
            # controller-runtime keys the object by its Kind (docs/flux-facts.md §13)
            kind: {"name": meta["name"], "namespace": meta.get("namespace", "")},
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "reconcileID": self.id,
        }
        fields.update({k: v for k, v in extra.items() if v is not None})
        self.ctrl.logger.write(level, msg, fields)

    def event(
        self, type_: str, reason: str, message: str, revision: str | None = None, **extra: str | None
    ) -> None:
        """An Event with the annotations Flux's recorder adds: ``<group>/revision`` and the kind's own
        (``digest`` of a source artifact, ``token``/``app-version`` of a Helm release,
        ``commit_status`` of a successful Kustomization; docs/flux-facts.md §7)."""
        group = self.ctrl.rtype(self.obj["kind"]).group
        ann = {f"{group}/revision": revision} if revision else {}
        if revision:
            ann.update({f"{group}/{key.replace('_', '-')}": v for key, v in extra.items() if v})
        if self.obj["kind"] == "Kustomization" and reason == "ReconciliationSucceeded":
            ann[f"{group}/commit_status"] = "update"
        self.ctrl.recorder.event(self.obj, type_, reason, message, ann or None)


class Controller:
    """Base class: subclasses set ``name``/``kinds`` and implement :meth:`reconcile`."""

    name = "controller"
    namespace = "flux-system"
    kinds: tuple[str, ...] = ()

    def __init__(self, env: Env) -> None:
        self.env = env
        self.store = env.store
        self.timing = env.timing
        self.logger = PodLogger(self.store, self.namespace, self.name)
        self.recorder = EventRecorder(self.store, self.name)
        self._seen: dict[Key, tuple[int, str | None]] = {}
        self._failures: dict[Key, int] = {}
        self._source_marks: dict[Key, tuple[str, str]] = {}
        self._due: dict[Key, float] = {}
        self._stop = threading.Event()
        #: set while the controller is "scaled to zero": it sees changes but handles nothing
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None

    # -- subclass API ---------------------------------------------------------------------------------

    def reconcile(self, rc: Reconcile) -> float | None:
        """Reconcile ``rc.obj``; return seconds until the next run, or None for the object's interval."""
        raise NotImplementedError

    def related(self, change: Change) -> Iterable[Key]:
        """Objects of this controller to reconcile because another object changed (source watches)."""
        return ()

    def _finalize_suspended(self, obj: Obj) -> None:
        """kustomize-controller's deferred finalizeStatus runs for a suspended object too: it records
        the generation as observed while Ready is True (docs/flux-facts.md §13)."""
        status = obj.get("status") or {}
        ready = get_condition(status, "Ready") or {}
        generation = obj["metadata"].get("generation")
        if obj.get("kind") != "Kustomization" or ready.get("status") != "True":
            return
        if status.get("observedGeneration") != generation:
            self.write_status(obj, {**status, "observedGeneration": generation})

    def source_changed(self, change: Change, kinds: tuple[str, ...], *, ready_too: bool = True) -> bool:
        """True when a source's artifact revision or Ready status changed (Flux's source watches);
        ``ready_too=False``: the revision only (helm-controller's HelmChart watch,
        SourceRevisionChangePredicate; docs/flux-facts.md §2)."""
        if change.rtype.kind not in kinds:
            return False
        meta = change.obj["metadata"]
        key = (change.rtype.kind, meta.get("namespace", ""), meta["name"])
        status = change.obj.get("status") or {}
        ready = get_condition(status, "Ready") or {}
        mark = (
            (status.get("artifact") or {}).get("revision", ""),
            str(ready.get("status", "")) if ready_too else "",
        )
        before = self._source_marks.get(key)
        self._source_marks[key] = mark
        return (before is not None and before != mark) or (before is None and bool(mark[0]))

    def backoff(self, rc: Reconcile) -> float:
        """Requeue delay after a failure: doubles per consecutive failure, at most the interval."""
        meta = rc.obj["metadata"]
        key = (rc.obj["kind"], meta.get("namespace", ""), meta["name"])
        count = self._failures.get(key, 0)
        self._failures[key] = count + 1
        limit = self.default_interval(rc.obj) * self.timing.interval_scale
        return min(self.timing.retry * 2**count, limit)

    def default_interval(self, obj: Obj) -> float:
        return parse_duration((obj.get("spec") or {}).get("interval"), 600.0)

    # -- helpers ---------------------------------------------------------------------------------------

    def rtype(self, kind: str) -> ResourceType:
        return by_kind(kind)

    def sleep(self, steps: float = 1.0) -> None:
        self._stop.wait(self.timing.step * steps)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def write_status(self, obj: Obj, status: Obj) -> Obj | None:
        """Replace the status subresource (last writer wins on status only, like a status patch)."""
        rt = self.rtype(obj["kind"])
        cur = self.store.find(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if cur is None:
            return None
        cur["status"] = status
        cur["metadata"].pop("resourceVersion", None)
        return self.store.replace(rt, cur, subresource="status")

    def progress(self, rc: Reconcile, status: Obj, message: str, *, ready_unknown: bool = True) -> None:
        """Mark Reconciling=True (Progressing) and write it, so watchers see the work start."""
        # a retry after a failure keeps Ready=False visible (docs/flux-facts.md §2: a failing object shows
        # Ready=False with Reconciling=True/ProgressingWithRetry), so a reader never sees it flip to Unknown
        current = get_condition(status, "Ready") or {}
        retrying = current.get("status") == "False"
        set_condition(
            status,
            "Reconciling",
            "True",
            "ProgressingWithRetry" if retrying else "Progressing",
            message,
            rc.gen,
        )
        if ready_unknown and not retrying:
            set_condition(status, "Ready", "Unknown", "Progressing", message, rc.gen)
        self.write_status(rc.obj, status)

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        when = time.monotonic() + delay
        self._due[key] = min(self._due.get(key, when), when)

    # -- loop --------------------------------------------------------------------------------------------

    def start(self) -> Controller:
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.name}", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        """Stop handling objects (a controller scaled to zero); requests pile up unanswered."""
        self._paused.set()

    def resume(self) -> None:
        """Handle objects again; like a restarted controller it looks at every object once."""
        for key in list(self._seen):
            self.enqueue(key)
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _initial(self) -> int:
        rv = self.store.resource_version
        for kind in self.kinds:
            items, rv_list = self.store.list(self.rtype(kind))
            rv = min(rv, rv_list)
            for obj in items:
                self._observe(obj, force=True)
        return rv

    def _observe(self, obj: Obj, force: bool = False) -> None:
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        marker = (int(meta.get("generation", 0)), (meta.get("annotations") or {}).get(REQUESTED_AT))
        if force or self._seen.get(key) != marker:
            self.enqueue(key)
        self._seen[key] = marker

    def _on_change(self, change: Change) -> None:
        if change.rtype.kind in self.kinds:
            meta = change.obj["metadata"]
            key = (change.rtype.kind, meta.get("namespace", ""), meta["name"])
            if change.type == "DELETED":
                self._seen.pop(key, None)
                self._due.pop(key, None)
            else:
                self._observe(change.obj, force=change.type == "ADDED")
        for key in self.related(change):
            self.enqueue(key)

    def _run(self) -> None:
        rv = self._initial()
        while not self._stop.is_set() and not self.store.closed:
            now = time.monotonic()
            paused = self._paused.is_set()
            wait = min([self.timing.poll, *([] if paused else [d - now for d in self._due.values()])])
            try:
                changes = (
                    self.store.wait_for_changes(rv, max(wait, 0.0))
                    if wait > 0
                    else self.store.changes_since(rv)
                )
            except StoreError:  # 410: history moved on, look at everything again
                rv = self._initial()
                continue
            for change in changes:
                rv = change.rv
                self._on_change(change)
            if paused:
                continue
            now = time.monotonic()
            for key in sorted((k for k, d in self._due.items() if d <= now), key=self._due.__getitem__):
                if self._stop.is_set():
                    return
                self._due.pop(key, None)
                self._handle(key)

    def _handle(self, key: Key) -> None:
        kind, ns, name = key
        obj = self.store.find(self.rtype(kind), ns, name)
        if obj is None:
            return
        rc = Reconcile(self, obj)
        if (obj.get("spec") or {}).get("suspend"):
            rc.log("Reconciliation is suspended for this object")
            self._finalize_suspended(obj)
            return
        try:
            after = self.reconcile(rc)
        except StoreError as exc:  # a conflict or a vanished object: try again soon
            rc.log("Reconciler error", level="error", error=exc.message)
            after = self.timing.retry
        if after is None:
            self._failures.pop(key, None)
            after = self.default_interval(obj) * self.timing.interval_scale
        self.enqueue(key, after)
