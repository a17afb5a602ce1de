"""Regression tests for defects of the simulated controllers and the sandbox start found by a user test:
recovery once a dependency becomes ready, cert-manager's Issuing condition after a fix, credentials
in the controllers' output, and a fast, clear decision on a reused repository."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simhelpers import cond, get, wait_for

from flux_sandbox.sim import Sandbox, Timing
from flux_sandbox.sim.controllers.base import REQUESTED_AT, get_condition
from flux_sandbox.sim.controllers.recording import redact
from flux_sandbox.sim.gitrepo import HELMRELEASE
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.scenarios import CERTIFICATE, MISSING_CHART, edit_yaml, request_reconcile
from runbook_lib.errors import RunbookError

SandboxFactory = Callable[..., Sandbox]
#: a reused repository is decided within a few seconds (fast timing needs about one); generous for CI
DECIDE_WITHIN = 15.0


def log_lines(sb: Sandbox, ns: str, app: str) -> list[str]:
    pods, _ = sb.store.list(by_kind("Pod"), ns, label_selector=f"app={app}")
    return [text for _, text in sb.store.log_lines(ns, pods[0]["metadata"]["name"], "manager")]


# --- 1. a dependency that becomes ready later ------------------------------------------------------


def test_helmrelease_recovers_when_its_chart_becomes_ready(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox("chart-version-missing")
    assert MISSING_CHART in cond(sb, "HelmChart", "flux-system", "kube-system-kite")["message"]
    # helm-controller watches only the chart's artifact revision: the HelmRelease keeps the message of
    # the moment it saw the new chart generation (docs/flux-facts.md §13)
    assert cond(sb, "HelmRelease", "kube-system", "kite")["reason"] == "SourceNotReady"

    def back(doc: Any) -> None:
        doc["spec"]["chart"]["spec"]["version"] = "0.6.3"

    assert sb.repo.commit({HELMRELEASE: edit_yaml(sb.repo.read_file(HELMRELEASE), back)}, "Back to 0.6.3")
    # what `flux reconcile ks apps --with-source` does: the source, then the Kustomization (no --force)
    request_reconcile(sb.store, "GitRepository", "flux-system", "flux-system")
    request_reconcile(sb.store, "Kustomization", "flux-system", "apps")
    wait_for(lambda: cond(sb, "HelmChart", "flux-system", "kube-system-kite").get("status") == "True")
    # the chart's artifact revision (0.6.3) did not change, so the HelmRelease is not triggered by it;
    # the rollout (and `flux reconcile hr`) asks for it
    request_reconcile(sb.store, "HelmRelease", "kube-system", "kite")
    wait_for(lambda: cond(sb, "HelmRelease", "kube-system", "kite").get("status") == "True")

    hr = get(sb, "HelmRelease", "kube-system", "kite")
    assert hr["metadata"]["generation"] == 3
    assert hr["status"]["observedGeneration"] == hr["metadata"]["generation"]
    ready = cond(sb, "HelmRelease", "kube-system", "kite")
    assert ready["reason"] == "InstallSucceeded"
    assert ready["message"] == "Helm install succeeded for release kube-system/kite.v1 with chart kite@0.6.3"
    assert ready["observedGeneration"] == 3
    assert get_condition(hr["status"], "Reconciling") is None
    assert "reconcile.fluxcd.io/forceAt" not in (hr["metadata"].get("annotations") or {})
    assert any(
        "release in-sync with desired state" in line
        for line in log_lines(sb, "flux-system", "helm-controller")
    )


def test_kustomization_recovers_when_its_dependency_becomes_ready(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    ks = by_kind("Kustomization")
    path = get(sb, "Kustomization", "flux-system", "infrastructure")["spec"]["path"]
    sb.store.patch(ks, "flux-system", "infrastructure", {"spec": {"path": "./clusters/orbstack/fehlt"}})
    wait_for(
        lambda: cond(sb, "Kustomization", "flux-system", "infrastructure").get("reason") == "ArtifactFailed"
    )
    request_reconcile(sb.store, "Kustomization", "flux-system", "apps")
    wait_for(lambda: cond(sb, "Kustomization", "flux-system", "apps").get("reason") == "DependencyNotReady")
    assert cond(sb, "Kustomization", "flux-system", "apps")["message"] == (
        "dependency 'flux-system/infrastructure' is not ready"
    )

    sb.store.patch(ks, "flux-system", "infrastructure", {"spec": {"path": path}})
    wait_for(lambda: cond(sb, "Kustomization", "flux-system", "apps").get("status") == "True")
    apps = get(sb, "Kustomization", "flux-system", "apps")
    assert apps["status"]["observedGeneration"] == apps["metadata"]["generation"]
    assert cond(sb, "Kustomization", "flux-system", "apps")["reason"] == "ReconciliationSucceeded"
    assert get_condition(apps["status"], "Reconciling") is None


# --- 2. cert-manager: no stale Issuing condition after a fix ----------------------------------------


def test_certificate_drops_issuing_after_the_host_is_fixed(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox("certificate-challenge-failed")
    before = get(sb, "Certificate", "kube-system", "kite-tls")["status"]
    assert before["failedIssuanceAttempts"] == 1

    def cert(doc: Any) -> None:
        doc["spec"]["dnsNames"][0] = "kite.beispiel.de"

    def values(doc: Any) -> None:
        doc["spec"]["values"]["host"] = "kite.beispiel.de"

    changes = {
        CERTIFICATE: edit_yaml(sb.repo.read_file(CERTIFICATE), cert),
        HELMRELEASE: edit_yaml(sb.repo.read_file(HELMRELEASE), values),
    }
    assert sb.repo.commit(changes, "Move Kite back to kite.beispiel.de")
    request_reconcile(sb.store, "GitRepository", "flux-system", "flux-system")
    request_reconcile(sb.store, "Kustomization", "flux-system", "apps")

    def fixed() -> bool:
        crt = get(sb, "Certificate", "kube-system", "kite-tls")
        ready = get_condition(crt.get("status") or {}, "Ready") or {}
        current = ready.get("observedGeneration") == crt["metadata"]["generation"]
        return ready.get("status") == "True" and current

    wait_for(fixed)
    status = get(sb, "Certificate", "kube-system", "kite-tls")["status"]
    assert get_condition(status, "Issuing") is None
    assert [c["type"] for c in status["conditions"]] == ["Ready"]
    for key in ("failedIssuanceAttempts", "lastFailureTime", "nextPrivateKeySecretName"):
        assert key not in status


# --- 3. no credentials in conditions, events and logs -----------------------------------------------


def test_redact_masks_url_userinfo_and_keeps_the_rest() -> None:
    assert redact("unable to clone 'https://deploy:geheim@git.beispiel.de/a.git': x") == (
        "unable to clone 'https://***@git.beispiel.de/a.git': x"
    )
    assert redact("fetch https://ghtoken123@host/repo failed") == "fetch https://***@host/repo failed"
    plain = "stored artifact for revision 'main@sha1:0123456789abcdef0123456789abcdef01234567'"
    assert redact(plain) == plain
    assert redact("Applied revision: main@sha1:abc") == "Applied revision: main@sha1:abc"


def test_source_urls_with_credentials_are_masked_everywhere(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    git_secret, helm_secret = "s3cr3t-Tok3n", "Helm-Geheim-42"
    sb.store.create(
        by_kind("GitRepository"),
        {
            "metadata": {"name": "privat", "namespace": "flux-system"},
            "spec": {
                "url": f"https://deploy:{git_secret}@git.beispiel.de/plattform/privat.git",
                "interval": "1m0s",
                "ref": {"branch": "main"},
            },
        },
    )
    sb.store.create(
        by_kind("HelmRepository"),
        {
            "metadata": {"name": "privat", "namespace": "flux-system"},
            "spec": {"url": f"https://charts:{helm_secret}@charts.beispiel.de/", "interval": "1m0s"},
        },
    )
    wait_for(lambda: cond(sb, "GitRepository", "flux-system", "privat").get("status") == "False")
    wait_for(lambda: cond(sb, "HelmRepository", "flux-system", "privat").get("status") == "False")
    wait_for(
        lambda: (
            sum(
                '"name":"privat"' in line and '"error"' in line
                for line in log_lines(sb, "flux-system", "source-controller")
            )
            >= 2
        )
    )

    git_ready = cond(sb, "GitRepository", "flux-system", "privat")
    assert "https://***@git.beispiel.de/plattform/privat.git" in git_ready["message"]
    statuses = json.dumps(
        [get(sb, k, "flux-system", "privat")["status"] for k in ("GitRepository", "HelmRepository")]
    )
    events, _ = sb.store.list(by_kind("Event"), "flux-system")
    mine = [e for e in events if e["involvedObject"]["name"] == "privat"]
    assert {e["involvedObject"]["kind"] for e in mine} == {"GitRepository", "HelmRepository"}
    logs = [line for line in log_lines(sb, "flux-system", "source-controller") if '"name":"privat"' in line]
    errors = [json.loads(line)["error"] for line in logs if '"error"' in line]
    assert any("https://***@git.beispiel.de" in e for e in errors)
    assert any("https://***@charts.beispiel.de" in e for e in errors)
    for text in (statuses, json.dumps(mine), "\n".join(logs)):
        assert git_secret not in text
        assert helm_secret not in text
        assert "deploy:" not in text and "charts:" not in text


# --- 4. restart on a reused repository: decided within seconds, explained in German ----------------


def _first_run(state: Path, scenario: str) -> str:
    with Sandbox(state, scenario, timing=Timing.fast()) as sb:
        return sb.repo.head()


def _restart(state: Path, scenario: str) -> tuple[float, Sandbox | RunbookError]:
    started = time.monotonic()
    sb = Sandbox(state, scenario, timing=Timing.fast())
    try:
        sb.start()
    except RunbookError as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, sb


def test_reused_repository_with_scenario_commit_fails_fast(tmp_path: Path) -> None:
    state = tmp_path / "state"
    head = _first_run(state, "suspended")
    took, result = _restart(state, "suspended")
    assert isinstance(result, RunbookError), "the scenario cannot be reached twice on one repository"
    assert took < DECIDE_WITHIN
    assert "Szenario 'suspended'" in result.message
    assert "enthält diese Änderung schon" in result.message
    assert result.hint and "--state NEUES_VERZEICHNIS --scenario suspended" in result.hint
    assert "ohne --scenario" in result.hint
    again = Sandbox(state, timing=Timing.fast())
    assert again.repo.head() == head  # nothing rewritten
    assert (state / "checkout" / ".git").exists()


def test_reused_unhealthy_repository_refuses_other_scenario_fast(tmp_path: Path) -> None:
    state = tmp_path / "state"
    head = _first_run(state, "chart-version-missing")
    took, result = _restart(state, "helmrelease-upgrade-failed")
    assert isinstance(result, RunbookError)
    assert took < DECIDE_WITHIN
    assert "nicht angewendet" in result.message
    assert MISSING_CHART in result.message  # what is wrong, from the HelmRelease's Ready message
    assert head[:7] in result.message
    assert result.hint and "leeres Verzeichnis" in result.hint
    assert Sandbox(state, timing=Timing.fast()).repo.head() == head


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [("healthy", "Nicht alle Flux-Objekte sind bereit"), ("chart-version-missing", "bereits den Zustand")],
)
def test_reused_unhealthy_repository_keeps_running_with_a_note(
    tmp_path: Path, scenario: str, expected: str
) -> None:
    state = tmp_path / "state"
    head = _first_run(state, "chart-version-missing")
    took, result = _restart(state, scenario)
    assert isinstance(result, Sandbox)
    try:
        assert took < DECIDE_WITHIN
        assert len(result.notes) == 1 and expected in result.notes[0]
        assert str(result.remote) in result.notes[0]
        assert result.repo.head() == head
        hr = get(result, "HelmRelease", "kube-system", "kite")
        assert REQUESTED_AT not in (hr["metadata"].get("annotations") or {})
    finally:
        result.stop()
