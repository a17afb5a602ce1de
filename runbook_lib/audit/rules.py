"""The guide's best practices as pure checks: gathered objects and commits in, findings out.

Every rule takes plain dicts (API objects as the server sends them) and the gathered repository facts,
and returns :class:`~runbook_lib.diagnose.model.Finding` records (German text with cause, evidence,
next step and the command that shows the same). Nothing here talks to a cluster or to git.

Severities (docs/development.md, "audit"): an image without a pinned tag and unlimited Helm retries are
errors (Git no longer says what runs, or a broken release is retried forever); everything else is a
warning a team should fix, but that does not make the cluster wrong today.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding
from runbook_lib.durations import german_age, parse_duration, parse_time
from runbook_lib.errors import UsageError
from runbook_lib.gitops.message import GOOD_EXAMPLE, check_message
from runbook_lib.objects import meta, spec
from runbook_lib.report import plural

Obj = Mapping[str, Any]

#: the kinds of workloads whose pod templates are checked, with the kubectl resource name
WORKLOAD_KINDS = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset"}
#: Flux labels that name the object that applied a workload
_KS = "kustomize.toolkit.fluxcd.io"
_HR = "helm.toolkit.fluxcd.io"
#: an image reference: registry/path[:tag][@digest]; the tag is after the last ':' behind the last '/'
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Manifest:
    """Where an object is defined in the checkout: file (relative to the repository) and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


#: (kind, namespace, name) -> where it is defined; a cluster-scoped object has namespace ""
ManifestIndex = Mapping[tuple[str, str, str], Manifest]


@dataclass(frozen=True)
class Commit:
    """One commit on the branch Flux follows."""

    sha: str
    summary: str
    author: str
    date: str


@dataclass(frozen=True)
class Thresholds:
    """The limits of the checks that take a number (parameters of the `audit` runbook)."""

    #: an object suspended longer than this was forgotten, not paused for an incident
    suspended_for: timedelta = timedelta(hours=24)
    #: sources polled more often than this load the Git server / registry for nothing
    min_interval: timedelta = timedelta(minutes=1)
    #: sources polled less often than this (or never) let changes wait for a day
    max_interval: timedelta = timedelta(hours=24)


def subject(obj: Obj) -> str:
    """``Deployment default/whoami`` (cluster-scoped objects without the slash)."""
    m = meta(obj)
    where = f"{m['namespace']}/" if m.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{m.get('name', '?')}"


def managed_by(obj: Obj) -> str:
    """German: which Flux object applied ``obj`` (from the labels Flux writes), or ""."""
    labels = meta(obj).get("labels") or {}
    if labels.get(f"{_HR}/name"):
        return f"HelmRelease {labels.get(f'{_HR}/namespace', '?')}/{labels[f'{_HR}/name']}"
    if labels.get(f"{_KS}/name"):
        return f"Kustomization {labels.get(f'{_KS}/namespace', '?')}/{labels[f'{_KS}/name']}"
    return ""


def _where_defined(obj: Obj, index: ManifestIndex) -> str:
    """German evidence line: the file and line that define ``obj`` in the checkout, or the file of the
    HelmRelease whose values render it; "" when the checkout does not define it."""
    file = defining_file(obj, index)
    if not file:
        return ""
    return f"Definiert in {file}" if not file.startswith("HelmRelease ") else f"Werte der {file}"


def defining_file(obj: Obj, index: ManifestIndex) -> str:
    """``file:line`` that defines ``obj``, or ``HelmRelease in file:line`` for a Helm-rendered object."""
    m = meta(obj)
    kind, name = str(obj.get("kind")), str(m.get("name"))
    # a manifest without namespace gets it from the Kustomization (targetNamespace) or "default"
    own = index.get((kind, str(m.get("namespace") or ""), name)) or index.get((kind, "", name))
    if own:
        return str(own)
    labels = m.get("labels") or {}
    if labels.get(f"{_HR}/name"):
        hr = index.get(("HelmRelease", labels.get(f"{_HR}/namespace", ""), labels[f"{_HR}/name"]))
        if hr:
            return f"HelmRelease in {hr}"
    return ""


def _in_file(obj: Obj, index: ManifestIndex) -> str:
    """ " in `file:line`" for a next step, or ""."""
    file = defining_file(obj, index)
    return f" in `{file.removeprefix('HelmRelease in ')}`" if file else ""


def _containers(obj: Obj) -> list[Obj]:
    pod = (spec(obj).get("template") or {}).get("spec") or {}
    return list(pod.get("containers") or [])


def _kubectl(obj: Obj, jsonpath: str) -> str:
    m = meta(obj)
    kind = WORKLOAD_KINDS.get(str(obj.get("kind")), str(obj.get("kind", "")).lower())
    return f"kubectl get {kind} {m.get('name')} -n {m.get('namespace')} -o jsonpath='{jsonpath}'"


