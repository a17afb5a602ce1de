"""troubleshoot-helmrelease: gather one HelmRelease and everything it depends on, then interpret it.

``state = gather_helmrelease("kite", namespace="kube-system")`` reads (never writes) the HelmRelease,
its HelmChart and chart source, the Helm storage of the release, the workload (Deployments, Pods),
events and the helm-controller's log lines, each with its own error slot. The state shows each step
(``state.release()``, ``state.chart()``, ``state.helm_history()``, ``state.workload()``,
``state.signals()``); ``diagnose_helmrelease(state)`` is the pure interpretation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.diagnose import gather
from runbook_lib.diagnose.common import (
    AboutObject,
    Slot,
    attempt,
    event_text,
    log_line_text,
    object_ref,
    slot_finding,
    warning_events,
)
from runbook_lib.diagnose.model import Diagnosis, Evidence, EvidenceGroup, evidence
from runbook_lib.diagnose.rules.chart import chart_ref
from runbook_lib.diagnose.rules.helmrelease import TITLE, helmrelease_findings
from runbook_lib.diagnose.rules.helmstorage import (
    GITOPS_NOTE,
    by_revision,
    known_versions,
    release_name,
    release_namespace,
    storage_namespace,
)
from runbook_lib.helm import HISTORY_HEADERS, ReleaseHistory, ReleaseRecord, records_from_secrets
from runbook_lib.kinds import HELM_CHART, HELM_RELEASE, ObjectRef, by_kind
from runbook_lib.kube import request_json
from runbook_lib.objects import meta, spec, status
from runbook_lib.status import interpret

Obj = dict[str, Any]


def _status_row(obj: Obj | None, kind: str) -> tuple[str, ...]:
    if obj is None:
        return (kind, "-", "-", "fehlt", "")
    s = interpret(obj, kind)
    return (kind, f"{s.namespace}/{s.name}", s.revision or "-", s.ready, s.message)


def _mark(obj: Obj | None, kind: str) -> str:
    return "failing" if obj is None or interpret(obj, kind).state == "failing" else ""


@dataclass(frozen=True)
class HelmReleaseState(AboutObject):
    """What troubleshoot-helmrelease gathered; every part but the HelmRelease has an error slot.

    ``releases`` holds :class:`~runbook_lib.helm.ReleaseRecord` (this release's Helm storage) and
    ``log_lines`` :class:`~runbook_lib.logs.parse.LogLine` (the helm-controller's lines about it).
    """

    hr: Obj
    helm_chart: Slot = field(default_factory=Slot)
    source: Slot = field(default_factory=Slot)
    releases: Slot = field(default_factory=Slot)
    deployments: Slot = field(default_factory=Slot)
    pods: Slot = field(default_factory=Slot)
    events: Slot = field(default_factory=Slot)
    log_lines: Slot = field(default_factory=Slot)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ref(self) -> ObjectRef:
        return object_ref(HELM_RELEASE, self.hr)

    def release(self) -> Evidence:
        """``flux get helmreleases NAME -n NS`` plus the conditions."""
        s = interpret(self.hr, "HelmRelease")
        rows = [
            (c.get("type", ""), c.get("status", ""), c.get("reason", ""), c.get("message", ""))
            for c in status(self.hr).get("conditions") or ()
        ]
        marks = [
            "failing"
            if (r[0] == "Ready" and r[1] == "False") or (r[0] == "Stalled" and r[1] == "True")
            else ""
            for r in rows
        ]
        return evidence(
            f"{self.ref}: Revision {s.revision or '-'}, suspended {s.suspended}",
            ("CONDITION", "STATUS", "REASON", "MESSAGE"),
            rows,
            command=f"flux get helmreleases {self.name} -n {self.namespace}",
            marks=marks,
            empty="Keine Conditions: noch nie abgeglichen.",
        )

    def chart(self) -> Evidence:
        """The HelmChart and its source (``flux get sources chart`` / ``flux get sources helm``)."""
        chart, source = self.helm_chart.value, self.source.value
        src_kind = str((source or {}).get("kind") or "HelmRepository")
        rows = [_status_row(chart, "HelmChart"), _status_row(source, src_kind)]
        ns, _ = chart_ref(self.hr)
        return evidence(
            "Chart und Quelle",
            ("ART", "NAME", "REVISION", "READY", "MESSAGE"),
            rows,
            command=f"flux get sources chart -n {ns}; flux get sources helm -n {ns}",
            error=self.helm_chart.error or self.source.error,
            marks=[_mark(chart, "HelmChart"), _mark(source, src_kind)],
        )

    def helm_history(self) -> Evidence:
        """``helm history RELEASE -n NS`` from the release Secrets (:class:`~runbook_lib.helm.ReleaseHistory`
        rows, with this state's error slot)."""
        history = ReleaseHistory(
            name=release_name(self.hr),
            namespace=storage_namespace(self.hr),
            revisions=tuple(by_revision(self.releases.value or [])),
        )
        return evidence(
            f"Helm-Historie von {history.namespace}/{history.name}",
            HISTORY_HEADERS,
            history.rows(),
            command=f"helm list -A; {history.command}",
            error=self.releases.error,
            empty="Keine Helm-Release-Secrets gefunden.",
            marks=history.marks(),
        )

    def workload(self) -> EvidenceGroup:
        """Deployments and Pods of the release (``kubectl get deploy,pods``)."""
        ns = release_namespace(self.hr)
        deps = [
            (
                meta(d).get("name"),
                f"{status(d).get('readyReplicas') or 0}/{spec(d).get('replicas', 1)}",
                ", ".join(
                    c.get("image", "")
                    for c in ((spec(d).get("template") or {}).get("spec") or {}).get("containers") or ()
                ),
            )
            for d in self.deployments.value or []
        ]
        pods = [
            (meta(p).get("name"), status(p).get("phase", ""), _pod_state(p)) for p in self.pods.value or []
        ]
        return EvidenceGroup(
            (
                evidence(
                    "Deployments",
                    ("NAME", "BEREIT", "IMAGES"),
                    deps,
                    command=f"kubectl get deploy -n {ns}",
                    error=self.deployments.error,
                    empty="Keine Deployments dieser Release gefunden.",
                ),
                evidence(
                    "Pods",
                    ("NAME", "PHASE", "ZUSTAND"),
                    pods,
                    command=f"kubectl get pods -n {ns}",
                    error=self.pods.error,
                    empty="Keine Pods gefunden.",
                    marks=["failing" if r[2] not in ("Running", "") else "" for r in pods],
                ),
            )
        )

    def signals(self) -> EvidenceGroup:
        """Warning events and helm-controller error lines about this HelmRelease."""
        warn = warning_events(self.events.value or [])[-15:]
        errors = [line for line in self.log_lines.value or [] if line.level == "error"][-15:]
        return EvidenceGroup(
            (
                evidence(
                    "Warnungen in den Events",
                    ("EVENT",),
                    [(event_text(e),) for e in warn],
                    command=f"flux events --for HelmRelease/{self.name} -n {self.namespace}",
                    error=self.events.error,
                    empty="Keine Warnungen.",
                    marks=["failing"] * len(warn),
                ),
                evidence(
                    "Fehler im Log des helm-controllers",
                    ("ZEILE",),
                    [(log_line_text(r, precise=True),) for r in errors],
                    command=f"flux logs --kind=HelmRelease --name={self.name} -n {self.namespace} "
                    "--level=error",
                    error=self.log_lines.error,
                    empty="Keine Fehlerzeilen.",
                    marks=["failing"] * len(errors),
                ),
            )
        )


def _pod_state(pod: Obj) -> str:
    waiting = [
        ((c.get("state") or {}).get("waiting") or {}).get("reason", "")
        for c in status(pod).get("containerStatuses") or ()
    ]
    return ", ".join(w for w in waiting if w) or ("Running" if status(pod).get("phase") == "Running" else "")


def _images(deployments: list[Obj]) -> list[str]:
    """The container images the Deployments' pod templates name (what the release installed)."""
    return [
        f"{meta(d).get('name')}={c.get('image', '')}"
        for d in deployments
        for c in ((spec(d).get("template") or {}).get("spec") or {}).get("containers") or ()
    ]


def diagnose_helmrelease(state: HelmReleaseState) -> Diagnosis:
    """Interpret a gathered :class:`HelmReleaseState` (pure): causes first, each with its consequences
    (:func:`~runbook_lib.diagnose.rules.helmrelease.helmrelease_findings`), then a hint per part that
    could not be read."""
    records = state.releases.value or []
    findings = helmrelease_findings(
        state.hr,
        chart=state.helm_chart.value,
        source=state.source.value,
        records=records,
        pods=state.pods.value or [],
        deployments=state.deployments.value or [],
        events=state.events.value or [],
        log_lines=state.log_lines.value or [],
        known_versions=known_versions(state.hr, records),
        images=_images(state.deployments.value or []),
        storage_read=state.releases.ok,
    )
    for what, slot, cmd in (
        ("HelmChart", state.helm_chart, "flux get sources chart -A"),
        ("Chart-Quelle", state.source, "flux get sources helm -A"),
        ("Helm-Storage", state.releases, "helm list -A"),
        ("Deployments", state.deployments, "kubectl get deploy -A"),
        ("Pods", state.pods, "kubectl get pods -A"),
        ("Events", state.events, f"flux events --for HelmRelease/{state.name}"),
        ("Log des helm-controllers", state.log_lines, "flux logs --kind=HelmRelease"),
    ):
        findings += slot_finding(what, slot, cmd)
    checked = (
        str(state.ref),
        "HelmChart und Quelle",
        "Helm-Storage",
        "Deployments und Pods",
        "Events",
        "helm-controller-Log",
    )
    return Diagnosis(title=TITLE, findings=tuple(findings), checked=checked, note=GITOPS_NOTE)


# --- gather ------------------------------------------------------------------------------------------


def _chart(cluster: Cluster, hr: Obj) -> Obj | None:
    chart_ref_spec = spec(hr).get("chartRef") or {}
    if chart_ref_spec and chart_ref_spec.get("kind") != "HelmChart":
        return None
    if chart_ref_spec:
        ns = chart_ref_spec.get("namespace") or meta(hr).get("namespace")
        return gather.get_object(cluster, HELM_CHART, ns, chart_ref_spec.get("name", ""))
    ns, name = chart_ref(hr)
    return gather.get_object(cluster, HELM_CHART, ns, name)


def _source(cluster: Cluster, hr: Obj, chart: Obj | None) -> Obj | None:
    if chart is not None:
        src, ns = spec(chart).get("sourceRef") or {}, meta(chart).get("namespace")
    else:
        src = (
            spec(hr).get("chartRef")
            or ((spec(hr).get("chart") or {}).get("spec") or {}).get("sourceRef")
            or {}
        )
        ns = src.get("namespace") or meta(hr).get("namespace")
    kind = src.get("kind") or "HelmRepository"
    if kind not in ("HelmRepository", "GitRepository", "Bucket", "OCIRepository") or not src.get("name"):
        return None
    return gather.get_object(cluster, by_kind(kind), ns, src["name"])


def _releases(cluster: Cluster, hr: Obj) -> list[ReleaseRecord]:
    name = release_name(hr)
    return [r for r in gather_releases(namespace=storage_namespace(hr), client=cluster) if r.name == name]


def _workload(cluster: Cluster, hr: Obj) -> list[Obj]:
    ns = release_namespace(hr)
    labelled = gather.deployments(
        cluster,
        ns,
        f"helm.toolkit.fluxcd.io/name={meta(hr).get('name')},"
        f"helm.toolkit.fluxcd.io/namespace={meta(hr).get('namespace')}",
    )
    return labelled or gather.deployments(cluster, ns, f"app.kubernetes.io/instance={release_name(hr)}")


def _pods(cluster: Cluster, hr: Obj, deployments: Slot) -> list[Obj]:
    """The pods of the release's Deployments; when the Deployments cannot be read, the pods with the
    release's Helm instance label (an unreadable list of Deployments must not read as "no pods")."""
    if not deployments.ok:
        return gather.pods(cluster, release_namespace(hr), f"app.kubernetes.io/instance={release_name(hr)}")
    out: list[Obj] = []
    for dep in deployments.value or []:
        labels = (spec(dep).get("selector") or {}).get("matchLabels") or {}
        if labels:
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            out += gather.pods(cluster, meta(dep).get("namespace", ""), selector)
    return out


def _events(cluster: Cluster, hr: Obj, chart: Obj | None) -> list[Obj]:
    items = gather.events_for(cluster, object_ref(HELM_RELEASE, hr))
    if chart is not None:
        items += gather.events_for(cluster, object_ref(HELM_CHART, chart))
    return items


def gather_helmrelease(
    name: str, *, namespace: str, client: Cluster | None = None, now: datetime | None = None
) -> HelmReleaseState:
    """Read the HelmRelease ``namespace/name`` and its chart, storage, workload, events, logs (read-only).

    An unknown name raises :class:`~runbook_lib.errors.NotFound` naming the closest HelmReleases.
    """
    cluster = default_cluster(client)
    hr = gather.require_object(cluster, HELM_RELEASE, namespace, name, "flux get helmreleases -A")
    chart = attempt(lambda: _chart(cluster, hr))
    deployments = attempt(lambda: _workload(cluster, hr))
    return HelmReleaseState(
        hr=hr,
        helm_chart=chart,
        source=attempt(lambda: _source(cluster, hr, chart.value)),
        releases=attempt(lambda: _releases(cluster, hr)),
        deployments=deployments,
        pods=attempt(lambda: _pods(cluster, hr, deployments)),
        events=attempt(lambda: _events(cluster, hr, chart.value)),
        log_lines=attempt(
            lambda: gather.log_lines(
                cluster, controller="helm-controller", kind="HelmRelease", name=name, namespace=namespace
            )
        ),
        now=now or datetime.now(UTC),
    )


def troubleshoot_helmrelease(name: str, *, namespace: str, client: Cluster | None = None) -> Diagnosis:
    """Gather and interpret in one call (for the CLI and scripts)."""
    return diagnose_helmrelease(gather_helmrelease(name, namespace=namespace, client=client))


def gather_releases(*, namespace: str | None = None, client: Cluster | None = None) -> list[ReleaseRecord]:
    """Read every Helm release Secret (``owner=helm``) of the cluster, or of one namespace, and decode it."""
    cluster = default_cluster(client)
    what = f"Helm-Release-Secrets{f' in {namespace}' if namespace else ''}"
    if namespace:
        body = request_json(
            cluster, what, cluster.core.list_namespaced_secret, namespace, label_selector="owner=helm"
        )
    else:
        body = request_json(
            cluster, what, cluster.core.list_secret_for_all_namespaces, label_selector="owner=helm"
        )
    return records_from_secrets(body.get("items") or [])
