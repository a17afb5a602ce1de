"""Interpretation for "HelmRelease schlägt fehl": conditions, chart, repository, Helm storage, workload.

Pure functions from gathered plain dicts to :class:`Finding` lists (reference sections 2 and 9).
Helm release records are dicts with the fields of :class:`runbook_lib.helm.ReleaseRecord`
(name, namespace, revision, status, chart, app_version, description, updated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding
from runbook_lib.diagnose.rules.helmstorage import (
    GITOPS_NOTE,
    by_revision,
    history_text,
    is_rollback,
    release_name,
    revision_line,
    storage_namespace,
)
from runbook_lib.objects import condition, meta, spec, status

TITLE = "HelmRelease schlägt fehl"
_VERSION_MISSING = re.compile(r"no '([^']+)' chart with version matching '([^']+)'")
_DEPENDENCY = re.compile(r"dependency '([^']+)'")
_TIMEOUT = re.compile(
    r"timed out waiting|context deadline exceeded|resource not ready|timeout", re.IGNORECASE
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
        f"helm history {release_name(hr)} -n {storage_namespace(hr)}"
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


def condition_findings(
    hr: Obj,
    *,
    records: Sequence[Mapping[str, Any]] = (),
    image_problem: str = "",
    extra_evidence: Sequence[str] = (),
    images: Sequence[str] = (),
) -> list[Finding]:
    """Suspended, Ready=False by reason, Stalled, Remediated (pure).

    ``images`` are the container images the release's Deployments run now (evidence of which state is
    in the cluster after a rollback or a failed upgrade).
    """
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    subject = ref("HelmRelease", hr)
    ready, out = condition(hr, "Ready"), []
    if spec(hr).get("suspend"):
        out.append(
            Finding(
                WARNING,
                "HelmRelease ist ausgesetzt",
                "spec.suspend ist true: Flux ändert nichts.",
                "spec.suspend: true",
                resume_step("HelmRelease"),
                resume_commands("helmrelease", name, ns),
                subject,
            )
        )
    reason, message = str(ready.get("reason", "")), str(ready.get("message", ""))
    released = condition(hr, "Released")
    evidence = "\n".join(
        x
        for x in (
            cond_text(ready),
            cond_text(released)
            if released and released.get("status") == "False" and released.get("message") != message
            else "",
            history_text(records),
            *extra_evidence,
        )
        if x
    )
    if ready.get("status") == "False":
        if reason == "DependencyNotReady":
            dep = _DEPENDENCY.search(message)
            out.append(
                Finding(
                    WARNING,
                    f"Wartet auf Abhängigkeit {dep.group(1) if dep else ''}".rstrip(),
                    "spec.dependsOn: eine HelmRelease, von der diese abhängt, ist nicht bereit.",
                    evidence,
                    "Zuerst die Abhängigkeit reparieren; diese folgt von selbst.",
                    "flux get helmreleases -A",
                    subject,
                )
            )
        elif reason in ("InstallFailed", "UpgradeFailed"):
            title = (
                "Helm-Upgrade fehlgeschlagen"
                if reason == "UpgradeFailed"
                else "Helm-Installation fehlgeschlagen"
            )
            out.append(
                Finding(
                    ERROR,
                    title,
                    _failure_cause(reason, message, image_problem),
                    evidence,
                    "Werte oder Chart-Version der HelmRelease im Git korrigieren und committen "
                    "(z. B. image.tag oder spec.chart.spec.version). " + GITOPS_NOTE,
                    _cmds(hr),
                    subject,
                )
            )
        elif reason in ("ArtifactFailed", "SourceNotReady"):
            out.append(
                Finding(
                    ERROR,
                    "Chart nicht verfügbar",
                    "Der helm-controller bekommt das Chart nicht "
                    "(HelmChart oder Helm-Repository fehlerhaft, siehe dort).",
                    evidence,
                    "Chart-Version und Repository im Git prüfen.",
                    _cmds(hr),
                    subject,
                )
            )
        else:
            out.append(
                Finding(
                    ERROR,
                    f"HelmRelease fehlgeschlagen ({reason or 'ohne Grund'})",
                    "Der helm-controller meldet einen Fehler.",
                    evidence,
                    "Meldung lesen und die Ursache im Git beheben. " + GITOPS_NOTE,
                    _cmds(hr),
                    subject,
                )
            )
    elif not ready and not spec(hr).get("suspend"):
        out.append(
            Finding(
                WARNING,
                "HelmRelease wurde noch nie abgeglichen",
                "Keine Ready-Condition: der helm-controller hat das Objekt nicht bearbeitet.",
                "status.conditions ist leer",
                "helm-controller prüfen.",
                "kubectl get deploy,pods -n flux-system -l app=helm-controller",
                subject,
            )
        )
    out += stalled_findings(hr, records=records, images=images)
    return out


def stalled_findings(
    hr: Obj, *, records: Sequence[Mapping[str, Any]] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Stalled (retries exhausted, no rollback target) and Remediated (Flux rolled back) (pure)."""
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    subject, out = ref("HelmRelease", hr), []
    stalled = condition(hr, "Stalled")
    if stalled.get("status") == "True":
        retries = stalled.get("reason") == "RetriesExceeded"
        out.append(
            Finding(
                ERROR,
                "Wiederholungen aufgebraucht" if retries else "HelmRelease hängt (Stalled)",
                "Flux versucht es nicht mehr von selbst, bis sich die HelmRelease ändert oder ein "
                "Zurücksetzen angefordert wird."
                if retries
                else "Flux kann nicht weitermachen (z. B. kein Ziel für einen Rollback).",
                cond_text(stalled),
                "Erst die Ursache per Commit beheben (ändert der Commit die HelmRelease, zählt Flux von "
                "vorn). Sonst ein einmaliges Upgrade erzwingen: Runbook `sync` mit `-p force True` bzw. "
                "`flux reconcile hr … --force`; `flux reconcile hr … --reset` setzt den Fehlerzähler "
                "zurück.",
                f"runbook run sync -p kind hr -p name {name} -p namespace {ns} -p force True\n"
                f"flux reconcile hr {name} -n {ns} --reset\n"
                f"flux reconcile hr {name} -n {ns} --force",
                subject,
            )
        )
    return out + remediation_findings(hr, records=records, images=images)


