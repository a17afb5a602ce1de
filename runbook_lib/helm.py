"""Helm release storage: decode the release Secrets for ``helm list -A`` and ``helm history``.

Helm stores each release revision in a Secret ``sh.helm.release.v1.<name>.v<revision>`` of type
``helm.sh/release.v1`` whose ``release`` key holds base64(gzip(JSON)). Secret ``data`` is base64 on the
wire once more, so what the Python client returns is base64(base64(gzip(json))). Old releases may be
uncompressed. Everything here is pure except :func:`gather_releases`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runbook_lib.errors import RunbookError, from_api_exception
from runbook_lib.report import Rendered, html_table

if TYPE_CHECKING:
    from runbook_lib.cluster import Cluster

STORAGE = "sh.helm.release.v1"
SECRET_TYPE = "helm.sh/release.v1"
GZIP_MAGIC = b"\x1f\x8b\x08"
#: helm list's default state mask (deployed | failed); the rest needs ``--all``
DEFAULT_STATES = frozenset({"deployed", "failed"})


class ReleaseDecodeError(RunbookError):
    """A release Secret's payload is not what Helm writes."""


# --- encode / decode --------------------------------------------------------------------------------


def decode_release(value: str | bytes) -> dict[str, Any]:
    """Decode ``data.release`` as the REST API returns it (two base64 layers) or as Go sees it (one)."""
    data = value.encode() if isinstance(value, str) else value
    for _ in range(3):
        if data[:3] == GZIP_MAGIC:
            data = gzip.decompress(data)
        if data.lstrip()[:1] == b"{":
            try:
                result = json.loads(data)
            except ValueError as exc:
                raise ReleaseDecodeError(f"Helm-Release-Daten sind kein gültiges JSON: {exc}") from exc
            return dict(result)
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ReleaseDecodeError(f"Helm-Release-Daten sind nicht base64-kodiert: {exc}") from exc
    raise ReleaseDecodeError("Helm-Release-Daten haben ein unbekanntes Format.")


def secret_name(name: str, revision: int) -> str:
    return f"{STORAGE}.{name}.v{revision}"


# --- time formats --------------------------------------------------------------------------------------

_FRACTION = re.compile(r"\.(\d+)")


def _parse(ts: str) -> tuple[datetime, str] | None:
    if not ts:
        return None
    frac = _FRACTION.search(ts)
    digits = frac.group(1) if frac else ""
    plain = _FRACTION.sub("", ts, count=1).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(plain), digits
    except ValueError:
        return None


def go_time(ts: str) -> str:
    """Go's ``time.Time.String()``: ``2025-01-02 15:04:05.123456789 +0000 UTC``; ``-`` when unset."""
    parsed = _parse(ts)
    if parsed is None or parsed[0].year <= 1:
        return "-"
    dt, digits = parsed
    frac = f".{digits.rstrip('0')}" if digits.rstrip("0") else ""
    offset = dt.strftime("%z") or "+0000"
    zone = "UTC" if offset == "+0000" else offset
    return f"{dt.strftime('%Y-%m-%d %H:%M:%S')}{frac} {offset} {zone}"


def ansic_time(ts: str) -> str:
    """``helm history``'s UPDATED column: Go's ANSIC layout ``Mon Jan  2 15:04:05 2006``."""
    parsed = _parse(ts)
    if parsed is None:
        return "-"
    dt = parsed[0]
    return f"{dt.strftime('%a %b')} {dt.day:>2} {dt.strftime('%H:%M:%S %Y')}"


# --- interpret ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRecord:
    """One stored release revision, as ``helm list``/``helm history`` see it."""

    name: str
    namespace: str
    revision: int
    updated: str
    status: str
    chart: str
    app_version: str
    description: str = ""

    @property
    def updated_text(self) -> str:
        return go_time(self.updated)


def record_from_release(release: dict[str, Any]) -> ReleaseRecord:
    info = release.get("info") or {}
    meta = (release.get("chart") or {}).get("metadata")
    chart = f"{meta.get('name')}-{meta.get('version')}" if meta else "MISSING"
    return ReleaseRecord(
        name=release.get("name", ""),
        namespace=release.get("namespace", ""),
        revision=int(release.get("version", 0)),
        updated=info.get("last_deployed", ""),
        status=info.get("status", "unknown"),
        chart=chart,
        app_version=(meta or {}).get("appVersion", ""),
        description=info.get("description", ""),
    )


