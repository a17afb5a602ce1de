"""After a push: let Flux fetch the commit, apply it, and check that it arrived.

Used by the change and rollback runbooks. The affected objects come from
:func:`runbook_lib.gitops.find_affected` (Kustomizations whose path holds a changed file, outermost
first, and the HelmReleases defined in changed files). The first Kustomization is reconciled with its
source, so the GitRepository fetches the new commit; every Kustomization must then report
``lastAppliedRevision`` at that commit, and every HelmRelease must be Ready at its new generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import parse_duration
from runbook_lib.errors import Forbidden, Interrupted, ReconcileFailed, RunbookError
from runbook_lib.kinds import HELM_RELEASE, KUSTOMIZATION, ObjectRef, by_kind
from runbook_lib.kube import get_object
from runbook_lib.reconcile.actions import ReconcileResult, Step, reconcile, request_reconcile
from runbook_lib.reconcile.rules import revision_of, troubleshoot_hint
from runbook_lib.report import Rendered, Reporter, color_style, default_reporter, html_table, text_table
from runbook_lib.settings import settings


class Affected(Protocol):
    """What roll_out is given of an affected object (gitops.AffectedObject fits); it works on
    :class:`~runbook_lib.kinds.ObjectRef` from there on."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...


@dataclass(frozen=True)
class Check:
    """One affected object after the rollout."""

    ref: str
    before: str
    after: str
    ok: bool
    message: str


