"""Interpretation of a HelmRelease's chart: the HelmChart the controller made and its source (pure).

A missing chart version and an unreachable Helm repository are causes; the HelmRelease that cannot get
its chart (Ready=False, ``ArtifactFailed``/``SourceNotReady``) is their consequence (docs/flux-facts.md §2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from runbook_lib.diagnose.common import Obj, cond_text, ref
from runbook_lib.diagnose.model import ERROR, WARNING, Finding
from runbook_lib.objects import condition, meta, spec, status

_VERSION_MISSING = re.compile(r"no '([^']+)' chart with version matching '([^']+)'")


def chart_ref(hr: Obj) -> tuple[str, str]:
    """(namespace, name) of the HelmChart the controller made (or ``status.helmChart``)."""
    if status(hr).get("helmChart") and "/" in str(status(hr)["helmChart"]):
        ns, name = str(status(hr)["helmChart"]).split("/", 1)
        return ns, name
    hr_ns, hr_name = meta(hr).get("namespace", ""), meta(hr).get("name", "")
    src = ((spec(hr).get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    return str(src.get("namespace") or hr_ns), f"{hr_ns}-{hr_name}"


def chart_findings(hr: Obj, chart: Obj | None, *, known_versions: Sequence[str] = ()) -> list[Finding]:
    """HelmChart missing or failing; a version that is not in the repository names known versions (pure)."""
    ns, name = chart_ref(hr)
    if chart is None:
        if not (spec(hr).get("chart") or {}):
            return []  # spec.chartRef: no HelmChart made by the controller
        return [
            Finding(
                severity=WARNING,
                title="HelmChart fehlt",
                cause="Der helm-controller hat das HelmChart noch nicht angelegt.",
                evidence=f"kein HelmChart {ns}/{name}",
                next_step="helm-controller prüfen.",
                command=f"flux get sources chart -n {ns}",
                subject=f"HelmChart {ns}/{name}",
            )
        ]
    ready = condition(chart, "Ready")
    if ready.get("status") != "False":
        return []
    missing = _VERSION_MISSING.search(str(ready.get("message", "")))
    cmd = f"flux get sources chart {name} -n {ns}\nflux get sources helm -n {ns}"
    if not missing:
        return [
            Finding(
                severity=ERROR,
                title="HelmChart fehlerhaft",
                cause=f"source-controller meldet {ready.get('reason', 'einen Fehler')}.",
                evidence=cond_text(ready),
                next_step="Chart-Angaben der HelmRelease und das Repository prüfen.",
                command=cmd,
                subject=ref("HelmChart", chart),
            )
        ]
    chart_name, version = missing.groups()
    known = ", ".join(known_versions)
    return [
        Finding(
            severity=ERROR,
            title=f"Chart-Version {version} nicht gefunden",
            cause=f"Die Version '{version}' von Chart '{chart_name}' gibt es im Helm-Repository nicht."
            + (f" Bekannte Versionen: {known}." if known else ""),
            evidence=cond_text(ready),
            next_step="spec.chart.spec.version der HelmRelease im Git auf eine vorhandene Version setzen und "
            "committen.",
            command=f"{cmd}\nhelm search repo {chart_name} --versions",
            subject=ref("HelmChart", chart),
        )
    ]


def source_findings(source: Obj | None) -> list[Finding]:
    """The chart's source (usually a HelmRepository) is not ready (pure)."""
    ready = condition(source, "Ready")
    if source is None or ready.get("status") != "False" or (spec(source).get("type") == "oci"):
        return []
    kind = str(source.get("kind") or "HelmRepository")
    name, ns = meta(source).get("name", ""), meta(source).get("namespace", "")
    sub = {"HelmRepository": "helm", "GitRepository": "git", "Bucket": "bucket"}.get(kind, "helm")
    return [
        Finding(
            severity=ERROR,
            title=f"{kind} nicht bereit",
            cause=f"Das Chart-Repository '{spec(source).get('url', '')}' ist nicht erreichbar oder liefert "
            "keinen gültigen Index (URL, Zugangsdaten, Netz).",
            evidence=cond_text(ready),
            next_step="URL und Zugangsdaten der Quelle im Git prüfen; danach abgleichen.",
            command=f"flux get sources {sub} {name} -n {ns}\nflux reconcile source {sub} {name} -n {ns}",
            subject=ref(kind, source),
        )
    ]
