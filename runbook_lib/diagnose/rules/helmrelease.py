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
    sync_command,
    warning_events,
)
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding, FindingText
from runbook_lib.diagnose.rules.helmstorage import (
    GITOPS_NOTE,
    by_revision,
    history_command,
    history_text,
    is_rollback,
    revision_line,
)
from runbook_lib.helm import ReleaseRecord
from runbook_lib.logs.parse import LogLine
from runbook_lib.objects import condition, meta, spec, status
from runbook_lib.settings import settings

TITLE = "HelmRelease schlägt fehl"
_VERSION_MISSING = re.compile(r"no '([^']+)' chart with version matching '([^']+)'")
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
            cause="spec.dependsOn: eine HelmRelease, von der diese abhängt, ist nicht bereit.",
            next_step="Zuerst die Abhängigkeit reparieren; diese folgt von selbst.",
        ),
        "InstallFailed": FindingText(
            severity=ERROR, title="Helm-Installation fehlgeschlagen", cause="{cause}", next_step=_FIX_IN_GIT
        ),
        "UpgradeFailed": FindingText(
            severity=ERROR, title="Helm-Upgrade fehlgeschlagen", cause="{cause}", next_step=_FIX_IN_GIT
        ),
        "ArtifactFailed": _CHART_UNAVAILABLE,
        "SourceNotReady": _CHART_UNAVAILABLE,
    }
)
#: any other Ready=False reason
_HR_FAILED = FindingText(
    severity=ERROR,
    title="HelmRelease fehlgeschlagen ({reason})",
    cause="Der helm-controller meldet einen Fehler.",
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


def chart_ref(hr: Obj) -> tuple[str, str]:
    """(namespace, name) of the HelmChart the controller made (or ``status.helmChart``)."""
    if status(hr).get("helmChart") and "/" in str(status(hr)["helmChart"]):
        ns, name = str(status(hr)["helmChart"]).split("/", 1)
        return ns, name
    hr_ns, hr_name = meta(hr).get("namespace", ""), meta(hr).get("name", "")
    src = ((spec(hr).get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    return str(src.get("namespace") or hr_ns), f"{hr_ns}-{hr_name}"


def _cmds(hr: Obj) -> str:
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    return (
        f"flux get helmreleases {name} -n {ns}\nflux logs --kind=HelmRelease --name={name} -n {ns}\n"
        + history_command(hr)
    )


def _failure_cause(reason: str, message: str, image_problem: str) -> str:
    action = "das Helm-Upgrade" if reason == "UpgradeFailed" else "die Helm-Installation"
    if image_problem:
        return f"Die Pods wurden nicht bereit, {action} lief in den Timeout: {image_problem}"
    if _TIMEOUT.search(message):
        return f"Die Workloads wurden innerhalb des Timeouts nicht bereit ({action} lief in den Timeout)."
    if "immutable" in message:
        return "Ein unveränderliches Feld (z. B. Selector) soll geändert werden."
    if "parse error" in message or "template" in message.lower():
        return "Das Chart lässt sich mit diesen Werten nicht rendern (Werte-Fehler)."
    return f"Helm meldet einen Fehler bei der {action}."


def _ready_evidence(hr: Obj, records: Sequence[ReleaseRecord], extra_evidence: Sequence[str]) -> str:
    """The Ready condition, a differing Released=False, the Helm history and the newest signals."""
    ready, released = condition(hr, "Ready"), condition(hr, "Released")
    released_differs = released.get("status") == "False" and released.get("message") != str(
        ready.get("message", "")
    )
    lines = (cond_text(ready), cond_text(released) if released_differs else "", history_text(records))
    return "\n".join(x for x in (*lines, *extra_evidence) if x)


def condition_findings(
    hr: Obj,
    *,
    records: Sequence[ReleaseRecord] = (),
    image_problem: str = "",
    extra_evidence: Sequence[str] = (),
    images: Sequence[str] = (),
) -> list[Finding]:
    """Suspended, Ready=False by reason, never reconciled, Stalled, Remediated (pure).

    ``images`` are the container images the release's Deployments run now (evidence of which state is
    in the cluster after a rollback or a failed upgrade).
    """
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    subject = ref("HelmRelease", hr)
    ready, out = condition(hr, "Ready"), []
    if spec(hr).get("suspend"):
        command = resume_commands("helmrelease", name, ns)
        out.append(_SUSPENDED.finding(evidence="spec.suspend: true", command=command, subject=subject))
    if ready.get("status") == "False":
        reason, message = str(ready.get("reason", "")), str(ready.get("message", ""))
        dependency = _DEPENDENCY.search(message)
        out.append(
            _HR_FAILURES.get(reason, _HR_FAILED).finding(
                evidence=_ready_evidence(hr, records, extra_evidence),
                command=_HR_FAILURE_COMMANDS.get(reason) or _cmds(hr),
                subject=subject,
                reason=reason or "ohne Grund",
                dependency=dependency.group(1) if dependency else "",
                cause=_failure_cause(reason, message, image_problem),
            )
        )
    elif not ready and not spec(hr).get("suspend"):
        out.append(
            _NEVER_RECONCILED.finding(
                evidence="status.conditions ist leer",
                command=f"kubectl get deploy,pods -n {settings().flux_namespace} -l app=helm-controller",
                subject=subject,
            )
        )
    return out + stalled_findings(hr, records=records, images=images)


def stalled_findings(
    hr: Obj, *, records: Sequence[ReleaseRecord] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Stalled (retries exhausted, no rollback target) and Remediated (Flux rolled back) (pure)."""
    stalled = condition(hr, "Stalled")
    if stalled.get("status") != "True":
        return remediation_findings(hr, records=records, images=images)
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    retries = stalled.get("reason") == "RetriesExceeded"
    finding = Finding(
        severity=ERROR,
        title="Wiederholungen aufgebraucht" if retries else "HelmRelease hängt (Stalled)",
        cause="Flux versucht es nicht mehr von selbst, bis sich die HelmRelease ändert oder ein "
        "Zurücksetzen angefordert wird."
        if retries
        else "Flux kann nicht weitermachen (z. B. kein Ziel für einen Rollback).",
        evidence=cond_text(stalled),
        next_step="Erst die Ursache per Commit beheben (ändert der Commit die HelmRelease, zählt Flux von "
        "vorn). Sonst ein einmaliges Upgrade erzwingen: Runbook `sync` mit `-p force True` bzw. "
        "`flux reconcile hr … --force`; `flux reconcile hr … --reset` setzt den Fehlerzähler zurück.",
        command=f"{sync_command('hr', name, ns, force=True)}\n"
        f"flux reconcile hr {name} -n {ns} --reset\n"
        f"flux reconcile hr {name} -n {ns} --force",
        subject=ref("HelmRelease", hr),
    )
    return [finding, *remediation_findings(hr, records=records, images=images)]


def remediation_findings(
    hr: Obj, *, records: Sequence[ReleaseRecord] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Remediated=True, read against the Helm history (pure).

    The condition stays True after later attempts. Only when the newest Helm revision is the rollback
    does the cluster run the old state; when a later attempt failed (and was not rolled back, e.g.
    retries exhausted), the failed revision is what is installed.
    """
    remediated = condition(hr, "Remediated")
    if remediated.get("status") != "True":
        return []
    recs = by_revision(records)
    latest = recs[-1] if recs else None
    earlier = [r for r in recs if is_rollback(r)][-1:]  # the newest rollback
    if latest is None:
        case, shown = "unknown", []
    elif latest.status == "deployed" and is_rollback(latest):
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


def chart_findings(hr: Obj, chart: Obj | None, *, known_versions: Sequence[str] = ()) -> list[Finding]:
    """HelmChart missing or failing; a version that is not in the repository names known versions (pure)."""
    ns, name = chart_ref(hr)
    if chart is None:
        if not (spec(hr).get("chart") or {}):
            return []  # spec.chartRef: no HelmChart made by the controller
        return [
            Finding(
                severity=WARNING,
                title="HelmChart fehlt",
                cause="Der helm-controller hat das HelmChart noch nicht angelegt.",
                evidence=f"kein HelmChart {ns}/{name}",
                next_step="helm-controller prüfen.",
                command=f"flux get sources chart -n {ns}",
                subject=f"HelmChart {ns}/{name}",
            )
        ]
    ready = condition(chart, "Ready")
    if ready.get("status") != "False":
        return []
    missing = _VERSION_MISSING.search(str(ready.get("message", "")))
    cmd = f"flux get sources chart {name} -n {ns}\nflux get sources helm -n {ns}"
    if not missing:
        return [
            Finding(
                severity=ERROR,
                title="HelmChart fehlerhaft",
                cause=f"source-controller meldet {ready.get('reason', 'einen Fehler')}.",
                evidence=cond_text(ready),
                next_step="Chart-Angaben der HelmRelease und das Repository prüfen.",
                command=cmd,
                subject=ref("HelmChart", chart),
            )
        ]
    chart_name, version = missing.groups()
    known = ", ".join(known_versions)
    return [
        Finding(
            severity=ERROR,
            title=f"Chart-Version {version} nicht gefunden",
            cause=f"Die Version '{version}' von Chart '{chart_name}' gibt es im Helm-Repository nicht."
            + (f" Bekannte Versionen: {known}." if known else ""),
            evidence=cond_text(ready),
            next_step="spec.chart.spec.version der HelmRelease im Git auf eine vorhandene Version setzen und "
            "committen.",
            command=f"{cmd}\nhelm search repo {chart_name} --versions",
            subject=ref("HelmChart", chart),
        )
    ]


def source_findings(source: Obj | None) -> list[Finding]:
    """The chart's source (usually a HelmRepository) is not ready (pure)."""
    ready = condition(source, "Ready")
    if source is None or ready.get("status") != "False" or (spec(source).get("type") == "oci"):
        return []
    kind = str(source.get("kind") or "HelmRepository")
    name, ns = meta(source).get("name", ""), meta(source).get("namespace", "")
    sub = {"HelmRepository": "helm", "GitRepository": "git", "Bucket": "bucket"}.get(kind, "helm")
    return [
        Finding(
            severity=ERROR,
            title=f"{kind} nicht bereit",
            cause=f"Das Chart-Repository '{spec(source).get('url', '')}' ist nicht erreichbar oder liefert "
            "keinen gültigen Index (URL, Zugangsdaten, Netz).",
            evidence=cond_text(ready),
            next_step="URL und Zugangsdaten der Quelle im Git prüfen; danach abgleichen.",
            command=f"flux get sources {sub} {name} -n {ns}\nflux reconcile source {sub} {name} -n {ns}",
            subject=ref(kind, source),
        )
    ]


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
