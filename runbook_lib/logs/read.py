"""Controller logs as ``flux logs`` gathers them, plus the guide's plain ``kubectl logs -l`` view.

Gathering (docs/flux-facts.md §6): Deployments labelled ``app.kubernetes.io/part-of=flux`` in the Flux
namespace, pods by each Deployment's template labels, one pod per Deployment chosen like kubectl's
``podutils.ByLogging``, container ``manager``. Lines are read with ``timestamps=true`` (so lines that
are not JSON still have a time), parsed and filtered by :mod:`runbook_lib.logs.parse` while streaming, and
merged across controllers in time order (``flux logs`` prints them per controller instead).

Differences from ``flux logs``, on purpose: ``namespace=None`` means every namespace (the CLI's
default ``-n flux-system`` hides most lines in a notebook); lines that are not JSON are kept and
marked; ``follow`` is bounded by a duration, because a notebook cell has to end.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from runbook_lib import kube
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.durations import format_duration, parse_duration, parse_time
from runbook_lib.errors import NotFound, RunbookError, UsageError
from runbook_lib.logs.parse import (
    LogFilter,
    LogLine,
    filter_chunks,
    filter_lines,
    make_filter,
    merge,
    split_lines,
)
from runbook_lib.logs.view import LogResult, PlainLogs
from runbook_lib.masking import mask
from runbook_lib.names import check_name, check_namespace
from runbook_lib.report import Reporter, default_reporter, plural
from runbook_lib.settings import PART_OF_FLUX, settings

#: the controller container in every Flux controller pod
CONTAINER = "manager"
#: extra seconds a followed stream may stay open after its deadline before the socket is shut
FOLLOW_GRACE = 5.0
#: seconds before a followed stream that ended early is opened again
RESUME_PAUSE = 0.2
#: lines remembered to skip the overlap of a reopened stream (it starts a second before the cut)
RESUME_OVERLAP = 10_000

__all__ = ["ControllerPod", "LogResult", "PlainLogs", "controller_pods", "plain_logs", "read_logs"]


@dataclass(frozen=True)
class ControllerPod:
    """The pod chosen for one controller Deployment."""

    controller: str
    namespace: str
    pod: str
    container: str
    phase: str
    ready: bool

    @property
    def has_logs(self) -> bool:
        """A container has started (Pending pods have no logs yet)."""
        return self.phase in ("Running", "Succeeded", "Failed")


def _list(cluster: Cluster, what: str, path: str, selector: str) -> list[dict]:
    """The items of a list path (plain GET: no generated API class to import, issue 15)."""
    body = kube.api_get(cluster, path, what, {"labelSelector": selector})
    return list((body or {}).get("items") or [])


def _pod_is_ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _by_logging_key(pod: dict) -> tuple:
    """kubectl ``podutils.ByLogging``: assigned, Running (< Unknown < Pending), ready, ready longest,
    most restarts, oldest."""
    status = pod.get("status") or {}
    ready_since = next(
        (
            c.get("lastTransitionTime") or "~"
            for c in status.get("conditions") or []
            if c.get("type") == "Ready" and c.get("status") == "True"
        ),
        "~",
    )
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    return (
        not (pod.get("spec") or {}).get("nodeName"),
        {"Unknown": 1, "Pending": 2}.get(status.get("phase", ""), 0),
        not _pod_is_ready(pod),
        ready_since,
        -restarts,
        (pod.get("metadata") or {}).get("creationTimestamp") or "~",
    )


def _container(pod: dict) -> str:
    names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    return CONTAINER if CONTAINER in names or not names else names[0]


def _template_selector(deployment: dict) -> str:
    template = (deployment.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _no_pods(namespace: str, selector: str) -> NotFound:
    return NotFound(
        f"Keine laufenden Flux-Controller-Pods im Namespace '{namespace}' gefunden "
        f"(Label-Selektor {selector}).",
        f"Ist Flux installiert? `kubectl get deploy,pods -n {namespace} -l {PART_OF_FLUX}` bzw. "
        "`flux check`; läuft Flux in einem anderen Namespace, flux_namespace angeben.",
    )


def controller_pods(
    *, namespace: str | None = None, client: Cluster | None = None
) -> tuple[ControllerPod, ...]:
    """One pod per Flux controller Deployment, as ``flux logs`` finds them (sorted by controller).

    ``namespace`` defaults to the Flux namespace of the settings (``flux logs --flux-namespace``).
    """
    return _controllers(namespace or settings().flux_namespace, default_cluster(client))[0]


def _controllers(namespace: str, cluster: Cluster) -> tuple[tuple[ControllerPod, ...], tuple[str, ...]]:
    """The chosen pod per controller Deployment, and the Deployments without any pod (scaled to 0)."""
    deployments = _list(
        cluster,
        f"Deployments im Namespace {namespace}",
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        PART_OF_FLUX,
    )
    chosen, podless = [], []
    for dep in sorted(deployments, key=lambda d: d["metadata"]["name"]):
        selector = _template_selector(dep)
        if not selector:
            continue
        pods = _list(
            cluster,
            f"Pods im Namespace {namespace} ({selector})",
            f"/api/v1/namespaces/{namespace}/pods",
            selector,
        )
        if pods:
            best = min(pods, key=_by_logging_key)
            chosen.append(
                ControllerPod(
                    controller=dep["metadata"]["name"],
                    namespace=namespace,
                    pod=best["metadata"]["name"],
                    container=_container(best),
                    phase=(best.get("status") or {}).get("phase", "Unknown"),
                    ready=_pod_is_ready(best),
                )
            )
        else:
            podless.append(dep["metadata"]["name"])
    if not chosen:
        raise _no_pods(namespace, PART_OF_FLUX)
    return tuple(chosen), tuple(podless)


def _select(
    pods: tuple[ControllerPod, ...], controller: str | None, podless: tuple[str, ...] = ()
) -> tuple[ControllerPod, ...]:
    if not controller:
        return pods
    wanted = controller.strip().lower()
    found = tuple(p for p in pods if p.controller in (wanted, f"{wanted}-controller"))
    stopped = [name for name in podless if name in (wanted, f"{wanted}-controller")]
    if not found and stopped:
        namespace = pods[0].namespace if pods else settings().flux_namespace
        raise RunbookError(
            f"Der {stopped[0]} hat keinen Pod, dessen Logs sich lesen ließen: das Deployment "
            f"{namespace}/{stopped[0]} ist auf 0 Replikate skaliert oder seine Pods fehlen.",
            f"Prüfen mit `kubectl -n {namespace} get deploy,pods -l app={stopped[0]}` und "
            f"`kubectl -n {namespace} describe deploy {stopped[0]}`; ohne laufenden {stopped[0]} bearbeitet "
            "Flux keine Objekte dieser Art.",
        )
    if not found:
        raise UsageError(
            f"Unbekannter Controller '{controller}'.",
            f"Vorhanden sind: {', '.join(p.controller for p in pods)}.",
        )
    return found


def _usable(
    pods: tuple[ControllerPod, ...], reporter: Reporter
) -> tuple[tuple[ControllerPod, ...], tuple[str, ...]]:
    """Pods to read, and German warnings; an error only when no pod has logs to read."""
    warnings = []
    for p in pods:
        if not p.ready:
            text = f"Pod {p.namespace}/{p.pod} ({p.controller}) ist nicht bereit (Phase {p.phase})" + (
                "; Logs werden trotzdem gelesen." if p.has_logs else "; er hat noch keine Logs."
            )
            warnings.append(text)
            reporter.warning(text)
    # a crash-looping controller is exactly the one whose logs an incident needs: read every pod
    # that has logs (flux logs does too); the warning above says it is not ready
    usable = tuple(p for p in pods if p.has_logs)
    if not usable:
        p = pods[0]
        raise RunbookError(
            f"Pod {p.namespace}/{p.pod} ({p.controller}) ist nicht bereit (Phase {p.phase}).",
            f"Zustand prüfen: `kubectl describe pod -n {p.namespace} {p.pod}`; "
            f"frühere Logs: `kubectl logs -n {p.namespace} {p.pod} -c {p.container} --previous`.",
        )
    return usable, tuple(warnings)


def _open(
    cluster: Cluster,
    pod: ControllerPod,
    *,
    since_seconds: int | None,
    tail: int | None,
    follow_seconds: float | None,
) -> Any:
    request_timeout = settings().request_timeout
    timeout: Any = (
        request_timeout if follow_seconds is None else (request_timeout, follow_seconds + FOLLOW_GRACE)
    )
    query = {
        "container": pod.container,
        "sinceSeconds": since_seconds,
        "tailLines": tail,
        "timestamps": True,
        "follow": follow_seconds is not None or None,
    }
    path = f"/api/v1/namespaces/{pod.namespace}/pods/{pod.pod}/log"
    return kube.api_stream(cluster, path, _what(pod.namespace, pod.pod), query, timeout=timeout)


def _what(namespace: str, pod: str) -> str:
    return f"Logs von Pod {namespace}/{pod}"


def _lines(cluster: Cluster, what: str, resp: Any, *, tolerant: bool) -> Iterator[bytes]:
    """The lines of a streamed log; ``tolerant``: a socket shut at the deadline ends it (a partial last
    line is dropped)."""
    chunks = kube.read_chunks(cluster, what, resp, tolerant=tolerant)
    return split_lines(chunks, partial=not tolerant)


def _read_all(
    cluster: Cluster,
    pods: tuple[ControllerPod, ...],
    flt: LogFilter,
    *,
    since_seconds: int | None,
    tail: int | None,
) -> list[list[LogLine]]:
    def read(p: ControllerPod) -> list[LogLine]:
        resp = _open(cluster, p, since_seconds=since_seconds, tail=tail, follow_seconds=None)
        # a log up to now: whole blocks (a follow reads what arrives, kube.read_chunks' default)
        chunks = kube.read_chunks(cluster, _what(p.namespace, p.pod), resp, whole=True)
        return list(filter_chunks(chunks, flt, controller=p.controller, stamped=True))

    # as flux logs reads them: the API server sends each log slowly
    return kube.side_by_side(lambda p: kube.again_if_cut(partial(read, p)), pods)


def _follow_all(
    cluster: Cluster,
    pods: tuple[ControllerPod, ...],
    flt: LogFilter,
    *,
    since_seconds: int | None,
    tail: int | None,
    seconds: float,
) -> list[list[LogLine]]:
    """Stream every pod in parallel until the deadline, then shut the sockets.

    A stream that ends before the deadline (the connection dropped, the server restarted) is opened
    again for the seconds since it ended; lines already read are skipped. A stream that cannot be
    opened again raises the converted error (the follow fails with a clear message, it does not end
    quietly with lines missing).
    """
    deadline = time.monotonic() + seconds
    current = [
        _open(cluster, p, since_seconds=since_seconds, tail=tail, follow_seconds=seconds) for p in pods
    ]
    lock, stopped = threading.Lock(), threading.Event()

    def collect(index: int, pod: ControllerPod) -> list[LogLine]:
        found: list[LogLine] = []
        recent: deque[bytes] = deque(maxlen=RESUME_OVERLAP)
        overlap: set[bytes] = set()
        while True:
            lines = _lines(cluster, _what(pod.namespace, pod.pod), current[index], tolerant=True)
            fresh = _after_overlap(lines, overlap, recent)
            found.extend(filter_lines(fresh, flt, controller=pod.controller, stamped=True))
            ended, left = time.time(), deadline - time.monotonic()
            if stopped.is_set() or left <= RESUME_PAUSE:
                return found
            time.sleep(RESUME_PAUSE)  # a stream that ends at once again must not spin
            overlap = set(recent)
            resp = _open(
                cluster,
                pod,
                since_seconds=max(1, math.ceil(time.time() - ended) + 1),
                tail=None,
                follow_seconds=max(0.05, deadline - time.monotonic()),
            )
            with lock:
                current[index] = resp
                if stopped.is_set():
                    kube.shutdown(resp)

    with ThreadPoolExecutor(max_workers=len(pods)) as pool:
        futures = [pool.submit(collect, i, p) for i, p in enumerate(pods)]
        wait_futures(futures, timeout=max(0.0, deadline - time.monotonic()))
        with lock:
            stopped.set()
            for resp in current:
                kube.shutdown(resp)
        return [f.result() for f in futures]


def _stamp(line: bytes) -> datetime | None:
    """The API server's timestamp in front of a line read with ``timestamps=true``."""
    return parse_time(line.split(b" ", 1)[0].decode("ascii", "replace"))