def remediation_findings(
    hr: Obj, *, records: Sequence[Mapping[str, Any]] = (), images: Sequence[str] = ()
) -> list[Finding]:
    """Remediated=True, read against the Helm history (pure).

    The condition stays True after later attempts. Only when the newest Helm revision is the rollback
    does the cluster run the old state; when a later attempt failed (and was not rolled back, e.g.
    retries exhausted), the failed revision is what is installed.
    """
    remediated = condition(hr, "Remediated")
    if remediated.get("status") != "True":
        return []
    name, ns = meta(hr).get("name", ""), meta(hr).get("namespace", "")
    subject, cmd = ref("HelmRelease", hr), f"flux get helmreleases {name} -n {ns}\n" + _history_cmd(hr)
    recs = by_revision(records)
    running = [f"Deployment (Image): {', '.join(images)}"] if images else []
    if not recs:
        return [
            Finding(
                WARNING,
                "Flux hat die Release zurückgerollt",
                "Nach einem Fehlschlag hat die Remediation zurückgerollt (Remediated=True). Ob danach ein "
                "neuer Versuch lief, zeigt erst die Helm-Historie.",
                "\n".join([cond_text(remediated), *running]),
                "Helm-Historie prüfen; den Fehler im Git beheben (Commit) oder den Commit zurücknehmen "
                "(Runbook `rollback`).",
                cmd,
                subject,
            )
        ]
    latest = recs[-1]
    if latest.get("status") == "deployed" and is_rollback(latest):
        return [
            Finding(
                WARNING,
                "Flux hat die Release zurückgerollt",
                f"Nach dem Fehlschlag hat die Remediation den vorigen Stand wiederhergestellt: im Cluster "
                f"läuft die zurückgerollte Revision {latest.get('revision')}, Git beschreibt weiter die "
                "neue.",
                "\n".join([cond_text(remediated), revision_line(latest), *running]),
                "Den Fehler im Git beheben (Commit) oder den Commit zurücknehmen (Runbook `rollback`).",
                cmd,
                subject,
            )
        ]
    if latest.get("status") == "deployed":
        return []  # a later upgrade succeeded; the old condition says nothing about now
    earlier = [r for r in recs if is_rollback(r)]
    return [
        Finding(
            INFO,
            "Früherer Rollback durch Flux, danach erneut fehlgeschlagen",
            "Die Remediation hatte zurückgerollt"
            + (f" (Revision {earlier[-1].get('revision')})" if earlier else "")
            + f"; danach versuchte Flux es erneut, und die neueste Revision {latest.get('revision')} ist "
            f"{latest.get('status')} und wurde nicht mehr zurückgerollt. Im Cluster steht also der neue, "
            "fehlerhafte Stand, nicht der alte.",
            "\n".join(
                [
                    cond_text(remediated),
                    *([revision_line(earlier[-1])] if earlier else []),
                    revision_line(latest),
                    *running,
                ]
            ),
            "Siehe die Befunde oben: den Fehler im Git beheben (Commit) oder den Commit zurücknehmen "
            "(Runbook `rollback`).",
            cmd,
            subject,
        )
    ]


