"""Scenarios: states of the sandbox cluster that the guide's troubleshooting section is about.

Each :class:`Scenario` starts from the healthy cluster, then ``setup`` changes it the way it happens in
real life (a commit pushed to ``remote.git``, or a change on the cluster side) and asks Flux to
reconcile; ``reached`` says when the described state is there. Commits edit the YAML with ruamel
(comments kept) and are skipped when the remote already has that content.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

from ruamel.yaml import YAML

from flux_sandbox.sim.controllers.base import REQUESTED_AT, get_condition, is_ready
from flux_sandbox.sim.gitrepo import HELMRELEASE, GitOpsRepo
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Store


class Sandbox(Protocol):
    """What a scenario's setup changes: the GitOps repository and the cluster's store (a
    :class:`flux_sandbox.sim.Sandbox`; a Protocol here, so scenarios do not import the lifecycle)."""

    repo: GitOpsRepo

    @property
    def store(self) -> Store: ...


Obj = dict[str, Any]
CERTIFICATE = "clusters/orbstack/apps/kite/certificate.yaml"
#: a Kite image tag the simulated registry does not have
MISSING_TAG = "v0.7.0"
MISSING_CHART = "0.6.9"
NEW_HOST = "kite.beispiel-neu.de"


@dataclass(frozen=True)
class Scenario:
    name: str
    #: one German line, shown by ``runbook sandbox scenarios``
    description: str
    #: changes the healthy sandbox (None: nothing to do)
    setup: Callable[[Sandbox], None] | None
    #: True once the described state is reached
    reached: Callable[[Store], bool]


# --- helpers --------------------------------------------------------------------------------------


def find(store: Store, kind: str, ns: str | None, name: str) -> Obj | None:
    return store.find(by_kind(kind), ns, name)


def condition(store: Store, kind: str, ns: str | None, name: str, type_: str = "Ready") -> Obj:
    obj = find(store, kind, ns, name)
    return get_condition((obj or {}).get("status") or {}, type_) or {}


def request_reconcile(store: Store, kind: str, ns: str, name: str) -> None:
    """What ``flux reconcile`` (or a webhook) does: a new requestedAt value."""
    stamp = datetime.now(UTC).astimezone().isoformat()
    store.patch(by_kind(kind), ns, name, {"metadata": {"annotations": {REQUESTED_AT: stamp}}})


def edit_yaml(text: str, change: Callable[[Any], None]) -> str:
    """Round-trip ``text`` through ruamel (comments and order kept) with ``change`` applied."""
    yml = YAML()
    yml.preserve_quotes = True
    yml.indent(mapping=2, sequence=4, offset=2)
    doc = yml.load(text)
    change(doc)
    out = io.StringIO()
    yml.dump(doc, out)
    return out.getvalue()


def push(sandbox: Sandbox, changes: dict[str, str], message: str) -> None:
    sandbox.repo.commit(changes, message)
    request_reconcile(sandbox.store, "GitRepository", "flux-system", "flux-system")


#: the objects of the guide's cluster that :func:`healthy` requires
WANTED: tuple[tuple[str, str | None, str], ...] = (
    ("GitRepository", "flux-system", "flux-system"),
    ("Kustomization", "flux-system", "flux-system"),
    ("Kustomization", "flux-system", "infrastructure"),
    ("Kustomization", "flux-system", "apps"),
    ("HelmRelease", "cert-manager", "cert-manager"),
    ("HelmRelease", "kube-system", "kite"),
    ("ClusterIssuer", None, "letsencrypt"),
    ("Certificate", "kube-system", "kite-tls"),
)
#: kinds whose controllers :func:`settled` looks at
WATCHED = (
    "GitRepository",
    "HelmRepository",
    "HelmChart",
    "Kustomization",
    "HelmRelease",
    "ClusterIssuer",
    "Issuer",
    "Certificate",
)


def _current(obj: Obj) -> bool:
    observed = (obj.get("status") or {}).get("observedGeneration")
    return observed is None or observed == obj["metadata"].get("generation")


def healthy(store: Store) -> bool:
    """Every Flux object and certificate of the guide's cluster is Ready for its current generation."""
    return all(healthy_one(find(store, kind, ns, name)) for kind, ns, name in WANTED)


