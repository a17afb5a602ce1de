"""Interpretation of Kustomizations for "Flux synchronisiert nicht" (reference section 2, pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from runbook_lib.diagnose.common import Obj, cond_text, ref, resume_commands, resume_step
from runbook_lib.diagnose.model import ERROR, WARNING, Finding
from runbook_lib.objects import condition, is_true, meta, spec, status

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


_KS_FAILURES: Mapping[str, tuple[int, str, str, str]] = {
    "BuildFailed": (
        ERROR,
        "kustomize build fehlgeschlagen",
        "Die Manifeste im Pfad der Kustomization lassen sich nicht bauen (YAML-Fehler, fehlende "
        "Datei in kustomization.yaml, falscher Pfad).",
        "Fehler im Git korrigieren und committen; vorher im Checkout des Repositorys prüfen mit "
        "`kubectl kustomize {path}`.",
    ),
    "HealthCheckFailed": (
        ERROR,
        "Health-Check fehlgeschlagen",
        "Die angewendeten Workloads wurden nicht rechtzeitig bereit.",
        "Die genannten Objekte prüfen (Pods, Events); Ursache im Git beheben.",
    ),
    "ReconciliationFailed": (
        ERROR,
        "Anwenden fehlgeschlagen",
        "Der API-Server hat Objekte abgelehnt (Validierung, fehlende CRD, unveränderliches "
        "Feld) oder ein Objekt ließ sich nicht anwenden.",
        "Meldung lesen, Manifest im Git korrigieren und committen.",
    ),
    "ArtifactFailed": (
        ERROR,
        "Quelle liefert kein Artefakt",
        "Die Kustomization bekommt von ihrer Quelle kein Artefakt (Quelle fehlerhaft oder fehlt).",
        "Zuerst die Quelle reparieren (siehe Befund zur GitRepository).",
    ),
    "PruneFailed": (
        ERROR,
        "Aufräumen (prune) fehlgeschlagen",
        "Entfernte Objekte ließen sich nicht löschen (Finalizer, Berechtigung).",
        "Die genannten Objekte und ihre Finalizer prüfen.",
    ),
}


def _sync_cmd(name: str, ns: str) -> str:
    """The `sync` runbook for a Kustomization (works without the flux CLI)."""
    flag = "" if ns == "flux-system" else f" -p namespace {ns}"
    return f"runbook run sync -p kind ks -p name {name}{flag}"


def _ks_cmds(name: str, ns: str) -> str:
    return (
        f"flux get kustomizations {name} -n {ns}\nflux events --for Kustomization/{name} -n {ns}\n"
        f"{_sync_cmd(name, ns)}\nflux reconcile kustomization {name} -n {ns} --with-source"
    )


def _path(ks: Obj) -> str:
    """spec.path as a local path in the repository checkout (Flux's default is the root)."""
    path = str(spec(ks).get("path") or "./")
    return path if path.startswith(("./", "/")) or path == "." else f"./{path}"


def kustomization_finding(ks: Obj, repo: Obj) -> Finding | None:
    """The one finding for a Kustomization of this source, or None when it is fine (pure)."""
    name, ns = meta(ks).get("name", ""), meta(ks).get("namespace", "")
    subject = ref("Kustomization", ks)
    ready = condition(ks, "Ready")
    applied = str(status(ks).get("lastAppliedRevision") or "")
    source_rev = str((status(repo).get("artifact") or {}).get("revision") or "")
    behind = bool(source_rev) and applied != source_rev
    revs = f"\nlastAppliedRevision {applied or '-'}, Quelle {source_rev}" if behind else ""
    if spec(ks).get("suspend"):
        return Finding(
            WARNING,
            "Kustomization ist ausgesetzt",
            "spec.suspend ist true: neue Commits werden nicht angewendet.",
            "spec.suspend: true" + revs,
            resume_step("Kustomization"),
            resume_commands("kustomization", name, ns),
            subject,
        )
    reason = str(ready.get("reason", ""))
    if ready.get("status") == "False":
        if reason == "DependencyNotReady":
            dep = _DEPENDENCY.search(str(ready.get("message", "")))
            dep_name = dep.group(1) if dep else "eine Abhängigkeit"
            short = dep_name.rsplit("/", 1)[-1]
            dep_ns = dep_name.split("/")[0] if "/" in dep_name else ns
            return Finding(
                WARNING,
                f"Wartet auf Abhängigkeit {dep_name}",
                f"spec.dependsOn: die Kustomization {dep_name} ist nicht bereit, deshalb wird diese "
                "nicht angewendet.",
                cond_text(ready) + revs,
                f"Zuerst {dep_name} reparieren; danach folgt diese Kustomization von selbst.",
                f"flux get kustomizations {short} -n {dep_ns}",
                subject,
            )
        severity, title, cause, step = _KS_FAILURES.get(
            reason,
            (
                ERROR,
                "Kustomization fehlgeschlagen",
                f"Der kustomize-controller meldet {reason or 'einen Fehler'}.",
                "Meldung lesen und die Ursache im Git beheben.",
            ),
        )
        step = step.replace("{path}", _path(ks))
        return Finding(severity, title, cause, cond_text(ready) + revs, step, _ks_cmds(name, ns), subject)
    if is_true(ks, "Stalled"):
        return Finding(
            ERROR,
            "Kustomization hängt endgültig (Stalled)",
            "Der Controller versucht es nicht mehr.",
            cond_text(condition(ks, "Stalled")),
            "Manifest im Git korrigieren.",
            _ks_cmds(name, ns),
            subject,
        )
    if not ready:
        return Finding(
            WARNING,
            "Kustomization wurde noch nie abgeglichen",
            "Keine Ready-Condition: der kustomize-controller hat das Objekt nicht bearbeitet.",
            "status.conditions ist leer",
            "kustomize-controller prüfen (siehe Controller-Befunde).",
            "kubectl get deploy,pods -n flux-system -l app=kustomize-controller",
            subject,
        )
    if behind and (ready.get("status") == "Unknown" or is_true(ks, "Reconciling")):
        return Finding(
            WARNING,
            "Kustomization in Arbeit: Revision hinter der Quelle",
            f"Der kustomize-controller gleicht gerade ab: angewendet ist noch {applied or 'keine Revision'}, "
            f"die Quelle hat schon {source_rev}. Während eines Abgleichs ist das normal.",
            "\n".join(x for x in (cond_text(ready), cond_text(condition(ks, "Reconciling"))) if x) + revs,
            "Einen Moment warten und das Runbook erneut ausführen, oder den Abgleich anstoßen und bis zum "
            f"Ende beobachten: `{_sync_cmd(name, ns)}`. Bleibt die Revision "
            "zurück, die Logs des kustomize-controllers prüfen.",
            f"{_sync_cmd(name, ns)}\n"
            f"flux get kustomizations {name} -n {ns}\n"
            "kubectl logs -n flux-system -l app=kustomize-controller",
            subject,
        )
    if behind:
        return Finding(
            WARNING,
            "Kustomization hängt hinter der Quelle",
            "Die Quelle hat eine neuere Revision, die Kustomization wendet noch die alte an.",
            cond_text(ready) + revs,
            "Abgleich mit Quelle anstoßen; bleibt sie zurück, kustomize-controller-Logs prüfen.",
            f"{_sync_cmd(name, ns)}\nflux reconcile kustomization {name} -n {ns} --with-source",
            subject,
        )
    return None


def kustomization_findings(kustomizations: Iterable[Obj], repo: Obj) -> list[Finding]:
    """Findings for every Kustomization whose source is ``repo`` (pure)."""
    found = (kustomization_finding(ks, repo) for ks in kustomizations if uses_source(ks, repo))
    return [f for f in found if f is not None]
