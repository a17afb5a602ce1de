"""What Flux does next with a failing HelmRelease: still retrying, an action in flight, or given up (pure).

helm-controller counts failed attempts per action (``status.installFailures``/``upgradeFailures``),
remediates each failure as ``spec.<action>.remediation`` says (upgrade: roll back by default; install:
uninstall) and tries again until ``retries`` are used up; then it marks the object Stalled
(``RetriesExceeded``) and waits for a new generation or a reset request (docs/flux-facts.md §2, "HelmRelease
remediation"). While an action runs, the newest Helm revision is ``pending-*`` and Reconciling says
``Running '<action>' action with timeout of <d>``; a ``pending-*`` revision that nobody works on is
unlocked by the next reconcile (marked failed, then the next action runs).

The Stalled and Remediated findings live here too: they say what Flux did, and the cause of a failing
release carries the retry state (:func:`with_retry_state`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from runbook_lib.diagnose.common import Obj, cond_text, ref, sync_command
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding, FindingText
from runbook_lib.diagnose.rules.helmstorage import by_revision, history_command, is_rollback, revision_line
from runbook_lib.helm import ReleaseRecord
from runbook_lib.objects import condition, is_true, meta, spec, status

#: helm-controller's default timeout of an action (``spec.timeout`` overrides it)
DEFAULT_TIMEOUT = "5m0s"
_RUNNING = re.compile(r"Running '(\w+)' action with timeout of (\S+)")
#: the Stalled message of exhausted retries: ``Failed to upgrade after 3 attempt(s)``
_ATTEMPTS = re.compile(r"after (\d+) attempt")


#: what Flux does after a failed attempt, by ``spec.<action>.remediation.strategy``
_UNDO_NEXT = {"rollback": "rollt Flux zurück", "uninstall": "entfernt Flux die Release"}
_UNDO_DONE = {"rollback": "Flux hat zurückgerollt", "uninstall": "Flux hat die Release wieder entfernt"}


@dataclass(frozen=True)
class RetryState:
    """The retry bookkeeping of one HelmRelease, read from its status and the Helm storage."""

    #: "install" or "upgrade"
    action: str
    #: failed attempts of that action so far
    failures: int
    #: ``spec.<action>.remediation.retries``: 0 when not set (no retry), None for -1 (no limit)
    retries: int | None
    #: an action runs right now (newest revision pending, Reconciling says so)
    in_flight: bool
    #: Stalled=True: Flux tries no more by itself
    stalled: bool
    timeout: str = DEFAULT_TIMEOUT
    #: the pending Helm revision of the running action
    pending_revision: int | None = None
    #: "rollback" or "uninstall": what Flux does after a failed attempt
    remediation: str = "rollback"

    @property
    def attempts(self) -> int | None:
        """Attempts Flux makes in all: the first one and ``retries`` more (None: no limit)."""
        return None if self.retries is None else self.retries + 1

    @property
    def retrying(self) -> bool:
        """Flux will try again (or is trying right now) by itself."""
        if self.stalled:
            return False
        return self.in_flight or (
            self.failures > 0 and (self.attempts is None or self.failures < self.attempts)
        )

    def progress(self) -> str:
        """What Flux does now and next (German), for the ``Stand:`` line of a finding."""
        attempt = "Upgrade-Versuch" if self.action == "upgrade" else "Installationsversuch"
        undo = _UNDO_NEXT.get(self.remediation, "räumt Flux auf")
        of = "" if self.attempts is None else f" von {self.attempts}"
        if self.stalled:
            tries = "Versuch" if self.failures == 1 else "Versuchen"
            after = f" nach {self.failures} {tries}" if self.failures else ""
            return (
                f"Flux hat{after} aufgegeben (Stalled) und versucht es erst wieder, wenn sich die "
                "HelmRelease ändert (Commit) oder ein Zurücksetzen angefordert wird."
            )
        if self.in_flight:
            current = self.failures + 1
            left = None if self.attempts is None else self.attempts - current
            if left is None:
                then = f"Scheitert er, {undo} und versucht es erneut (ohne Obergrenze)."
            elif left > 0:
                then = f"Scheitert er, {undo} und versucht es noch {_times(left)}; danach gibt Flux auf."
            else:
                then = f"Scheitert er, {undo} und gibt auf (Stalled)."
            pending = f" (Helm-Revision {self.pending_revision}: pending)" if self.pending_revision else ""
            return (
                f"Flux versucht es noch: {attempt} {current}{of} läuft gerade{pending}; der "
                f"helm-controller wartet bis zum Timeout ({self.timeout}) auf bereite Workloads. {then}"
            )
        if self.retrying:
            verb = "ist" if self.failures == 1 else "sind"
            count = f"{self.failures}{of} {'Versuch' if self.failures == 1 and not of else 'Versuchen'}"
            if not of and self.failures > 1:
                count = f"{self.failures} Versuche"
            more = "" if self.attempts is None else f" (noch {_times(self.attempts - self.failures)})"
            done = _UNDO_DONE.get(self.remediation, "Flux hat aufgeräumt")
            return (
                f"Flux versucht es noch: {count} {verb} fehlgeschlagen, {done}; der nächste Versuch folgt "
                f"von selbst nach einer kurzen Wartezeit{more}."
            )
        return ""

    def next_step(self) -> str:
        """What to do, given what Flux does (German); empty when Flux is not retrying."""
        if not self.retrying:
            return ""
        return (
            "Flux übernimmt den Commit von selbst: Eine geänderte HelmRelease beginnt neu (die Versuche "
            "werden von vorn gezählt), sobald der laufende Versuch beendet ist; `--force` oder `--reset` "
            "sind nicht nötig."
        )


def _times(count: int) -> str:
    return {1: "einmal", 2: "zweimal", 3: "dreimal"}.get(count, f"{count}-mal")


def _action(hr: Obj) -> str:
    st = status(hr)
    running = _RUNNING.search(str(condition(hr, "Reconciling").get("message", "")))
    if running and running.group(1) in ("install", "upgrade") and is_true(hr, "Reconciling"):
        return running.group(1)  # what runs now wins over what was attempted last
    action = str(st.get("lastAttemptedReleaseAction") or "")
    if action in ("install", "upgrade"):
        return action
    for cond in (condition(hr, "Released"), condition(hr, "Ready")):
        if str(cond.get("reason", "")).startswith("Install"):
            return "install"
    return "upgrade" if int(st.get("upgradeFailures") or 0) or st.get("history") else "install"


def _stalled_attempts(hr: Obj) -> int:
    found = _ATTEMPTS.search(str(condition(hr, "Stalled").get("message", "")))
    return int(found.group(1)) if found and is_true(hr, "Stalled") else 0


def retry_state(hr: Obj, records: Sequence[ReleaseRecord] = ()) -> RetryState:
    """Read the retry bookkeeping of a HelmRelease (pure)."""
    action = _action(hr)
    st, remediation = status(hr), (spec(hr).get(action) or {}).get("remediation") or {}
    reconciling = condition(hr, "Reconciling")
    running = _RUNNING.search(str(reconciling.get("message", "")))
    recs = by_revision(records)
    pending = recs[-1] if recs and recs[-1].status.startswith("pending") else None
    in_flight = pending is not None and reconciling.get("status") == "True" and running is not None
    default_strategy = "rollback" if action == "upgrade" else "uninstall"
    retries = int(remediation.get("retries") or 0)
    return RetryState(
        action=action,
        failures=int(st.get(f"{action}Failures") or 0) or _stalled_attempts(hr),
        retries=None if retries < 0 else retries,
        in_flight=in_flight,
        stalled=is_true(hr, "Stalled"),
        timeout=str(spec(hr).get("timeout") or (running.group(2) if running else DEFAULT_TIMEOUT)),
        pending_revision=pending.revision if pending else None,
        remediation=str(remediation.get("strategy") or default_strategy),
    )


#: Remediated=True read against the newest Helm revision: unknown (no history), still the rollback, or
#: a later attempt that failed again
_REMEDIATION: Mapping[str, FindingText] = MappingProxyType(
    {
        "unknown": FindingText(
            severity=WARNING,
            title="Flux hat die Release zurückgerollt",
            cause="Nach einem Fehlschlag hat die Remediation zurückgerollt (Remediated=True). Ob danach ein "
            "neuer Versuch lief, zeigt erst die Helm-Historie.",
            next_step="Helm-Historie prüfen; den Fehler im Git beheben (Commit) oder den Commit "
            "zurücknehmen (Runbook `rollback`).",
        ),
        "rolled back": FindingText(
            severity=WARNING,
            title="Flux hat die Release zurückgerollt",
            cause="Nach dem Fehlschlag hat die Remediation den vorigen Stand wiederhergestellt: im Cluster "
            "läuft die zurückgerollte Revision {revision}, Git beschreibt weiter die neue.",
            next_step="Den Fehler im Git beheben (Commit) oder den Commit zurücknehmen (Runbook `rollback`).",
        ),
        "failed again": FindingText(
            severity=INFO,
            title="Früherer Rollback durch Flux, danach erneut fehlgeschlagen",
            cause="Die Remediation hatte zurückgerollt{earlier}; danach versuchte Flux es erneut, und die "
            "neueste Revision {revision} ist {status} und wurde nicht mehr zurückgerollt. Im Cluster steht "
            "also der neue, fehlerhafte Stand, nicht der alte.",
            next_step="Siehe die Befunde oben: den Fehler im Git beheben (Commit) oder den Commit "
            "zurücknehmen (Runbook `rollback`).",
        ),
    }
)


#: what to do when Flux has given up (Stalled), with the commands
_STALLED_STEP = (
    "Erst die Ursache per Commit beheben (ändert der Commit die HelmRelease, zählt Flux von vorn). Ändert "
    "er sie nicht, ein einmaliges Upgrade erzwingen: Runbook `sync` mit `-p force True` bzw. `flux "
    "reconcile hr … --force`; `flux reconcile hr … --reset` setzt den Fehlerzähler zurück."
)


def _stalled_commands(hr: Obj) -> str:
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    return (
        f"{sync_command('hr', name, ns, force=True)}\n"
        f"flux reconcile hr {name} -n {ns} --reset\n"
        f"flux reconcile hr {name} -n {ns} --force"
    )


def stalled_findings(
    hr: Obj, *, records: Sequence[ReleaseRecord] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Stalled (retries exhausted, no rollback target) and Remediated (Flux rolled back) (pure)."""
    stalled = condition(hr, "Stalled")
    if stalled.get("status") != "True":
        return remediation_findings(hr, records=records, images=images)
    retries = stalled.get("reason") == "RetriesExceeded"
    finding = Finding(
        severity=ERROR,
        title="Wiederholungen aufgebraucht" if retries else "HelmRelease hängt (Stalled)",
        cause="Flux versucht es nicht mehr von selbst, bis sich die HelmRelease ändert oder ein "
        "Zurücksetzen angefordert wird."
        if retries
        else "Flux kann nicht weitermachen (z. B. kein Ziel für einen Rollback).",
        evidence=cond_text(stalled),
        next_step=_STALLED_STEP,
        command=_stalled_commands(hr),
        subject=ref("HelmRelease", hr),
    )
    return [finding, *remediation_findings(hr, records=records, images=images)]


