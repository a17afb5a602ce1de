"""Interpretation for "HelmRelease schlägt fehl": conditions, chart, repository, Helm storage, workload.

Pure functions from gathered objects (dicts), Helm release records
(:class:`runbook_lib.helm.ReleaseRecord`) and controller log lines (:class:`runbook_lib.logs.parse.LogLine`)
to :class:`Finding` lists (docs/flux-facts.md §2 and §9).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from runbook_lib.diagnose.common import (
    Obj,
    cond_text,
    event_text,
    log_error_lines,
    log_line_text,
    ref,
    resume_commands,
    resume_step,
    warning_events,
)
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding, FindingText
from runbook_lib.diagnose.rules.chart import chart_findings, source_findings
from runbook_lib.diagnose.rules.helmstorage import (
    GITOPS_NOTE,
    by_revision,
    history_command,
    history_text,
    is_good,
    last_good,
    storage_findings,
)
from runbook_lib.diagnose.rules.retries import (
    retry_state,
    stalled_findings,
    with_retry_state,
)
from runbook_lib.diagnose.rules.workload import deployment_findings, pod_findings
from runbook_lib.helm import ReleaseRecord
from runbook_lib.logs.parse import LogLine
from runbook_lib.objects import condition, meta, spec
from runbook_lib.report import dedupe
from runbook_lib.settings import settings

TITLE = "HelmRelease schlägt fehl"
_DEPENDENCY = re.compile(r"dependency '([^']+)'")
_TIMEOUT = re.compile(
    r"timed out waiting|context deadline exceeded|resource not ready|timeout", re.IGNORECASE
)

_FIX_IN_GIT = (
    "Werte oder Chart-Version der HelmRelease im Git korrigieren und committen "
    "(z. B. image.tag oder spec.chart.spec.version). " + GITOPS_NOTE
)
_CHART_UNAVAILABLE = FindingText(
    severity=ERROR,
    title="Chart nicht verfügbar",
    cause="Der helm-controller bekommt das Chart nicht (HelmChart oder Helm-Repository fehlerhaft, siehe "
    "dort).",
    next_step="Chart-Version und Repository im Git prüfen.",
)
#: Ready=False reason -> finding; ``{cause}`` is read from the message (:func:`_failure_cause`)
_HR_FAILURES: Mapping[str, FindingText] = MappingProxyType(
    {
        "DependencyNotReady": FindingText(
            severity=WARNING,
            title="Wartet auf Abhängigkeit {dependency}",
            cause="Die HelmRelease hängt über spec.dependsOn von {depends_on} ab, und die ist nicht bereit.",
            next_step="Zuerst die Abhängigkeit reparieren; danach folgt diese HelmRelease von selbst.",
        ),
        "InstallFailed": FindingText(
            severity=ERROR, title="Helm-Installation fehlgeschlagen", cause="{cause}", next_step=_FIX_IN_GIT
        ),
        "UpgradeFailed": FindingText(
            severity=ERROR, title="Helm-Upgrade fehlgeschlagen", cause="{cause}", next_step=_FIX_IN_GIT
        ),
        "ArtifactFailed": _CHART_UNAVAILABLE,
        "SourceNotReady": _CHART_UNAVAILABLE,
        # the remediation's outcome is the Ready reason after a failed action (docs/flux-facts.md §2)
        "RollbackSucceeded": FindingText(
            severity=ERROR,
            title="Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt",
            cause="{cause}",
            next_step=_FIX_IN_GIT,
        ),
        "UninstallSucceeded": FindingText(
            severity=ERROR,
            title="Helm-Installation fehlgeschlagen, Flux hat sie wieder entfernt",
            cause="{cause}",
            next_step=_FIX_IN_GIT,
        ),
        "RollbackFailed": FindingText(
            severity=ERROR,
            title="Helm-Upgrade und Rollback fehlgeschlagen",
            cause="{cause} Auch der Rollback auf die vorige Revision ist gescheitert.",
            next_step=_FIX_IN_GIT,
        ),
    }
)
#: any other Ready=False reason
_HR_FAILED = FindingText(
    severity=ERROR,
    title="HelmRelease nicht bereit ({reason})",
    cause="Der helm-controller meldet: {message}",
    next_step="Meldung lesen und die Ursache im Git beheben. " + GITOPS_NOTE,
)
#: reasons whose cause lies in another object: the command lists where to look
_HR_FAILURE_COMMANDS = MappingProxyType({"DependencyNotReady": "flux get helmreleases -A"})
_SUSPENDED = FindingText(
    severity=WARNING,
    title="HelmRelease ist ausgesetzt",
    cause="spec.suspend ist true: Flux ändert nichts.",
    next_step=resume_step("HelmRelease"),
)
_NEVER_RECONCILED = FindingText(
    severity=WARNING,
    title="HelmRelease wurde noch nie abgeglichen",
    cause="Keine Ready-Condition: der helm-controller hat das Objekt nicht bearbeitet.",
    next_step="helm-controller prüfen.",
)


def _cmds(hr: Obj) -> str:
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    return (
        f"flux get helmreleases {name} -n {ns}\nflux logs --kind=HelmRelease --name={name} -n {ns}\n"
        + history_command(hr)
    )


#: the failed action, by the reason of the Released (or Ready) condition: (nominative, dative)
_ACTIONS = {
    "install": ("die Helm-Installation", "bei der Helm-Installation"),
    "upgrade": ("das Helm-Upgrade", "beim Helm-Upgrade"),
}


def _failure_cause(reason: str, message: str, image_problem: str) -> str:
    """Why the install or upgrade failed, read from the Helm error in the message (German)."""
    nominative, dative = _ACTIONS["install" if reason.startswith("Install") else "upgrade"]
    if image_problem:
        return f"Die Pods wurden nicht bereit, {nominative} lief in den Timeout: {image_problem}"
    if _TIMEOUT.search(message):
        return f"Die Workloads wurden nicht rechtzeitig bereit; {nominative} lief in den Timeout."
    if "immutable" in message:
        return "Ein unveränderliches Feld (z. B. ein Selector) soll geändert werden."
    if "parse error" in message or "template" in message.lower():
        return "Das Chart lässt sich mit diesen Werten nicht rendern (Fehler in den Werten)."
    if message:
        return f"Helm meldet einen Fehler {dative}: {dedupe(message)}"
    return f"Helm meldet einen Fehler {dative}."


def _images_note(records: Sequence[ReleaseRecord]) -> str:
    """Which images the newest failed revision wanted, against the last good one (German; may be empty).

    After a rollback the failing Pods are gone; the failed revision's manifest still says what it tried.
    """
    recs = by_revision(records)
    failed = [r for r in recs if not is_good(r) and not r.status.startswith("pending")]
    good = last_good(recs)
    if not failed or not failed[-1].images:
        return ""
    tried = failed[-1]
    new = [i for i in tried.images if good is None or i not in good.images]
    if not new:
        return ""
    before = f" (zuletzt gut: {', '.join(good.images)})" if good and good.images else ""
    return f" Die fehlgeschlagene Revision {tried.revision} sollte {', '.join(new)} ausrollen{before}."


def _ready_evidence(hr: Obj, records: Sequence[ReleaseRecord], extra_evidence: Sequence[str]) -> str:
    """The Ready condition, a differing Released=False, the Helm history and the newest signals."""
    ready, released = condition(hr, "Ready"), condition(hr, "Released")
    released_differs = released.get("status") == "False" and released.get("message") != str(
        ready.get("message", "")
    )
    lines = (cond_text(ready), cond_text(released) if released_differs else "", history_text(records))
    return "\n".join(x for x in (*lines, *extra_evidence) if x)


def suspended_finding(hr: Obj) -> list[Finding]:
    """``spec.suspend: true`` (pure)."""
    if not spec(hr).get("suspend"):
        return []
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    command = resume_commands("helmrelease", name, ns)
    subject = ref("HelmRelease", hr)
    return [_SUSPENDED.finding(evidence="spec.suspend: true", command=command, subject=subject)]


def ready_findings(
    hr: Obj,
    *,
    records: Sequence[ReleaseRecord] = (),
    image_problem: str = "",
    extra_evidence: Sequence[str] = (),
) -> list[Finding]:
    """Ready=False by reason, or never reconciled (pure).

    After a remediation Ready carries its outcome (``RollbackSucceeded``); the cause is then read from
    the Released condition, which keeps the failed action's message.
    """
    subject = ref("HelmRelease", hr)
    ready, released = condition(hr, "Ready"), condition(hr, "Released")
    if ready.get("status") == "False":
        reason, message = str(ready.get("reason", "")), str(ready.get("message", ""))
        failed = (str(released.get("reason", "")), str(released.get("message", "")))
        if not (released.get("status") == "False" and failed[0].endswith("Failed")):
            failed = (reason, message)
        dependency = _DEPENDENCY.search(message)
        note = "" if image_problem else _images_note(records)
        return [
            _HR_FAILURES.get(reason, _HR_FAILED).finding(
                evidence=_ready_evidence(hr, records, extra_evidence),
                command=_HR_FAILURE_COMMANDS.get(reason) or _cmds(hr),
                subject=subject,
                reason=reason or "ohne Grund",
                message=dedupe(message) or "keine Meldung",
                dependency=dependency.group(1) if dependency else "",
                depends_on=dependency.group(1) if dependency else "einer anderen HelmRelease",
                cause=_failure_cause(*failed, image_problem) + note,
            )
        ]
    if not ready and not spec(hr).get("suspend"):
        return [
            _NEVER_RECONCILED.finding(
                evidence="status.conditions ist leer",
                command=f"kubectl get deploy,pods -n {settings().flux_namespace} -l app=helm-controller",
                subject=subject,
            )
        ]
    return []


def condition_findings(
    hr: Obj,
    *,
    records: Sequence[ReleaseRecord] = (),
    image_problem: str = "",
    extra_evidence: Sequence[str] = (),
    images: Sequence[str] = (),
) -> list[Finding]:
    """Suspended, Ready=False by reason, never reconciled, Stalled, Remediated, each on its own (pure).

    ``images`` are the container images the release's Deployments run now (evidence of which state is
    in the cluster after a rollback or a failed upgrade). :func:`helmrelease_findings` links them.
    """
    ready = ready_findings(hr, records=records, image_problem=image_problem, extra_evidence=extra_evidence)
    return suspended_finding(hr) + ready + stalled_findings(hr, records=records, images=images)


def signal_lines(events: Iterable[Obj], log_lines: Iterable[LogLine]) -> list[str]:
    """The newest warning event and error log line, as evidence lines."""
    warn, errors = warning_events(events), log_error_lines(log_lines)
    return ([f"Event: {event_text(warn[-1])}"] if warn else []) + (
        [f"Log: {log_line_text(errors[-1])}"] if errors else []
    )


def info_findings(hr: Obj, events: Sequence[Obj], log_lines: Sequence[LogLine]) -> list[Finding]:
    """Warnings in events or logs while the release is Ready: earlier trouble, now resolved (pure)."""
    if condition(hr, "Ready").get("status") != "True":
        return []
    lines = signal_lines(events, log_lines)
    if not lines:
        return []
    return [
        Finding(
            severity=INFO,
            title="Frühere Warnungen zu dieser HelmRelease",
            cause="Es gab Fehler, inzwischen ist die HelmRelease wieder bereit.",
            evidence="\n".join(lines),
            next_step="Nichts zu tun, solange es nicht wiederkehrt.",
            command=f"flux events --for HelmRelease/{meta(hr).get('name')} -n {meta(hr).get('namespace')}",
            subject=ref("HelmRelease", hr),
        )
    ]


def _undeleted(pod: Obj) -> Obj:
    return {**pod, "metadata": {k: v for k, v in meta(pod).items() if k != "deletionTimestamp"}}


def helmrelease_findings(
    hr: Obj,
    *,
    chart: Obj | None = None,
    source: Obj | None = None,
    records: Sequence[ReleaseRecord] = (),
    pods: Sequence[Obj] = (),
    deployments: Sequence[Obj] = (),
    events: Sequence[Obj] = (),
    log_lines: Sequence[LogLine] = (),
    known_versions: Sequence[str] = (),
    images: Sequence[str] = (),
    storage_read: bool = True,
) -> list[Finding]:
    """Every rule over a gathered HelmRelease, cause first (pure).

    ``storage_read=False``: the Helm storage could not be read (e.g. no right on Secrets), so no record
    is not "no release" and the storage rule stays silent.

    The cause is what the others follow from, in this order: the chart's source, the chart (a missing
    version), the workload (Pods that cannot pull their image, crash or lack config), else the failed
    Helm action itself. The HelmRelease's failure, Stalled, the remediation and the Helm storage are its
    consequences. The cause says what Flux does now and next (:mod:`.retries`).
    """
    retry = retry_state(hr, records)
    workload = pod_findings(pods)
    # the failed revision's pods that a rollback is removing (Terminating) are no current failure,
    # but they show why the upgrade failed
    leaving = pod_findings([_undeleted(p) for p in pods if meta(p).get("deletionTimestamp")])
    image_problem = next(
        (f"{f.title} ({f.evidence})" for f in (*workload, *leaving) if f.title.startswith("Image")), ""
    )
    leaving_lines = [f"{f.evidence} (Pod wird gerade entfernt)" for f in leaving]
    ready = ready_findings(
        hr,
        records=records,
        image_problem=image_problem,
        extra_evidence=[*signal_lines(events, log_lines), *leaving_lines],
    )
    effects = [
        *ready,
        *stalled_findings(hr, records=records, images=images),
        *(storage_findings(hr, records, in_flight=retry.in_flight) if storage_read else []),
        *([] if workload else deployment_findings(deployments)),
    ]
    charts = [*source_findings(source), *chart_findings(hr, chart, known_versions=known_versions)]
    chart_causes = [f for f in charts if f.severity == ERROR]
    if chart_causes:  # a broken source explains the chart, the chart the release
        first, *others = chart_causes
        linked = [first.explains(*others, *effects)]
    elif workload:
        first, *others = workload
        linked = [with_retry_state(first.explains(*effects), hr, retry), *others]
    elif effects:
        first, *others = effects
        linked = [with_retry_state(first.explains(*others), hr, retry)]
    else:
        linked = []
    waiting = [f for f in charts if f.severity != ERROR]
    return [*suspended_finding(hr), *linked, *waiting, *info_findings(hr, events, log_lines)]
