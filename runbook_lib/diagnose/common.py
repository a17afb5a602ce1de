"""Small pure helpers the diagnosis rules share: error slots, evidence lines, names, commands."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from runbook_lib.diagnose.model import INFO, Finding
from runbook_lib.durations import parse_duration, whole_seconds
from runbook_lib.errors import ClusterUnreachable, Forbidden, RunbookError, UsageError
from runbook_lib.kinds import FluxKind, ObjectRef
from runbook_lib.logs.parse import LogLine
from runbook_lib.masking import mask
from runbook_lib.objects import Obj, meta
from runbook_lib.report import dedupe
from runbook_lib.settings import settings


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
    A refused read (403) is never an empty result: its slot says ``nicht lesbar (fehlendes Recht: list
    pods in kube-system)``.
    """
    try:
        return Slot(read())
    except (ClusterUnreachable, UsageError):
        raise
    except Forbidden as exc:
        return Slot(error=f"nicht lesbar (fehlendes Recht: {exc.missing})" if exc.missing else exc.message)
    except RunbookError as exc:
        return Slot(error=exc.message)


def object_ref(kind: FluxKind, obj: Obj | None) -> ObjectRef:
    """The :class:`~runbook_lib.kinds.ObjectRef` of a gathered object (from its metadata)."""
    m = meta(obj)
    return ObjectRef(kind=kind, name=str(m.get("name", "")), namespace=m.get("namespace") or None)


class AboutObject:
    """Gathered state about one object: ``name`` and ``namespace`` come from its :attr:`ref`."""

    @property
    def ref(self) -> ObjectRef:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def namespace(self) -> str:
        return self.ref.namespace or ""


def cond_text(cond: Mapping[str, Any]) -> str:
    """``Ready=False (GitOperationFailed): <message>``, the evidence line of a condition."""
    if not cond:
        return ""
    return mask(
        f"{cond.get('type')}={cond.get('status')} ({cond.get('reason', '')}): "
        + dedupe(str(cond.get("message", "")))
    )


def ref(kind: str, obj: Obj | None) -> str:
    """``GitRepository flux-system/flux-system`` (cluster-scoped objects without the slash).

    The subject of a finding; unlike :class:`~runbook_lib.kinds.ObjectRef` it also names objects that
    are not Flux or cert-manager kinds (Deployments, Pods).
    """
    m = meta(obj)
    ns = m.get("namespace")
    return f"{kind} {ns}/{m.get('name')}" if ns else f"{kind} {m.get('name')}"


def parse_interval(text: object) -> timedelta | None:
    """A Flux interval (``1m0s``); None when absent or unreadable (the rule then stays silent)."""
    if not text:
        return None
    try:
        return parse_duration(str(text), what="interval", allow_zero=True)
    except UsageError:
        return None


def log_error_lines(lines: Iterable[LogLine]) -> list[LogLine]:
    """The ``level=error`` lines, newest last."""
    return sorted((line for line in lines if line.level == "error"), key=lambda line: line.ts)


def log_line_text(line: LogLine, *, precise: bool = False) -> str:
    """One log line as evidence: ``<ts> error <msg>: <error>`` (secrets masked).

    The error is left out when the message already ends with it, and a repeated tail is shown once;
    the time has whole seconds unless ``precise`` (the log tables keep the controller's precision).
    """
    msg, error = line.msg or "", line.error or ""
    text = dedupe(f"{msg}: {error}" if error and not msg.endswith(error) else msg)
    when = line.ts or ""
    return mask(f"{when if precise else whole_seconds(when)} {line.level} {text}".strip())


def warning_events(events: Iterable[Obj]) -> list[Obj]:
    """Warning events, newest last."""
    warn = [e for e in events if e.get("type") == "Warning"]
    return sorted(warn, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


#: helm-controller appends Helm's log tail to a failed action's event (docs/flux-facts.md §7)
HELM_LOGS = "\n\nLast Helm logs:\n\n"
#: how many of Helm's last log lines an event line shows
HELM_LOG_LINES = 3


def event_message(message: str) -> str:
    """An event message on one line: Helm's log tail as its last lines, after the message."""
    head, _, tail = message.partition(HELM_LOGS)
    lines = [line.strip() for line in tail.splitlines() if line.strip() and line.strip() not in head]
    if not lines:
        return dedupe(head.strip())
    return f"{dedupe(head.strip())} (letzte Helm-Logs: {' | '.join(lines[-HELM_LOG_LINES:])})"


def event_text(event: Obj) -> str:
    when = whole_seconds(event.get("lastTimestamp") or event.get("eventTime") or "")
    message = event_message(str(event.get("message", "")))
    return mask(f"{when} {event.get('type', '')} {event.get('reason', '')}: {message}".strip())


def slot_finding(what: str, slot: Slot, command: str = "", subject: str = "") -> list[Finding]:
    """A hint that one link could not be read; the other findings still stand (cmctl's error slot)."""
    if slot.ok:
        return []
    return [
        Finding(
            severity=INFO,
            title=f"{what} nicht lesbar",
            cause="Dieser Teil konnte nicht gelesen werden; die Diagnose ist an dieser Stelle unvollständig.",
            evidence=slot.error,
            next_step=(
                "Das fehlende Recht ergänzen (die Rollen in `rbac/` enthalten es) und erneut ausführen."
                if "fehlendes Recht" in slot.error
                else "Berechtigungen bzw. Installation prüfen und den Befehl von Hand ausführen."
            ),
            command=command,
            subject=subject,
        )
    ]


def ns_flag(namespace: object) -> str:
    """`` -n NS`` for the flux CLI, nothing for the Flux namespace (the flux CLI's default)."""
    return "" if namespace == settings().flux_namespace else f" -n {namespace}"


#: the ``sync`` runbook's default for its ``namespace`` parameter (notebooks/sync.ipynb); the command
#: leaves ``-p namespace`` out for it, as one would type it
SYNC_DEFAULT_NAMESPACE = "flux-system"


def sync_command(kind: str, name: object, namespace: object, *, force: bool = False) -> str:
    """``runbook run sync …``: reconcile the object with its source and wait (works without the flux CLI).

    ``kind`` is the alias the runbook takes (``gitrepo``, ``ks``, ``hr``). The forced form (HelmRelease
    only) always names the namespace, since it is copied for exactly this release.
    """
    if force:
        return f"runbook run sync -p kind {kind} -p name {name} -p namespace {namespace} -p force True"
    flag = "" if namespace == SYNC_DEFAULT_NAMESPACE else f" -p namespace {namespace}"
    return f"runbook run sync -p kind {kind} -p name {name}{flag}"


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
