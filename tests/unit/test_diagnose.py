"""Interpretation rules of the troubleshooting runbooks, from fixture dicts shaped like the reference.

Objects follow ``reference/flux-behaviour.md`` sections 2 (conditions, artifacts), 9 (Helm storage) and
10 (cert-manager); log records are zap JSON lines as dicts. No sockets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook_lib.diagnose import ERROR, INFO, WARNING, Diagnosis, Finding, SyncState, common, diagnose_sync
from runbook_lib.diagnose import certificates as certs
from runbook_lib.diagnose.common import Slot, attempt
from runbook_lib.diagnose.helmrelease import HelmReleaseState, diagnose_helmrelease
from runbook_lib.diagnose.model import Evidence, evidence
from runbook_lib.diagnose.rules import certificates as dc
from runbook_lib.diagnose.rules import gitrepository as ds
from runbook_lib.diagnose.rules import helmrelease as dh
from runbook_lib.diagnose.rules import helmstorage as hs
from runbook_lib.diagnose.rules import kustomization as dk
from runbook_lib.diagnose.rules import workload as dw
from runbook_lib.errors import ClusterUnreachable, NotFound, RunbookError, UsageError
from runbook_lib.kube import not_found

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


def zap(msg: str, level: str = "info", minutes_ago: float = 0.2, error: str = "") -> dict[str, Any]:
    record = {
        "level": level,
        "ts": ts(minutes_ago),
        "msg": msg,
        "controllerKind": "GitRepository",
        "name": "flux-system",
        "namespace": "flux-system",
    }
    return record | ({"error": error} if error else {})


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


# --- GitRepository ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "message", "title"),
    [
        ("GitOperationFailed", AUTH_MSG, "Git-Authentifizierung fehlgeschlagen"),
        (
            "AuthenticationFailed",
            "failed to get secret 'flux-system/flux-system': secrets \"flux-system\" not found",
            "Git-Zugangsdaten fehlen",
        ),
        (
            "GitOperationFailed",
            'unable to clone: couldn\'t find remote ref "refs/heads/main"',
            "Git-Branch oder -Tag nicht gefunden",
        ),
        (
            "GitOperationFailed",
            "unable to clone 'https://x/y.git': repository not found",
            "Git-Repository nicht gefunden",
        ),
        ("URLInvalid", "invalid url", "Git-Repository nicht gefunden"),
        ("GitOperationFailed", "dial tcp: lookup github.com: no such host", "Git-Server nicht erreichbar"),
        (
            "GitOperationFailed",
            "ssh: handshake failed: knownhosts: key mismatch",
            "SSH-Hostschlüssel unbekannt",
        ),
        ("StorageOperationFailed", "disk full", "Git-Abruf fehlgeschlagen"),
    ],
)
def test_git_failure_is_classified_by_reason_and_message(reason: str, message: str, title: str) -> None:
    found = ds.git_repository_findings(failing_repo(reason, message), now=NOW)
    assert titles(found) == [title]
    assert found[0].severity == ERROR
    assert found[0].evidence.startswith(f"Ready=False ({reason}): ")
    assert "flux reconcile source git flux-system" in found[0].command
    assert found[0].subject == "GitRepository flux-system/flux-system"


def test_auth_failure_names_the_secret_and_the_newest_log_line() -> None:
    logs = [zap("Reconciler error", "error", 3, "first"), zap("Reconciler error", "error", 1, AUTH_MSG)]
    found = ds.git_repository_findings(
        failing_repo("GitOperationFailed", AUTH_MSG), now=NOW, log_records=logs, logs_read=True
    )
    assert "Secret 'flux-system/flux-system'" in found[0].cause
    assert found[0].evidence.splitlines()[-1].startswith(f"Log: {ts(1)} error Reconciler error: ")
    assert "first" not in found[0].evidence


def test_secrets_in_evidence_are_masked() -> None:
    message = (
        "unable to clone 'https://user:ghp_supersecret1234567890@github.com/x.git': authentication required"
    )
    found = ds.git_repository_findings(failing_repo("GitOperationFailed", message), now=NOW)
    assert "ghp_supersecret" not in found[0].evidence and "****" in found[0].evidence


def test_suspended_git_repository_says_how_to_resume_and_is_not_stale() -> None:
    found = ds.git_repository_findings(gitrepo(suspend=True, artifact_age=600), now=NOW, logs_read=True)
    assert titles(found) == ["GitRepository ist ausgesetzt"]
    assert found[0].command.splitlines() == [
        "flux resume source git flux-system -n flux-system",
        "kubectl patch gitrepository flux-system -n flux-system --type merge -p "
        """'{"spec":{"suspend":false}}'""",
    ]


def test_stalled_git_repository_is_an_error() -> None:
    repo = gitrepo(cond("Ready", "True", "Succeeded", "ok"), cond("Stalled", "True", "InvalidURL", "bad"))
    assert titles(ds.git_repository_findings(repo, now=NOW)) == ["GitRepository hängt endgültig (Stalled)"]


def test_fresh_artifact_is_not_stale() -> None:
    assert ds.stale_finding(gitrepo(artifact_age=1.5), now=NOW, logs_read=True) is None


def test_stale_with_logs_read_is_a_warning() -> None:
    old = [zap("no changes since last reconcilation", minutes_ago=40)]
    finding = ds.stale_finding(gitrepo(artifact_age=45), now=NOW, log_records=old, logs_read=True)
    assert finding is not None and finding.severity == WARNING
    assert finding.title == "Quelle wird nicht mehr abgeholt"
    assert "Intervall 1m0s" in finding.evidence


def test_recent_log_line_proves_the_source_is_still_fetched() -> None:
    recent = [zap("no changes since last reconcilation", minutes_ago=0.5)]
    assert ds.stale_finding(gitrepo(artifact_age=300), now=NOW, log_records=recent, logs_read=True) is None


def test_stale_without_logs_is_only_a_hint() -> None:
    finding = ds.stale_finding(gitrepo(artifact_age=300), now=NOW, logs_read=False)
    assert finding is not None and finding.severity == INFO and not finding.is_problem


def test_stale_with_controller_down_names_the_controller() -> None:
    finding = ds.stale_finding(gitrepo(artifact_age=300), now=NOW, controller_ready=False)
    assert finding is not None and finding.severity == WARNING
    assert "source-controller läuft nicht" in finding.cause


def test_old_log_errors_on_a_ready_repo_are_a_hint_newer_ones_a_warning() -> None:
    repo = gitrepo(cond("Ready", "True", "Succeeded", "ok", minutes_ago=10))
    old = ds.log_findings(repo, [zap("Reconciler error", "error", 20, "timeout")])
    new = ds.log_findings(repo, [zap("Reconciler error", "error", 2, "timeout")])
    assert [(f.severity, f.title) for f in old] == [(INFO, "Frühere Fehler im Log des source-controllers")]
    assert [(f.severity, f.title) for f in new] == [(WARNING, "Fehler im Log des source-controllers")]
    assert ds.log_findings(repo, [zap("fetched")]) == []


# --- Kustomizations --------------------------------------------------------------------------------


def test_uses_source_matches_kind_name_and_namespace() -> None:
    repo = gitrepo()
    assert dk.uses_source(ks(), repo)
    assert not dk.uses_source(ks(source="other"), repo)
    other_ns = ks()
    other_ns["spec"]["sourceRef"]["namespace"] = "elsewhere"
    assert not dk.uses_source(other_ns, repo)


def test_dependency_not_ready_names_the_dependency() -> None:
    ready = cond(
        "Ready", "False", "DependencyNotReady", "dependency 'flux-system/infrastructure' is not ready"
    )
    found = dk.kustomization_findings([ks("apps", ready)], gitrepo())
    assert titles(found) == ["Wartet auf Abhängigkeit flux-system/infrastructure"]
    assert found[0].severity == WARNING
    assert found[0].command == "flux get kustomizations infrastructure -n flux-system"


@pytest.mark.parametrize(
    ("reason", "title"),
    [
        ("BuildFailed", "kustomize build fehlgeschlagen"),
        ("HealthCheckFailed", "Health-Check fehlgeschlagen"),
        ("ReconciliationFailed", "Anwenden fehlgeschlagen"),
        ("ArtifactFailed", "Quelle liefert kein Artefakt"),
        ("PruneFailed", "Aufräumen (prune) fehlgeschlagen"),
        ("SomethingNew", "Kustomization fehlgeschlagen"),
    ],
)
def test_kustomization_failures_by_reason(reason: str, title: str) -> None:
    ready = cond("Ready", "False", reason, "kustomize build failed: yaml: line 12: mapping values")
    found = dk.kustomization_findings([ks("apps", ready, applied=OLD_REV)], gitrepo())
    assert titles(found) == [title] and found[0].severity == ERROR
    assert f"lastAppliedRevision {OLD_REV}, Quelle {REV}" in found[0].evidence
    assert "flux reconcile kustomization apps -n flux-system --with-source" in found[0].command


def test_suspended_kustomization_behind_its_source() -> None:
    found = dk.kustomization_findings([ks(applied=OLD_REV, suspend=True)], gitrepo())
    assert titles(found) == ["Kustomization ist ausgesetzt"]
    assert found[0].command.splitlines() == [
        "flux resume kustomization apps -n flux-system",
        """kubectl patch kustomization apps -n flux-system --type merge -p '{"spec":{"suspend":false}}'""",
    ]
    assert "lastAppliedRevision" in found[0].evidence


@pytest.mark.parametrize(
    "finding",
    [
        lambda: dk.kustomization_findings([ks(suspend=True)], gitrepo())[0],
        lambda: ds.git_repository_findings(gitrepo(suspend=True), now=NOW)[0],
        lambda: dh.condition_findings(helmrelease(suspend=True))[0],
    ],
)
def test_suspend_hint_does_not_claim_git_has_suspend(finding: Any) -> None:
    found = finding()
    assert "(und suspend: true aus dem Git-Manifest entfernen)" not in found.next_step
    assert "Falls `suspend: true` auch im Git-Manifest steht" in found.next_step
    flux, kubectl = found.command.splitlines()
    assert flux.startswith("flux resume ") and kubectl.startswith("kubectl patch ")
    assert kubectl.endswith("""--type merge -p '{"spec":{"suspend":false}}'""")


def test_kustomization_behind_its_source_stuck_or_in_progress() -> None:
    behind = ks(applied=OLD_REV)
    found = dk.kustomization_findings([behind], gitrepo())
    assert titles(found) == ["Kustomization hängt hinter der Quelle"]
    assert found[0].command.splitlines()[0] == "runbook run sync -p kind ks -p name apps"
    behind["status"]["conditions"].append(
        cond("Reconciling", "True", "Progressing", "Reconciliation in progress")
    )
    assert titles(dk.kustomization_findings([behind], gitrepo())) == [
        "Kustomization in Arbeit: Revision hinter der Quelle"
    ]


def test_reconcile_in_progress_behind_the_source_is_a_warning_not_no_problems() -> None:
    fetching = cond(
        "Ready", "Unknown", "Progressing", f"Fetching manifests for revision {REV} with a timeout"
    )
    reconciling = cond("Reconciling", "True", "Progressing", f"Fetching manifests for revision {REV}")
    state = healthy_sync_state(kustomization_items=Slot([ks("apps", fetching, reconciling, applied=OLD_REV)]))
    result = diagnose_sync(state)
    assert [(f.severity, f.title) for f in result.findings] == [
        (WARNING, "Kustomization in Arbeit: Revision hinter der Quelle")
    ]
    assert not result.ok and "Keine Probleme gefunden" not in result.summary().headline()
    found = result.findings[0]
    assert OLD_REV in found.cause and REV in found.cause  # both revisions named
    assert f"lastAppliedRevision {OLD_REV}, Quelle {REV}" in found.evidence
    assert "Einen Moment warten und das Runbook erneut ausführen" in found.next_step
    assert "`runbook run sync -p kind ks -p name apps`" in found.next_step
    assert found.command.splitlines()[0] == "runbook run sync -p kind ks -p name apps"
    other_ns = ks("apps", fetching, applied=OLD_REV)
    other_ns["metadata"]["namespace"] = "team-a"
    other_ns["spec"]["sourceRef"]["namespace"] = "flux-system"
    assert "-p namespace team-a" in dk.kustomization_findings([other_ns], gitrepo())[0].command
    # in progress on the source's own revision: nothing to report
    assert dk.kustomization_findings([ks("apps", fetching, applied=REV)], gitrepo()) == []


def test_build_failure_names_the_kustomization_path() -> None:
    ready = cond("Ready", "False", "BuildFailed", "kustomize build failed")
    found = dk.kustomization_findings([ks("apps", ready)], gitrepo())
    assert "`kubectl kustomize ./clusters/orbstack/apps`" in found[0].next_step
    assert "<pfad>" not in found[0].next_step
    bare = ks("infra", ready)
    bare["spec"]["path"] = "clusters/infra"
    assert "`kubectl kustomize ./clusters/infra`" in dk.kustomization_findings([bare], gitrepo())[0].next_step


def test_kustomization_without_conditions_and_stalled() -> None:
    never = ks()
    never["status"]["conditions"] = []
    stalled = ks("infra", cond("Ready", "True", "x"), cond("Stalled", "True", "InvalidCELExpression", "bad"))
    found = dk.kustomization_findings([never, stalled], gitrepo())
    assert titles(found) == [
        "Kustomization wurde noch nie abgeglichen",
        "Kustomization hängt endgültig (Stalled)",
    ]


def test_healthy_kustomization_and_foreign_ones_give_nothing() -> None:
    assert (
        dk.kustomization_findings(
            [ks(), ks("x", cond("Ready", "False", "BuildFailed"), source="o")], gitrepo()
        )
        == []
    )


# --- controllers -----------------------------------------------------------------------------------


def test_controller_missing_scaled_down_and_not_available() -> None:
    deps = [
        deployment("source-controller", replicas=0, ready=0),
        deployment("kustomize-controller", ready=0, available="False"),
    ]
    found = dw.controller_findings(deps)
    assert titles(found) == [
        "source-controller ist auf 0 Replikate skaliert",
        "kustomize-controller ist nicht bereit",
    ]
    assert "kubectl scale deployment source-controller -n flux-system --replicas=1" in found[0].next_step
    assert found[1].evidence.startswith("readyReplicas 0/1")
    missing = dw.controller_findings([deployment("kustomize-controller")])
    assert titles(missing) == ["source-controller fehlt"]
    assert dw.controller_findings([deployment("source-controller"), deployment("kustomize-controller")]) == []


# --- the sync diagnosis as a whole -----------------------------------------------------------------


def healthy_sync_state(**changes: Any) -> SyncState:
    base: dict[str, Any] = {
        "repo": gitrepo(),
        "kustomization_items": Slot([ks("flux-system"), ks("apps")]),
        "deployments": Slot([deployment("source-controller"), deployment("kustomize-controller")]),
        "log_lines": Slot([zap("no changes since last reconcilation")]),
        "now": NOW,
    }
    return SyncState(**(base | changes))


def test_healthy_sync_state_has_no_findings() -> None:
    result = diagnose_sync(healthy_sync_state())
    assert result.findings == () and result.ok
    assert str(result.summary()).startswith("✔ Keine Probleme gefunden.")
    assert "2 Kustomization(s)" in result.checked


def test_sync_diagnosis_orders_by_severity_and_reports_unreadable_parts() -> None:
    state = healthy_sync_state(
        repo=failing_repo("GitOperationFailed", AUTH_MSG),
        kustomization_items=Slot([ks("apps", applied=OLD_REV, suspend=True)]),
        log_lines=Slot(error="Keine laufenden Flux-Controller-Pods"),
    )
    result = diagnose_sync(state)
    assert [f.severity for f in result.findings] == [ERROR, WARNING, INFO]
    assert result.titles() == [
        "Git-Authentifizierung fehlgeschlagen",
        "Kustomization ist ausgesetzt",
        "Log des source-controllers nicht lesbar",
    ]
    assert not result.ok
    assert str(result.summary()).startswith("✗ Flux synchronisiert nicht: 1 Fehler, 1 Warnung")


def test_controller_down_replaces_the_unreadable_log_hint() -> None:
    state = healthy_sync_state(
        repo=gitrepo(artifact_age=300),
        deployments=Slot([deployment("kustomize-controller")]),
        log_lines=Slot(error="kein Pod"),
    )
    result = diagnose_sync(state)
    assert result.titles() == ["source-controller fehlt", "Quelle wird nicht mehr abgeholt"]


def test_sync_state_views_show_error_slots() -> None:
    state = healthy_sync_state(deployments=Slot(error="Keine Berechtigung"))
    view = state.controllers()
    assert view.error == "Keine Berechtigung" and "Nicht lesbar: Keine Berechtigung" in str(view)
    assert [r[1] for r in state.kustomizations().rows] == ["flux-system", "apps"]
    assert state.sources().rows[0][3] == "True"


# --- HelmRelease -----------------------------------------------------------------------------------


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


def record(revision: int, status: str, description: str = "", chart: str = "kite-0.6.3") -> dict[str, Any]:
    return {
        "name": "kite",
        "namespace": "kube-system",
        "revision": revision,
        "status": status,
        "chart": chart,
        "app_version": "v0.6.3",
        "description": description,
        "updated": "2026-11-26T11:00:00Z",
    }


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


def test_release_and_storage_names() -> None:
    assert hs.release_name(helmrelease()) == "kite"
    assert hs.release_name(helmrelease(targetNamespace="apps")) == "apps-kite"
    assert hs.release_name(helmrelease(releaseName="dash")) == "dash"
    assert hs.release_namespace(helmrelease(targetNamespace="apps")) == "apps"
    assert hs.storage_namespace(helmrelease(targetNamespace="apps")) == "kube-system"
    hr = helmrelease()
    del hr["status"]["helmChart"]
    assert dh.chart_ref(hr) == ("flux-system", "kube-system-kite")


def test_upgrade_failed_names_image_problem_history_and_gitops_fix() -> None:
    hr = helmrelease(cond("Ready", "False", "UpgradeFailed", UPGRADE_MSG))
    found = dh.condition_findings(
        hr, records=HISTORY, image_problem="Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0"
    )
    assert titles(found) == ["Helm-Upgrade fehlgeschlagen"]
    assert "ghcr.io/zxh326/kite:v0.7.0" in found[0].cause
    assert "Zuletzt gut: Revision 3 (kite-0.6.3, v0.6.3)" in found[0].evidence
    assert "`helm rollback` würde Flux" in found[0].next_step
    assert "helm history kite -n kube-system" in found[0].command


def test_install_failed_by_timeout_without_pod_problem() -> None:
    hr = helmrelease(
        cond("Ready", "False", "InstallFailed", "Helm install failed: context deadline exceeded")
    )
    found = dh.condition_findings(hr)
    assert titles(found) == ["Helm-Installation fehlgeschlagen"]
    assert "Timeout" in found[0].cause


@pytest.mark.parametrize(
    ("reason", "severity", "title"),
    [
        ("ArtifactFailed", ERROR, "Chart nicht verfügbar"),
        ("SourceNotReady", ERROR, "Chart nicht verfügbar"),
        ("DependencyNotReady", WARNING, "Wartet auf Abhängigkeit cert-manager/cert-manager"),
        ("RollbackFailed", ERROR, "HelmRelease fehlgeschlagen (RollbackFailed)"),
    ],
)
def test_other_helmrelease_reasons(reason: str, severity: int, title: str) -> None:
    hr = helmrelease(cond("Ready", "False", reason, "dependency 'cert-manager/cert-manager' is not ready"))
    found = dh.condition_findings(hr)
    assert [(f.severity, f.title) for f in found] == [(severity, title)]


def test_suspended_and_never_reconciled_helmrelease() -> None:
    assert titles(dh.condition_findings(helmrelease(suspend=True))) == ["HelmRelease ist ausgesetzt"]
    assert titles(dh.condition_findings(helmrelease())) == ["HelmRelease wurde noch nie abgeglichen"]
    assert dh.condition_findings(helmrelease(cond("Ready", "True", "UpgradeSucceeded", "ok"))) == []


def test_retries_exceeded_gives_reset_and_force_and_remediation_is_reported() -> None:
    hr = helmrelease(
        cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)"),
        cond("Remediated", "True", "RollbackSucceeded", "Helm rollback to previous release succeeded"),
    )
    found = dh.stalled_findings(hr)
    assert titles(found) == ["Wiederholungen aufgebraucht", "Flux hat die Release zurückgerollt"]
    assert found[0].command.splitlines() == [
        "runbook run sync -p kind hr -p name kite -p namespace kube-system -p force True",
        "flux reconcile hr kite -n kube-system --reset",
        "flux reconcile hr kite -n kube-system --force",
    ]
    assert "force=True" not in found[0].next_step + found[0].command
    assert "`-p force True`" in found[0].next_step
    other = dh.stalled_findings(helmrelease(cond("Stalled", "True", "MissingRollbackTarget", "no target")))
    assert titles(other) == ["HelmRelease hängt (Stalled)"]


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


def test_missing_chart_version_names_the_known_versions() -> None:
    msg = (
        "invalid chart reference: failed to get chart version for remote reference: no 'kite' chart with "
        "version matching '0.6.9' found"
    )
    chart = helmchart(cond("Ready", "False", "InvalidChartReference", msg))
    found = dh.chart_findings(helmrelease(), chart, known_versions=["0.6.2", "0.6.3"])
    assert titles(found) == ["Chart-Version 0.6.9 nicht gefunden"]
    assert "Bekannte Versionen: 0.6.2, 0.6.3." in found[0].cause
    assert "helm search repo kite --versions" in found[0].command
    other = dh.chart_findings(helmrelease(), helmchart(cond("Ready", "False", "StorageOperationFailed", "x")))
    assert titles(other) == ["HelmChart fehlerhaft"]


def test_chart_missing_or_fine() -> None:
    assert titles(dh.chart_findings(helmrelease(), None)) == ["HelmChart fehlt"]
    assert dh.chart_findings(helmrelease(), helmchart(cond("Ready", "True", "ChartPullSucceeded"))) == []
    by_ref = helmrelease(chartRef={"kind": "OCIRepository", "name": "kite"})
    del by_ref["spec"]["chart"]
    assert dh.chart_findings(by_ref, None) == []


def test_known_versions_from_history_and_storage() -> None:
    assert hs.known_versions(helmrelease(), [record(1, "superseded", chart="kite-0.6.2")]) == [
        "0.6.2",
        "0.6.3",
    ]


def test_helm_repository_not_ready() -> None:
    repo = {
        "kind": "HelmRepository",
        "metadata": {"name": "kite", "namespace": "flux-system"},
        "spec": {"url": "https://zxh326.github.io/kite"},
        "status": {"conditions": [cond("Ready", "False", "IndexationFailed", "404 Not Found")]},
    }
    found = dh.source_findings(repo)
    assert titles(found) == ["HelmRepository nicht bereit"]
    assert "flux reconcile source helm kite -n flux-system" in found[0].command
    repo["spec"]["type"] = "oci"
    assert dh.source_findings(repo) == []


def test_storage_latest_failed_names_last_good_revision() -> None:
    found = hs.storage_findings(helmrelease(), [*HISTORY, record(4, "failed", "Upgrade failed")])
    assert titles(found) == ["Letzte Helm-Revision 4 fehlgeschlagen"]
    assert "Zuletzt gut: Revision 3" in found[0].evidence
    assert hs.last_good(HISTORY) == HISTORY[2]
    assert hs.last_good([record(1, "failed")]) is None


def test_storage_pending_empty_and_fine() -> None:
    pending = hs.storage_findings(helmrelease(), [record(1, "deployed"), record(2, "pending-upgrade")])
    assert titles(pending) == ["Helm-Release hängt in pending-upgrade"] and "--force" in pending[0].command
    assert titles(hs.storage_findings(helmrelease(), [])) == ["Keine Helm-Release-Secrets gefunden"]
    never = helmrelease()
    never["status"]["history"] = []
    assert hs.storage_findings(never, []) == []
    assert hs.storage_findings(helmrelease(), HISTORY) == []


def test_pod_problems_name_the_image_tag_once_per_image() -> None:
    found = dw.pod_findings([pod("ImagePullBackOff"), pod("ErrImagePull", name="kite-def")])
    assert titles(found) == ["Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0"]
    assert "'v0.7.0'" in found[0].cause and "image.tag" in found[0].next_step
    crash = dw.pod_findings([pod("CrashLoopBackOff")])
    assert crash[0].command == "kubectl logs kite-abc -n kube-system --previous"
    config = dw.pod_findings([pod("CreateContainerConfigError")])
    assert titles(config) == ["Container lässt sich nicht anlegen"]
    assert (
        dw.pod_findings(
            [
                {
                    "metadata": {"name": "ok"},
                    "status": {"containerStatuses": [{"image": "x:1", "state": {"running": {}}}]},
                }
            ]
        )
        == []
    )


def test_unavailable_deployment() -> None:
    found = dw.deployment_findings([deployment("kite", ready=0, available="False")])
    assert (
        titles(found) == ["Deployment nicht verfügbar"] and found[0].subject == "Deployment flux-system/kite"
    )
    assert dw.deployment_findings([deployment("kite")]) == []


def test_warnings_on_a_ready_helmrelease_are_a_hint() -> None:
    event = {"type": "Warning", "reason": "UpgradeFailed", "message": UPGRADE_MSG, "lastTimestamp": ts(30)}
    found = dh.info_findings(helmrelease(cond("Ready", "True", "UpgradeSucceeded", "ok")), [event], [])
    assert [(f.severity, f.title) for f in found] == [(INFO, "Frühere Warnungen zu dieser HelmRelease")]
    assert "Event: " in found[0].evidence


def test_helmrelease_diagnosis_as_a_whole() -> None:
    hr = helmrelease(
        cond("Ready", "False", "UpgradeFailed", UPGRADE_MSG),
        cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)"),
    )
    state = HelmReleaseState(
        hr=hr,
        helm_chart=Slot(helmchart(cond("Ready", "True", "x"))),
        source=Slot(None),
        releases=Slot([*HISTORY, record(4, "failed", "Upgrade failed")]),
        deployments=Slot([deployment("kite", ready=0, available="False")]),
        pods=Slot([pod("ImagePullBackOff")]),
        events=Slot(error="verboten"),
        log_lines=Slot([]),
        now=NOW,
    )
    result = diagnose_helmrelease(state)
    assert result.titles() == [
        "Helm-Upgrade fehlgeschlagen",
        "Wiederholungen aufgebraucht",
        "Letzte Helm-Revision 4 fehlgeschlagen",
        "Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0",
        "Events nicht lesbar",
    ]
    assert "Image nicht ladbar" in result.findings[0].cause  # the pod explains the upgrade failure
    assert "`helm rollback`" in str(result)
    assert [r[2] for r in state.helm_history().rows] == ["superseded", "failed", "deployed", "failed"]


# --- cert-manager ----------------------------------------------------------------------------------


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


def test_request_matching_prefers_the_next_revision_then_the_newest() -> None:
    reqs = [request("kite-tls-1", 1), request("kite-tls-2", 2), request("other", 3)]
    reqs[2]["metadata"]["ownerReferences"] = owner("Certificate", "other")
    assert certs.find_request(certificate(revision=1), reqs)["metadata"]["name"] == "kite-tls-2"
    assert certs.find_request(certificate(revision=5), reqs)["metadata"]["name"] == "kite-tls-2"
    assert certs.find_request(certificate(revision=None), reqs)["metadata"]["name"] == "kite-tls-1"


def test_order_and_challenges_follow_owner_references() -> None:
    order = {
        "metadata": {
            "name": "kite-tls-2-1",
            "namespace": "kube-system",
            "ownerReferences": owner("CertificateRequest", "kite-tls-2"),
        },
        "status": {"state": "pending"},
    }
    assert certs.find_order(request("kite-tls-2", 2), [order]) == order
    assert certs.find_order(request("kite-tls-1", 1), [order]) is None
    assert certs.find_challenges(order, [challenge("pending", "")]) == [challenge("pending", "")]
    assert certs.find_challenges(None, [challenge("pending", "")]) == []
    assert certs.issuer_ref({"spec": {"issuerRef": {"name": "ca"}}}) == ("Issuer", "ca")


def test_failed_issuance_counts_attempts_and_offers_renew() -> None:
    cert = certificate(
        cond("Ready", "False", "SecretMismatch", "Existing issued Secret is not up to date"),
        cond("Issuing", "False", "Failed", "The certificate request has failed to complete"),
        failedIssuanceAttempts=2,
        lastFailureTime=ts(5),
    )
    found = dc.certificate_findings(cert, now=NOW)
    assert titles(found) == ["Ausstellung fehlgeschlagen"]
    assert "2 fehlgeschlagene Versuch(e)" in found[0].cause
    assert found[0].command.splitlines()[-2:] == [
        "cmctl renew kite-tls -n kube-system",
        "kubectl cert-manager renew kite-tls -n kube-system",
    ]
    assert "kubectl describe certificate kite-tls -n kube-system" in found[0].command
    # the kubectl-only way, and which deletion really starts an issuance
    assert "`kubectl delete secret kite-tls -n kube-system` löst eine Ausstellung aus" in found[0].next_step
    assert "fehlgeschlagene CertificateRequest zu löschen löst nichts aus" in found[0].next_step


def test_certificate_not_ready_while_issuing_is_a_warning_and_expired_an_error() -> None:
    issuing = certificate(
        cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
        cond("Issuing", "True", "DoesNotExist", "Issuing"),
    )
    assert [(f.severity, f.title) for f in dc.certificate_findings(issuing, now=NOW)] == [
        (WARNING, "Zertifikat nicht bereit (wird ausgestellt)")
    ]
    expired = certificate(cond("Ready", "False", "Expired", "Certificate expired"), notAfter=ts(60))
    assert [(f.severity, f.title) for f in dc.certificate_findings(expired, now=NOW)] == [
        (ERROR, "Zertifikat abgelaufen")
    ]
    assert dc.certificate_findings(certificate(), now=NOW) == []


def test_expiry_soon_expired_and_renewal_overdue() -> None:
    soon = dc.expiry_findings(certificate(notAfter=ts(-60 * 24 * 5)), now=NOW)
    assert titles(soon) == ["Zertifikat läuft in 5 Tagen ab"] and soon[0].severity == WARNING
    gone = dc.expiry_findings(certificate(notAfter=ts(60 * 3)), now=NOW)
    assert titles(gone) == ["Zertifikat abgelaufen"] and gone[0].severity == ERROR
    overdue = dc.expiry_findings(certificate(renewalTime=ts(60 * 5)), now=NOW)
    assert titles(overdue) == ["Erneuerung überfällig"]
    assert dc.expiry_findings(certificate(), now=NOW) == []


def test_missing_secret_of_a_ready_certificate() -> None:
    assert titles(dc.secret_finding(certificate(), False)) == ["Secret kite-tls fehlt"]
    assert dc.secret_finding(certificate(), True) == []
    assert dc.secret_finding(certificate(cond("Ready", "False", "DoesNotExist")), False) == []


def test_issuer_missing_or_not_ready() -> None:
    assert titles(dc.issuer_findings(certificate(), None)) == ["ClusterIssuer letsencrypt fehlt"]
    issuer = {
        "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt"},
        "status": {
            "conditions": [
                cond("Ready", "False", "ErrRegisterACMEAccount", "Failed to register ACME account")
            ]
        },
    }
    found = dc.issuer_findings(certificate(), issuer)
    assert titles(found) == ["ClusterIssuer letsencrypt nicht bereit"]
    assert found[0].command == "kubectl describe clusterissuer letsencrypt"
    issuer["status"]["conditions"] = [cond("Ready", "True", "ACMEAccountRegistered")]
    assert dc.issuer_findings(certificate(), issuer) == []


@pytest.mark.parametrize(
    ("conditions", "title"),
    [
        (
            [cond("Denied", "True", "Denied", "policy"), cond("Ready", "False", "Denied")],
            "CertificateRequest abgelehnt",
        ),
        ([cond("InvalidRequest", "True", "x", "bad csr")], "CertificateRequest ungültig"),
        (
            [cond("Approved", "True"), cond("Ready", "False", "Failed", 'order is in "invalid" state')],
            "CertificateRequest fehlgeschlagen",
        ),
        ([cond("Ready", "False", "Pending", "Waiting for approval")], "CertificateRequest nicht genehmigt"),
    ],
)
def test_certificate_request_states(conditions: list[dict[str, Any]], title: str) -> None:
    assert titles(dc.request_findings(request("kite-tls-2", 2, *conditions))) == [title]


def test_pending_approved_request_and_valid_order_give_nothing() -> None:
    pending = request(
        "kite-tls-2", 2, cond("Approved", "True"), cond("Ready", "False", "Pending", "Waiting on order")
    )
    assert dc.request_findings(pending) == [] and dc.request_findings(None) == []
    assert dc.order_findings({"metadata": {"name": "o"}, "status": {"state": "pending"}}) == []
    invalid = dc.order_findings(
        {"metadata": {"name": "o", "namespace": "n"}, "status": {"state": "invalid", "reason": "acme: 403"}}
    )
    assert titles(invalid) == ["ACME-Order invalid"] and "acme: 403" in invalid[0].evidence


def test_http01_propagation_names_ingress_and_dns() -> None:
    reason = (
        "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request "
        "'http://kite.beispiel-neu.de/.well-known/acme-challenge/tok': dial tcp: no such host"
    )
    found = dc.challenge_findings([challenge("pending", reason)])
    assert titles(found) == ["HTTP-01-Challenge für kite.beispiel-neu.de schlägt fehl"]
    assert "DNS-Eintrag" in found[0].cause and "Ingress" in found[0].cause
    assert "curl -v http://kite.beispiel-neu.de/.well-known/acme-challenge/tok" in found[0].command


def test_final_challenge_failure_and_dns01() -> None:
    nx = "acme: authorization error for kite.beispiel-neu.de: DNS problem: NXDOMAIN looking up A"
    final = dc.challenge_findings([challenge("invalid", f"Error accepting authorization: {nx}")])
    assert titles(final) == ["HTTP-01-Challenge für kite.beispiel-neu.de endgültig fehlgeschlagen"]
    assert "keinen (richtigen) DNS-Eintrag" in final[0].cause
    assert "Port 80" in dc.challenge_cause("connection refused", "x")
    dns = dc.challenge_findings([challenge("pending", "Waiting for DNS-01 challenge propagation", "DNS-01")])
    assert titles(dns) == ["DNS-01-Challenge für kite.beispiel-neu.de schlägt fehl"]
    assert dc.challenge_findings([challenge("valid", "Successfully authorized domain")]) == []
    assert dc.challenge_findings([challenge("pending", "")]) == []


def test_certificates_diagnosis_with_unreadable_links_and_states() -> None:
    chain = certs.CertChain(
        cert=certificate(),
        secret=Slot(True),
        issuer=Slot(error="verboten"),
        request=Slot(None),
        order=Slot(None),
        challenges=Slot([]),
        events=Slot([]),
    )
    result = dc.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    assert result.titles() == ["Issuer nicht lesbar"] and result.ok
    assert ("Issuer" in [r[0] for r in chain.rows()]) or ("ClusterIssuer" in [r[0] for r in chain.rows()])
    assert [r[2] for r in chain.rows() if r[0] == "ClusterIssuer"] == ["Fehler"]
    missing = dc.diagnose_certificates(certs.CertificatesState((), installed=False, now=NOW))
    assert missing.titles() == ["cert-manager ist nicht installiert"]
    empty = dc.diagnose_certificates(certs.CertificatesState((), now=NOW))
    assert empty.titles() == ["Keine Zertifikate gefunden"] and empty.ok


# --- model and helpers -----------------------------------------------------------------------------


def test_diagnosis_renders_text_and_escaped_html() -> None:
    finding = Finding(WARNING, "A <b>", "Ursache", "Zeile 1\nZeile 2", "tun", "kubectl get x", "Obj ns/n")
    result = Diagnosis("Titel", (Finding(INFO, "Hinweis", "c", "e", "n"), finding))
    assert result.titles() == ["A <b>", "Hinweis"]
    text = str(result)
    assert "⚠ Warnung: A <b> (Obj ns/n)" in text and "                    Zeile 2" in text
    assert "A &lt;b&gt;" in result._repr_html_() and "<b>A" not in result._repr_html_()
    assert "Keine Probleme gefunden" in Diagnosis("T")._repr_html_()
    summary = result.summary()
    assert summary.headline() == "⚠ Titel: 1 Warnung"
    assert summary.rows()[0][:4] == ["1", "Warnung", "Obj ns/n", "A <b>"]


def test_evidence_renders_rows_and_error_slot() -> None:
    table = evidence("Cap", ("A", "B"), [(1, "x")], command="kubectl get x", marks=["failing"])
    assert isinstance(table, Evidence) and table.rows == (("1", "x"),)
    assert "failing" in table._repr_html_() and "$ kubectl get x" in str(table)
    broken = evidence("Cap", ("A",), [], error="nein")
    assert "Nicht lesbar: nein" in broken._repr_html_()


def test_attempt_fills_the_slot_but_lets_unreachable_and_usage_errors_through() -> None:
    def fail(exc: Exception) -> Any:
        raise exc

    assert attempt(lambda: 3) == Slot(3)
    assert attempt(lambda: fail(RunbookError("kaputt"))) == Slot(error="kaputt")
    with pytest.raises(ClusterUnreachable):
        attempt(lambda: fail(ClusterUnreachable("weg")))
    with pytest.raises(UsageError):
        attempt(lambda: fail(UsageError("falsch")))


def test_not_found_names_the_closest_names() -> None:
    err = not_found(
        "HelmRelease",
        "kitte",
        "kube-system",
        ["kube-system/kite", "cert-manager/cert-manager"],
        "flux get helmreleases -A",
    )
    assert isinstance(err, NotFound)
    assert err.message == "HelmRelease kube-system/kitte wurde nicht gefunden."
    assert err.hint is not None and err.hint.startswith("Meinten Sie: kube-system/kite?")
    assert "`flux get helmreleases -A`" in err.hint


# --- user test findings: history is not a problem, hints are executable ---------------------------


def settled_chain(*, issuing_generation: int = 2) -> certs.CertChain:
    """The Certificate after the fix commit: Ready for generation 3, the failed revision-2 chain left."""
    nx = (
        "acme: authorization error for kite.beispiel-neu.de: 400 urn:ietf:params:acme:error:dns: "
        "DNS problem: NXDOMAIN looking up A for kite.beispiel-neu.de"
    )
    issuing = cond("Issuing", "False", "Failed", f"The certificate request has failed to complete: {nx}")
    issuing["observedGeneration"] = issuing_generation
    ready = cond("Ready", "True", "Ready", "Certificate is up to date and has not expired")
    ready["observedGeneration"] = 3
    cert = certificate(ready, issuing, revision=1, failedIssuanceAttempts=1, lastFailureTime=ts(5))
    cert["metadata"]["generation"] = 3
    failed = request(
        "kite-tls-2", 2, cond("Approved", "True"), cond("Ready", "False", "Failed", f"order invalid: {nx}")
    )
    order = {
        "kind": "Order",
        "metadata": {
            "name": "kite-tls-2-1",
            "namespace": "kube-system",
            "ownerReferences": owner("CertificateRequest", "kite-tls-2"),
        },
        "status": {"state": "invalid", "reason": nx},
    }
    return certs.CertChain(
        cert=cert,
        secret=Slot(True),
        issuer=Slot({"kind": "ClusterIssuer", "status": {"conditions": [cond("Ready", "True", "x")]}}),
        request=Slot(failed),
        order=Slot(order),
        challenges=Slot([challenge("invalid", f"Error accepting authorization: {nx}")]),
        events=Slot([{"type": "Warning", "reason": "Failed", "message": nx, "lastTimestamp": ts(5)}]),
    )


def test_fixed_certificate_reports_the_earlier_failed_chain_as_one_hint() -> None:
    chain = settled_chain()
    assert dc.is_settled(chain.cert) and dc.issuing_is_stale(chain.cert)
    assert dc.is_earlier_attempt(chain.cert, chain.request.value)
    result = dc.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    assert [(f.severity, f.title) for f in result.findings] == [
        (INFO, "Frühere fehlgeschlagene Ausstellung, inzwischen behoben")
    ]
    assert result.ok and result.summary().headline() == "✔ Keine Probleme gefunden."
    hint = result.findings[0]
    assert "CertificateRequest kube-system/kite-tls-2: CertificateRequest fehlgeschlagen" in hint.evidence
    assert "veraltet: observedGeneration 2" in hint.evidence
    assert "`kubectl delete certificaterequest kite-tls-2 -n kube-system`" in hint.next_step
    # the chain table shows the old attempt as history, not as a failing link
    rows = chain.rows()
    assert [r[0] for r in rows][3:] == [
        "CertificateRequest (frühere Revision)",
        "Order (frühere Revision)",
        "Challenge (frühere Revision)",
    ]
    assert all(certs._row_mark(r) == "" for r in rows)


def test_failure_of_the_current_generation_still_counts_on_a_ready_certificate() -> None:
    """A renewal that fails while the old certificate is still valid: Ready=True, Issuing=False now."""
    chain = settled_chain(issuing_generation=3)
    assert not dc.is_settled(chain.cert)
    result = dc.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    assert result.titles() == [
        "Ausstellung fehlgeschlagen",
        "CertificateRequest fehlgeschlagen",
        "ACME-Order invalid",
        "HTTP-01-Challenge für kite.beispiel-neu.de endgültig fehlgeschlagen",
    ]
    assert "frühere Revision" not in " ".join(r[0] for r in chain.rows())


def test_ready_but_not_yet_observed_generation_is_not_settled() -> None:
    cert = certificate()
    cert["metadata"]["generation"] = 4
    assert not dc.is_settled(cert)  # Ready observedGeneration 1 < 4: the new spec is not checked yet
    assert dc.is_settled(certificate())
    assert not dc.is_earlier_attempt(certificate(), None)
    assert not dc.is_earlier_attempt(certificate(revision=2), request("kite-tls-2", 2))


def test_git_auth_hint_gives_complete_flux_and_kubectl_commands() -> None:
    found = ds.git_repository_findings(failing_repo("GitOperationFailed", AUTH_MSG), now=NOW)[0]
    assert (
        "`flux create secret git flux-system --url=https://github.com/beispiel/cluster.git "
        "--username=git --password=<TOKEN> -n flux-system`" in found.next_step
    )
    assert "--bearer-token" in found.next_step and "`DIR/git-token`" in found.next_step
    assert "`runbook run sync -p kind gitrepo -p name flux-system`" in found.next_step
    assert found.command.splitlines() == [
        "kubectl create secret generic flux-system -n flux-system --from-literal=username=git "
        "--from-literal=password=<TOKEN> --dry-run=client -o yaml | kubectl apply -f -",
        "runbook run sync -p kind gitrepo -p name flux-system",
        "flux reconcile source git flux-system",
    ]
    missing = ds.git_repository_findings(
        failing_repo("AuthenticationFailed", 'secrets "flux-system" not found: secret not found'), now=NOW
    )[0]
    assert missing.title == "Git-Zugangsdaten fehlen"
    assert missing.command.startswith("kubectl create secret generic flux-system -n flux-system ")
    ssh = failing_repo("GitOperationFailed", AUTH_MSG)
    ssh["spec"]["url"] = "ssh://git@github.com/beispiel/cluster.git"
    found_ssh = ds.git_repository_findings(ssh, now=NOW)[0]
    assert "--private-key-file=<PRIVATE_KEY_FILE>" in found_ssh.next_step
    assert "--from-file=identity=<PRIVATE_KEY_FILE>" in found_ssh.command


def test_helm_evidence_shows_the_revisions_behind_the_claim_with_second_precision() -> None:
    failed = 'Upgrade "kite" failed: context deadline exceeded: context deadline exceeded'
    history = [
        record(2, "superseded", failed),
        record(3, "deployed", "Rollback to 1"),
        record(4, "superseded", failed),
        record(5, "deployed", "Rollback to 3"),
        record(6, "failed", failed),
    ]
    for i, r in enumerate(history):
        r["updated"] = f"2026-11-26T00:52:3{i}.313518000Z"
    assert hs.last_good(history) == history[3]  # 4 was a failed upgrade that Helm marked superseded
    found = hs.storage_findings(helmrelease(), history)
    assert titles(found) == ["Letzte Helm-Revision 6 fehlgeschlagen"]
    lines = found[0].evidence.splitlines()
    assert lines[0] == (
        "Helm-Revision 6 (2026-11-26T00:52:34Z): failed (kite-0.6.3, v0.6.3) – "
        'Upgrade "kite" failed: context deadline exceeded'
    )
    assert lines[1].startswith("Zuletzt gut: Revision 5 (kite-0.6.3, v0.6.3) vom 2026-11-26T00:52:33Z")
    assert "Revision 4" not in found[0].evidence and ".313518" not in found[0].evidence
    assert "`helm rollback`" not in found[0].next_step  # said once, by the HelmRelease finding
    state = HelmReleaseState(hr=helmrelease(), releases=Slot(history), now=NOW)
    assert state.helm_history().rows[0][1] == "2026-11-26T00:52:30Z"


def test_rollback_is_claimed_only_while_the_rollback_is_the_newest_revision() -> None:
    remediated = cond(
        "Remediated", "True", "RollbackSucceeded", "Helm rollback to previous release succeeded"
    )
    hr = helmrelease(remediated)
    rolled_back = [
        record(1, "superseded", "Install complete"),
        record(2, "superseded", "Upgrade failed"),
        record(3, "deployed", "Rollback to 1"),
    ]
    found = dh.remediation_findings(hr, records=rolled_back)
    assert [(f.severity, f.title) for f in found] == [(WARNING, "Flux hat die Release zurückgerollt")]
    assert "läuft die zurückgerollte Revision 3" in found[0].cause
    later_failed = [*rolled_back, record(4, "failed", "Upgrade failed")]
    found = dh.remediation_findings(hr, records=later_failed, images=["kite=ghcr.io/zxh326/kite:v0.7.0"])
    assert [(f.severity, f.title) for f in found] == [
        (INFO, "Früherer Rollback durch Flux, danach erneut fehlgeschlagen")
    ]
    assert "läuft die alte Revision" not in found[0].cause and "neue, fehlerhafte Stand" in found[0].cause
    assert "Deployment (Image): kite=ghcr.io/zxh326/kite:v0.7.0" in found[0].evidence
    assert "Helm-Revision 4" in found[0].evidence and "Rollback to 1" in found[0].evidence
    assert (
        dh.remediation_findings(hr, records=[*later_failed, record(5, "deployed", "Upgrade complete")]) == []
    )
    assert titles(dh.remediation_findings(hr)) == ["Flux hat die Release zurückgerollt"]


def test_diagnose_helmrelease_reads_the_remediation_against_storage_and_workload() -> None:
    hr = helmrelease(
        cond("Ready", "False", "UpgradeFailed", UPGRADE_MSG),
        cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)"),
        cond("Remediated", "True", "RollbackSucceeded", "Helm rollback to previous release succeeded"),
    )
    dep = deployment("kite")
    dep["spec"]["template"] = {
        "spec": {"containers": [{"name": "kite", "image": "ghcr.io/zxh326/kite:v0.7.0"}]}
    }
    state = HelmReleaseState(
        hr=hr,
        releases=Slot([*HISTORY, record(4, "failed", "Upgrade failed")]),
        deployments=Slot([dep]),
        pods=Slot([]),
        events=Slot([]),
        log_lines=Slot([]),
        now=NOW,
    )
    result = diagnose_helmrelease(state)
    assert "Flux hat die Release zurückgerollt" not in result.titles()
    assert "Früherer Rollback durch Flux, danach erneut fehlgeschlagen" in result.titles()
    assert str(result).count("`helm rollback` würde") == 1


def test_log_lines_drop_the_repeated_error_and_show_whole_seconds() -> None:
    line = {
        "ts": "2026-11-26T00:52:37.313518000Z",
        "level": "error",
        "msg": "Helm upgrade failed for release kube-system/kite: context deadline exceeded",
        "error": "context deadline exceeded",
    }
    assert common.log_line_text(line) == (
        "2026-11-26T00:52:37Z error Helm upgrade failed for release kube-system/kite: "
        "context deadline exceeded"
    )
    assert common.log_line_text(line, precise=True).startswith("2026-11-26T00:52:37.313518000Z error")
    joined = line | {"msg": "Reconciler error", "error": "timeout: timeout"}
    assert common.log_line_text(joined).endswith("error Reconciler error: timeout")
    assert common.dedupe("a: b: c: b: c") == "a: b: c"
    assert common.dedupe("x: y") == "x: y"
    assert common.seconds("00:52:37.313518000Z und 01:00:00,5Z") == "00:52:37Z und 01:00:00Z"
    ready = cond(
        "Ready",
        "False",
        "UpgradeFailed",
        "upgrade failed: context deadline exceeded: context deadline exceeded",
    )
    assert common.cond_text(ready).endswith("upgrade failed: context deadline exceeded")


def test_gitops_note_only_when_there_is_a_problem_to_fix() -> None:
    note = hs.GITOPS_NOTE
    hint = Finding(INFO, "Frühere Warnungen zu dieser HelmRelease", "c", "e", "Nichts zu tun.")
    assert note not in str(Diagnosis("T", (hint,), note=note))
    assert note not in Diagnosis("T", (hint,), note=note)._repr_html_()
    assert note not in str(Diagnosis("T", note=note))
    problem = Finding(ERROR, "Helm-Release hängt in pending-upgrade", "c", "e", "Upgrade erzwingen.")
    assert note in str(Diagnosis("T", (problem, hint), note=note))
    carrying = Finding(ERROR, "Helm-Upgrade fehlgeschlagen", "c", "e", "Commit. " + note)
    assert str(Diagnosis("T", (carrying,), note=note)).count(note) == 1
    healthy = HelmReleaseState(
        hr=helmrelease(cond("Ready", "True", "UpgradeSucceeded", "ok")),
        helm_chart=Slot(helmchart(cond("Ready", "True", "ChartPullSucceeded"))),
        releases=Slot([record(1, "deployed", "Install complete")]),
        events=Slot(
            [{"type": "Warning", "reason": "UpgradeFailed", "message": "x", "lastTimestamp": ts(30)}]
        ),
        now=NOW,
    )
    result = diagnose_helmrelease(healthy)
    assert result.titles() == ["Frühere Warnungen zu dieser HelmRelease"]
    assert "Unter GitOps" not in str(result) and "Unter GitOps" not in result._repr_html_()
