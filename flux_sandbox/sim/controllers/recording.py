"""Events and logs of the simulated controllers: core/v1 Events like client-go's recorder, zap JSON lines."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Store, StoreError
from runbook_lib.masking import mask

Obj = dict[str, Any]


def now_iso() -> str:
    """RFC 3339 seconds, as metav1.Time serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    """RFC 3339 with microseconds, as metav1.MicroTime serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def zap_ts(ts: float | None = None) -> str:
    """zap's ISO8601 encoder: milliseconds and ``Z``."""
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


#: the userinfo of a URL (``https://user:token@host`` or ``https://token@host``)
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#'\"]+@")


def redact(text: str) -> str:
    """``text`` without credentials: a URL's userinfo becomes ``***@``, then :func:`masking.mask`
    (tokens, ``password=…``). Every message the simulated controllers write goes through here,
    as real controllers must not echo a GitRepository URL's credentials either."""
    if not text:
        return text
    return mask(_USERINFO.sub(r"\g<scheme>***@", text))


def redact_fields(value: Any) -> Any:
    """:func:`redact` on every string in a log line's fields (nested dicts and lists too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_fields(v) for v in value]
    return value


# --- events -----------------------------------------------------------------------------------------


class EventRecorder:
    """Writes core/v1 Events like client-go's recorder: deduplicated by object, type, reason, message."""

    def __init__(self, store: Store, component: str, instance: str = "") -> None:
        self.store = store
        self.component = component
        self.instance = instance
        self._rt = by_kind("Event")
        self._seen: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        self._lock = threading.Lock()

    def event(
        self, obj: Obj, type_: str, reason: str, message: str, annotations: dict[str, str] | None = None
    ) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        message = redact(message)
        key = (meta.get("uid", ""), type_, reason, message)
        with self._lock:
            known = self._seen.get(key)
            if known and self._bump(known):
                return
            name = f"{meta['name']}.{uuid.uuid4().hex[:16]}"
            now = now_iso()
            body = {
                "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
                "involvedObject": {
                    "apiVersion": obj.get("apiVersion"),
                    "kind": obj.get("kind"),
                    "name": meta["name"],
                    "namespace": meta.get("namespace", ""),
                    "uid": meta.get("uid", ""),
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "source": {"component": self.component},
                "reportingComponent": self.component,
                "reportingInstance": self.instance,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "eventTime": None,  # client-go's core/v1 recorder sets no eventTime and no action
                "count": 1,
            }
            try:
                self.store.create(self._rt, body)
            except StoreError:
                return  # namespace gone: events are best effort, as in Kubernetes
            self._seen[key] = (ns, name)

    def _bump(self, where: tuple[str, str]) -> bool:
        ns, name = where
        cur = self.store.find(self._rt, ns, name)
        if cur is None:
            return False
        self.store.patch(
            self._rt, ns, name, {"count": int(cur.get("count") or 1) + 1, "lastTimestamp": now_iso()}
        )
        return True


# --- JSON logs --------------------------------------------------------------------------------------


def lower_camel(kind: str) -> str:
    return kind[:1].lower() + kind[1:]


class PodLogger:
    """Appends zap JSON lines to the ``manager`` container of the controller's current pod."""

    def __init__(self, store: Store, namespace: str, app: str, container: str = "manager") -> None:
        self.store = store
        self.namespace = namespace
        self.app = app
        self.container = container
        self._pods = by_kind("Pod")

    def pod_name(self) -> str | None:
        items, _ = self.store.list(self._pods, self.namespace, label_selector=f"app={self.app}")
        running = [p for p in items if (p.get("status") or {}).get("phase") == "Running"]
        chosen = running or items
        return chosen[0]["metadata"]["name"] if chosen else None

    def write(self, level: str, msg: str, fields: dict[str, Any] | None = None) -> None:
        pod = self.pod_name()
        if pod is None:
            return
        now = time.time()
        line = {"level": level, "ts": zap_ts(now), "msg": redact(msg), **redact_fields(fields or {})}
        self.store.append_log(
            self.namespace, pod, self.container, json.dumps(line, separators=(",", ":")), now
        )
