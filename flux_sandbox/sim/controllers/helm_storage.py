"""Helm's release storage as the simulated helm-controller writes it: one Secret
``sh.helm.release.v1.<name>.v<revision>`` of type ``helm.sh/release.v1`` per revision, whose
``release`` key holds base64(gzip(JSON)) (and the wire adds one more base64 layer).

The simulator writes and reads its own storage here on purpose, without the product's decoder
(``runbook_lib.helm``): a fake that shares the client's interpretation could not catch the client's
mistakes. The unit tests decode what this module writes with the product's decoder, which is the
cross-check.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

STORAGE = "sh.helm.release.v1"
SECRET_TYPE = "helm.sh/release.v1"


def encode_release(release: dict[str, Any]) -> str:
    """Helm's own payload: base64(gzip(json)), gzip at best compression (magic ``1f 8b 08``)."""
    raw = json.dumps(release, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode()


def secret_data(release: dict[str, Any]) -> str:
    """What ``data.release`` holds on the wire: base64 of Helm's payload."""
    return base64.b64encode(encode_release(release).encode()).decode()


def read_release(wire: str) -> dict[str, Any]:
    """The release this module wrote into ``data.release`` (two base64 layers, gzip, JSON)."""
    payload = base64.b64decode(base64.b64decode(wire))
    return dict(json.loads(gzip.decompress(payload)))


def secret_name(name: str, revision: int) -> str:
    return f"{STORAGE}.{name}.v{revision}"


def release_secret(
    release: dict[str, Any], *, created_at: int | None = None, modified_at: int | None = None
) -> dict[str, Any]:
    """The Secret Helm's secrets driver writes for ``release`` (wire form)."""
    labels = {
        "owner": "helm",
        "name": release["name"],
        "status": release["info"]["status"],
        "version": str(release["version"]),
    }
    if created_at is not None:
        labels["createdAt"] = str(created_at)
    if modified_at is not None:
        labels["modifiedAt"] = str(modified_at)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": secret_name(release["name"], release["version"]),
            "namespace": release["namespace"],
            "labels": labels,
        },
        "data": {"release": secret_data(release)},
    }


def helm_now() -> str:
    """A timestamp as Helm writes ``info.last_deployed`` (RFC 3339 with nanoseconds)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"
