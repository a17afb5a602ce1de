"""The simulator's CRD data against the real CRDs of the pinned Flux and cert-manager releases.

``flux_sandbox/sim/schema/crds.json`` is derived from the real engine's build (its ``manifests/``).
Whenever that build is present, derive again and compare: a bumped release (or a hand edit) shows up
as a difference. Without the build the comparison is skipped, unless ``RUNBOOK_REAL=1``.
"""

from __future__ import annotations

import json
import os

import pytest

from flux_sandbox.real import build, crd_data
from flux_sandbox.real.versions import FLUX_VERSION, cache_dir
from flux_sandbox.sim import schema
from flux_sandbox.sim.controllers import flux_install
from flux_sandbox.sim.resources import CUSTOM_TYPES


def _require_build() -> None:
    if build.is_built():
        return
    if os.environ.get("RUNBOOK_REAL") == "1":
        pytest.fail("RUNBOOK_REAL=1, but the real engine is not built (python -m flux_sandbox.real.build)")
    pytest.skip("real engine not built: `python -m flux_sandbox.real.build`")


def test_derived_data_matches_the_real_crds() -> None:
    _require_build()
    fresh = crd_data.derive(cache_dir())
    committed = schema.data()
    assert fresh["flux"] == committed["flux"] and fresh["components"] == committed["components"]
    by_kind = {c["kind"]: c for c in committed["crds"]}
    for crd in fresh["crds"]:
        assert by_kind.get(crd["kind"]) == crd, (
            f"{crd['kind']}: crds.json differs from the real CRD; run `python -m flux_sandbox.real.crd_data`"
        )
    assert sorted(by_kind) == sorted(c["kind"] for c in fresh["crds"])
    assert json.loads(crd_data.dump(fresh)) == committed


def test_simulator_claims_the_real_engines_release() -> None:
    assert schema.flux_version() == FLUX_VERSION == flux_install.FLUX_VERSION
    deploy = flux_install.controller_deployment(
        "helm-controller", flux_install.CONTROLLERS["helm-controller"]
    )
    assert deploy["metadata"]["labels"]["app.kubernetes.io/version"] == FLUX_VERSION
    image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/fluxcd/helm-controller:{schema.component_version('helm-controller')}"


def test_served_versions_and_columns_come_from_the_crds() -> None:
    types = {rt.kind: rt for rt in CUSTOM_TYPES}
    for crd in schema.crds().values():
        rt = types[crd.kind]
        assert (rt.version, *rt.extra_versions) == crd.served
        assert [c.name for c in rt.columns] == [c["name"] for c in crd.storage.columns]
    assert types["OCIRepository"].extra_versions == ()
    assert types["ExternalArtifact"].short_names == ("ea",)
    stored = flux_install.crd(types["Kustomization"])
    assert stored["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["required"] == [
        "interval",
        "prune",
        "sourceRef",
    ]
