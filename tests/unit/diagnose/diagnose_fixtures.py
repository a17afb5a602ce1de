"""Objects for the diagnosis tests, shaped like the reference.

Objects follow docs/flux-facts.md §2 (conditions, artifacts), 9 (Helm storage) and
10 (cert-manager); log lines and Helm release records are the library's typed records. No sockets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from runbook_lib.diagnose import Finding, SyncState
from runbook_lib.diagnose.common import Slot
from runbook_lib.helm import ReleaseRecord
from runbook_lib.logs.parse import LogLine

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


REV = "main@sha1:696f056df216eea4f9401adbee0ff744d4df390f"


OLD_REV = "main@sha1:1111111111111111111111111111111111111111"


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def cond(
    ctype: str, status: str, reason: str = "", message: str = "", minutes_ago: float = 1
) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": ts(minutes_ago),
        "observedGeneration": 1,
    }


def gitrepo(
    *conditions: dict[str, Any], suspend: bool = False, artifact_age: float = 0.5, interval: str = "1m0s"
) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": interval,
            "ref": {"branch": "main"},
            "secretRef": {"name": "flux-system"},
            "url": "https://github.com/beispiel/cluster.git",
            "suspend": suspend,
        },
        "status": {
            "observedGeneration": 1,
            "conditions": list(conditions)
            or [cond("Ready", "True", "Succeeded", f"stored artifact for revision '{REV}'", 30)],
            "artifact": {
                "revision": REV,
                "lastUpdateTime": ts(artifact_age),
                "digest": "sha256:abc",
                "path": "gitrepository/x.tar.gz",
            },
        },
    }


AUTH_MSG = (
    "failed to checkout and determine revision: unable to clone 'https://github.com/beispiel/cluster.git': "
    "authentication required: Invalid username or token"
)


def failing_repo(reason: str, message: str) -> dict[str, Any]:
    return gitrepo(
        cond("Ready", "False", reason, message),
        cond("FetchFailed", "True", reason, message),
        cond("Reconciling", "True", "ProgressingWithRetry", "reconciliation in progress"),
    )


def zap(msg: str, level: str = "info", minutes_ago: float = 0.2, error: str = "") -> LogLine:
    """A source-controller log line about the GitRepository flux-system/flux-system."""
    return LogLine(
        ts=ts(minutes_ago),
        level=level,
        controller="source-controller",
        kind="GitRepository",
        name="flux-system",
        namespace="flux-system",
        msg=msg,
        error=error,
    )


def ks(
    name: str = "apps",
    *conditions: dict[str, Any],
    applied: str = REV,
    suspend: bool = False,
    source: str = "flux-system",
) -> dict[str, Any]:
    return {
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "10m0s",
            "path": f"./clusters/orbstack/{name}",
            "suspend": suspend,
            "sourceRef": {"kind": "GitRepository", "name": source},
        },
        "status": {
            "lastAppliedRevision": applied,
            "observedGeneration": 1,
            "conditions": list(conditions)
            or [cond("Ready", "True", "ReconciliationSucceeded", f"Applied revision: {applied}")],
        },
    }


def deployment(name: str, *, replicas: int = 1, ready: int = 1, available: str = "True") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": available,
                    "reason": "MinimumReplicasAvailable"
                    if available == "True"
                    else "MinimumReplicasUnavailable",
                    "message": "m",
                },
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def titles(findings: list[Finding]) -> list[str]:
    return [f.title for f in findings]


def healthy_sync_state(**changes: Any) -> SyncState:
    base: dict[str, Any] = {
        "repo": gitrepo(),
        "kustomization_items": Slot([ks("flux-system"), ks("apps")]),
        "deployments": Slot([deployment("source-controller"), deployment("kustomize-controller")]),
        "log_lines": Slot([zap("no changes since last reconcilation")]),
        "now": NOW,
    }
    return SyncState(**(base | changes))


UPGRADE_MSG = (
    "Helm upgrade failed for release kube-system/kite with chart kite@0.6.3: context deadline exceeded"
)


def helmrelease(*conditions: dict[str, Any], suspend: bool = False, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "HelmRelease",
        "metadata": {"name": "kite", "namespace": "kube-system", "generation": 2},
        "spec": {
            "interval": "10m0s",
            "suspend": suspend,
            "chart": {
                "spec": {
                    "chart": "kite",
                    "version": "0.6.3",
                    "sourceRef": {"kind": "HelmRepository", "name": "kite", "namespace": "flux-system"},
                }
            },
            **spec,
        },
        "status": {
            "conditions": list(conditions),
            "helmChart": "flux-system/kube-system-kite",
            "history": [{"version": 1, "status": "deployed", "chartVersion": "0.6.3", "name": "kite"}],
        },
    }


def record(
    revision: int,
    status: str,
    description: str = "",
    chart: str = "kite-0.6.3",
    updated: str = "2026-11-26T11:00:00Z",
) -> ReleaseRecord:
    return ReleaseRecord(
        name="kite",
        namespace="kube-system",
        revision=revision,
        status=status,
        chart=chart,
        app_version="v0.6.3",
        description=description,
        updated=updated,
    )


HISTORY = [
    record(1, "superseded", "Install complete"),
    record(2, "failed", 'Upgrade "kite" failed: timeout'),
    record(3, "deployed", "Rollback to 1"),
]


def pod(reason: str, image: str = "ghcr.io/zxh326/kite:v0.7.0", name: str = "kite-abc") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "kite",
                    "image": image,
                    "ready": False,
                    "state": {"waiting": {"reason": reason, "message": f'Back-off pulling image "{image}"'}},
                }
            ],
        },
    }


def helmchart(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "HelmChart",
        "metadata": {"name": "kube-system-kite", "namespace": "flux-system"},
        "spec": {
            "chart": "kite",
            "version": "0.6.9",
            "sourceRef": {"kind": "HelmRepository", "name": "kite"},
        },
        "status": {"conditions": list(conditions)},
    }


def owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "cert-manager.io/v1", "kind": kind, "name": name, "controller": True}]


def certificate(*conditions: dict[str, Any], revision: int | None = 1, **status: Any) -> dict[str, Any]:
    st: dict[str, Any] = {
        "conditions": list(conditions)
        or [cond("Ready", "True", "Ready", "Certificate is up to date and has not expired")],
        "notAfter": ts(-60 * 24 * 60),
        "renewalTime": ts(-60 * 24 * 30),
        **status,
    }
    if revision is not None:
        st["revision"] = revision
    return {
        "kind": "Certificate",
        "metadata": {"name": "kite-tls", "namespace": "kube-system"},
        "spec": {
            "secretName": "kite-tls",
            "dnsNames": ["kite.beispiel.de"],
            "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"},
        },
        "status": st,
    }


def request(name: str, revision: int, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "CertificateRequest",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "ownerReferences": owner("Certificate", "kite-tls"),
            "annotations": {"cert-manager.io/certificate-revision": str(revision)},
        },
        "spec": {"issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"}},
        "status": {"conditions": list(conditions)},
    }


def challenge(state: str, reason: str, ctype: str = "HTTP-01") -> dict[str, Any]:
    return {
        "kind": "Challenge",
        "metadata": {
            "name": "kite-tls-2-1-2",
            "namespace": "kube-system",
            "ownerReferences": owner("Order", "kite-tls-2-1"),
        },
        "spec": {"dnsName": "kite.beispiel-neu.de", "type": ctype, "token": "tok"},
        "status": {"state": state, "reason": reason, "presented": True, "processing": True},
    }