def not_ready(store: Store, limit: int = 3) -> list[str]:
    """German lines for the first ``limit`` objects of :data:`WANTED` that are not Ready (for messages)."""
    out = []
    for kind, ns, name in WANTED:
        obj = find(store, kind, ns, name)
        ident = f"{kind} {ns + '/' if ns else ''}{name}"
        if obj is None:
            out.append(f"{ident} fehlt")
        elif not healthy_one(obj):
            message = condition(store, kind, ns, name).get("message") or "noch nicht bereit"
            out.append(f"{ident}: {message}")
    return out[:limit]


def _busy(store: Store, obj: Obj) -> bool:
    """True while a controller still works on ``obj`` or will soon (a pending request, a retry)."""
    meta, status = obj["metadata"], obj.get("status") or {}
    if (obj.get("spec") or {}).get("suspend"):
        return False
    requested = (meta.get("annotations") or {}).get(REQUESTED_AT)
    flux = obj["kind"] not in ("Certificate", "ClusterIssuer", "Issuer")
    if requested and flux and status.get("lastHandledReconcileAt") != requested:
        return True
    ready = get_condition(status, "Ready")
    if ready is None or ready.get("status") == "Unknown":
        return True
    if ready.get("status") == "True" and not _current(obj):
        return True
    reconciling = get_condition(status, "Reconciling") or {}
    # a HelmRelease waiting for its chart is woken by the chart's new artifact, not by itself
    waits_for_chart = obj["kind"] == "HelmRelease" and ready.get("reason") == "SourceNotReady"
    if (
        reconciling.get("status") == "True"
        and reconciling.get("reason") == "Progressing"
        and not waits_for_chart
    ):
        return True
    if obj["kind"] == "Certificate" and (get_condition(status, "Issuing") or {}).get("status") == "True":
        return True
    stalled = (get_condition(status, "Stalled") or {}).get("status") == "True"
    if obj["kind"] == "HelmRelease" and ready.get("status") == "False" and not stalled:
        # a failed install/upgrade is retried until the remediation retries are used up (Stalled)
        return str(ready.get("reason", "")).endswith("Failed") or ready.get("reason") == "RollbackSucceeded"
    if obj["kind"] == "Kustomization":
        return _kustomization_pending(store, obj)
    return False


def _kustomization_pending(store: Store, ks: Obj) -> bool:
    """A Kustomization that will run again soon: its dependencies became ready, or its source has a
    revision it has not tried yet."""
    meta, spec, status = ks["metadata"], ks.get("spec") or {}, ks.get("status") or {}
    ready = get_condition(status, "Ready") or {}
    if ready.get("reason") == "DependencyNotReady":
        return all(
            healthy_one(find(store, "Kustomization", dep.get("namespace") or meta["namespace"], dep["name"]))
            for dep in spec.get("dependsOn") or []
        )
    ref = spec.get("sourceRef") or {}
    source = find(
        store,
        ref.get("kind", "GitRepository"),
        ref.get("namespace") or meta["namespace"],
        ref.get("name", ""),
    )
    fetched = (((source or {}).get("status") or {}).get("artifact") or {}).get("revision")
    seen = status.get("lastAppliedRevision" if ready.get("status") == "True" else "lastAttemptedRevision")
    return bool(fetched) and fetched != seen


def healthy_one(obj: Obj | None) -> bool:
    return obj is not None and is_ready(obj) and _current(obj)


