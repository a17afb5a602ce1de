"""Interpretation of workloads: Flux controller Deployments, and the Deployments/Pods of a release (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runbook_lib.diagnose.common import Obj, cond_text, ref
from runbook_lib.diagnose.model import ERROR, Finding
from runbook_lib.objects import condition, deployment_status, meta, spec, status
from runbook_lib.settings import settings

#: the controllers a Git sync needs (Deployment names in the Flux namespace)
CONTROLLERS = ("source-controller", "kustomize-controller")
PULL_ERRORS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName")


def controller_findings(
    deployments: Iterable[Obj], *, names: Sequence[str] = CONTROLLERS, namespace: str | None = None
) -> list[Finding]:
    """A Flux controller Deployment is missing, scaled to zero or not available (pure).

    ``namespace`` is where the controllers run (default: the settings' Flux namespace).
    """
    namespace = namespace or settings().flux_namespace
    by_name = {meta(d).get("name"): d for d in deployments}
    out = []
    for name in names:
        subject = f"Deployment {namespace}/{name}"
        dep: Mapping[str, Any] | None = by_name.get(name)
        cmd = (
            f"kubectl get deploy,pods -n {namespace} -l app={name}\n"
            f"kubectl describe deployment {name} -n {namespace}"
        )
        if dep is None:
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"{name} fehlt",
                    cause=(
                        f"Im Namespace {namespace} gibt es kein Deployment {name}; "
                        "ohne ihn wird nichts abgeglichen."
                    ),
                    evidence=f"kein Deployment {name} in {namespace}",
                    next_step="Flux-Installation prüfen (`flux check`) und ggf. neu bootstrappen.",
                    command=f"flux check\nkubectl get deploy -n {namespace}",
                    subject=subject,
                )
            )
            continue
        if spec(dep).get("replicas") == 0:
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"{name} ist auf 0 Replikate skaliert",
                    cause="Der Controller läuft nicht; Flux-Objekte werden nicht abgeglichen.",
                    evidence="spec.replicas: 0",
                    next_step=(
                        f"Wieder hochskalieren: `kubectl scale deployment {name} -n "
                        f"{namespace} --replicas=1` (und im Git prüfen, wer skaliert hat)."
                    ),
                    command=cmd,
                    subject=subject,
                )
            )
            continue
        ready, why = deployment_status(dep)
        if not ready:
            st = status(dep)
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"{name} ist nicht bereit",
                    cause=f"Der Controller läuft nicht richtig ({why}); Abgleiche bleiben aus.",
                    evidence=(
                        f"readyReplicas {st.get('readyReplicas') or 0}/{spec(dep).get('replicas', 1)}; "
                        + cond_text(condition(dep, "Available"))
                    ),
                    next_step="Pods und Events des Controllers prüfen (Image, Ressourcen, Crash).",
                    command=cmd,
                    subject=subject,
                )
            )
    return out


def _waiting(pod: Obj) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (str(c.get("image", "")), (c.get("state") or {}).get("waiting") or {})
        for c in status(pod).get("containerStatuses") or ()
        if (c.get("state") or {}).get("waiting")
    ]


def pod_findings(pods: Iterable[Obj]) -> list[Finding]:
    """Pods that cannot pull their image, crash-loop or lack config; one finding per image/problem (pure)."""
    out: dict[tuple[str, str], Finding] = {}
    for pod in pods:
        if meta(pod).get("deletionTimestamp"):
            continue  # Terminating: on its way out (after a rollback), not the current failure
        pname, ns = meta(pod).get("name", ""), meta(pod).get("namespace", "")
        for image, waiting in _waiting(pod):
            reason = str(waiting.get("reason", ""))
            ev = f"Pod {ns}/{pname}: {reason}: {waiting.get('message', '')}".rstrip(": ")
            cmd = f"kubectl get pods -n {ns}\nkubectl describe pod {pname} -n {ns}"
            if reason in PULL_ERRORS:
                tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else "latest"
                out.setdefault(
                    (image, "pull"),
                    Finding(
                        severity=ERROR,
                        title=f"Image nicht ladbar: {image}",
                        cause=(
                            f"Das Image-Tag '{tag}' gibt es in der Registry nicht "
                            "oder der Zugriff fehlt (imagePullSecrets)."
                        ),
                        evidence=ev,
                        next_step=(
                            "image.tag in den Werten der HelmRelease "
                            "(spec.values) im Git auf ein vorhandenes Tag setzen und committen."
                        ),
                        command=cmd,
                        subject=f"Pod {ns}/{pname}",
                    ),
                )
            elif reason == "CrashLoopBackOff":
                out.setdefault(
                    (image, "crash"),
                    Finding(
                        severity=ERROR,
                        title=f"Container startet immer wieder neu ({image})",
                        cause=(
                            "Der Prozess im Container beendet "
                            "sich direkt nach dem Start (Konfiguration, fehlende Abhängigkeit)."
                        ),
                        evidence=ev,
                        next_step="Logs des vorigen Containers lesen.",
                        command=f"kubectl logs {pname} -n {ns} --previous",
                        subject=f"Pod {ns}/{pname}",
                    ),
                )
            elif reason in ("CreateContainerConfigError", "CreateContainerError"):
                out.setdefault(
                    (image, "config"),
                    Finding(
                        severity=ERROR,
                        title="Container lässt sich nicht anlegen",
                        cause="Ein referenziertes Secret oder eine ConfigMap fehlt oder ist ungültig.",
                        evidence=ev,
                        next_step="Referenzen in den Werten prüfen.",
                        command=cmd,
                        subject=f"Pod {ns}/{pname}",
                    ),
                )
    return list(out.values())


def deployment_findings(deployments: Iterable[Obj]) -> list[Finding]:
    """Deployments of the release that are not available (pure)."""
    out = []
    for dep in deployments:
        available = condition(dep, "Available")
        if available.get("status") == "False":
            name, ns = meta(dep).get("name", ""), meta(dep).get("namespace", "")
            out.append(
                Finding(
                    severity=ERROR,
                    title="Deployment nicht verfügbar",
                    cause="Zu wenige Pods sind bereit.",
                    evidence=f"readyReplicas {status(dep).get('readyReplicas') or 0}/"
                    f"{spec(dep).get('replicas', 1)}; " + cond_text(available),
                    next_step="Pods und Events prüfen.",
                    command=f"kubectl describe deployment {name} -n {ns}\nkubectl get pods -n {ns}",
                    subject=ref("Deployment", dep),
                )
            )
    return out
