"""The scenarios on the real engine: each one produced by its real cause, never by writing a status.

- ``git-auth-failure``: the Secret ``flux-system`` gets a wrong password; the Git server answers 401.
- ``kustomization-build-failed``: a commit with broken YAML indentation in the HelmRelease file.
- ``helmrelease-upgrade-failed``: a commit sets the Kite image tag v0.7.0, which the registry does not
  have (kwok: ``ImagePullBackOff``); the upgrade times out, is rolled back and retried until the
  remediation retries are used up.
- ``chart-version-missing``: a commit asks for chart version 0.6.9, which the chart repository lacks.
- ``suspended``: ``spec.suspend`` on the Kustomization ``apps`` (as ``flux suspend``), then a commit.
- ``certificate-challenge-failed``: not available (cert-manager does not run in this engine).

``reached`` predicates read the conditions the real controllers wrote.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ._shared import HELMRELEASE, MISSING_CHART, MISSING_TAG, edit_yaml
from .errors import EngineError
from .repo import RealGitOpsRepo


class Engine(Protocol):
    """What the scenarios use of :class:`flux_sandbox.real.engine.Engine` (a Protocol here, so the
    scenarios do not import the engine that runs them)."""

    state_dir: Path
    work: Path
    ready_timeout: float
    repo: RealGitOpsRepo | None
    notes: list[str]
    _stop: threading.Event

    @property
    def remote(self) -> Path: ...
    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None: ...
    def patch(self, kind: str, namespace: str | None, name: str, body: Obj) -> None: ...
    def request_reconcile(self, kind: str, namespace: str, name: str) -> None: ...


Obj = dict[str, Any]

#: the Flux objects of the guide's cluster that :func:`healthy` requires (cert-manager's Certificate
#: and ClusterIssuer are not among them: no cert-manager controller runs in this engine)
WANTED: tuple[tuple[str, str, str], ...] = (
    ("GitRepository", "flux-system", "flux-system"),
    ("Kustomization", "flux-system", "flux-system"),
    ("Kustomization", "flux-system", "infrastructure"),
    ("Kustomization", "flux-system", "apps"),
    ("HelmRelease", "cert-manager", "cert-manager"),
    ("HelmRelease", "kube-system", "kite"),
)


def condition(obj: Obj | None, type_: str = "Ready") -> Obj:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def ready_current(obj: Obj | None) -> bool:
    if obj is None:
        return False
    status = obj.get("status") or {}
    current = status.get("observedGeneration") == obj["metadata"].get("generation")
    return current and condition(obj).get("status") == "True"


def healthy(engine: Engine) -> bool:
    return all(ready_current(engine.get(kind, ns, name)) for kind, ns, name in WANTED)


def not_ready(engine: Engine, limit: int = 3) -> list[str]:
    out = []
    for kind, ns, name in WANTED:
        try:
            obj = engine.get(kind, ns, name)
        except Exception:
            obj = None
        if obj is None:
            out.append(f"{kind} {ns}/{name} fehlt")
        elif not ready_current(obj):
            out.append(f"{kind} {ns}/{name}: {condition(obj).get('message') or 'noch nicht bereit'}")
    return out[:limit]


# --- setups -----------------------------------------------------------------------------------


def _push(engine: Engine, changes: dict[str, str], message: str) -> None:
    assert engine.repo is not None
    engine.repo.commit(changes, message)
    engine.request_reconcile("GitRepository", "flux-system", "flux-system")


def _set_values(engine: Engine, message: str, change: Callable[[Any], None]) -> None:
    assert engine.repo is not None
    _push(engine, {HELMRELEASE: edit_yaml(engine.repo.read_file(HELMRELEASE), change)}, message)


def _expire_token(engine: Engine) -> None:
    bad = base64.b64encode(b"ghp_abgelaufen0000000000000000000000").decode()
    engine.patch("Secret", "flux-system", "flux-system", {"data": {"password": bad}})
    engine.request_reconcile("GitRepository", "flux-system", "flux-system")


def _broken_yaml(engine: Engine) -> None:
    assert engine.repo is not None
    text = engine.repo.read_file(HELMRELEASE)
    if "   podAnnotations: {}\n" not in text:
        text = text.replace("    replicaCount: 1\n", "    replicaCount: 1\n   podAnnotations: {}\n", 1)
    _push(engine, {HELMRELEASE: text}, "Add pod annotations to Kite")


def _bad_tag(engine: Engine) -> None:
    _set_values(engine, f"Update Kite image to {MISSING_TAG}",
                lambda doc: doc["spec"]["values"]["image"].__setitem__("tag", MISSING_TAG))  # fmt: skip


def _bad_chart(engine: Engine) -> None:
    _set_values(engine, f"Upgrade Kite chart to {MISSING_CHART}",
                lambda doc: doc["spec"]["chart"]["spec"].__setitem__("version", MISSING_CHART))  # fmt: skip


def _suspend_then_commit(engine: Engine) -> None:
    engine.patch("Kustomization", "flux-system", "apps", {"spec": {"suspend": True}})
    _set_values(
        engine, "Scale Kite to 2 replicas", lambda doc: doc["spec"]["values"].__setitem__("replicaCount", 2)
    )


# --- reached ----------------------------------------------------------------------------------


def _auth_failed(engine: Engine) -> bool:
    cond = condition(engine.get("GitRepository", "flux-system", "flux-system"))
    return cond.get("status") == "False" and "authentication required" in cond.get("message", "")


def _build_failed(engine: Engine) -> bool:
    return condition(engine.get("Kustomization", "flux-system", "apps")).get("reason") == "BuildFailed"


def _upgrade_stalled(engine: Engine) -> bool:
    release = engine.get("HelmRelease", "kube-system", "kite")
    stalled = condition(release, "Stalled")
    return condition(release).get("status") == "False" and stalled.get("reason") == "RetriesExceeded"


def _chart_missing(engine: Engine) -> bool:
    chart = engine.get("HelmChart", "flux-system", "kube-system-kite")
    release = engine.get("HelmRelease", "kube-system", "kite")
    chart_ready = condition(chart)
    return (
        chart_ready.get("status") == "False"
        and MISSING_CHART in chart_ready.get("message", "")
        and condition(release).get("status") == "False"
    )


def _suspended(engine: Engine) -> bool:
    apps = engine.get("Kustomization", "flux-system", "apps")
    git = engine.get("GitRepository", "flux-system", "flux-system")
    root = engine.get("Kustomization", "flux-system", "flux-system") or {}
    if not apps or not git or not (apps.get("spec") or {}).get("suspend"):
        return False
    fetched = ((git.get("status") or {}).get("artifact") or {}).get("revision")
    return (
        bool(fetched)
        and fetched != (apps.get("status") or {}).get("lastAppliedRevision")
        and (root.get("status") or {}).get("lastAppliedRevision") == fetched
    )


#: name -> (setup, reached); "healthy" has no setup
REAL_SCENARIOS: dict[str, tuple[Callable[[Engine], None] | None, Callable[[Engine], bool]]] = {
    "healthy": (None, healthy),
    "git-auth-failure": (_expire_token, _auth_failed),
    "kustomization-build-failed": (_broken_yaml, _build_failed),
    "helmrelease-upgrade-failed": (_bad_tag, _upgrade_stalled),
    "chart-version-missing": (_bad_chart, _chart_missing),
    "suspended": (_suspend_then_commit, _suspended),
}


def wait_for(engine: Engine, predicate: Callable[[Engine], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not engine._stop.is_set():
        try:
            if predicate(engine):
                return True
        except Exception:
            pass
        time.sleep(0.5)
    return False


def apply(engine: Engine, name: str) -> None:
    setup, reached = REAL_SCENARIOS[name]
    if setup is None:
        return
    setup(engine)
    if not wait_for(engine, reached, engine.ready_timeout):
        raise EngineError(
            f"Das Szenario '{name}' hat seinen Zustand nicht erreicht.",
            f"Mit einem leeren Verzeichnis statt {engine.state_dir} starten; die Controller-Protokolle "
            f"liegen in {engine.work / 'logs'}.",
        )


def start_reused(engine: Engine, name: str) -> None:
    """``remote.git`` existed: its HEAD decides the state. Wait until the flux objects are healthy
    (then apply the scenario) or until nothing changes any more (then leave a German note)."""
    if wait_for(engine, healthy, min(engine.ready_timeout, 120)):
        if REAL_SCENARIOS[name][0] is not None:
            apply(engine, name)
        return
    problems = "; ".join(not_ready(engine)) or "Flux-Objekte noch nicht bereit"
    assert engine.repo is not None
    head = engine.repo.head()
    engine.notes.append(
        f"Nicht alle Flux-Objekte sind bereit: der Stand des vorhandenen Repositorys {engine.remote} "
        f"(HEAD {head[:7]} „{engine.repo.subject(head)}“) lässt sich nicht fehlerfrei anwenden ({problems}). "
        f"Die Sandbox läuft mit diesem Stand weiter"
        + (f"; das Szenario '{name}' wurde nicht angewendet." if name != "healthy" else ".")
        + " Für einen gesunden Cluster ein leeres Verzeichnis mit --state wählen."
    )
