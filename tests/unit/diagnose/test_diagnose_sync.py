"""troubleshoot-sync rules: GitRepository, Kustomizations, Flux controllers, the sync diagnosis as a whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from diagnose_fixtures import (
    AUTH_MSG,
    NOW,
    OLD_REV,
    REV,
    cond,
    deployment,
    failing_repo,
    gitrepo,
    healthy_sync_state,
    helmrelease,
    ks,
    titles,
    ts,
    zap,
)

from runbook_lib.diagnose import ERROR, INFO, WARNING, diagnose_sync
from runbook_lib.diagnose.common import Slot
from runbook_lib.diagnose.rules import gitrepository as ds
from runbook_lib.diagnose.rules import helmrelease as dh
from runbook_lib.diagnose.rules import kustomization as dk
from runbook_lib.diagnose.rules import workload as dw


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
        failing_repo("GitOperationFailed", AUTH_MSG), now=NOW, log_lines=logs, logs_read=True
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
    finding = ds.stale_finding(gitrepo(artifact_age=45), now=NOW, log_lines=old, logs_read=True)
    assert finding is not None and finding.severity == WARNING
    assert finding.title == "Quelle wird nicht mehr abgeholt"
    assert "Intervall 1m0s" in finding.evidence


def test_recent_log_line_proves_the_source_is_still_fetched() -> None:
    recent = [zap("no changes since last reconcilation", minutes_ago=0.5)]
    assert ds.stale_finding(gitrepo(artifact_age=300), now=NOW, log_lines=recent, logs_read=True) is None


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


def test_an_error_in_the_second_of_the_transition_to_ready_came_before_it() -> None:
    """Conditions have whole seconds, log lines fractions: the fetch that failed at 11:59:00.6 ran before
    the one that made the repo Ready at 11:59:00 (seen in the exercise: fix the token, sync at once)."""
    repo = gitrepo(cond("Ready", "True", "Succeeded", "ok", minutes_ago=1))
    assert repo["status"]["conditions"][0]["lastTransitionTime"] == "2026-11-26T11:59:00Z"
    error = zap("Reconciler error", "error", error="auth")
    same_second = dataclasses.replace(error, ts="2026-11-26T11:59:00.600Z")
    next_second = dataclasses.replace(error, ts="2026-11-26T11:59:01.100Z")
    assert [f.severity for f in ds.log_findings(repo, [same_second])] == [INFO]
    assert [f.severity for f in ds.log_findings(repo, [next_second])] == [WARNING]


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


def test_a_failing_dependency_explains_the_kustomizations_that_wait_for_it() -> None:
    waits = cond(
        "Ready", "False", "DependencyNotReady", "dependency 'flux-system/infrastructure' is not ready"
    )
    broken = cond("Ready", "False", "BuildFailed", "kustomize build failed: yaml: line 12")
    chain = [
        ks("apps", waits),
        ks("infrastructure", broken, applied=OLD_REV),
        ks(
            "monitoring",
            cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/apps' is not ready"),
        ),
    ]
    found = dk.kustomization_findings(chain, gitrepo())
    assert titles(found) == ["kustomize build fehlgeschlagen"]
    assert titles(found[0].consequences) == [
        "Wartet auf Abhängigkeit flux-system/infrastructure",
        "Wartet auf Abhängigkeit flux-system/apps",
    ]


def test_a_failing_source_explains_kustomizations_without_an_artifact() -> None:
    repo = failing_repo("GitOperationFailed", AUTH_MSG)
    no_artifact = ks("apps", cond("Ready", "False", "ArtifactFailed", "Source artifact not found"))
    state = healthy_sync_state(repo=repo, kustomization_items=Slot([no_artifact]))
    result = diagnose_sync(state)
    assert titles(result.findings) == ["Git-Authentifizierung fehlgeschlagen"]
    assert titles(result.findings[0].consequences) == ["Quelle liefert kein Artefakt"]


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


def test_healthy_sync_state_has_no_findings() -> None:
    result = diagnose_sync(healthy_sync_state())
    assert result.findings == () and result.ok
    assert str(result.summary()).startswith("✔ Keine Probleme gefunden.")
    assert "2 Kustomizations" in result.checked


def test_sync_diagnosis_orders_by_severity_and_reports_unreadable_parts() -> None:
    state = healthy_sync_state(
        repo=failing_repo("GitOperationFailed", AUTH_MSG),
        kustomization_items=Slot([ks("apps", applied=OLD_REV, suspend=True)]),
        log_lines=Slot(error="Keine laufenden Flux-Controller-Pods"),
    )
    result = diagnose_sync(state)
    assert [f.severity for f in result.findings] == [ERROR, WARNING, INFO]
    assert titles(result.findings) == [
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
    # the controller that is down explains why the source is not fetched any more
    assert titles(result.findings) == ["source-controller fehlt"]
    assert titles(result.findings[0].consequences) == ["Quelle wird nicht mehr abgeholt"]


def test_sync_state_views_show_error_slots() -> None:
    state = healthy_sync_state(deployments=Slot(error="Keine Berechtigung"))
    view = state.controllers()
    assert view.error == "Keine Berechtigung" and "Nicht lesbar: Keine Berechtigung" in str(view)
    assert [r[1] for r in state.kustomizations().rows] == ["flux-system", "apps"]
    assert state.sources().rows[0][3] == "True"


def test_git_auth_hint_gives_complete_flux_and_kubectl_commands() -> None:
    found = ds.git_repository_findings(failing_repo("GitOperationFailed", AUTH_MSG), now=NOW)[0]
    assert (
        "`flux create secret git flux-system --url=https://github.com/beispiel/cluster.git "
        "--username=git --password=<TOKEN> -n flux-system`" in found.next_step
    )
    assert "--bearer-token" in found.next_step
    assert "git-token" not in found.next_step  # only on the sandbox, see below
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


def test_the_sandbox_token_hint_appears_only_on_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.cluster import Cluster
    from runbook_lib.diagnose import gather

    failing = healthy_sync_state(repo=failing_repo("GitOperationFailed", AUTH_MSG))
    plain = diagnose_sync(failing).findings[0]
    assert "Sandbox" not in plain.next_step
    on_sandbox = diagnose_sync(dataclasses.replace(failing, sandbox_token="/tmp/sbx/git-token")).findings[0]
    assert on_sandbox.next_step.endswith("In dieser Sandbox steht das gültige Token in `/tmp/sbx/git-token`.")
    # recognised by the context name and the token file beside the kubeconfig in use
    (tmp_path / "kubeconfig").write_text("{}")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    sandbox = Cluster(api_client=None, context="runbook-sandbox", server="http://127.0.0.1:1")  # type: ignore[arg-type]
    assert gather.sandbox_token_file(sandbox) == ""
    (tmp_path / "git-token").write_text("ghp_x")
    assert gather.sandbox_token_file(sandbox) == str(tmp_path / "git-token")
    other = dataclasses.replace(sandbox, context="orbstack")
    assert gather.sandbox_token_file(other) == ""


def test_the_sandbox_context_name_is_the_one_the_sandbox_writes() -> None:
    from flux_sandbox.sim import CONTEXT
    from runbook_lib.diagnose.gather import SANDBOX_CONTEXT

    assert SANDBOX_CONTEXT == CONTEXT
