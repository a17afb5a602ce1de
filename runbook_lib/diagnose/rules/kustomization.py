"""Interpretation of Kustomizations for "Flux synchronisiert nicht" (docs/flux-facts.md §2, pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from runbook_lib.diagnose.common import Obj, cond_text, ref, resume_commands, resume_step, sync_command
from runbook_lib.diagnose.model import ERROR, WARNING, Finding, FindingText
from runbook_lib.objects import condition, is_true, meta, spec, status
from runbook_lib.settings import settings

_DEPENDENCY = re.compile(r"dependency '([^']+)'")


def uses_source(ks: Obj, repo: Obj) -> bool:
    """The Kustomization's sourceRef points at this GitRepository."""
    src = spec(ks).get("sourceRef") or {}
    src_ns = src.get("namespace") or meta(ks).get("namespace")
    return (
        src.get("kind") == "GitRepository"
        and src.get("name") == meta(repo).get("name")
        and src_ns == meta(repo).get("namespace")
    )


#: Ready=False reason -> finding; ``{path}`` is spec.path in the repository checkout
_KS_FAILURES: Mapping[str, FindingText] = MappingProxyType(
    {
        "BuildFailed": FindingText(
            severity=ERROR,
            title="kustomize build fehlgeschlagen",
            cause="Die Manifeste im Pfad der Kustomization lassen sich nicht bauen (YAML-Fehler, fehlende "
            "Datei in kustomization.yaml, falscher Pfad).",
            next_step="Fehler im Git korrigieren und committen; vorher im Checkout des Repositorys prüfen "
            "mit `kubectl kustomize {path}`.",
        ),
        "HealthCheckFailed": FindingText(
            severity=ERROR,
            title="Health-Check fehlgeschlagen",
            cause="Die angewendeten Workloads wurden nicht rechtzeitig bereit.",
            next_step="Die genannten Objekte prüfen (Pods, Events); Ursache im Git beheben.",
        ),
        "ReconciliationFailed": FindingText(
            severity=ERROR,
            title="Anwenden fehlgeschlagen",
            cause="Der API-Server hat Objekte abgelehnt (Validierung, fehlende CRD, unveränderliches "
            "Feld) oder ein Objekt ließ sich nicht anwenden.",
            next_step="Meldung lesen, Manifest im Git korrigieren und committen.",
        ),
        "ArtifactFailed": FindingText(
            severity=ERROR,
            title="Quelle liefert kein Artefakt",
            cause="Die Kustomization bekommt von ihrer Quelle kein Artefakt (Quelle fehlerhaft oder fehlt).",
            next_step="Zuerst die Quelle reparieren (siehe Befund zur GitRepository).",
        ),
        "PruneFailed": FindingText(
            severity=ERROR,
            title="Aufräumen (prune) fehlgeschlagen",
            cause="Entfernte Objekte ließen sich nicht löschen (Finalizer, Berechtigung).",
            next_step="Die genannten Objekte und ihre Finalizer prüfen.",
        ),
    }
)
#: any other Ready=False reason
_KS_FAILED = FindingText(
    severity=ERROR,
    title="Kustomization fehlgeschlagen",
    cause="Der kustomize-controller meldet {reason}.",
    next_step="Meldung lesen und die Ursache im Git beheben.",
)
_SUSPENDED = FindingText(
    severity=WARNING,
    title="Kustomization ist ausgesetzt",
    cause="spec.suspend ist true: neue Commits werden nicht angewendet.",
    next_step=resume_step("Kustomization"),
)
_WAITING = FindingText(
    severity=WARNING,
    title="Wartet auf Abhängigkeit {dependency}",
    cause="Die Kustomization hängt über spec.dependsOn von {dependency} ab, und die ist nicht bereit; "
    "solange wird sie nicht angewendet.",
    next_step="Zuerst {dependency} reparieren; danach folgt diese Kustomization von selbst.",
)
_STALLED = FindingText(
    severity=ERROR,
    title="Kustomization hängt endgültig (Stalled)",
    cause="Der Controller versucht es nicht mehr.",
    next_step="Manifest im Git korrigieren.",
)
_NEVER_RECONCILED = FindingText(
    severity=WARNING,
    title="Kustomization wurde noch nie abgeglichen",
    cause="Keine Ready-Condition: der kustomize-controller hat das Objekt nicht bearbeitet.",
    next_step="kustomize-controller prüfen (siehe Controller-Befunde).",
)
_IN_PROGRESS = FindingText(
    severity=WARNING,
    title="Kustomization in Arbeit: Revision hinter der Quelle",
    cause="Der kustomize-controller gleicht gerade ab: angewendet ist noch {applied}, die Quelle hat schon "
    "{source}. Während eines Abgleichs ist das normal.",
    next_step="Einen Moment warten und das Runbook erneut ausführen, oder den Abgleich anstoßen und bis zum "
    "Ende beobachten: `{sync}`. Bleibt die Revision zurück, die Logs des kustomize-controllers prüfen.",
)
_BEHIND = FindingText(
    severity=WARNING,
    title="Kustomization hängt hinter der Quelle",
    cause="Die Quelle hat eine neuere Revision, die Kustomization wendet noch die alte an.",
    next_step="Abgleich mit Quelle anstoßen; bleibt sie zurück, kustomize-controller-Logs prüfen.",
)


