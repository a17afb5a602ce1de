"""`audit`: the best practices of the team's guide checked over the cluster and the GitOps checkout.

gather (:mod:`.gather`: workloads, Flux objects, manifests, commits) -> rules (:mod:`.rules`, pure) ->
:class:`Audit` (findings with cause, evidence and fix, a table per check, verdicts for CI). ``check()``
raises :class:`AuditFailed` on an error-level finding, so ``runbook run audit`` exits 1 for CI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from runbook_lib.audit.drift import DriftFacts, drift_findings, gather_drift
from runbook_lib.audit.gather import AuditInput, gather
from runbook_lib.audit.rules import (
    Thresholds,
    commit_findings,
    image_findings,
    interval_findings,
    remediation_findings,
    resource_findings,
    suspended_findings,
    unpushed_findings,
)
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Diagnosis, Finding, Summary
from runbook_lib.durations import parse_duration
from runbook_lib.errors import RunbookError, UsageError
from runbook_lib.names import check_namespace
from runbook_lib.report import Rendered, Verdict, color_style, html_table, plural, text_table

#: the kinds whose ``spec.interval`` says how often Flux polls something outside the cluster
SOURCE_KINDS = ("GitRepository", "HelmRepository", "OCIRepository", "Bucket")
#: commits checked by default: a few weeks of a team's GitOps history, one `git log` call
DEFAULT_COMMITS = 20
#: at most this many commits (the check reads only summaries, but output must stay readable)
MAX_COMMITS = 1000


#: the parts of :func:`gather` that read workloads (their error slots)
_WORKLOAD_PARTS = ("Deployments", "StatefulSets", "DaemonSets")


_NO_REPO = "kein `repo_path` angegeben"
_NO_DRIFT = "abgeschaltet (`drift = False`)"


class AuditFailed(RunbookError):
    """The audit found at least one error-level finding (``runbook run audit`` exits 1)."""


@dataclass(frozen=True)
class CheckRow:
    """One best practice: what was checked (German) and what was found."""

    practice: str
    checked: str
    findings: tuple[Finding, ...] = ()
    #: why the check did not run ("" when it did)
    not_run: str = ""

    def result(self) -> str:
        if self.not_run:
            return f"nicht geprüft: {self.not_run}"
        problems = [f for f in self.findings if f.is_problem]
        if not problems:
            hints = len(self.findings)
            return "✔ in Ordnung" + (f" ({plural(hints, 'Hinweis', 'Hinweise')})" if hints else "")
        errors = sum(f.severity == ERROR for f in problems)
        warnings = sum(f.severity == WARNING for f in problems)
        parts = [plural(errors, "Fehler", "Fehler")] if errors else []
        parts += [plural(warnings, "Warnung", "Warnungen")] if warnings else []
        return ("✗ " if errors else "⚠ ") + ", ".join(parts)


@dataclass(frozen=True)
class Audit(Rendered):
    """The findings of one audit, most severe first, and the table of checks."""

    diagnosis: Diagnosis
    checks: tuple[CheckRow, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.diagnosis.findings

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    def summary(self) -> Summary:
        """The findings as one table (#, severity, object, finding, next step, command)."""
        return self.diagnosis.summary()

    def verdicts(self) -> tuple[Verdict, ...]:
        return self.diagnosis.verdicts()

    def headline(self) -> str:
        problems = self.diagnosis.problems
        if not problems:
            return "✔ Audit: alle Best Practices eingehalten."
        counts = [
            plural(sum(f.severity == s for f in problems), one, many)
            for s, one, many in ((ERROR, "Fehler", "Fehler"), (WARNING, "Warnung", "Warnungen"))
            if any(f.severity == s for f in problems)
        ]
        return f"{'✗' if self.errors else '⚠'} Audit: {', '.join(counts)}."

    def check(self) -> str:
        """Raise :class:`AuditFailed` when a finding is an error (CI: exit 1); else the ✔/⚠ headline."""
        if self.errors:
            titles = "; ".join(f"{f.subject}: {f.title}" for f in self.errors[:5])
            more = f" (und {len(self.errors) - 5} weitere)" if len(self.errors) > 5 else ""
            raise AuditFailed(
                f"Audit: {plural(len(self.errors), 'Fehler', 'Fehler')}: {titles}{more}.",
                "Die Befunde oben nennen Ursache und Behebung. Warnungen allein lassen `runbook run audit` "
                "mit 0 enden.",
            )
        return self.headline()

    def _table(self) -> tuple[list[str], list[list[str]]]:
        rows = [[c.practice, c.checked, c.result()] for c in self.checks]
        return ["BEST PRACTICE", "GEPRÜFT", "ERGEBNIS"], rows

    def __str__(self) -> str:
        headers, rows = self._table()
        return f"{self.headline()}\n\n{text_table(headers, rows)}\n\n{self.diagnosis}"

    def _repr_html_(self) -> str:
        tone = "failure" if self.errors else "warning" if self.diagnosis.problems else "success"
        headers, rows = self._table()
        marks = ["failing" if "✗" in r[2] else "suspended" if "⚠" in r[2] else "" for r in rows]
        return (
            f'<p style="{color_style(tone)};font-weight:bold">{escape(self.headline())}</p>'
            + html_table(headers, rows, row_classes=marks)
            + self.diagnosis._repr_html_()
        )


def interpret(data: AuditInput, limits: Thresholds, drift: DriftFacts | None = None) -> Audit:
    """The pure part: every rule over the gathered facts, grouped by best practice."""
    flux = data.flux_objects
    index = data.repo.manifests if data.repo else {}
    releases = [o for o in flux if o.get("kind") == "HelmRelease"]
    sources = [o for o in flux if o.get("kind") in SOURCE_KINDS]
    skipped = {s.split(":", 1)[0]: s.split(":", 1)[1].strip() for s in data.skipped}
    workload_gap = "; ".join(v for k, v in skipped.items() if k in _WORKLOAD_PARTS)
    n_work = plural(len(data.workloads), "Workload", "Workloads")
    rows = [
        CheckRow("Ressourcenlimits", n_work, tuple(resource_findings(data.workloads, index)), workload_gap),
        CheckRow("Feste Image-Tags", n_work, tuple(image_findings(data.workloads, index)), workload_gap),
        CheckRow(
            "Nichts vergessen ausgesetzt",
            plural(len(flux), "Flux-Objekt", "Flux-Objekte"),
            tuple(suspended_findings(flux, data.now, limits)),
        ),
        CheckRow(
            "Upgrade-Remediation",
            plural(len(releases), "HelmRelease", "HelmReleases"),
            tuple(remediation_findings(releases, index)),
            skipped.get("HelmRelease", ""),
        ),
        CheckRow(
            "Sinnvolle Abfrageintervalle",
            plural(len(sources), "Quelle", "Quellen"),
            tuple(interval_findings(sources, limits)),
        ),
    ]
    if data.repo:
        repo = data.repo
        rows += [
            CheckRow(
                "Beschreibende Commit-Messages",
                f"{plural(len(repo.commits), 'Commit', 'Commits')} auf {repo.branch}",
                tuple(commit_findings(repo.commits, repo.branch)),
            ),
            CheckRow(
                "Immer committen und pushen",
                "Arbeitskopie",
                tuple(unpushed_findings(repo.dirty, repo.ahead, repo.branch)),
            ),
        ]
    else:
        rows += [
            CheckRow("Beschreibende Commit-Messages", "–", not_run="kein `repo_path` angegeben"),
            CheckRow("Immer committen und pushen", "–", not_run="kein `repo_path` angegeben"),
        ]
    if drift is None:
        rows.append(CheckRow("Kein Drift (Cluster = Git)", "–", not_run=_NO_DRIFT if data.repo else _NO_REPO))
    else:
        n_ks = plural(len(drift.diffs), "Kustomization", "Kustomizations")
        objects = sum(len(r.objects) for _, _, r in drift.diffs.values())
        rows.append(
            CheckRow(
                "Kein Drift (Cluster = Git)",
                f"{n_ks}, {plural(objects, 'Objekt', 'Objekte')}",
                tuple(drift_findings(drift)),
                drift.not_run,
            )
        )
    findings = [f for r in rows for f in r.findings]
    checked = tuple(r.practice for r in rows if not r.not_run)
    note = ""
    if data.skipped:
        note = "Nicht lesbar (fehlende Rechte?): " + "; ".join(data.skipped)
    if drift and drift.skipped:
        note = (note + " " if note else "") + "Drift nicht geprüft: " + "; ".join(drift.skipped)
    return Audit(
        diagnosis=Diagnosis(title="Audit", findings=tuple(findings), checked=checked, note=note),
        checks=tuple(rows),
    )


def audit(
    repo_path: str | None = None,
    *,
    namespace: str | None = None,
    suspended_for: str = "24h",
    min_interval: str = "1m",
    max_interval: str = "24h",
    commits: int = DEFAULT_COMMITS,
    drift: bool = True,
    now: datetime | None = None,
    client: Cluster | None = None,
) -> Audit:
    """Check the cluster (and the checkout at ``repo_path``) against the guide's best practices; with
    ``drift`` and a checkout also whether the cluster still matches what Flux applied (dry run)."""
    limits = thresholds(suspended_for, min_interval, max_interval)
    if namespace is not None:
        check_namespace(namespace)
    if isinstance(commits, bool) or not isinstance(commits, int) or not 0 <= commits <= MAX_COMMITS:
        raise UsageError(
            f"Ungültige Zahl von Commits: {commits!r}.", f"Eine ganze Zahl von 0 bis {MAX_COMMITS} angeben."
        )
    cluster = client or default_cluster()
    data = gather(cluster, namespace=namespace, repo_path=repo_path, commits=commits, now=now)
    facts = None
    if drift and repo_path:
        kustomizations = [o for o in data.flux_objects if o.get("kind") == "Kustomization"]
        facts = gather_drift(cluster, repo_path, kustomizations)
    return interpret(data, limits, facts)


def thresholds(suspended_for: str, min_interval: str, max_interval: str) -> Thresholds:
    """The parameters as :class:`Thresholds`; German UsageError for a bad duration or a min above the max."""
    parsed: Sequence = [
        parse_duration(suspended_for, what="suspended_for"),
        parse_duration(min_interval, what="min_interval"),
        parse_duration(max_interval, what="max_interval"),
    ]
    if parsed[1] > parsed[2]:
        raise UsageError(
            f"min_interval ({min_interval}) ist größer als max_interval ({max_interval}).",
            "min_interval kleiner wählen als max_interval, z. B. 1m und 24h.",
        )
    return Thresholds(suspended_for=parsed[0], min_interval=parsed[1], max_interval=parsed[2])


__all__ = ["INFO", "Audit", "AuditFailed", "CheckRow", "audit", "interpret", "thresholds"]
