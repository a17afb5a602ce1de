"""Interpretation of the Helm storage of a release (reference section 9, pure).

Records are dicts with the fields of :class:`runbook_lib.helm.ReleaseRecord` (name, namespace, revision,
status, chart, app_version, description, updated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .common import Obj, is_true, meta, spec, status
from .model import ERROR, WARNING, Finding

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


def last_good(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest revision that was deployed successfully (deployed or later superseded)."""
    good = [r for r in by_revision(records) if r.get("status") in GOOD_STATES]
    return good[-1] if good else None


def history_text(records: Sequence[Mapping[str, Any]]) -> str:
    """Evidence lines: the last revisions and which one was last good."""
    recs = by_revision(records)
    if not recs:
        return ""
    lines = [
        f"Helm-Revision {r.get('revision')}: {r.get('status')} ({r.get('chart')}, {r.get('app_version')})"
        + (f" – {r.get('description')}" if r.get("description") else "")
        for r in recs[-3:]
    ]
    good = last_good(recs)
    lines.append(
        f"Zuletzt gut: Revision {good.get('revision')} ({good.get('chart')}, {good.get('app_version')})"
        if good
        else "Keine erfolgreiche Revision in der Helm-Historie."
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
                "Ursache im Git beheben (Commit). " + GITOPS_NOTE,
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
                "Upgrade erzwingen; hilft das nicht, helm-controller-Logs prüfen.",
                f"flux reconcile helmrelease {meta(hr).get('name')} -n {meta(hr).get('namespace')} --force\n"
                + cmd,
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
