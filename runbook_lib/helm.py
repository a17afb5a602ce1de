"""Helm release storage: decode the release Secrets, and ``helm history`` from them.

Helm stores each release revision in a Secret ``sh.helm.release.v1.<name>.v<revision>`` of type
``helm.sh/release.v1`` whose ``release`` key holds base64(gzip(JSON)). Secret ``data`` is base64 on the
wire once more, so what the Python client returns is base64(base64(gzip(json))). Old releases may be
uncompressed. Everything here is pure; reading the Secrets is the diagnosis's gathering step.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

from runbook_lib.durations import whole_seconds
from runbook_lib.errors import RunbookError
from runbook_lib.report import Rendered, dedupe, html_table, text_table

STORAGE = "sh.helm.release.v1"
SECRET_TYPE = "helm.sh/release.v1"
GZIP_MAGIC = b"\x1f\x8b\x08"


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
    #: the container images the revision's manifest names (what it rolled out or tried to)
    images: tuple[str, ...] = ()


#: ``image: ghcr.io/x/y:tag`` lines of a rendered manifest (plain or quoted, in a list or not)
_IMAGE_LINE = re.compile(r"""^\s*(?:-\s+)?image:\s*["']?([^"'\s#]+)""", re.MULTILINE)


def manifest_images(manifest: str) -> tuple[str, ...]:
    """The distinct container images a rendered manifest names, in order of appearance (pure)."""
    return tuple(dict.fromkeys(_IMAGE_LINE.findall(manifest or "")))


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
        images=manifest_images(str(release.get("manifest") or "")),
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


#: the columns of ``helm history``
HISTORY_HEADERS = ("REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION")
#: revisions shown: ``helm history --max``'s default
HISTORY_MAX = 256


@dataclass(frozen=True)
class ReleaseHistory(Rendered):
    """``helm history NAME -n NS`` read from the release Secrets: the revisions, oldest first.

    The one rendering of a Helm history: it prints itself, and the HelmRelease diagnosis puts
    :meth:`rows` and :meth:`marks` into its evidence table. Times are cut to the second, and an error
    that Helm wrapped twice at the end of a description is shown once.
    """

    name: str
    namespace: str
    revisions: tuple[ReleaseRecord, ...]

    @property
    def command(self) -> str:
        return f"helm history {self.name} -n {self.namespace}"

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                str(r.revision),
                whole_seconds(r.updated),
                r.status,
                r.chart,
                r.app_version,
                dedupe(r.description),
            )
            for r in self.revisions
        ]

    def marks(self) -> list[str]:
        """Per row: ``failing`` for a failed revision."""
        return ["failing" if r.status == "failed" else "" for r in self.revisions]

    def _empty(self) -> str:
        return f"Keine Helm-Release-Secrets zu {self.namespace}/{self.name} gefunden."

    def __str__(self) -> str:
        if not self.revisions:
            return self._empty()
        return text_table(list(HISTORY_HEADERS), [list(row) for row in self.rows()])

    def _repr_html_(self) -> str:
        if not self.revisions:
            return f"<p><i>{escape(self._empty())}</i></p>"
        rows = [list(row) for row in self.rows()]
        return html_table(list(HISTORY_HEADERS), rows, row_classes=self.marks(), caption=self.command)


def release_history(
    records: Iterable[ReleaseRecord], name: str, namespace: str, *, max_: int = HISTORY_MAX
) -> ReleaseHistory:
    """The history of release ``namespace/name`` among ``records`` (the newest ``max_`` revisions)."""
    revs = sorted(
        (r for r in records if r.name == name and r.namespace == namespace), key=lambda r: r.revision
    )
    return ReleaseHistory(name, namespace, tuple(revs[-max_:]))


# --- gather --------------------------------------------------------------------------------------------