def _after_overlap(lines: Iterable[bytes], overlap: set[bytes], recent: deque[bytes]) -> Iterator[bytes]:
    """The lines of a reopened stream that were not read before the cut: it starts a little earlier,
    so lines read already (``overlap``) and lines older than the last one read are skipped until the
    stream passes that point. ``recent`` keeps the last lines for the next reopening."""
    last = _stamp(recent[-1]) if overlap and recent else None
    skipping = last is not None
    for line in lines:
        if skipping:
            stamp = _stamp(line)
            if line in overlap or (stamp is not None and last is not None and stamp < last):
                continue
            if stamp is not None and last is not None and stamp > last:
                skipping = False
        recent.append(line)
        yield line


def _since_seconds(since: Any, since_time: datetime | None) -> int | None:
    if since is not None:
        return max(1, math.ceil(since.total_seconds()))
    if since_time is not None:
        return max(1, math.ceil((datetime.now(UTC) - since_time).total_seconds()) + 1)
    return None


def _check_tail(tail: int | None) -> int | None:
    if tail is None or tail == -1:
        return None
    if isinstance(tail, bool) or not isinstance(tail, int) or tail < 0:
        raise UsageError(f"Ungültiger Wert '{tail}' für tail.", "Eine ganze Zahl ≥ 0 angeben, z. B. 100.")
    return tail


