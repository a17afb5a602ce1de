"""troubleshoot-helmrelease rules: conditions, chart and source, Helm storage, workload, the diagnosis."""

from __future__ import annotations

import dataclasses

import pytest
from diagnose_fixtures import (
    HISTORY,
    NOW,
    UPGRADE_MSG,
    cond,
    deployment,
    helmchart,
    helmrelease,
    pod,
    record,
    titles,
    ts,
)

from runbook_lib.diagnose import ERROR, INFO, WARNING, Diagnosis, Finding
from runbook_lib.diagnose.common import Slot
from runbook_lib.diagnose.helmrelease import HelmReleaseState, diagnose_helmrelease
from runbook_lib.diagnose.rules import chart as dch
from runbook_lib.diagnose.rules import helmrelease as dh
from runbook_lib.diagnose.rules import helmstorage as hs
from runbook_lib.diagnose.rules import retries as dr
from runbook_lib.diagnose.rules import workload as dw


def test_release_and_storage_names() -> None:
    assert hs.release_name(helmrelease()) == "kite"
    assert hs.release_name(helmrelease(targetNamespace="apps")) == "apps-kite"
    assert hs.release_name(helmrelease(releaseName="dash")) == "dash"
    assert hs.release_namespace(helmrelease(targetNamespace="apps")) == "apps"
    assert hs.storage_namespace(helmrelease(targetNamespace="apps")) == "kube-system"
    hr = helmrelease()
    del hr["status"]["helmChart"]
    assert dch.chart_ref(hr) == ("flux-system", "kube-system-kite")


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
        ("RollbackFailed", ERROR, "Helm-Upgrade und Rollback fehlgeschlagen"),
        ("RollbackSucceeded", ERROR, "Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt"),
        ("Unbekannt", ERROR, "HelmRelease nicht bereit (Unbekannt)"),
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
    found = dr.stalled_findings(hr)
    assert titles(found) == ["Wiederholungen aufgebraucht", "Flux hat die Release zurückgerollt"]
    assert found[0].command.splitlines() == [
        "runbook run sync -p kind hr -p name kite -p namespace kube-system -p force True",
        "flux reconcile hr kite -n kube-system --reset",
        "flux reconcile hr kite -n kube-system --force",
    ]
    assert "force=True" not in found[0].next_step + found[0].command
    assert "`-p force True`" in found[0].next_step
    other = dr.stalled_findings(helmrelease(cond("Stalled", "True", "MissingRollbackTarget", "no target")))
    assert titles(other) == ["HelmRelease hängt (Stalled)"]


def test_missing_chart_version_names_the_known_versions() -> None:
    msg = (
        "invalid chart reference: failed to get chart version for remote reference: no 'kite' chart with "
        "version matching '0.6.9' found"
    )
    chart = helmchart(cond("Ready", "False", "InvalidChartReference", msg))
    found = dch.chart_findings(helmrelease(), chart, known_versions=["0.6.2", "0.6.3"])
    assert titles(found) == ["Chart-Version 0.6.9 nicht gefunden"]
    assert "Bekannte Versionen: 0.6.2, 0.6.3." in found[0].cause
    assert "helm search repo kite --versions" in found[0].command
    other = dch.chart_findings(
        helmrelease(), helmchart(cond("Ready", "False", "StorageOperationFailed", "x"))
    )
    assert titles(other) == ["HelmChart fehlerhaft"]


def test_chart_missing_or_fine() -> None:
    assert titles(dch.chart_findings(helmrelease(), None)) == ["HelmChart fehlt"]
    assert dch.chart_findings(helmrelease(), helmchart(cond("Ready", "True", "ChartPullSucceeded"))) == []
    by_ref = helmrelease(chartRef={"kind": "OCIRepository", "name": "kite"})
    del by_ref["spec"]["chart"]
    assert dch.chart_findings(by_ref, None) == []


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
    found = dch.source_findings(repo)
    assert titles(found) == ["HelmRepository nicht bereit"]
    assert "flux reconcile source helm kite -n flux-system" in found[0].command
    repo["spec"]["type"] = "oci"
    assert dch.source_findings(repo) == []


