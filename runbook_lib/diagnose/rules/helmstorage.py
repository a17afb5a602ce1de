"""Interpretation of the Helm storage of a release (docs/flux-facts.md §9, pure).

Records are :class:`runbook_lib.helm.ReleaseRecord` (what ``helm history`` shows per revision).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from runbook_lib.diagnose.common import Obj, sync_command
from runbook_lib.diagnose.model import ERROR, WARNING, Finding
from runbook_lib.durations import whole_seconds
from runbook_lib.helm import ReleaseRecord
from runbook_lib.objects import is_true, meta, spec, status
from runbook_lib.report import dedupe

GOOD_STATES = ("deployed", "superseded")
#: why `helm rollback` is not the fix under GitOps (shown with every failing release)
GITOPS_NOTE = (
    "Unter GitOps ist die Behebung ein Commit (oder das Runbook `rollback`): `helm rollback` würde "
    "Flux beim nächsten Abgleich wieder rückgängig machen, weil Git weiter den fehlerhaften Stand "
    "beschreibt."
)


def release_name(hr: Obj) -> str:
    """``spec.releaseName``, else ``<targetNamespace>-<name>``, else the HelmRelease name."""
    sp = spec(hr)
    if sp.get("releaseName"):
        return str(sp["releaseName"])
    name = str(meta(hr).get("name", ""))
    return f"{sp['targetNamespace']}-{name}" if sp.get("targetNamespace") else name


def release_namespace(hr: Obj) -> str:
    return str(spec(hr).get("targetNamespace") or meta(hr).get("namespace", ""))


def storage_namespace(hr: Obj) -> str:
    return str(spec(hr).get("storageNamespace") or meta(hr).get("namespace", ""))


def history_command(hr: Obj) -> str:
    """``helm history RELEASE -n STORAGE_NS`` for the release of this HelmRelease."""
    return f"helm history {release_name(hr)} -n {storage_namespace(hr)}"


def by_revision(records: Iterable[ReleaseRecord]) -> list[ReleaseRecord]:
    return sorted(records, key=lambda r: r.revision)


def is_good(record: ReleaseRecord) -> bool:
    """Deployed, or superseded after a successful deployment.

    A failed upgrade that Flux rolled back is superseded too (Helm marks the replaced release so), but
    its description still says it failed: that one was never good.
    """
    if record.status == "superseded":
        return "failed" not in record.description.lower()
    return record.status in GOOD_STATES


def last_good(records: Iterable[ReleaseRecord]) -> ReleaseRecord | None:
    """The newest revision that was deployed successfully (see :func:`is_good`)."""
    good = [r for r in by_revision(records) if is_good(r)]
    return good[-1] if good else None


def is_rollback(record: ReleaseRecord) -> bool:
    """A revision Helm wrote for a rollback (description ``Rollback to N``)."""
    return record.description.lower().startswith("rollback to")


def revision_line(record: ReleaseRecord) -> str:
    """``Helm-Revision 6 (2026-11-26T00:52:37Z): failed (kite-0.6.3, v0.6.3) – <description>``."""
    when = whole_seconds(record.updated)
    description = dedupe(record.description)
    return (
        f"Helm-Revision {record.revision}"
        + (f" ({when})" if when else "")
        + f": {record.status} ({record.chart}, {record.app_version})"
        + (f" – {description}" if description else "")
    )


def history_text(records: Sequence[ReleaseRecord]) -> str:
    """Evidence lines that show what happened: the newest failed revision, the latest revision and the
    last good one (each once)."""
    recs = by_revision(records)
    if not recs:
        return ""
    latest, good = recs[-1], last_good(recs)
    failed = [r for r in recs if not is_good(r)]
    shown = [failed[-1]] if failed else []
    if latest is not good and all(latest is not r for r in shown):
        shown.append(latest)
    lines = [revision_line(r) for r in shown]
    if good is None:
        lines.append("Keine erfolgreiche Revision in der Helm-Historie.")
    else:
        when = f" vom {whole_seconds(good.updated)}" if good.updated else ""
        lines.append(
            f"Zuletzt gut: Revision {good.revision} ({good.chart}, {good.app_version}){when}, {good.status}"
            + (f" – {dedupe(good.description)}" if good.description else "")
        )
    return "\n".join(lines)


def storage_findings(hr: Obj, records: Sequence[ReleaseRecord], *, in_flight: bool = False) -> list[Finding]:
    """Helm storage: the latest revision failed, or is pending without an action running (``in_flight``:
    the pending revision belongs to the attempt running now, see :mod:`.retries`); names the last good
    revision (pure)."""
    recs = by_revision(records)
    release, storage = release_name(hr), storage_namespace(hr)
    subject = f"Helm-Release {storage}/{release}"
    cmd = f"helm list -A\n{history_command(hr)}"
    if not recs:
        if not (is_true(hr, "Released") or status(hr).get("history")):
            return []
        return [
            Finding(
                severity=WARNING,
                title="Keine Helm-Release-Secrets gefunden",
                cause="Die HelmRelease meldet eine Installation, aber im Storage-Namespace liegt kein "
                "Release (falscher storageNamespace oder gelöscht).",
                evidence=f"keine Secrets sh.helm.release.v1.{release}.v* in {storage}",
                next_step="spec.storageNamespace prüfen.",
                command=cmd,
                subject=subject,
            )
        ]
    latest = recs[-1]
    if latest.status == "failed":
        return [
            Finding(
                severity=ERROR,
                title=f"Letzte Helm-Revision {latest.revision} fehlgeschlagen",
                cause=latest.description or "Helm meldet den Vorgang als fehlgeschlagen.",
                evidence=history_text(recs),
                next_step="Ursache im Git beheben (Commit); siehe den Befund zur HelmRelease.",
                command=cmd,
                subject=subject,
            )
        ]
    if latest.status.startswith("pending") and not in_flight:
        name, ns = meta(hr).get("name"), meta(hr).get("namespace")
        return [
            Finding(
                severity=WARNING,
                title=f"Helm-Release gesperrt ({latest.status})",
                cause="Ein Helm-Vorgang wurde unterbrochen (z. B. ein Neustart des helm-controllers), und "
                "niemand arbeitet gerade daran. Der helm-controller entsperrt die Release beim nächsten "
                "Abgleich selbst (er markiert die Revision als failed) und führt den Vorgang erneut aus.",
                evidence=history_text(recs),
                next_step="Den Abgleich anstoßen statt auf das Intervall zu warten: "
                f"`{sync_command('hr', name, ns)}` (bzw. `flux reconcile hr … -n …`); bleibt die "
                "Revision pending, die Logs des helm-controllers prüfen.",
                command=f"{sync_command('hr', name, ns)}\nflux reconcile hr {name} -n {ns}\n{cmd}",
                subject=subject,
            )
        ]
    return []


def known_versions(hr: Obj, records: Iterable[ReleaseRecord]) -> list[str]:
    """Chart versions that were installed before (HelmRelease history, Helm storage): known to exist."""
    chart = ((spec(hr).get("chart") or {}).get("spec") or {}).get("chart", "")
    found = {str(h.get("chartVersion")) for h in status(hr).get("history") or () if h.get("chartVersion")}
    found |= {r.chart[len(chart) + 1 :] for r in records if chart and r.chart.startswith(f"{chart}-")}
    return sorted(v for v in found if v)
