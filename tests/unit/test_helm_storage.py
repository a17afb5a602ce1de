"""Helm release storage: Helm's encoding, the extra base64 layer of Secret data, helm list and history."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from flux_sandbox.sim.controllers import helm_storage
from runbook_lib import helm


def release(
    name: str = "kite",
    version: int = 1,
    status: str = "deployed",
    ns: str = "kube-system",
    last: str = "2025-01-02T15:04:05.123456789Z",
) -> dict:
    return {
        "name": name,
        "namespace": ns,
        "version": version,
        "info": {
            "first_deployed": "2025-01-01T10:00:00Z",
            "last_deployed": last,
            "deleted": "",
            "description": "Install complete",
            "status": status,
            "notes": "",
        },
        "chart": {"metadata": {"name": "kite", "version": "0.6.3", "appVersion": "v0.6.3"}},
        "config": {"image": {"tag": "v0.6.3"}},
        "manifest": "---\nkind: Deployment\n",
        "hooks": [],
    }


def test_encode_is_base64_of_best_compression_gzip_json() -> None:
    payload = base64.b64decode(helm_storage.encode_release(release()))
    assert payload[:3] == b"\x1f\x8b\x08"
    assert payload[8] == 2  # XFL: best compression, as Go's gzip.BestCompression writes
    assert json.loads(gzip.decompress(payload))["name"] == "kite"


def test_secret_data_is_double_base64_and_round_trips() -> None:
    wire = helm_storage.secret_data(release())
    once = base64.b64decode(wire)
    assert once.startswith(b"H4sI")  # base64 of the gzip magic: Helm's payload inside Secret data
    assert helm.decode_release(wire) == release()
    assert helm.decode_release(once) == release()  # what the Go client sees (one layer)


def test_decode_accepts_uncompressed_legacy_releases() -> None:
    legacy = base64.b64encode(base64.b64encode(json.dumps(release()).encode())).decode()
    assert helm.decode_release(legacy)["version"] == 1


def test_decode_rejects_garbage_in_german() -> None:
    with pytest.raises(helm.ReleaseDecodeError, match="base64"):
        helm.decode_release("not base64 !!")


def test_release_secret_matches_helm_driver() -> None:
    secret = helm_storage.release_secret(release(version=3, status="failed"), created_at=1700000000)
    assert secret["metadata"]["name"] == "sh.helm.release.v1.kite.v3"
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"] == {
        "owner": "helm",
        "name": "kite",
        "status": "failed",
        "version": "3",
        "createdAt": "1700000000",
    }
    assert helm.records_from_secrets([secret])[0].status == "failed"


def test_history_of_one_release_oldest_first_to_the_second() -> None:
    secrets = [
        helm_storage.release_secret(r)
        for r in (
            release(version=2, status="failed"),
            release(version=1, status="superseded"),
            release("cert-manager", 1, "deployed", "cert-manager"),
        )
    ]
    records = helm.records_from_secrets([*secrets, {"type": "Opaque", "data": {}}])
    hist = helm.release_history(records, "kite", "kube-system")
    assert [r.revision for r in hist.revisions] == [1, 2]
    assert hist.rows()[0] == (
        "1",
        "2025-01-02T15:04:05Z",
        "superseded",
        "kite-0.6.3",
        "v0.6.3",
        "Install complete",
    )
    assert hist.marks() == ["", "failing"]
    assert str(hist).splitlines()[0].split() == [
        "REVISION",
        "UPDATED",
        "STATUS",
        "CHART",
        "APP",
        "VERSION",
        "DESCRIPTION",
    ]
    assert "failing" in hist._repr_html_() and hist.command in hist._repr_html_()
    assert "Keine Helm-Release-Secrets" in str(helm.release_history(records, "nope", "kube-system"))


def test_a_secret_that_does_not_decode_is_skipped_and_named() -> None:
    import base64

    from runbook_lib.helm import records_from_secrets

    good = records_from_secrets([_secret_for_skip_test(1)])
    bad = {
        "type": "helm.sh/release.v1",
        "metadata": {"namespace": "kube-system", "name": "sh.helm.release.v1.x.v9"},
        "data": {"release": base64.b64encode(b"not a release").decode()},
    }
    skipped: list[str] = []
    records = records_from_secrets([_secret_for_skip_test(1), bad], skipped)
    assert len(records) == len(good) == 1
    assert skipped == ["kube-system/sh.helm.release.v1.x.v9"]


def _secret_for_skip_test(version: int) -> dict:
    from flux_sandbox.sim.controllers.helm_storage import release_secret

    release = {
        "name": "kite",
        "namespace": "kube-system",
        "version": version,
        "info": {
            "status": "deployed",
            "first_deployed": "2026-01-01T00:00:00Z",
            "last_deployed": "2026-01-01T00:00:00Z",
            "description": "Install complete",
        },
        "chart": {"metadata": {"name": "kite", "version": "0.6.3", "appVersion": "v0.6.3"}},
        "manifest": "",
        "config": {},
    }
    return release_secret(release)


def test_records_name_the_images_of_the_rendered_manifest() -> None:
    manifest = (
        "---\n# Source: kite/templates/deployment.yaml\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: kite\n        image: ghcr.io/zxh326/kite:v0.7.0\n"
        '      - name: side\n        image: "busybox:1.36"  # sidecar\n'
        "      initContainers:\n        - image: 'ghcr.io/zxh326/kite:v0.7.0'\n"
    )
    assert helm.manifest_images(manifest) == ("ghcr.io/zxh326/kite:v0.7.0", "busybox:1.36")
    assert helm.record_from_release(dict(release(), manifest=manifest)).images == (
        "ghcr.io/zxh326/kite:v0.7.0",
        "busybox:1.36",
    )
    assert helm.manifest_images("") == ()