def _check_names(**given: str | None) -> None:
    """Names as Kubernetes accepts them (a filter with a space would quietly match no line)."""
    for what, value in given.items():
        if value is not None:
            (check_namespace if what.endswith("namespace") else check_name)(value, what)


def read_logs(
    *,
    controller: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    all_namespaces: bool = False,
    level: str | None = None,
    since: str | None = None,
    since_time: datetime | str | None = None,
    tail: int | None = None,
    follow: str | None = None,
    flux_namespace: str | None = None,
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> LogResult:
    """``flux logs --kind=KIND --name=NAME -n NAMESPACE …`` merged across controllers in time order.

    ``since``/``follow`` are Go durations (``5m``, ``1h30m``); ``follow`` streams for that long, then
    returns. ``tail`` is per controller, as in ``flux logs``. ``flux_namespace`` defaults to the Flux
    namespace of the settings. Input is checked before the cluster is asked.
    """
    flt = make_filter(
        kind=kind,
        name=name,
        namespace=namespace,
        all_namespaces=all_namespaces,
        level=level,
        since_time=since_time,
    )
    since_td = parse_duration(since, what="since")
    follow_td = parse_duration(follow, what="follow")
    if since_td is not None and flt.since_time is not None:
        raise UsageError("since und since_time schließen sich aus.", "Nur einen der beiden Werte angeben.")
    tail_lines = _check_tail(tail)
    rep = default_reporter(reporter)
    cluster = default_cluster(client)
    found, podless = _controllers(flux_namespace or settings().flux_namespace, cluster)
    pods, warnings = _usable(_select(found, controller, podless), reporter=rep)
    seconds = _since_seconds(since_td, flt.since_time)
    if follow_td is None:
        streams = _read_all(cluster, pods, flt, since_seconds=seconds, tail=tail_lines)
    else:
        controllers = plural(len(pods), "Controller", "Controllern")
        rep.waiting(f"Verfolge die Logs von {controllers} für {format_duration(follow_td)} …")
        streams = _follow_all(
            cluster, pods, flt, since_seconds=seconds, tail=tail_lines, seconds=follow_td.total_seconds()
        )
    return LogResult(
        lines=tuple(merge(streams)),
        description=flt.describe(),
        pods=tuple(f"{p.namespace}/{p.pod}" for p in pods),
        warnings=warnings,
        level=flt.level,
    )


def plain_logs(
    label_selector: str = "app=helm-controller",
    *,
    controller: str | None = None,
    namespace: str | None = None,
    tail: int | None = 10,
    client: Cluster | None = None,
) -> PlainLogs:
    """``kubectl logs -n NAMESPACE -l SELECTOR``: raw lines of every matching pod, secrets masked.

    ``controller`` (``helm`` or ``helm-controller``) replaces the selector by ``app=<controller>``.
    ``tail=10`` is kubectl's default when a selector is used; ``None`` reads everything. ``namespace``
    defaults to the Flux namespace of the settings.
    """
    namespace = namespace or settings().flux_namespace
    if controller:
        wanted = controller.strip().lower()
        label_selector = f"app={wanted if wanted.endswith('-controller') else wanted + '-controller'}"
    tail_lines = _check_tail(tail)
    cluster = default_cluster(client)
    pods = _list(
        cluster,
        f"Pods im Namespace {namespace} ({label_selector})",
        f"/api/v1/namespaces/{namespace}/pods",
        label_selector,
    )
    if not pods:
        raise _no_pods(namespace, label_selector)
    lines: list[str] = []

    def read(pod: dict) -> list[str]:
        name = pod["metadata"]["name"]
        what = _what(namespace, name)
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/log"
        resp = kube.api_stream(cluster, path, what, {"container": _container(pod), "tailLines": tail_lines})
        return [mask(raw.decode("utf-8", "replace")) for raw in _lines(cluster, what, resp, tolerant=False)]

    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        lines.extend(kube.again_if_cut(partial(read, pod)))
    tail_flag = "" if tail_lines == 10 else f" --tail={-1 if tail_lines is None else tail_lines}"
    command = f"kubectl logs -n {namespace} -l {label_selector}{tail_flag}"
    return PlainLogs(command=command, pods=tuple(p["metadata"]["name"] for p in pods), lines=tuple(lines))
