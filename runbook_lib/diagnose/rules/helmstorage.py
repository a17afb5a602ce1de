"""Interpretation of the Helm storage of a release (reference section 9, pure).

Records are dicts with the fields of :class:`runbook_lib.helm.ReleaseRecord` (name, namespace, revision,
status, chart, app_version, description, updated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runbook_lib.diagnose.common import Obj, dedupe, seconds
from runbook_lib.diagnose.model import ERROR, WARNING, Finding
from runbook_lib.objects import is_true, meta, spec, status

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


def by_revision(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(records, key=lambda r: int(r.get("revision", 0)))


def is_good(record: Mapping[str, Any]) -> bool:
    """Deployed, or superseded after a successful deployment.

    A failed upgrade that Flux rolled back is superseded too (Helm marks the replaced release so), but
    its description still says it failed: that one was never good.
    """
    state = record.get("status")
    if state == "superseded":
        return "failed" not in str(record.get("description") or "").lower()
    return state in GOOD_STATES


def last_good(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest revision that was deployed successfully (see :func:`is_good`)."""
    good = [r for r in by_revision(records) if is_good(r)]
    return good[-1] if good else None


def is_rollback(record: Mapping[str, Any]) -> bool:
    """A revision Helm wrote for a rollback (description ``Rollback to N``)."""
    return str(record.get("description") or "").lower().startswith("rollback to")


def revision_line(record: Mapping[str, Any]) -> str:
    """``Helm-Revision 6 (2026-11-26T00:52:37Z): failed (kite-0.6.3, v0.6.3) – <description>``."""
    when = seconds(record.get("updated")) if record.get("updated") else ""
    description = dedupe(str(record.get("description") or ""))
    return (
        f"Helm-Revision {record.get('revision')}"
        + (f" ({when})" if when else "")
        + f": {record.get('status')} ({record.get('chart')}, {record.get('app_version')})"
        + (f" – {description}" if description else "")
    )


def history_text(records: Sequence[Mapping[str, Any]]) -> str:
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
        when = f" vom {seconds(good.get('updated'))}" if good.get("updated") else ""
        lines.append(
            f"Zuletzt gut: Revision {good.get('revision')} ({good.get('chart')}, {good.get('app_version')})"
            f"{when}, {good.get('status')}"
            + (f" – {dedupe(str(good.get('description')))}" if good.get("description") else "")
        )
    return "\n".join(lines)


def storage_findings(hr: Obj, records: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Helm storage: the latest revision failed or is stuck pending; names the last good revision (pure)."""
    recs = by_revision(records)
    subject = f"Helm-Release {storage_namespace(hr)}/{release_name(hr)}"
    cmd = f"helm list -A\nhelm history {release_name(hr)} -n {storage_namespace(hr)}"
    if not recs:
        if is_true(hr, "Released") or status(hr).get("history"):
            return [
                Finding(
                    WARNING,
                    "Keine Helm-Release-Secrets gefunden",
                    "Die HelmRelease meldet eine "
                    "Installation, aber im Storage-Namespace liegt kein Release (falscher "
                    "storageNamespace oder gelöscht).",
                    f"keine Secrets sh.helm.release.v1.{release_name(hr)}.v* in {storage_namespace(hr)}",
                    "spec.storageNamespace prüfen.",
                    cmd,
                    subject,
                )
            ]
        return []
    latest = recs[-1]
    state = str(latest.get("status", ""))
    if state == "failed":
        return [
            Finding(
                ERROR,
                f"Letzte Helm-Revision {latest.get('revision')} fehlgeschlagen",
                str(latest.get("description") or "Helm meldet den Vorgang als fehlgeschlagen."),
                history_text(recs),
                "Ursache im Git beheben (Commit); siehe den Befund zur HelmRelease.",
                cmd,
                subject,
            )
        ]
    if state.startswith("pending"):
        return [
            Finding(
                ERROR,
                f"Helm-Release hängt in {state}",
                "Ein Helm-Vorgang wurde unterbrochen; solange "
                "die Revision pending ist, sind weitere Upgrades blockiert.",
                history_text(recs),
                "Upgrade erzwingen (Runbook `sync` mit `-p force True` oder `flux reconcile hr … --force`); "
                "hilft das nicht, helm-controller-Logs prüfen.",
                f"runbook run sync -p kind hr -p name {meta(hr).get('name')} "
                f"-p namespace {meta(hr).get('namespace')} -p force True\n"
                f"flux reconcile hr {meta(hr).get('name')} -n {meta(hr).get('namespace')} --force\n" + cmd,
                subject,
            )
        ]
    return []


def known_versions(hr: Obj, records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Chart versions that were installed before (HelmRelease history, Helm storage): known to exist."""
    chart = ((spec(hr).get("chart") or {}).get("spec") or {}).get("chart", "")
    found = {str(h.get("chartVersion")) for h in status(hr).get("history") or () if h.get("chartVersion")}
    found |= {
        str(r.get("chart", ""))[len(chart) + 1 :]
        for r in records
        if chart and str(r.get("chart", "")).startswith(f"{chart}-")
    }
    return sorted(v for v in found if v)