def records_from_secrets(
    secrets: list[dict[str, Any]], skipped: list[str] | None = None
) -> list[ReleaseRecord]:
    """Decode every Helm release Secret (others are ignored).

    A Secret that does not decode is skipped, as Helm's storage driver does (``failed to decode
    release``); its ``namespace/name`` goes into ``skipped`` when a list is given.
    """
    out = []
    for secret in secrets:
        if secret.get("type") != SECRET_TYPE or "release" not in (secret.get("data") or {}):
            continue
        try:
            out.append(record_from_release(decode_release(secret["data"]["release"])))
        except ReleaseDecodeError:
            if skipped is not None:
                meta = secret.get("metadata") or {}
                skipped.append(f"{meta.get('namespace', '')}/{meta.get('name', '')}")
    return out


LIST_HEADERS = ["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"]
HISTORY_HEADERS = ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]


def uitable(headers: list[str], rows: list[list[str]]) -> str:
    """Helm's uitable output: cells padded to the column width, separated by a tab."""
    cells = [headers, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("\t".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


@dataclass(frozen=True)
class HelmList(Rendered):
    """The result of ``helm list``."""

    releases: tuple[ReleaseRecord, ...]

    def rows(self) -> list[list[str]]:
        return [
            [r.name, r.namespace, str(r.revision), r.updated_text, r.status, r.chart, r.app_version]
            for r in self.releases
        ]

    def __str__(self) -> str:
        return uitable(LIST_HEADERS, self.rows())

    def _repr_html_(self) -> str:
        classes = ["failing" if r.status == "failed" else "" for r in self.releases]
        return html_table(LIST_HEADERS, self.rows(), row_classes=classes, caption="helm list")


def helm_list(
    records: list[ReleaseRecord], *, all_states: bool = False, namespace: str | None = None
) -> HelmList:
    """``helm list [-A] [--all]``: latest revision per release, default state mask, sorted by name."""
    latest: dict[tuple[str, str], ReleaseRecord] = {}
    for rec in records:
        if namespace and rec.namespace != namespace:
            continue
        key = (rec.namespace, rec.name)
        if key not in latest or rec.revision > latest[key].revision:
            latest[key] = rec
    chosen = [r for r in latest.values() if all_states or r.status in DEFAULT_STATES]
    return HelmList(tuple(sorted(chosen, key=lambda r: (r.name, r.namespace))))


@dataclass(frozen=True)
class ReleaseHistory(Rendered):
    """The result of ``helm history NAME -n NS``: revisions oldest first."""

    name: str
    namespace: str
    revisions: tuple[ReleaseRecord, ...]

    def rows(self) -> list[list[str]]:
        return [
            [str(r.revision), ansic_time(r.updated), r.status, r.chart, r.app_version, r.description]
            for r in self.revisions
        ]

    def __str__(self) -> str:
        return uitable(HISTORY_HEADERS, self.rows())

    def _repr_html_(self) -> str:
        classes = ["failing" if r.status == "failed" else "" for r in self.revisions]
        return html_table(
            HISTORY_HEADERS,
            self.rows(),
            row_classes=classes,
            caption=f"helm history {self.name} -n {self.namespace}",
        )


def release_history(
    records: list[ReleaseRecord], name: str, namespace: str, *, max_: int = 256
) -> ReleaseHistory:
    revs = sorted(
        (r for r in records if r.name == name and r.namespace == namespace), key=lambda r: r.revision
    )
    return ReleaseHistory(name, namespace, tuple(revs[-max_:]))


# --- gather --------------------------------------------------------------------------------------------


def gather_releases(*, namespace: str | None = None, client: Cluster | None = None) -> list[ReleaseRecord]:
    """Read every Helm release Secret (``owner=helm``) of the cluster, or of one namespace, and decode it."""
    from kubernetes.client import ApiException

    from runbook_lib.cluster import default_cluster

    cluster = default_cluster(client)
    resp: Any
    try:
        if namespace:
            resp = cluster.core.list_namespaced_secret(
                namespace, label_selector="owner=helm", _preload_content=False
            )
        else:
            resp = cluster.core.list_secret_for_all_namespaces(
                label_selector="owner=helm", _preload_content=False
            )
    except ApiException as exc:
        raise from_api_exception(
            exc, f"Helm-Release-Secrets{f' in {namespace}' if namespace else ''}"
        ) from exc
    return records_from_secrets(json.loads(resp.data).get("items") or [])