def _history_cmd(hr: Obj) -> str:
    return f"helm history {release_name(hr)} -n {storage_namespace(hr)}"


def chart_findings(hr: Obj, chart: Obj | None, *, known_versions: Sequence[str] = ()) -> list[Finding]:
    """HelmChart missing or failing; a version that is not in the repository names known versions (pure)."""
    ns, name = chart_ref(hr)
    if chart is None:
        if not (spec(hr).get("chart") or {}):
            return []  # spec.chartRef: no HelmChart made by the controller
        return [
            Finding(
                WARNING,
                "HelmChart fehlt",
                "Der helm-controller hat das HelmChart noch nicht angelegt.",
                f"kein HelmChart {ns}/{name}",
                "helm-controller prüfen.",
                f"flux get sources chart -n {ns}",
                f"HelmChart {ns}/{name}",
            )
        ]
    ready = condition(chart, "Ready")
    if ready.get("status") != "False":
        return []
    message = str(ready.get("message", ""))
    missing = _VERSION_MISSING.search(message)
    subject = ref("HelmChart", chart)
    cmd = f"flux get sources chart {name} -n {ns}\nflux get sources helm -n {ns}"
    if missing:
        chart_name, version = missing.groups()
        known = ", ".join(known_versions)
        cause = f"Die Version '{version}' von Chart '{chart_name}' gibt es im Helm-Repository nicht." + (
            f" Bekannte Versionen: {known}." if known else ""
        )
        return [
            Finding(
                ERROR,
                f"Chart-Version {version} nicht gefunden",
                cause,
                cond_text(ready),
                "spec.chart.spec.version der HelmRelease im Git auf eine vorhandene Version setzen und "
                "committen.",
                cmd + f"\nhelm search repo {chart_name} --versions",
                subject,
            )
        ]
    return [
        Finding(
            ERROR,
            "HelmChart fehlerhaft",
            f"source-controller meldet {ready.get('reason', 'einen Fehler')}.",
            cond_text(ready),
            "Chart-Angaben der HelmRelease und das Repository prüfen.",
            cmd,
            subject,
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
            ERROR,
            f"{kind} nicht bereit",
            f"Das Chart-Repository '{spec(source).get('url', '')}' ist "
            "nicht erreichbar oder liefert keinen gültigen Index (URL, Zugangsdaten, Netz).",
            cond_text(ready),
            "URL und Zugangsdaten der Quelle im Git prüfen; danach abgleichen.",
            f"flux get sources {sub} {name} -n {ns}\nflux reconcile source {sub} {name} -n {ns}",
            ref(kind, source),
        )
    ]


def signal_lines(events: Iterable[Obj], log_records: Iterable[Obj]) -> list[str]:
    """The newest warning event and error log line, as evidence lines."""
    warn, errors = warning_events(events), log_error_lines(log_records)
    return ([f"Event: {event_text(warn[-1])}"] if warn else []) + (
        [f"Log: {log_line_text(errors[-1])}"] if errors else []
    )


def info_findings(hr: Obj, events: Sequence[Obj], log_records: Sequence[Obj]) -> list[Finding]:
    """Warnings in events or logs while the release is Ready: earlier trouble, now resolved (pure)."""
    if condition(hr, "Ready").get("status") != "True":
        return []
    lines = signal_lines(events, log_records)
    if not lines:
        return []
    return [
        Finding(
            INFO,
            "Frühere Warnungen zu dieser HelmRelease",
            "Es gab Fehler, inzwischen ist die HelmRelease wieder bereit.",
            "\n".join(lines),
            "Nichts zu tun, solange es nicht wiederkehrt.",
            f"flux events --for HelmRelease/{meta(hr).get('name')} -n {meta(hr).get('namespace')}",
            ref("HelmRelease", hr),
        )
    ]