def _reconcile_cmds(name: str, ns: str) -> str:
    """Reconcile with the source: the ``sync`` runbook, or the flux CLI."""
    return f"{sync_command('ks', name, ns)}\nflux reconcile kustomization {name} -n {ns} --with-source"


def _ks_cmds(name: str, ns: str) -> str:
    return (
        f"flux get kustomizations {name} -n {ns}\nflux events --for Kustomization/{name} -n {ns}\n"
        + _reconcile_cmds(name, ns)
    )


def _path(ks: Obj) -> str:
    """spec.path as a local path in the repository checkout (Flux's default is the root)."""
    path = str(spec(ks).get("path") or "./")
    return path if path.startswith(("./", "/")) or path == "." else f"./{path}"


def _failure(ks: Obj, ready: Mapping[str, object], revs: str) -> Finding:
    """The finding for Ready=False: waiting for a dependency, or a failure by reason."""
    name, ns = str(meta(ks).get("name", "")), str(meta(ks).get("namespace", ""))
    reason = str(ready.get("reason", ""))
    if reason == "DependencyNotReady":
        found = _DEPENDENCY.search(str(ready.get("message", "")))
        dependency = found.group(1) if found else "eine Abhängigkeit"
        dep_ns, _, dep_name = dependency.rpartition("/")
        return _WAITING.finding(
            evidence=cond_text(ready) + revs,
            command=f"flux get kustomizations {dep_name} -n {dep_ns or ns}",
            subject=ref("Kustomization", ks),
            dependency=dependency,
        )
    return _KS_FAILURES.get(reason, _KS_FAILED).finding(
        evidence=cond_text(ready) + revs,
        command=_ks_cmds(name, ns),
        subject=ref("Kustomization", ks),
        path=_path(ks),
        reason=reason or "einen Fehler",
    )


def kustomization_finding(ks: Obj, repo: Obj) -> Finding | None:
    """The one finding for a Kustomization of this source, or None when it is fine (pure)."""
    name, ns = str(meta(ks).get("name", "")), str(meta(ks).get("namespace", ""))
    subject = ref("Kustomization", ks)
    ready = condition(ks, "Ready")
    applied = str(status(ks).get("lastAppliedRevision") or "")
    source_rev = str((status(repo).get("artifact") or {}).get("revision") or "")
    behind = bool(source_rev) and applied != source_rev
    revs = f"\nlastAppliedRevision {applied or '-'}, Quelle {source_rev}" if behind else ""
    if spec(ks).get("suspend"):
        return _SUSPENDED.finding(
            evidence="spec.suspend: true" + revs,
            command=resume_commands("kustomization", name, ns),
            subject=subject,
        )
    if ready.get("status") == "False":
        return _failure(ks, ready, revs)
    if is_true(ks, "Stalled"):
        stalled = cond_text(condition(ks, "Stalled"))
        return _STALLED.finding(evidence=stalled, command=_ks_cmds(name, ns), subject=subject)
    flux_ns = settings().flux_namespace
    if not ready:
        return _NEVER_RECONCILED.finding(
            evidence="status.conditions ist leer",
            command=f"kubectl get deploy,pods -n {flux_ns} -l app=kustomize-controller",
            subject=subject,
        )
    if behind and (ready.get("status") == "Unknown" or is_true(ks, "Reconciling")):
        conditions = (cond_text(ready), cond_text(condition(ks, "Reconciling")))
        return _IN_PROGRESS.finding(
            evidence="\n".join(x for x in conditions if x) + revs,
            command=f"{sync_command('ks', name, ns)}\nflux get kustomizations {name} -n {ns}\n"
            f"kubectl logs -n {flux_ns} -l app=kustomize-controller",
            subject=subject,
            applied=applied or "keine Revision",
            source=source_rev,
            sync=sync_command("ks", name, ns),
        )
    if behind:
        command = _reconcile_cmds(name, ns)
        return _BEHIND.finding(evidence=cond_text(ready) + revs, command=command, subject=subject)
    return None


