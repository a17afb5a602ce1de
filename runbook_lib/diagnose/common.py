"""Small pure helpers the diagnosis rules share: conditions, times, error slots, object names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import durationpy

from ..errors import ClusterUnreachable, RunbookError, UsageError
from ..masking import mask
from ..status import condition as status_condition

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Slot:
    """One gathered link with its own error slot: ``value`` when reading worked, else ``error``."""

    value: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def attempt(read: Callable[[], Any]) -> Slot:
    """Run one read; an expected failure fills the error slot instead of hiding the other links.

    An unreachable cluster and bad input still raise: then nothing else can be read either.
    """
    try:
        return Slot(read())
    except (ClusterUnreachable, UsageError):
        raise
    except RunbookError as exc:
        return Slot(error=exc.message)


def condition(obj: Obj | None, ctype: str) -> Mapping[str, Any]:
    """The condition of that type, or ``{}``."""
    return status_condition(obj, ctype) or {}


def is_true(obj: Obj | None, ctype: str) -> bool:
    return condition(obj, ctype).get("status") == "True"


def is_false(obj: Obj | None, ctype: str) -> bool:
    return condition(obj, ctype).get("status") == "False"


def cond_text(cond: Mapping[str, Any]) -> str:
    """``Ready=False (GitOperationFailed): <message>``, the evidence line of a condition."""
    if not cond:
        return ""
    return mask(
        f"{cond.get('type')}={cond.get('status')} ({cond.get('reason', '')}): {cond.get('message', '')}"
    )


def meta(obj: Obj | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def spec(obj: Obj | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def status(obj: Obj | None) -> Mapping[str, Any]:
    return (obj or {}).get("status") or {}


def ref(kind: str, obj: Obj | None) -> str:
    """``GitRepository flux-system/flux-system`` (cluster-scoped objects without the slash)."""
    m = meta(obj)
    ns = m.get("namespace")
    return f"{kind} {ns}/{m.get('name')}" if ns else f"{kind} {m.get('name')}"


def parse_interval(text: object) -> timedelta | None:
    """A Flux interval (``1m0s``); None when absent or unreadable (the rule then stays silent)."""
    if not text:
        return None
    try:
        return durationpy.from_str(str(text))
    except (durationpy.DurationError, ValueError):
        return None


def ago(delta: timedelta) -> str:
    """German phrase for an age: ``3 Min.``, ``2 Std.``, ``4 Tagen`` (coarse on purpose)."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} Min."
    if seconds < 2 * 86400:
        return f"{seconds // 3600} Std."
    return f"{seconds // 86400} Tagen"


def log_error_lines(records: Iterable[Obj]) -> list[Obj]:
    """The ``level=error`` records, newest last (zap JSON lines as dicts)."""
    errors = [r for r in records if r.get("level") == "error"]
    return sorted(errors, key=lambda r: str(r.get("ts", "")))


def log_line_text(record: Obj) -> str:
    """One log record as evidence: ``<ts> error <msg>: <error>`` (secrets masked)."""
    err = f": {record.get('error')}" if record.get("error") else ""
    return mask(f"{record.get('ts', '')} {record.get('level', '')} {record.get('msg', '')}{err}".strip())


def warning_events(events: Iterable[Obj]) -> list[Obj]:
    """Warning events, newest last."""
    warn = [e for e in events if e.get("type") == "Warning"]
    return sorted(warn, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def event_text(event: Obj) -> str:
    when = event.get("lastTimestamp") or event.get("eventTime") or ""
    return mask(
        f"{when} {event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}".strip()
    )


def slot_finding(what: str, slot: Slot, command: str = "", subject: str = "") -> list[Any]:
    """A hint that one link could not be read; the other findings still stand (cmctl's error slot)."""
    from .model import INFO, Finding

    if slot.ok:
        return []
    return [
        Finding(
            INFO,
            f"{what} nicht lesbar",
            "Dieser Teil konnte nicht gelesen werden; die Diagnose ist an dieser Stelle unvollständig.",
            slot.error,
            "Berechtigungen bzw. Installation prüfen und den Befehl von Hand ausführen.",
            command,
            subject,
        )
    ]
