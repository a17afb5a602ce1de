"""The dry-run diff's pure parts: what is compared, how Secrets are masked, how files are rendered as Flux
applies them, and the refusal when an object changed during its dry run."""

from __future__ import annotations

from typing import Any

import pytest

from runbook_lib import drift
from runbook_lib.drift import (
    CHANGED,
    CREATED,
    REFUSED,
    DryRunDiff,
    DryRunWrote,
    ObjectDiff,
    comparable,
    object_diff,
)
from runbook_lib.gitops.affected import FluxObject
from runbook_lib.gitops.cluster_preview import owner_of, render_files

LIVE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "db",
        "namespace": "default",
        "resourceVersion": "7",
        "uid": "u",
        "generation": 1,
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "kubectl"}],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{secret}"},
    },
    "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
    "status": {"x": 1},
}


def test_comparable_drops_bookkeeping_and_masks_secret_values() -> None:
    out = comparable(LIVE)
    assert out["metadata"] == {"name": "db", "namespace": "default"}
    assert "status" not in out
    assert out["data"] == {"password": "****", "user": "****"}
    assert LIVE["data"]["password"] == "aHVudGVyMg=="  # the input is not changed


def test_secret_diff_shows_which_value_changes_never_the_value() -> None:
    result = {**LIVE, "data": {"password": "bmV1", "user": "YWRtaW4="}}
    text = object_diff("Secret default/db", LIVE, result)
    assert "-  password: '****'" in text
    assert "+  password: '**** (geändert)'" in text
    assert "user" not in [line[1:].strip().split(":")[0] for line in text.splitlines() if line[:1] in "+-"]
    assert "aHVudGVyMg" not in text and "bmV1" not in text and "hunter2" not in text


def test_unchanged_object_has_an_empty_diff_and_a_new_one_diffs_against_nothing() -> None:
    assert (
        object_diff(
            "Secret default/db", LIVE, {**LIVE, "metadata": {**LIVE["metadata"], "resourceVersion": "8"}}
        )
        == ""
    )
    created = object_diff("ConfigMap default/x", None, {"kind": "ConfigMap", "metadata": {"name": "x"}})
    assert created.startswith("--- /dev/null\n+++ nach dem Apply: ConfigMap default/x")


def test_result_headline_and_order() -> None:
    result = DryRunDiff(
        objects=(
            ObjectDiff("A", REFUSED, message="422"),
            ObjectDiff("B", CREATED, "+x"),
            ObjectDiff("C", CHANGED, "~"),
        )
    )
    assert result.headline() == "✗ 3 Objekte: 1 abgelehnt, 1 neu, 1 geändert"
    unsupported = DryRunDiff(
        supported=False, reason="der API-Server lehnt `dryRun=All` ab", fallback="diff --git a b"
    )
    assert str(unsupported).splitlines()[1:] == [
        "⚠ Kein Probelauf auf dem Cluster möglich: der API-Server lehnt `dryRun=All` ab",
        "Stattdessen der Diff in Git:",
        "diff --git a b",
    ]


FLUX = [
    FluxObject(
        kind="Kustomization",
        name="flux-system",
        namespace="flux-system",
        file="clusters/c/flux-system/gotk-sync.yaml",
        path="clusters/c",
    ),
    FluxObject(
        kind="Kustomization",
        name="apps",
        namespace="flux-system",
        file="clusters/c/apps.yaml",
        path="clusters/c/apps",
        target_namespace="team-a",
    ),
]


def test_the_deepest_kustomization_applies_a_file() -> None:
    owner = owner_of("clusters/c/apps/web/deploy.yaml", FLUX)
    assert owner is not None and owner.name == "apps"
    assert owner_of("README.md", FLUX) is None


def test_render_adds_flux_labels_target_namespace_and_notes_transformers() -> None:
    files = {
        "clusters/c/apps/web/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
        "clusters/c/apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n",
        "docs/readme.yaml": "a: 1\n",
    }
    others = {"clusters/c/apps/web/kustomization.yaml": "resources: [deploy.yaml]\nnamePrefix: x-\n"}
    rendered = render_files(files, FLUX, others.get)
    [obj] = rendered.objects
    assert obj["metadata"]["namespace"] == "team-a"
    assert obj["metadata"]["labels"] == {
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    }
    assert any("namePrefix" in n and "nicht angewendet" in n for n in rendered.notes)
    assert any(
        n.startswith("docs/readme.yaml: liegt unter keinem Kustomization-Pfad") for n in rendered.notes
    )


def test_a_write_during_the_dry_run_stops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    before: dict[str, Any] = {
        "kind": "ConfigMap",
        "metadata": {"name": "x", "resourceVersion": "1"},
        "data": {"a": "1"},
    }
    after = {"kind": "ConfigMap", "metadata": {"name": "x", "resourceVersion": "2"}, "data": {"a": "2"}}
    monkeypatch.setattr(drift, "api_get", lambda *a, **k: after)
    with pytest.raises(DryRunWrote, match=r"ConfigMap default/x hat sich während des Probelaufs verändert"):
        drift._require_unwritten(None, "/p", "ConfigMap default/x", before)  # type: ignore[arg-type]
    # a status write by the controller (new resourceVersion, same content) is not the dry run
    status_only = {**before, "metadata": {**before["metadata"], "resourceVersion": "3"}, "status": {"ok": 1}}
    monkeypatch.setattr(drift, "api_get", lambda *a, **k: status_only)
    drift._require_unwritten(None, "/p", "ConfigMap default/x", before)  # type: ignore[arg-type]
    # an object that appears although it was only dry-run created
    monkeypatch.setattr(drift, "api_get", lambda *a, **k: after)
    with pytest.raises(DryRunWrote):
        drift._require_unwritten(None, "/p", "ConfigMap default/x", None)  # type: ignore[arg-type]