def test_storage_latest_failed_names_last_good_revision() -> None:
    found = hs.storage_findings(helmrelease(), [*HISTORY, record(4, "failed", "Upgrade failed")])
    assert titles(found) == ["Letzte Helm-Revision 4 fehlgeschlagen"]
    assert "Zuletzt gut: Revision 3" in found[0].evidence
    assert hs.last_good(HISTORY) == HISTORY[2]
    assert hs.last_good([record(1, "failed")]) is None


def test_storage_pending_empty_and_fine() -> None:
    locked = [record(1, "deployed"), record(2, "pending-upgrade")]
    pending = hs.storage_findings(helmrelease(), locked)
    # nobody works on it: the next reconcile unlocks it (helm-controller's unlock action), no force needed
    assert titles(pending) == ["Helm-Release gesperrt (pending-upgrade)"] and pending[0].severity == WARNING
    assert "--force" not in pending[0].command + pending[0].next_step
    assert "runbook run sync -p kind hr -p name kite -p namespace kube-system" in pending[0].command
    # an upgrade running right now is not stuck
    assert hs.storage_findings(helmrelease(), locked, in_flight=True) == []
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
    # the pod that cannot pull its image is the cause; the release's failure follows from it
    assert titles(result.findings) == [
        "Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0",
        "Events nicht lesbar",
    ]
    cause = result.findings[0]
    assert titles(cause.consequences) == [
        "Helm-Upgrade fehlgeschlagen",
        "Wiederholungen aufgebraucht",
        "Letzte Helm-Revision 4 fehlgeschlagen",
    ]
    assert cause.progress.startswith("Flux hat nach 3 Versuchen aufgegeben (Stalled)")
    assert "flux reconcile hr kite -n kube-system --reset" in cause.command  # given up: reset/force
    assert "`helm rollback`" in str(result)
    assert result.summary().headline() == "✗ HelmRelease schlägt fehl: 1 Fehler (dazu 3 Folgebefunde)"
    assert [r[2] for r in state.helm_history().rows] == ["superseded", "failed", "deployed", "failed"]


def test_helm_evidence_shows_the_revisions_behind_the_claim_with_second_precision() -> None:
    failed = 'Upgrade "kite" failed: context deadline exceeded: context deadline exceeded'
    history = [
        record(revision, status, description, updated=f"2026-11-26T00:52:3{i}.313518000Z")
        for i, (revision, status, description) in enumerate(
            [
                (2, "superseded", failed),
                (3, "deployed", "Rollback to 1"),
                (4, "superseded", failed),
                (5, "deployed", "Rollback to 3"),
                (6, "failed", failed),
            ]
        )
    ]
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
    found = dr.remediation_findings(hr, records=rolled_back)
    assert [(f.severity, f.title) for f in found] == [(WARNING, "Flux hat die Release zurückgerollt")]
    assert "läuft die zurückgerollte Revision 3" in found[0].cause
    later_failed = [*rolled_back, record(4, "failed", "Upgrade failed")]
    found = dr.remediation_findings(hr, records=later_failed, images=["kite=ghcr.io/zxh326/kite:v0.7.0"])
    assert [(f.severity, f.title) for f in found] == [
        (INFO, "Früherer Rollback durch Flux, danach erneut fehlgeschlagen")
    ]
    assert "läuft die alte Revision" not in found[0].cause and "neue, fehlerhafte Stand" in found[0].cause
    assert "Deployment (Image): kite=ghcr.io/zxh326/kite:v0.7.0" in found[0].evidence
    assert "Helm-Revision 4" in found[0].evidence and "Rollback to 1" in found[0].evidence
    assert (
        dr.remediation_findings(hr, records=[*later_failed, record(5, "deployed", "Upgrade complete")]) == []
    )
    assert titles(dr.remediation_findings(hr)) == ["Flux hat die Release zurückgerollt"]


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
    assert "Flux hat die Release zurückgerollt" not in titles(result.all_findings)
    assert "Früherer Rollback durch Flux, danach erneut fehlgeschlagen" in titles(result.all_findings)
    assert str(result).count("`helm rollback` würde") == 1