def remediation_findings(
    hr: Obj, *, records: Sequence[ReleaseRecord] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Remediated=True, read against the Helm history (pure).

    The condition stays True after later attempts. Only when the newest Helm revision is the rollback
    does the cluster run the old state; when a later attempt failed (and was not rolled back, e.g.
    retries exhausted), the failed revision is what is installed. While an attempt runs (the newest
    revision is pending) the earlier remediation says nothing about the cluster.
    """
    remediated = condition(hr, "Remediated")
    every = by_revision(records)
    if remediated.get("status") != "True" or (every and every[-1].status.startswith("pending")):
        return []  # a pending newest revision: an attempt runs now, the earlier rollback is being replaced
    recs = every
    latest = recs[-1] if recs else None
    earlier = [r for r in recs if is_rollback(r)][-1:]  # the newest rollback
    if latest is None:
        case, shown = "unknown", []
    elif latest.status == "deployed" and is_rollback(latest):
        if is_true(hr, "Ready") and status(hr).get("observedGeneration") == meta(hr).get("generation"):
            return []  # reconciled since at the current generation: Git now describes what runs (a fix back)
        case, shown = "rolled back", [latest]
    elif latest.status == "deployed":
        return []  # a later upgrade succeeded; the old condition says nothing about now
    else:
        case, shown = "failed again", [*earlier, latest]
    running = [f"Deployment (Image): {', '.join(images)}"] if images else []
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    return [
        _REMEDIATION[case].finding(
            evidence="\n".join([cond_text(remediated), *map(revision_line, shown), *running]),
            command=f"flux get helmreleases {name} -n {ns}\n{history_command(hr)}",
            subject=ref("HelmRelease", hr),
            revision=latest.revision if latest else "",
            status=latest.status if latest else "",
            earlier=f" (Revision {earlier[0].revision})" if earlier else "",
        )
    ]


def with_retry_state(cause: Finding, hr: Obj, retry: RetryState) -> Finding:
    """The cause of a failing release, with what Flux does now and next, and what that means for the fix:
    no force while Flux still retries; the reset/force commands once it has given up (pure)."""
    if retry.stalled:
        return replace(
            cause,
            progress=retry.progress(),
            next_step=f"{cause.next_step} {_STALLED_STEP}",
            command=f"{cause.command}\n{_stalled_commands(hr)}".strip(),
        )
    if retry.retrying:
        return replace(cause, progress=retry.progress(), next_step=f"{cause.next_step} {retry.next_step()}")
    return cause