def settled(store: Store) -> bool:
    """No controller is working on any Flux or cert-manager object: each has a final Ready (True, or
    False after a handled failure). Short waits in between (a dependency requeue) are not visible
    here; :func:`flux_sandbox.sim.settle` therefore also wants this to hold for a quiet period."""
    for kind in WATCHED:
        items, _ = store.list(by_kind(kind))
        if any(_busy(store, obj) for obj in items):
            return False
    return True


def fingerprint(store: Store) -> tuple[tuple[Any, ...], ...]:
    """What changes whenever a controller makes progress (not on a plain retry with the same outcome)."""
    out = []
    for kind in WATCHED:
        items, _ = store.list(by_kind(kind))
        for obj in items:
            meta, status = obj["metadata"], obj.get("status") or {}
            ready = get_condition(status, "Ready") or {}
            out.append(
                (
                    kind,
                    meta.get("namespace"),
                    meta["name"],
                    meta.get("generation"),
                    status.get("observedGeneration"),
                    ready.get("status"),
                    ready.get("reason"),
                    ready.get("message"),
                    (status.get("artifact") or {}).get("revision"),
                    status.get("lastAppliedRevision"),
                )
            )
    return tuple(out)


# --- setups ---------------------------------------------------------------------------------------


def _expire_token(sandbox: Sandbox) -> None:
    secret = by_kind("Secret")
    bad = base64.b64encode(b"ghp_abgelaufen0000000000000000000000").decode()
    sandbox.store.patch(secret, "flux-system", "flux-system", {"data": {"password": bad}})
    request_reconcile(sandbox.store, "GitRepository", "flux-system", "flux-system")


def _broken_yaml(sandbox: Sandbox) -> None:
    text = sandbox.repo.read_file(HELMRELEASE)
    if "   podAnnotations: {}\n" not in text:
        text = text.replace("    replicaCount: 1\n", "    replicaCount: 1\n   podAnnotations: {}\n", 1)
    push(sandbox, {HELMRELEASE: text}, "Add pod annotations to Kite")


def _set_values(sandbox: Sandbox, message: str, change: Callable[[Any], None]) -> None:
    push(sandbox, {HELMRELEASE: edit_yaml(sandbox.repo.read_file(HELMRELEASE), change)}, message)


def _bad_tag(sandbox: Sandbox) -> None:
    _set_values(
        sandbox,
        f"Update Kite image to {MISSING_TAG}",
        lambda doc: doc["spec"]["values"]["image"].__setitem__("tag", MISSING_TAG),
    )


def _bad_chart(sandbox: Sandbox) -> None:
    _set_values(
        sandbox,
        f"Upgrade Kite chart to {MISSING_CHART}",
        lambda doc: doc["spec"]["chart"]["spec"].__setitem__("version", MISSING_CHART),
    )


def _new_host(sandbox: Sandbox) -> None:
    def cert(doc: Any) -> None:
        doc["spec"]["dnsNames"][0] = NEW_HOST

    def values(doc: Any) -> None:
        doc["spec"]["values"]["host"] = NEW_HOST

    changes = {
        CERTIFICATE: edit_yaml(sandbox.repo.read_file(CERTIFICATE), cert),
        HELMRELEASE: edit_yaml(sandbox.repo.read_file(HELMRELEASE), values),
    }
    push(sandbox, changes, f"Move Kite to {NEW_HOST}")


def _suspend_then_commit(sandbox: Sandbox) -> None:
    sandbox.store.patch(by_kind("Kustomization"), "flux-system", "apps", {"spec": {"suspend": True}})
    _set_values(
        sandbox, "Scale Kite to 2 replicas", lambda doc: doc["spec"]["values"].__setitem__("replicaCount", 2)
    )


# --- reached --------------------------------------------------------------------------------------


def _auth_failed(store: Store) -> bool:
    cond = condition(store, "GitRepository", "flux-system", "flux-system")
    return cond.get("status") == "False" and "authentication required" in cond.get("message", "")