def _waits_for(ks: Obj) -> str | None:
    """``Kustomization ns/name`` of the dependency a Kustomization waits for (DependencyNotReady)."""
    ready = condition(ks, "Ready")
    found = _DEPENDENCY.search(str(ready.get("message", "")))
    if ready.get("reason") != "DependencyNotReady" or not found:
        return None
    dep_ns, _, dep_name = found.group(1).rpartition("/")
    return f"Kustomization {dep_ns or meta(ks).get('namespace', '')}/{dep_name}"


def kustomization_findings(kustomizations: Iterable[Obj], repo: Obj) -> list[Finding]:
    """Findings for every Kustomization whose source is ``repo``, causes first (pure).

    A Kustomization that waits for a failing dependency is a consequence of that dependency's finding
    (through a chain of waits, of the first one that fails itself).
    """
    items = [ks for ks in kustomizations if uses_source(ks, repo)]
    found = {ref("Kustomization", ks): (ks, kustomization_finding(ks, repo)) for ks in items}

    def root(subject: str, seen: frozenset[str] = frozenset()) -> str:
        ks, _ = found[subject]
        dep = _waits_for(ks)
        if dep in found and dep not in seen and found[dep][1] is not None:
            return root(dep, seen | {subject})
        return subject

    effects: dict[str, list[Finding]] = {}
    for subject, (_, finding) in found.items():
        cause = root(subject)
        if finding is not None and cause != subject:
            effects.setdefault(cause, []).append(finding)
    return [
        finding.explains(*effects.get(subject, []))
        for subject, (_, finding) in found.items()
        if finding is not None and root(subject) == subject
    ]


#: findings about a Kustomization that a failing source explains
_FROM_SOURCE = ("Quelle liefert kein Artefakt",)
#: findings that only mean "the controller did not get to it"
_FROM_CONTROLLER = (
    "Kustomization wurde noch nie abgeglichen",
    "Kustomization hängt hinter der Quelle",
    "Kustomization in Arbeit: Revision hinter der Quelle",
)
_REPO_FROM_CONTROLLER = ("Quelle wird nicht mehr abgeholt", "GitRepository wurde noch nie abgeglichen")


def link_sync(
    controllers: list[Finding], repo: list[Finding], kustomizations: list[Finding]
) -> list[Finding]:
    """The findings of a sync, causes first (pure).

    A controller that is down explains what it did not do (source-controller: the source not fetched;
    kustomize-controller: Kustomizations behind or never applied); a GitRepository that fails explains the
    Kustomizations that get no artifact from it.
    """

    def take(found: list[Finding], titles: tuple[str, ...]) -> list[Finding]:
        taken = [f for f in found if f.title in titles]
        found[:] = [f for f in found if f.title not in titles]
        return taken

    repo, kustomizations = list(repo), list(kustomizations)
    failing_repo = [f for f in repo if f.severity == ERROR and f.subject.startswith("GitRepository")]
    if failing_repo:
        repo[repo.index(failing_repo[0])] = failing_repo[0].explains(*take(kustomizations, _FROM_SOURCE))
    causes = []
    for finding in controllers:
        if finding.subject.endswith("/source-controller"):
            finding = finding.explains(*take(repo, _REPO_FROM_CONTROLLER))
        elif finding.subject.endswith("/kustomize-controller"):
            finding = finding.explains(*take(kustomizations, _FROM_CONTROLLER))
        causes.append(finding)
    return [*causes, *repo, *kustomizations]