# --- resources ------------------------------------------------------------------------------------


def resource_findings(workloads: Iterable[Obj], index: ManifestIndex) -> list[Finding]:
    """ "Ressourcenlimits: Setzen Sie immer Limits für Produktions-Workloads": one warning per workload
    with a container that lacks limits or requests."""
    found = []
    for obj in workloads:
        lacking = []
        for c in _containers(obj):
            res = c.get("resources") or {}
            missing = [part for part in ("requests", "limits") if not res.get(part)]
            if missing:
                lacking.append((str(c.get("name", "?")), missing))
        if not lacking:
            continue
        parts = {p for _, m in lacking for p in m}
        what = " und ".join(_GERMAN[p] for p in ("limits", "requests") if p in parts)
        evidence = [f"Container {name}: ohne {' und '.join(_GERMAN[p] for p in m)}" for name, m in lacking]
        evidence += [x for x in (_where_defined(obj, index), _managed(obj)) if x]
        found.append(
            Finding(
                severity=WARNING,
                title=f"Keine Resource-{what}",
                cause=(
                    "Ohne Limits kann ein Container den Knoten auslasten und andere Pods verdrängen; ohne "
                    "Requests plant der Scheduler ihn ohne zu wissen, was er braucht (Best Practice "
                    "„Ressourcenlimits“ des Leitfadens)."
                ),
                evidence="\n".join(evidence),
                next_step=_resources_fix(obj, index),
                command=_kubectl(obj, _RESOURCES_PATH),
                subject=subject(obj),
            )
        )
    return found


_GERMAN = {"requests": "Requests", "limits": "Limits"}
#: kubectl's JSONPath for each container's name and resources, one per line
_RESOURCES_PATH = '{range .spec.template.spec.containers[*]}{.name}: {.resources}{"\\n"}{end}'


def _managed(obj: Obj) -> str:
    who = managed_by(obj)
    return f"Angewendet von {who}" if who else "Nicht von Flux verwaltet"


def _resources_fix(obj: Obj, index: ManifestIndex) -> str:
    target = _in_file(obj, index)
    if managed_by(obj).startswith("HelmRelease"):
        return (
            f"In den `values` der HelmRelease{target} `resources.requests` (cpu, memory) und "
            "`resources.limits` (memory) setzen, mit dem Runbook `change` committen und ausrollen."
        )
    return (
        f"Im Manifest{target} unter `spec.template.spec.containers[].resources` `requests` (cpu, memory) "
        "und `limits` (memory) setzen, mit dem Runbook `change` committen und ausrollen."
    )


# --- images ---------------------------------------------------------------------------------------


def image_tag(image: str) -> str:
    """The tag of an image reference ("" without one; a digest counts as pinned: "@sha256")."""
    if _DIGEST.search(image):
        return "@sha256"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def image_findings(workloads: Iterable[Obj], index: ManifestIndex) -> list[Finding]:
    """Images on ``latest`` or without a tag: Git no longer says what runs, a rollback by Git does not
    bring the old image back (error)."""
    found = []
    for obj in workloads:
        bad = [
            (str(c.get("name", "?")), str(c.get("image", "")))
            for c in _containers(obj)
            if image_tag(str(c.get("image", ""))) in ("", "latest")
        ]
        if not bad:
            continue
        evidence = [f"Container {name}: image: {image}" for name, image in bad]
        evidence += [x for x in (_where_defined(obj, index), _managed(obj)) if x]
        found.append(
            Finding(
                severity=ERROR,
                title="Image ohne festen Tag",
                cause=(
                    "Ein Image auf `latest` oder ohne Tag ändert sich, ohne dass Git sich ändert: Welche "
                    "Version läuft, steht nirgends, und ein Rollback über Git bringt die alte Version nicht "
                    "zurück."
                ),
                evidence="\n".join(evidence),
                next_step=(
                    "Einen festen Versions-Tag (z. B. `v1.2.3`) oder einen Digest (`@sha256:…`)"
                    f"{_in_file(obj, index)} eintragen und mit dem Runbook `change` ausrollen."
                ),
                command=_kubectl(obj, "{.spec.template.spec.containers[*].image}"),
                subject=subject(obj),
            )
        )
    return found


# --- suspended ------------------------------------------------------------------------------------


def suspended_since(obj: Obj) -> datetime | None:
    """When ``spec.suspend`` was last written: the time of the managedFields entry that owns it (the
    API server records one per field manager; ``flux suspend`` and ``kubectl patch`` both write one)."""
    times = []
    for entry in meta(obj).get("managedFields") or []:
        fields = ((entry.get("fieldsV1") or {}).get("f:spec") or {}) if isinstance(entry, Mapping) else {}
        if "f:suspend" in fields:
            when = parse_time(entry.get("time"))
            if when:
                times.append(when)
    return max(times) if times else None


