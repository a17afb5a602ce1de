"""The audit's pure rules from fixture dicts: each best practice, kept and broken, and the CI verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook_lib.audit import AuditFailed, interpret, thresholds
from runbook_lib.audit.gather import AuditInput, RepoFacts
from runbook_lib.audit.rules import (
    Commit,
    Manifest,
    Thresholds,
    commit_findings,
    image_findings,
    image_tag,
    interval_findings,
    remediation_findings,
    resource_findings,
    suspended_findings,
)
from runbook_lib.diagnose.model import ERROR, INFO, WARNING
from runbook_lib.errors import UsageError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMITS = Thresholds()
INDEX = {
    ("Deployment", "", "whoami"): Manifest("clusters/orbstack/apps/whoami/deployment.yaml", 2),
    ("HelmRelease", "kube-system", "kite"): Manifest("clusters/orbstack/apps/kite/helmrelease.yaml", 1),
}


def deployment(
    name: str = "whoami",
    namespace: str = "default",
    *,
    resources: dict[str, Any] | None = None,
    image: str = "traefik/whoami:v1.10.3",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    container = {"name": name, "image": image, "resources": resources or {}}
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


FULL = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
HELM = {"helm.toolkit.fluxcd.io/name": "kite", "helm.toolkit.fluxcd.io/namespace": "kube-system"}


def test_workload_without_limits_names_container_file_and_manager() -> None:
    labels = {
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    }
    [found] = resource_findings([deployment(labels=labels), deployment("ok", resources=FULL)], INDEX)
    assert found.severity == WARNING
    assert found.subject == "Deployment default/whoami"
    assert found.title == "Keine Resource-Limits und Requests"
    assert "Container whoami: ohne Requests und Limits" in found.evidence
    assert "Definiert in clusters/orbstack/apps/whoami/deployment.yaml:2" in found.evidence
    assert "Angewendet von Kustomization flux-system/apps" in found.evidence
    assert "`clusters/orbstack/apps/whoami/deployment.yaml:2`" in found.next_step
    assert found.command.startswith("kubectl get deployment whoami -n default -o jsonpath=")


def test_only_limits_missing_and_a_helm_rendered_workload_points_to_the_values() -> None:
    obj = deployment("kite", "kube-system", resources={"requests": {"cpu": "1m"}}, labels=HELM)
    [found] = resource_findings([obj], INDEX)
    assert found.title == "Keine Resource-Limits"
    assert "Werte der HelmRelease in clusters/orbstack/apps/kite/helmrelease.yaml:1" in found.evidence
    assert found.next_step.startswith("In den `values` der HelmRelease in `clusters/orbstack/apps/kite/")


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", ""),
        ("nginx:latest", "latest"),
        ("localhost:5000/team/app", ""),
        ("localhost:5000/team/app:1.2", "1.2"),
        ("ghcr.io/x/y@sha256:" + "a" * 64, "@sha256"),
        ("traefik/whoami:v1.10.3", "v1.10.3"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_latest_and_untagged_images_are_errors_pinned_ones_are_not() -> None:
    found = image_findings(
        [deployment("a", image="nginx:latest"), deployment("b", image="nginx"), deployment("c")], INDEX
    )
    assert [(f.subject, f.severity) for f in found] == [
        ("Deployment default/a", ERROR),
        ("Deployment default/b", ERROR),
    ]
    assert "Container a: image: nginx:latest" in found[0].evidence


def suspended(minutes_ago: int | None) -> dict[str, Any]:
    fields = []
    if minutes_ago is not None:
        when = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = [
            {"manager": "flux", "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:spec": {"f:interval": {}}}},
            {"manager": "flux", "time": when, "fieldsV1": {"f:spec": {"f:suspend": {}}}},
        ]
    return {
        "kind": "HelmRelease",
        "metadata": {"name": "kite", "namespace": "kube-system", "managedFields": fields},
        "spec": {"suspend": True},
    }


def test_suspended_longer_than_the_threshold_is_a_warning_with_the_time_it_was_set() -> None:
    [old] = suspended_findings([suspended(3 * 24 * 60)], NOW, LIMITS)
    assert old.severity == WARNING and old.title == "Seit langem ausgesetzt"
    assert "gesetzt vor 3 Tagen (2026-11-28 12:00 UTC)" in old.evidence
    assert old.command == "flux resume helmrelease kite -n kube-system"
    [young] = suspended_findings([suspended(30)], NOW, LIMITS)
    assert young.severity == INFO
    [unknown] = suspended_findings([suspended(None)], NOW, LIMITS)
    assert unknown.severity == INFO and "keine managedFields" in unknown.evidence
    assert suspended_findings([{**suspended(9999), "spec": {"suspend": False}}], NOW, LIMITS) == []


def release(**spec: Any) -> dict[str, Any]:
    return {"kind": "HelmRelease", "metadata": {"name": "kite", "namespace": "kube-system"}, "spec": spec}


def test_remediation_missing_is_a_warning_and_endless_retries_an_error() -> None:
    good = release(upgrade={"remediation": {"retries": 2, "strategy": "rollback"}})
    assert remediation_findings([good], INDEX) == []
    [missing] = remediation_findings([release()], INDEX)
    assert (missing.severity, missing.title) == (WARNING, "Keine Upgrade-Remediation")
    endless = release(install={"remediation": {"retries": -1}}, upgrade={"remediation": {"retries": -1}})
    [error] = remediation_findings([endless], INDEX)
    assert error.severity == ERROR and error.title == "Unbegrenzte Wiederholungen"
    assert "spec.install.remediation.retries: -1\nspec.upgrade.remediation.retries: -1" in error.evidence


def source(interval: str | None, kind: str = "GitRepository", **spec: Any) -> dict[str, Any]:
    body = {"interval": interval, **spec} if interval is not None else dict(spec)
    return {"kind": kind, "metadata": {"name": "flux-system", "namespace": "flux-system"}, "spec": body}


def test_intervals_too_short_too_long_or_missing() -> None:
    assert interval_findings([source("1m"), source("1h0m0s", "HelmRepository")], LIMITS) == []
    titles = [
        f.title for f in interval_findings([source("10s"), source("48h"), source(None), source("0s")], LIMITS)
    ]
    assert titles == [
        "Quelle wird zu oft abgefragt",
        "Quelle wird selten abgefragt",
        "Quelle wird nie abgefragt",
        "Quelle wird nie abgefragt",
    ]
    # an OCI HelmRepository is not polled at all
    assert interval_findings([source(None, "HelmRepository", type="oci")], LIMITS) == []


def test_generic_commit_messages_are_one_warning_listing_them() -> None:
    commits = [
        Commit("a" * 40, "kite: Image-Tag auf v0.6.3 anheben", "Ana", "2026-11-30"),
        Commit("b" * 40, "fix", "Bo", "2026-11-30"),
        Commit("c" * 40, "Update config", "Bo", "2026-11-29"),
    ]
    [found] = commit_findings(commits, "main")
    assert found.severity == WARNING
    assert found.cause.startswith("2 von 3 geprüften Commits auf `main`")
    assert found.evidence.splitlines() == [
        "bbbbbbb 2026-11-30 Bo: „fix“",
        "ccccccc 2026-11-29 Bo: „Update config“",
    ]
    assert commit_findings(commits[:1], "main") == []


def test_interpret_groups_by_practice_and_check_fails_only_on_errors() -> None:
    repo = RepoFacts("/repo", "main", INDEX, (Commit("a" * 40, "wip", "Bo", "2026-11-30"),), ("x.yaml",), 1)
    data = AuditInput(
        workloads=(deployment(),),
        flux_objects=(release(upgrade={"remediation": {"retries": 2}}), source("5m")),
        now=NOW,
        repo=repo,
    )
    result = interpret(data, LIMITS)
    rows = {c.practice: c.result() for c in result.checks}
    assert rows["Ressourcenlimits"] == "⚠ 1 Warnung"
    assert rows["Feste Image-Tags"] == "✔ in Ordnung"
    assert rows["Beschreibende Commit-Messages"] == "⚠ 1 Warnung"
    assert rows["Immer committen und pushen"] == "⚠ 1 Warnung"
    assert result.check() == "⚠ Audit: 3 Warnungen."
    assert {v.outcome for v in result.verdicts()} == {"warning"}
    text = str(result)
    assert text.startswith("⚠ Audit: 3 Warnungen.")
    assert "1 Commit nicht gepusht" in text and "Nicht committet: x.yaml" in text

    broken = interpret(AuditInput(workloads=(deployment(image="nginx"),), flux_objects=(), now=NOW), LIMITS)
    with pytest.raises(
        AuditFailed, match=r"Audit: 1 Fehler: Deployment default/whoami: Image ohne festen Tag"
    ):
        broken.check()
    assert "nicht geprüft: kein `repo_path` angegeben" in str(broken)
    assert 'class="failing"' in broken._repr_html_()


def test_unreadable_parts_are_named_not_checked() -> None:
    data = AuditInput(workloads=(), flux_objects=(), now=NOW, skipped=("Deployments: Keine Rechte.",))
    result = interpret(data, LIMITS)
    assert next(c for c in result.checks if c.practice == "Ressourcenlimits").result() == (
        "nicht geprüft: Keine Rechte."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fünf", "1m", "24h"), "Ungültige Dauer 'fünf' für suspended_for"),
        (("24h", "2h", "1h"), "min_interval (2h) ist größer als max_interval (1h)"),
        (("24h", "-1m", "1h"), "muss größer als null sein"),
    ],
)
def test_bad_thresholds_are_usage_errors(args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        thresholds(*args)
