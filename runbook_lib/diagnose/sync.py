"""troubleshoot-sync: gather the state of one GitRepository and what depends on it, then interpret it.

``state = gather_sync(...)`` reads (never writes) the GitRepository, the Kustomizations, the controller
Deployments and the source-controller's log lines for the object, each with its own error slot.
The state shows each step as a table (``state.sources()``, ``state.kustomizations()``,
``state.controllers()``, ``state.logs()``); ``diagnose_sync(state)`` is the pure interpretation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.diagnose import gather
from runbook_lib.diagnose.common import (
    AboutObject,
    Slot,
    attempt,
    log_line_text,
    ns_flag,
    object_ref,
    parse_interval,
    slot_finding,
)
from runbook_lib.diagnose.model import Diagnosis, Evidence, evidence
from runbook_lib.diagnose.rules.gitrepository import (
    TITLE,
    git_repository_findings,
    log_findings,
    with_sandbox_token,
)
from runbook_lib.diagnose.rules.kustomization import kustomization_findings, link_sync, uses_source
from runbook_lib.diagnose.rules.workload import CONTROLLERS, controller_findings
from runbook_lib.kinds import GIT_REPOSITORY, KUSTOMIZATION, ObjectRef
from runbook_lib.objects import deployment_status, meta, spec, status
from runbook_lib.report import plural
from runbook_lib.settings import settings
from runbook_lib.status import interpret

Obj = dict[str, Any]


@dataclass(frozen=True)
class SyncState(AboutObject):
    """What troubleshoot-sync gathered; every part but the GitRepository has an error slot.

    ``log_lines`` holds :class:`~runbook_lib.logs.parse.LogLine` (the source-controller's lines about
    the GitRepository).
    """

    repo: Obj
    kustomization_items: Slot = field(default_factory=Slot)
    deployments: Slot = field(default_factory=Slot)
    log_lines: Slot = field(default_factory=Slot)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: where the controllers run
    flux_namespace: str = field(default_factory=lambda: settings().flux_namespace)
    #: on the sandbox: the file with its valid Git token (:func:`.gather.sandbox_token_file`)
    sandbox_token: str = ""

    @property
    def ref(self) -> ObjectRef:
        return object_ref(GIT_REPOSITORY, self.repo)

    def sources(self) -> Evidence:
        """``flux get sources git``: the GitRepository as Flux shows it, plus interval and last update."""
        s = interpret(self.repo, "GitRepository")
        art = status(self.repo).get("artifact") or {}
        row = (
            s.name,
            s.revision or "-",
            str(s.suspended),
            s.ready,
            s.message,
            spec(self.repo).get("interval", "-"),
            art.get("lastUpdateTime", "-"),
        )
        mark = {"failing": "failing", "suspended": "suspended"}.get(s.state, "")
        return evidence(
            str(self.ref),
            ("NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE", "INTERVALL", "ARTEFAKT VOM"),
            [row],
            command=f"flux get sources git{ns_flag(self.namespace)}",
            marks=[mark],
        )

    def kustomizations(self) -> Evidence:
        """``flux get kustomizations -A``, only those that use this GitRepository."""
        items = [k for k in self.kustomizations_list() if uses_source(k, self.repo)]
        rows, marks = [], []
        for k in items:
            s = interpret(k, "Kustomization")
            rows.append((s.namespace, s.name, s.revision or "-", str(s.suspended), s.ready, s.message))
            marks.append({"failing": "failing", "suspended": "suspended"}.get(s.state, ""))
        return evidence(
            f"Kustomizations mit Quelle {self.ref}",
            ("NAMESPACE", "NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"),
            rows,
            command="flux get kustomizations -A",
            error=self.kustomization_items.error,
            empty="Keine Kustomization verwendet diese Quelle.",
            marks=marks,
        )

    def kustomizations_list(self) -> list[Obj]:
        return list(self.kustomization_items.value or [])

    def controllers(self) -> Evidence:
        """The Flux controller Deployments a sync needs, ready or not."""
        deps = {meta(d).get("name"): d for d in self.deployments.value or []}
        rows, marks = [], []
        for name in CONTROLLERS:
            dep = deps.get(name)
            if dep is None:
                rows.append((name, "-", "fehlt"))
                marks.append("failing")
                continue
            ready, why = deployment_status(dep)
            replicas = f"{status(dep).get('readyReplicas') or 0}/{spec(dep).get('replicas', 1)}"
            rows.append(
                (
                    name,
                    replicas,
                    "bereit" if ready and spec(dep).get("replicas") != 0 else why or "0 Replikate",
                )
            )
            marks.append("" if ready and spec(dep).get("replicas") != 0 else "failing")
        return evidence(
            f"Flux-Controller im Namespace {self.flux_namespace}",
            ("DEPLOYMENT", "BEREIT", "ZUSTAND"),
            rows,
            command=f"kubectl get deployments -n {self.flux_namespace}",
            error=self.deployments.error,
            marks=marks,
        )

    def logs(self) -> Evidence:
        """Error lines of the source-controller about this GitRepository."""
        errors = [line for line in self.log_lines.value or [] if line.level == "error"][-20:]
        return evidence(
            f"Fehler im Log des source-controllers zu {self.ref}",
            ("ZEILE",),
            [(log_line_text(line, precise=True),) for line in errors],
            command=f"kubectl logs -n {self.flux_namespace} -l app=source-controller",
            error=self.log_lines.error,
            empty="Keine Fehlerzeilen zu diesem Objekt.",
            marks=["failing"] * len(errors),
        )


def diagnose_sync(state: SyncState) -> Diagnosis:
    """Interpret a gathered :class:`SyncState` (pure): causes first (a controller that is down, the Git
    source, a Kustomization others wait for), each with what follows from it."""
    deps = state.deployments.value or []
    ctrl = controller_findings(deps, namespace=state.flux_namespace) if state.deployments.ok else []
    source_down = any(f.subject.endswith("/source-controller") for f in ctrl)
    repo = git_repository_findings(
        state.repo,
        now=state.now,
        log_lines=state.log_lines.value or [],
        logs_read=state.log_lines.ok,
        controller_ready=not source_down,
    )
    repo += log_findings(state.repo, state.log_lines.value or [])
    repo = with_sandbox_token(repo, state.sandbox_token)
    findings = link_sync(ctrl, repo, kustomization_findings(state.kustomizations_list(), state.repo))
    findings += slot_finding("Kustomizations", state.kustomization_items, "flux get kustomizations -A")
    findings += slot_finding(
        "Flux-Controller", state.deployments, f"kubectl get deploy -n {state.flux_namespace}"
    )
    if not source_down:  # a missing controller explains the missing log already
        findings += slot_finding(
            "Log des source-controllers",
            state.log_lines,
            f"kubectl logs -n {state.flux_namespace} -l app=source-controller",
        )
    checked = (
        str(state.ref),
        plural(
            sum(uses_source(k, state.repo) for k in state.kustomizations_list()),
            "Kustomization",
            "Kustomizations",
        )
        if state.kustomization_items.ok
        else "Kustomizations (nicht lesbar)",
        ", ".join(CONTROLLERS),
        "source-controller-Log",
    )
    return Diagnosis(title=TITLE, findings=tuple(findings), checked=checked)


def gather_sync(
    name: str,
    *,
    namespace: str | None = None,
    flux_namespace: str | None = None,
    client: Cluster | None = None,
    now: datetime | None = None,
) -> SyncState:
    """Read the GitRepository ``namespace/name`` and everything a sync depends on (read-only).

    ``namespace`` defaults to the Flux namespace, where ``flux bootstrap`` puts the root GitRepository;
    ``flux_namespace`` (where the controllers run) to the settings' one. An unknown name raises
    :class:`~runbook_lib.errors.NotFound` naming the closest GitRepositories.
    """
    flux_namespace = flux_namespace or settings().flux_namespace
    namespace = namespace or flux_namespace
    cluster = default_cluster(client)
    repo = gather.require_object(cluster, GIT_REPOSITORY, namespace, name, "flux get sources git -A")
    interval = parse_interval(spec(repo).get("interval")) or timedelta(minutes=1)
    return SyncState(
        repo=repo,
        kustomization_items=attempt(lambda: gather.list_kind(cluster, KUSTOMIZATION)),
        deployments=attempt(lambda: gather.deployments(cluster, flux_namespace)),
        log_lines=attempt(
            lambda: gather.log_lines(
                cluster,
                controller="source-controller",
                kind="GitRepository",
                name=name,
                namespace=namespace,
                window=interval * 3,
                flux_namespace=flux_namespace,
            )
        ),
        now=now or datetime.now(UTC),
        flux_namespace=flux_namespace,
        sandbox_token=gather.sandbox_token_file(cluster),
    )


def troubleshoot_sync(name: str, *, namespace: str | None = None, client: Cluster | None = None) -> Diagnosis:
    """Gather and interpret in one call (for the CLI and scripts)."""
    return diagnose_sync(gather_sync(name, namespace=namespace, client=client))