def test_gitops_note_only_when_there_is_a_problem_to_fix() -> None:
    note = hs.GITOPS_NOTE
    hint = Finding(
        severity=INFO,
        title="Frühere Warnungen zu dieser HelmRelease",
        cause="c",
        evidence="e",
        next_step="Nichts zu tun.",
    )
    assert note not in str(Diagnosis("T", (hint,), note=note))
    assert note not in Diagnosis("T", (hint,), note=note)._repr_html_()
    assert note not in str(Diagnosis("T", note=note))
    problem = Finding(
        severity=ERROR,
        title="Helm-Release hängt in pending-upgrade",
        cause="c",
        evidence="e",
        next_step="Upgrade erzwingen.",
    )
    assert note in str(Diagnosis("T", (problem, hint), note=note))
    carrying = Finding(
        severity=ERROR,
        title="Helm-Upgrade fehlgeschlagen",
        cause="c",
        evidence="e",
        next_step="Commit. " + note,
    )
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
    assert titles(result.findings) == ["Frühere Warnungen zu dieser HelmRelease"]
    assert "Unter GitOps" not in str(result) and "Unter GitOps" not in result._repr_html_()


RUNNING = "Running 'upgrade' action with timeout of 5m0s"
ROLLED_BACK = "Helm rollback to previous release kube-system/kite.v3 with chart kite@0.6.3 succeeded"


def retrying_release(*extra: dict, failures: int = 1) -> dict:
    """Flux between or during retries: Ready=False RollbackSucceeded, Reconciling ProgressingWithRetry."""
    hr = helmrelease(
        cond("Ready", "False", "RollbackSucceeded", ROLLED_BACK),
        cond("Released", "False", "UpgradeFailed", UPGRADE_MSG),
        cond("Reconciling", "True", "ProgressingWithRetry", RUNNING),
        cond("Remediated", "True", "RollbackSucceeded", ROLLED_BACK),
        *extra,
        upgrade={"remediation": {"retries": 2, "strategy": "rollback"}},
    )
    hr["status"].update(upgradeFailures=failures, failures=failures, lastAttemptedReleaseAction="upgrade")
    return hr


def test_an_upgrade_in_flight_is_not_stuck_and_needs_no_force() -> None:
    """While Flux still retries, the pod that cannot pull its image leads; the pending revision of the
    running attempt is not called stuck, and nothing advises --force; the finding says what Flux does."""
    records = [*HISTORY, record(4, "pending-upgrade", "Preparing upgrade")]
    found = dh.helmrelease_findings(retrying_release(), records=records, pods=[pod("ImagePullBackOff")])
    cause = found[0]
    assert cause.title == "Image nicht ladbar: ghcr.io/zxh326/kite:v0.7.0"
    assert "Der helm-controller meldet einen Fehler" not in str(found)
    assert "gesperrt" not in str(found) and "hängt" not in str(found)
    assert "--force" not in cause.command and "-p force True" not in cause.command
    assert cause.progress == (
        "Flux versucht es noch: Upgrade-Versuch 2 von 3 läuft gerade (Helm-Revision 4: pending); der "
        "helm-controller wartet bis zum Timeout (5m0s) auf bereite Workloads. Scheitert er, rollt Flux "
        "zurück und versucht es noch einmal; danach gibt Flux auf."
    )
    assert "`--force` oder `--reset` sind nicht nötig" in cause.next_step
    assert titles(cause.consequences) == ["Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt"]


def test_between_retries_the_failed_revision_names_the_image_it_tried() -> None:
    """After the rollback the failing Pods are gone (real Flux and the simulator alike): the cause is the
    failed upgrade, and the failed revision's manifest says which image it wanted."""
    tried = dataclasses.replace(
        record(4, "superseded", 'Upgrade "kite" failed: context deadline exceeded'),
        images=("ghcr.io/zxh326/kite:v0.7.0",),
    )
    good = dataclasses.replace(record(5, "deployed", "Rollback to 3"), images=("ghcr.io/zxh326/kite:v0.6.3",))
    found = dh.helmrelease_findings(retrying_release(), records=[*HISTORY[:2], tried, good])
    cause = found[0]
    assert cause.title == "Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt"
    assert cause.cause == (
        "Die Workloads wurden nicht rechtzeitig bereit; das Helm-Upgrade lief in den Timeout. Die "
        "fehlgeschlagene Revision 4 sollte ghcr.io/zxh326/kite:v0.7.0 ausrollen (zuletzt gut: "
        "ghcr.io/zxh326/kite:v0.6.3)."
    )
    assert cause.progress.startswith("Flux versucht es noch: 1 von 3 Versuchen ist fehlgeschlagen")
    assert "(noch zweimal)" in cause.progress
    assert titles(cause.consequences) == ["Flux hat die Release zurückgerollt"]