def suspended_findings(objects: Iterable[Obj], now: datetime, limits: Thresholds) -> list[Finding]:
    """Flux objects with ``spec.suspend: true``: a warning once suspended longer than the threshold, a
    hint while younger or when the server does not say since when."""
    found = []
    for obj in objects:
        if spec(obj).get("suspend") is not True:
            continue
        since = suspended_since(obj)
        age = now - since if since else None
        old = age is not None and age > limits.suspended_for
        if age is None:
            evidence = "spec.suspend: true (seit wann, zeigt der API-Server nicht: keine managedFields)"
        else:
            evidence = f"spec.suspend: true, gesetzt vor {german_age(age)} ({since:%Y-%m-%d %H:%M} UTC)"
        kind = str(obj.get("kind", ""))
        m = meta(obj)
        found.append(
            Finding(
                severity=WARNING if old else INFO,
                title="Seit langem ausgesetzt" if old else "Ausgesetzt",
                cause=(
                    "Ein ausgesetztes Objekt übernimmt keine Änderungen aus Git mehr: Was seitdem committet "
                    "wurde, kommt nicht an, und Drift im Cluster wird nicht korrigiert"
                    + (f" (länger als {german_age(limits.suspended_for)})." if old else ".")
                ),
                evidence=evidence,
                next_step=(
                    "Klären, warum es ausgesetzt ist; wenn der Grund erledigt ist, mit dem Runbook `sync` "
                    "bzw. `flux resume` fortsetzen."
                ),
                command=f"flux resume {_flux_noun(kind)} {m.get('name')} -n {m.get('namespace')}",
                subject=subject(obj),
            )
        )
    return found


_FLUX_NOUNS = {
    "GitRepository": "source git",
    "HelmRepository": "source helm",
    "OCIRepository": "source oci",
    "Bucket": "source bucket",
    "HelmChart": "source chart",
    "Kustomization": "kustomization",
    "HelmRelease": "helmrelease",
}


def _flux_noun(kind: str) -> str:
    return _FLUX_NOUNS.get(kind, kind.lower())


# --- HelmRelease remediation ------------------------------------------------------------------------


def remediation_findings(releases: Iterable[Obj], index: ManifestIndex) -> list[Finding]:
    """HelmReleases without upgrade remediation (warning) or with ``retries: -1`` (error)."""
    found = []
    for hr in releases:
        s = spec(hr)
        where_line = [x for x in (_where_defined(hr, index),) if x]
        cmd = f"kubectl get helmrelease {meta(hr).get('name')} -n {meta(hr).get('namespace')} -o yaml"
        endless = [
            f"spec.{action}.remediation.retries: -1"
            for action in ("install", "upgrade")
            if ((s.get(action) or {}).get("remediation") or {}).get("retries") == -1
        ]
        if endless:
            found.append(
                Finding(
                    severity=ERROR,
                    title="Unbegrenzte Wiederholungen",
                    cause=(
                        "Mit `retries: -1` wiederholt Flux ein fehlgeschlagenes Install oder Upgrade ohne "
                        "Ende: Die HelmRelease gibt nie endgültig auf, ein kaputtes Release fällt nicht als "
                        "gescheitert auf, und jeder Versuch belastet Cluster und Chart-Quelle."
                    ),
                    evidence="\n".join([*endless, *where_line]),
                    next_step=(
                        f"Eine feste Zahl (z. B. `retries: 2`){_in_file(hr, index)} eintragen und mit dem "
                        "Runbook `change` ausrollen."
                    ),
                    command=cmd,
                    subject=subject(hr),
                )
            )
        upgrade = (s.get("upgrade") or {}).get("remediation") or {}
        shown = upgrade or "nicht gesetzt"
        if not upgrade.get("retries") and not upgrade.get("remediateLastFailure"):
            found.append(
                Finding(
                    severity=WARNING,
                    title="Keine Upgrade-Remediation",
                    cause=(
                        "Ohne `spec.upgrade.remediation` bleibt ein fehlgeschlagenes Upgrade einfach stehen "
                        "(Flux versucht es nicht erneut und rollt nicht zurück), bis jemand eingreift."
                    ),
                    evidence="\n".join([f"spec.upgrade.remediation: {shown}", *where_line]),
                    next_step=(
                        "`spec.upgrade.remediation` mit `retries: 2` und `strategy: rollback`"
                        f"{_in_file(hr, index)} setzen und mit dem Runbook `change` ausrollen."
                    ),
                    command=cmd,
                    subject=subject(hr),
                )
            )
    return found


# --- source intervals -------------------------------------------------------------------------------


def _interval(text: object) -> timedelta | None:
    if text in (None, ""):
        return None
    try:
        return parse_duration(str(text), what="spec.interval", allow_zero=True)
    except UsageError:
        return None


