"""Small pure helpers the diagnosis rules share: conditions, times, error slots, object names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import durationpy

from runbook_lib.errors import ClusterUnreachable, RunbookError, UsageError
from runbook_lib.masking import mask
from runbook_lib.objects import meta

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


def cond_text(cond: Mapping[str, Any]) -> str:
    """``Ready=False (GitOperationFailed): <message>``, the evidence line of a condition."""
    if not cond:
        return ""
    return mask(
        f"{cond.get('type')}={cond.get('status')} ({cond.get('reason', '')}): "
        + dedupe(str(cond.get("message", "")))
    )


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


def log_error_lines(records: Iterable[Obj]) -> list[Obj]:
    """The ``level=error`` records, newest last (zap JSON lines as dicts)."""
    errors = [r for r in records if r.get("level") == "error"]
    return sorted(errors, key=lambda r: str(r.get("ts", "")))


_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})[.,]\d+")


def seconds(text: object) -> str:
    """Timestamps in ``text`` cut to whole seconds: ``00:52:37.313518000Z`` -> ``00:52:37Z``."""
    return _FRACTION.sub(r"\1", str(text or ""))


def dedupe(text: str) -> str:
    """Drop a repeated tail: ``…: context deadline exceeded: context deadline exceeded`` -> once.

    Helm and the Flux controllers wrap errors, so the innermost message often appears twice.
    """
    parts = text.split(": ")
    changed = True
    while changed and len(parts) > 1:
        changed = False
        for size in range(1, len(parts) // 2 + 1):
            if parts[-size:] == parts[-2 * size : -size]:
                del parts[-size:]
                changed = True
                break
    return ": ".join(parts)


def log_line_text(record: Obj, *, precise: bool = False) -> str:
    """One log record as evidence: ``<ts> error <msg>: <error>`` (secrets masked).

    The error is left out when the message already ends with it, and a repeated tail is shown once;
    the time has whole seconds unless ``precise`` (the log tables keep the controller's precision).
    """
    msg, error = str(record.get("msg", "") or ""), str(record.get("error", "") or "")
    text = dedupe(f"{msg}: {error}" if error and not msg.endswith(error) else msg)
    when = str(record.get("ts", "") or "")
    return mask(f"{when if precise else seconds(when)} {record.get('level', '')} {text}".strip())


def warning_events(events: Iterable[Obj]) -> list[Obj]:
    """Warning events, newest last."""
    warn = [e for e in events if e.get("type") == "Warning"]
    return sorted(warn, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def event_text(event: Obj) -> str:
    when = seconds(event.get("lastTimestamp") or event.get("eventTime") or "")
    message = dedupe(str(event.get("message", "")))
    return mask(f"{when} {event.get('type', '')} {event.get('reason', '')}: {message}".strip())


def slot_finding(what: str, slot: Slot, command: str = "", subject: str = "") -> list[Any]:
    """A hint that one link could not be read; the other findings still stand (cmctl's error slot)."""
    from runbook_lib.diagnose.model import INFO, Finding

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


_FLUX_RESUME = {
    "kustomization": "flux resume kustomization",
    "helmrelease": "flux resume helmrelease",
    "gitrepository": "flux resume source git",
}


def resume_commands(resource: str, name: object, namespace: object) -> str:
    """``flux resume …`` and the kubectl form that works without the flux CLI (``resource`` is the
    lower-case kind: kustomization, helmrelease, gitrepository)."""
    patch = """'{"spec":{"suspend":false}}'"""
    return (
        f"{_FLUX_RESUME[resource]} {name} -n {namespace}\n"
        f"kubectl patch {resource} {name} -n {namespace} --type merge -p {patch}"
    )


def resume_step(kind: str) -> str:
    """The next step for a suspended object; whether Git holds ``suspend: true`` is not known here."""
    return (
        f"Die {kind} fortsetzen: `flux resume …` oder ohne flux-CLI `kubectl patch … "
        "--type merge` (Befehle unten). Falls `suspend: true` auch im Git-Manifest steht, dort entfernen "
        "und committen, sonst setzt Flux es beim nächsten Abgleich wieder."
    )
