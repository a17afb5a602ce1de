"""Which Flux objects changed files affect: parsing a real repository at HEAD, and the pure rule."""

from __future__ import annotations

from pathlib import Path

import git as gitpython
import pytest
from gitworld import KITE_FILE, World

from runbook_lib.gitops.affected import (
    FluxObject,
    affected_by,
    find_affected,
    parse_manifest,
    resolve_namespaces,
    scan_flux_objects,
)

pytestmark = pytest.mark.git


def test_scan_finds_flux_kustomizations_and_helmreleases_only(alice: Path) -> None:
    objects = {(o.kind, o.namespace, o.name, o.path) for o in scan_flux_objects(gitpython.Repo(alice))}
    assert objects == {
        ("Kustomization", "flux-system", "flux-system", "clusters/orbstack"),
        ("Kustomization", "flux-system", "infrastructure", "clusters/orbstack/infrastructure"),
        ("Kustomization", "flux-system", "apps", "clusters/orbstack/apps"),
        ("HelmRelease", "cert-manager", "cert-manager", None),
        ("HelmRelease", "kube-system", "kite", None),
    }


def test_scan_reads_the_committed_revision_not_the_working_tree(world: World, alice: Path) -> None:
    (alice / "clusters/orbstack/apps/new.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: draft\n"
    )
    names = {o.name for o in scan_flux_objects(gitpython.Repo(alice))}
    assert "draft" not in names and "kite" in names


def test_changed_file_affects_path_kustomizations_root_first_and_its_helmrelease(alice: Path) -> None:
    affected = find_affected(gitpython.Repo(alice), [KITE_FILE])
    assert [(a.kind, a.name) for a in affected] == [
        ("Kustomization", "flux-system"),
        ("Kustomization", "apps"),
        ("HelmRelease", "kite"),
    ]
    assert affected[-1].ref == "HelmRelease kube-system/kite"
    assert "definiert in" in affected[-1].reason


def test_file_outside_any_kustomization_affects_nothing(alice: Path) -> None:
    assert find_affected(gitpython.Repo(alice), ["README.md"]) == ()


def test_target_namespace_and_root_path() -> None:
    objects = [
        FluxObject(kind="Kustomization", name="root", namespace="flux-system", file="sync.yaml", path=""),
        FluxObject(
            kind="Kustomization",
            name="apps",
            namespace="flux-system",
            file="apps.yaml",
            path="apps",
            target_namespace="team-a",
        ),
        FluxObject(kind="HelmRelease", name="web", namespace="", file="apps/web.yaml"),
    ]
    resolved = resolve_namespaces(objects)
    assert resolved[2].namespace == "team-a"
    affected = affected_by(resolved, ["./apps/web.yaml"])
    assert [(a.kind, a.name, a.namespace) for a in affected] == [
        ("Kustomization", "root", "flux-system"),
        ("Kustomization", "apps", "flux-system"),
        ("HelmRelease", "web", "team-a"),
    ]


def test_path_prefix_is_a_directory_boundary() -> None:
    objects = [
        FluxObject(kind="Kustomization", name="app", namespace="flux-system", file="k.yaml", path="apps/kite")
    ]
    assert affected_by(objects, ["apps/kite-extra/hr.yaml"]) == ()
    assert len(affected_by(objects, ["apps/kite/hr.yaml"])) == 1


def test_unparseable_manifest_defines_nothing() -> None:
    assert parse_manifest("bad.yaml", "a: [1, 2\n") == []
    assert parse_manifest("list.yaml", "- 1\n- 2\n") == []