def test_real_flux_end_state_after_the_last_rollback_is_given_up_with_reset_and_force() -> None:
    """Real helm-controller with retries 2 / rollback ends Ready=False RollbackSucceeded, Stalled, the
    rollback deployed (docs/flux-facts.md §2): one cause, saying Flux gave up, with the reset commands."""
    hr = retrying_release(cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)"))
    hr["status"]["conditions"] = [c for c in hr["status"]["conditions"] if c["type"] != "Reconciling"]
    hr["status"]["upgradeFailures"] = 3
    chart = helmchart(cond("Ready", "True", "ChartPullSucceeded"))
    found = dh.helmrelease_findings(
        hr, chart=chart, records=[*HISTORY, record(4, "deployed", "Rollback to 3")]
    )
    assert titles(found) == ["Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt"]
    assert found[0].progress.startswith("Flux hat nach 3 Versuchen aufgegeben (Stalled)")
    assert "flux reconcile hr kite -n kube-system --reset" in found[0].command
    assert titles(found[0].consequences) == [
        "Wiederholungen aufgebraucht",
        "Flux hat die Release zurückgerollt",
    ]


def test_retry_state_reads_counters_limits_and_the_running_action() -> None:
    state = dr.retry_state(retrying_release(), [record(4, "pending-upgrade")])
    assert (state.action, state.failures, state.attempts, state.in_flight) == ("upgrade", 1, 3, True)
    assert state.retrying and not dr.retry_state(retrying_release(), HISTORY).in_flight
    unlimited = retrying_release()
    unlimited["spec"]["upgrade"]["remediation"]["retries"] = -1
    assert dr.retry_state(unlimited).attempts is None
    assert "ohne Obergrenze" in dr.retry_state(unlimited, [record(4, "pending-upgrade")]).progress()
    assert not dr.retry_state(helmrelease(cond("Ready", "True", "UpgradeSucceeded", "ok"))).retrying


def test_failure_cause_is_grammatical_german() -> None:
    assert (
        dh._failure_cause("UpgradeFailed", "boom", "") == "Helm meldet einen Fehler beim Helm-Upgrade: boom"
    )
    assert dh._failure_cause("InstallFailed", "", "") == "Helm meldet einen Fehler bei der Helm-Installation."


def test_unreadable_parts_are_named_never_empty() -> None:
    """Secrets and pods refused (403): no "no release Secrets" warning, no "no pods"; each part names the
    missing right (issue 12)."""
    refused = "nicht lesbar (fehlendes Recht: {})"
    state = HelmReleaseState(
        hr=helmrelease(),
        releases=Slot(error=refused.format("list secrets in kube-system")),
        pods=Slot(error=refused.format("list pods in kube-system")),
        deployments=Slot([deployment("kite")]),
        now=NOW,
    )
    diagnosis = diagnose_helmrelease(state)
    assert "Keine Helm-Release-Secrets gefunden" not in str(diagnosis)
    unreadable = {f.title: f for f in diagnosis.findings if f.severity == INFO}
    assert "list pods in kube-system" in unreadable["Pods nicht lesbar"].evidence
    assert "list secrets in kube-system" in unreadable["Helm-Storage nicht lesbar"].evidence
    pods_table = state.workload().parts[1]
    assert "Keine Pods gefunden" not in str(pods_table)
    assert "fehlendes Recht: list pods in kube-system" in str(pods_table)
    # readable but empty storage is still a finding
    readable = dataclasses.replace(state, releases=Slot([]))
    assert "Keine Helm-Release-Secrets gefunden" in str(diagnose_helmrelease(readable))