@dataclass(frozen=True)
class RolloutReport(Rendered):
    commit: str
    checks: tuple[Check, ...]
    syncs: tuple[ReconcileResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def waited(self) -> bool:
        return bool(self.checks or self.syncs)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def _rows(self) -> list[list[str]]:
        return [
            [c.ref, c.before or "-", c.after or "-", "✔" if c.ok else "✗", c.message] for c in self.checks
        ]

    def _headline(self) -> str:
        if not self.waited:
            return f"◎ Commit {self.commit[:7]}: Abgleich angestoßen, nicht abgewartet."
        if self.ok:
            return f"✔ Commit {self.commit[:7]} ist im Cluster angekommen."
        return f"✗ Commit {self.commit[:7]} ist nicht vollständig angekommen."

    def __str__(self) -> str:
        lines = [self._headline(), text_table(_HEADERS, self._rows())]
        return "\n".join(lines + [f"⚠ {w}" for w in self.warnings])

    def _repr_html_(self) -> str:
        from html import escape

        colour = color_style("success" if self.ok else "failure")
        warn = "".join(f"<p>⚠ {escape(w)}</p>" for w in self.warnings)
        classes = ["" if c.ok else "failing" for c in self.checks]
        return (
            f"<p><b style='{colour}'>{escape(self._headline())}</b></p>"
            + html_table(_HEADERS, self._rows(), row_classes=classes)
            + warn
        )

    def check(self) -> str:
        """Raise :class:`ReconcileFailed` naming the objects that did not arrive; else a ✔ line."""
        failed = [c for c in self.checks if not c.ok]
        if not self.waited:
            return self._headline()
        if failed or not self.checks:
            detail = "; ".join(f"{c.ref}: {c.message}" for c in failed) or "kein Flux-Objekt betroffen"
            raise ReconcileFailed(
                f"Commit {self.commit[:7]} ist nicht vollständig im Cluster angekommen: {detail}",
                f"{troubleshoot_hint([c.ref for c in failed])}; in GitOps wird sie mit einem weiteren Commit "
                "oder dem Runbook `rollback` behoben.",
            )
        return self._headline()


_HEADERS = ["OBJEKT", "VORHER", "NACHHER", "OK", "MELDUNG"]


def _remaining(deadline: float) -> timedelta:
    return timedelta(seconds=max(0.001, deadline - time.monotonic()))


def _refs(affected: tuple[Affected, ...] | list[Affected], kind: str) -> list[ObjectRef]:
    return [ObjectRef(by_kind(a.kind), a.name, a.namespace) for a in affected if a.kind == kind]


def roll_out(
    affected: tuple[Affected, ...] | list[Affected],
    *,
    commit: str,
    kustomization: str | None = None,
    wait: bool = True,
    timeout: str | timedelta | None = None,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> RolloutReport:
    """Sync the affected objects (source first) and check that ``commit`` arrived (see module doc).

    ``kustomization`` (``name`` or ``namespace/name``) replaces the Kustomizations found from the changed
    files. ``wait=False`` only asks Flux to reconcile (source and Kustomizations) and checks nothing.
    ``timeout`` defaults to the settings' reconcile timeout, a bare Kustomization name to the Flux
    namespace.
    """
    limit = parse_duration(settings().reconcile_timeout if timeout is None else timeout, what="timeout")
    assert limit is not None
    cluster, rep = default_cluster(client), default_reporter(reporter)
    deadline = time.monotonic() + limit.total_seconds()
    kustomizations = _refs(affected, KUSTOMIZATION.kind)
    if kustomization:
        ns, _, name = kustomization.rpartition("/")
        kustomizations = [ObjectRef(KUSTOMIZATION, name, ns or settings().flux_namespace)]
    releases = _refs(affected, HELM_RELEASE.kind)
    if not wait:
        notes = [
            "Nicht geprüft (wait = False): Flux wurde nur um einen Abgleich gebeten. "
            "Später mit dem Runbook `status` nachsehen."
        ]
        for index, ks in enumerate(kustomizations):
            try:
                request_reconcile(
                    ks.kind,
                    ks.name,
                    namespace=ks.namespace,
                    with_source=index == 0,
                    client=cluster,
                    reporter=rep,
                )
            except RunbookError as exc:  # the push is done; say what could not be asked, do not raise
                rep.failure(f"{ks}: {exc.message}")
                notes.append(f"{ks}: {exc.message}")
        return RolloutReport(commit, (), (), tuple(notes))
    try:
        return _wait_for(commit, kustomizations, releases, deadline, cluster, rep)
    except (KeyboardInterrupt, Interrupted):
        first = (
            f" -p name {kustomizations[0].name} -p namespace {kustomizations[0].namespace}"
            if kustomizations
            else ""
        )
        raise Interrupted(
            f"Abgebrochen mit Strg+C beim Warten auf Flux: Commit {commit[:7]} ist gepusht, Flux wendet ihn "
            "an; ob er im Cluster angekommen ist, wurde nicht geprüft.",
            f"Prüfen mit `runbook run status` oder weiter warten mit `runbook run sync -p kind ks{first}`.",
        ) from None


def _wait_for(
    commit: str,
    kustomizations: list[ObjectRef],
    releases: list[ObjectRef],
    deadline: float,
    cluster: Cluster,
    rep: Reporter,
) -> RolloutReport:
    """Sync the Kustomizations (the first with its source), then the HelmReleases, and check each."""
    # "before" is read now, before the source fetches the commit: once it has, the controllers start
    # applying it on their own and a reconcile step would already see the new revision
    before = _revisions(cluster, [*kustomizations, *releases])
    warnings = []
    if not kustomizations:
        warnings.append(
            "Keine Kustomization wendet die geänderten Dateien an: Flux sieht diesen Commit nicht."
        )
    checks: list[Check] = []
    syncs: list[ReconcileResult] = []
    for index, ks in enumerate(kustomizations):
        result = _sync(ks, index == 0, deadline, cluster, rep)
        syncs.append(result)
        step = result.target
        arrived = step.revision_after.endswith(f"sha1:{commit}")
        message = (
            step.message
            if step.state == "failed" or arrived
            else (f"angewendet ist {step.revision_after or 'nichts'}, erwartet Commit {commit[:7]}")
        )
        checks.append(
            Check(step.ref, before.get(step.ref, step.revision_before), step.revision_after, arrived, message)
        )
        if step.state == "failed":
            break
    else:
        for hr in releases:
            result = _sync(hr, False, deadline, cluster, rep)
            syncs.append(result)
            step = result.target
            checks.append(
                Check(
                    step.ref,
                    before.get(step.ref, step.revision_before),
                    step.revision_after,
                    step.state == "ready",
                    step.message,
                )
            )
    return RolloutReport(commit, tuple(checks), tuple(syncs), tuple(warnings))


def _revisions(cluster: Cluster, refs: list[ObjectRef]) -> dict[str, str]:
    """The current revision of each object, keyed like a reconcile step (``Kind ns/name``)."""
    out = {}
    for ref in refs:
        try:
            found = get_object(cluster, ref.kind, ref.namespace, ref.name)
        except Forbidden as exc:  # never shown as "no revision"
            out[str(ref)] = (
                f"nicht lesbar (fehlendes Recht: {exc.missing})" if exc.missing else "nicht lesbar"
            )
            continue
        except RunbookError:
            found = None
        out[str(ref)] = revision_of(ref.kind, found) if found else ""
    return out


def _sync(
    obj: ObjectRef, with_source: bool, deadline: float, cluster: Cluster, rep: Reporter
) -> ReconcileResult:
    try:
        return reconcile(
            obj.kind,
            obj.name,
            namespace=obj.namespace,
            with_source=with_source,
            timeout=_remaining(deadline),
            client=cluster,
            reporter=rep,
        )
    except Interrupted:
        raise  # Ctrl+C stops the rollout, it is not a failed object
    except RunbookError as exc:
        rep.failure(f"{obj}: {exc.message}")
        failed = Step(str(obj), "", "", "", "failed", exc.message, 0.0)
        return ReconcileResult((failed,))
