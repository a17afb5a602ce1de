"""Interpretation of workloads: Flux controller Deployments, and the Deployments/Pods of a release (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runbook_lib.check import deployment_status
from runbook_lib.diagnose.common import Obj, cond_text, ref
from runbook_lib.diagnose.model import ERROR, Finding
from runbook_lib.objects import condition, meta, spec, status

#: the controllers a Git sync needs (Deployment names in the Flux namespace)
CONTROLLERS = ("source-controller", "kustomize-controller")
PULL_ERRORS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName")


def controller_findings(
    deployments: Iterable[Obj], *, names: Sequence[str] = CONTROLLERS, namespace: str = "flux-system"
) -> list[Finding]:
    """A Flux controller Deployment is missing, scaled to zero or not available (pure)."""
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
                    ERROR,
                    f"{name} fehlt",
                    f"Im Namespace {namespace} gibt es kein Deployment {name}; "
                    "ohne ihn wird nichts abgeglichen.",
                    f"kein Deployment {name} in {namespace}",
                    "Flux-Installation prüfen (`flux check`) und ggf. neu bootstrappen.",
                    f"flux check\nkubectl get deploy -n {namespace}",
                    subject,
                )
            )
            continue
        if spec(dep).get("replicas") == 0:
            out.append(
                Finding(
                    ERROR,
                    f"{name} ist auf 0 Replikate skaliert",
                    "Der Controller läuft nicht; Flux-Objekte werden nicht abgeglichen.",
                    "spec.replicas: 0",
                    f"Wieder hochskalieren: `kubectl scale deployment {name} -n "
                    f"{namespace} --replicas=1` (und im Git prüfen, wer skaliert hat).",
                    cmd,
                    subject,
                )
            )
            continue
        ready, why = deployment_status(dep)
        if not ready:
            st = status(dep)
            out.append(
                Finding(
                    ERROR,
                    f"{name} ist nicht bereit",
                    f"Der Controller läuft nicht richtig ({why}); Abgleiche bleiben aus.",
                    f"readyReplicas {st.get('readyReplicas') or 0}/{spec(dep).get('replicas', 1)}; "
                    + cond_text(condition(dep, "Available")),
                    "Pods und Events des Controllers prüfen (Image, Ressourcen, Crash).",
                    cmd,
                    subject,
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
                        ERROR,
                        f"Image nicht ladbar: {image}",
                        f"Das Image-Tag '{tag}' gibt es in der Registry nicht "
                        "oder der Zugriff fehlt (imagePullSecrets).",
                        ev,
                        "image.tag in den Werten der HelmRelease "
                        "(spec.values) im Git auf ein vorhandenes Tag setzen und committen.",
                        cmd,
                        f"Pod {ns}/{pname}",
                    ),
                )
            elif reason == "CrashLoopBackOff":
                out.setdefault(
                    (image, "crash"),
                    Finding(
                        ERROR,
                        f"Container startet immer wieder neu ({image})",
                        "Der Prozess im Container beendet "
                        "sich direkt nach dem Start (Konfiguration, fehlende Abhängigkeit).",
                        ev,
                        "Logs des vorigen Containers lesen.",
                        f"kubectl logs {pname} -n {ns} --previous",
                        f"Pod {ns}/{pname}",
                    ),
                )
            elif reason in ("CreateContainerConfigError", "CreateContainerError"):
                out.setdefault(
                    (image, "config"),
                    Finding(
                        ERROR,
                        "Container lässt sich nicht anlegen",
                        "Ein referenziertes Secret oder eine ConfigMap fehlt oder ist ungültig.",
                        ev,
                        "Referenzen in den Werten prüfen.",
                        cmd,
                        f"Pod {ns}/{pname}",
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
                    ERROR,
                    "Deployment nicht verfügbar",
                    "Zu wenige Pods sind bereit.",
                    f"readyReplicas {status(dep).get('readyReplicas') or 0}/{spec(dep).get('replicas', 1)}; "
                    + cond_text(available),
                    "Pods und Events prüfen.",
                    f"kubectl describe deployment {name} -n {ns}\nkubectl get pods -n {ns}",
                    ref("Deployment", dep),
                )
            )
    return out