def interval_findings(sources: Iterable[Obj], limits: Thresholds) -> list[Finding]:
    """Sources polling more often than ``min_interval`` or less often than ``max_interval`` (or never)."""
    found = []
    for src in sources:
        kind = str(src.get("kind", ""))
        if kind == "HelmRepository" and spec(src).get("type") == "oci":
            continue  # an OCI HelmRepository is not polled (Flux reads the chart's OCIRepository/HelmChart)
        text = spec(src).get("interval")
        value = _interval(text)
        m = meta(src)
        cmd = (
            f"kubectl get {kind.lower()} {m.get('name')} -n {m.get('namespace')} "
            "-o jsonpath='{.spec.interval}'"
        )
        if value is not None and value > timedelta(0) and value < limits.min_interval:
            found.append(
                Finding(
                    severity=WARNING,
                    title="Quelle wird zu oft abgefragt",
                    cause=(
                        f"Alle {text} fragt Flux die Quelle ab: Das belastet Git-Server bzw. Registry und "
                        "führt bei Anbietern mit Rate-Limits zu Fehlern, ohne Änderungen nennenswert früher "
                        f"zu bringen (unter {german_age(limits.min_interval)} lohnt nicht; für sofortige "
                        "Übernahme gibt es Webhooks oder das Runbook `sync`)."
                    ),
                    evidence=f"spec.interval: {text}",
                    next_step="`spec.interval` auf mindestens 1m (Git) bzw. 10m (Helm-Repositorys) setzen.",
                    command=cmd,
                    subject=subject(src),
                )
            )
        elif value is None or value == timedelta(0) or value > limits.max_interval:
            never = value is None or value == timedelta(0)
            found.append(
                Finding(
                    severity=WARNING,
                    title="Quelle wird nie abgefragt" if never else "Quelle wird selten abgefragt",
                    cause=(
                        "Flux holt neue Commits bzw. Charts nur im Intervall der Quelle: "
                        + (
                            "ohne gültiges Intervall nie."
                            if never
                            else f"bei {text} kommen Änderungen erst nach über "
                            f"{german_age(limits.max_interval)} an."
                        )
                    ),
                    evidence=f"spec.interval: {text if text not in (None, '') else 'nicht gesetzt'}",
                    next_step="Ein Intervall zwischen 1m und 1h setzen (der Leitfaden nennt 5m als üblich).",
                    command=cmd,
                    subject=subject(src),
                )
            )
    return found


# --- commit messages --------------------------------------------------------------------------------


def commit_findings(commits: Sequence[Commit], branch: str) -> list[Finding]:
    """ "Beschreibende Commit-Messages": one warning listing every commit whose message the change runbook
    would refuse (too short, or only generic words)."""
    bad = []
    for c in commits:
        try:
            check_message(c.summary)
        except UsageError:
            bad.append(c)
    if not bad:
        return []
    shown = [f"{c.sha[:7]} {c.date} {c.author}: „{c.summary}“" for c in bad]
    return [
        Finding(
            severity=WARNING,
            title="Nichtssagende Commit-Messages",
            cause=(
                f"{len(bad)} von {len(commits)} geprüften Commits auf `{branch}` sagen nicht, was sich "
                "warum ändert: Bei einer Störung ist nicht zu erkennen, welcher Commit sie ausgelöst hat "
                "(Best Practice „Beschreibende Commit-Messages“)."
            ),
            evidence="\n".join(shown),
            next_step=(
                f"Künftige Commits beschreibend formulieren, z. B. „{GOOD_EXAMPLE}“; das Runbook `change` "
                "lehnt nichtssagende Messages ab. Gepushte Commits nicht umschreiben."
            ),
            command=f"git log --oneline -n {len(commits)} {branch}",
            subject=f"Branch {branch}",
        )
    ]


def unpushed_findings(dirty: Sequence[str], ahead: int, branch: str) -> list[Finding]:
    """ "Immer committen und pushen": local changes and commits Flux never sees."""
    if not dirty and not ahead:
        return []
    evidence = []
    if dirty:
        evidence.append("Nicht committet: " + ", ".join(dirty[:10]) + (" …" if len(dirty) > 10 else ""))
    if ahead:
        evidence.append(f"{plural(ahead, 'Commit', 'Commits')} nicht gepusht")
    return [
        Finding(
            severity=WARNING,
            title="Änderungen nicht gepusht",
            cause=(
                "Flux arbeitet nur mit Commits auf dem Remote: Was nur in der Arbeitskopie liegt, kommt "
                "nie an."
            ),
            evidence="\n".join(evidence),
            next_step="Committen und pushen (Runbook `change`) oder die lokalen Änderungen verwerfen.",
            command="git status -sb",
            subject=f"Arbeitskopie ({branch})",
        )
    ]