def _build_failed(store: Store) -> bool:
    return condition(store, "Kustomization", "flux-system", "apps").get("reason") == "BuildFailed"


def _upgrade_stalled(store: Store) -> bool:
    ready = condition(store, "HelmRelease", "kube-system", "kite")
    stalled = condition(store, "HelmRelease", "kube-system", "kite", "Stalled")
    # real Flux rolls back the last failure too (remediateLastFailure defaults to retries > 0) and
    # ends Ready=False RollbackSucceeded (docs/flux-facts.md §2, "HelmRelease remediation")
    return ready.get("status") == "False" and stalled.get("reason") == "RetriesExceeded"


def _chart_missing(store: Store) -> bool:
    chart = condition(store, "HelmChart", "flux-system", "kube-system-kite")
    ready = condition(store, "HelmRelease", "kube-system", "kite")
    # the HelmRelease keeps "latest generation of object has not been reconciled": helm-controller
    # watches only the chart's artifact revision, which a stalled chart does not change
    return chart.get("reason") == "InvalidChartReference" and ready.get("status") == "False"


def _challenge_failed(store: Store) -> bool:
    issuing = condition(store, "Certificate", "kube-system", "kite-tls", "Issuing")
    return issuing.get("status") == "False" and issuing.get("reason") == "Failed"


def _suspended(store: Store) -> bool:
    apps = find(store, "Kustomization", "flux-system", "apps")
    git = find(store, "GitRepository", "flux-system", "flux-system")
    if not apps or not git or not (apps.get("spec") or {}).get("suspend"):
        return False
    fetched = ((git.get("status") or {}).get("artifact") or {}).get("revision")
    # every Kustomization but the suspended one has applied the new commit
    others = [find(store, "Kustomization", "flux-system", n) or {} for n in ("flux-system", "infrastructure")]
    return (
        bool(fetched)
        and fetched != (apps.get("status") or {}).get("lastAppliedRevision")
        and all((k.get("status") or {}).get("lastAppliedRevision") == fetched and is_ready(k) for k in others)
    )


SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType(
    {
        s.name: s
        for s in (
            Scenario(
                "healthy",
                "Gesunder Cluster: alle Flux-Objekte, Kite und das Zertifikat sind bereit.",
                None,
                healthy,
            ),
            Scenario(
                "git-auth-failure",
                "Flux synchronisiert nicht: das Git-Token im Secret flux-system ist abgelaufen "
                "(authentication required).",
                _expire_token,
                _auth_failed,
            ),
            Scenario(
                "kustomization-build-failed",
                "Ein Commit mit kaputter YAML-Einrückung in "
                "apps/kite/helmrelease.yaml: die Kustomization apps meldet BuildFailed.",
                _broken_yaml,
                _build_failed,
            ),
            Scenario(
                "helmrelease-upgrade-failed",
                f"HelmRelease schlägt fehl: ein Commit setzt das Kite-Image {MISSING_TAG}, "
                "das es nicht gibt; das Upgrade scheitert und bleibt nach den Wiederholungen stehen.",
                _bad_tag,
                _upgrade_stalled,
            ),
            Scenario(
                "chart-version-missing",
                f"Ein Commit verlangt das Kite-Chart {MISSING_CHART}, das im Helm-Repository "
                "fehlt: HelmChart und HelmRelease sind nicht bereit.",
                _bad_chart,
                _chart_missing,
            ),
            Scenario(
                "certificate-challenge-failed",
                f"Zertifikats-Probleme: Kite zieht auf {NEW_HOST} um, für den es "
                "keinen DNS-Eintrag gibt; die ACME-HTTP-01-Challenge schlägt fehl.",
                _new_host,
                _challenge_failed,
            ),
            Scenario(
                "suspended",
                "Die Kustomization apps ist pausiert (suspend): ein neuer Commit wird geholt, "
                "aber nicht angewendet.",
                _suspend_then_commit,
                _suspended,
            ),
        )
    }
)
