"""Logs and events over HTTP: a bare API server with hand-made controller pods (exact lines), then the
full sandbox after a real reconcile, then the `logs` runbook executed by papermill."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.server.apiserver import ApiServer, write_kubeconfig
from flux_sandbox.sim.store import Store
from runbook_lib.cluster import Cluster, connect
from runbook_lib.errors import NotFound, RunbookError, UsageError
from runbook_lib.events import events_for
from runbook_lib.logs.read import controller_pods, plain_logs, read_logs
from runbook_lib.report import SilentReporter
from runbook_lib.settings import PART_OF_FLUX

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "logs.ipynb"
FLUX = "flux-system"


def zap(
    kind: str, name: str, namespace: str, msg: str, level: str = "info", age: float = 0.0, **extra: object
) -> str:
    """A zap JSON line as the controllers write it, ``age`` seconds old."""
    when = datetime.fromtimestamp(time.time() - age, UTC)
    fields = {
        "level": level,
        "ts": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "msg": msg,
        "controller": kind.lower(),
        "controllerKind": kind,
        kind[0].lower() + kind[1:]: {"name": name, "namespace": namespace},
        "namespace": namespace,
        "name": name,
        "reconcileID": "r-1",
        **extra,
    }
    return json.dumps(fields, separators=(",", ":"))


@dataclass
class Bare:
    store: Store
    cluster: Cluster

    def controller(self, app: str, *, phase: str = "Running", ready: bool = True) -> str:
        labels = {
            "app": app,
            "app.kubernetes.io/component": app,
            "app.kubernetes.io/part-of": "flux",
            "app.kubernetes.io/instance": FLUX,
        }
        self.store.create(
            by_kind("Deployment"),
            {
                "metadata": {"name": app, "namespace": FLUX, "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"app": app}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "manager", "image": f"fluxcd/{app}"}]},
                    },
                },
            },
        )
        pod = f"{app}-7d9f8c6b5-x2x{len(app)}"
        self.store.create(
            by_kind("Pod"),
            {
                "metadata": {"name": pod, "namespace": FLUX, "labels": labels},
                "spec": {"nodeName": "node-1", "containers": [{"name": "manager", "image": f"fluxcd/{app}"}]},
                "status": {"phase": phase, "conditions": [{"type": "Ready", "status": str(ready)}]},
            },
        )
        return pod

    def log(self, pod: str, line: str, age: float = 0.0) -> None:
        self.store.append_log(FLUX, pod, "manager", line, time.time() - age)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Bare]:
    store = Store()
    for ns in ("default", "kube-system", FLUX):
        store.create(by_kind("Namespace"), {"metadata": {"name": ns}})
    server = ApiServer(store).start()
    try:
        yield Bare(store, connect(str(write_kubeconfig(tmp_path / "kubeconfig", server.url, None))))
    finally:
        server.stop()
        store.close()


@pytest.fixture
def flux(bare: Bare) -> Bare:
    helm = bare.controller("helm-controller")
    source = bare.controller("source-controller")
    bare.log(helm, '{"level":"info","ts":"2024-05-01T12:00:00.000Z","msg":"Starting workers"}', age=7200)
    bare.log(helm, zap("HelmRelease", "kite", "kube-system", "old line", age=7200), age=7200)
    bare.log(source, zap("HelmChart", "kube-system-kite", FLUX, "pulled 'kite' chart", age=30), age=30)
    bare.log(
        helm, zap("HelmRelease", "podinfo", "apps", "release in-sync with desired state", age=20), age=20
    )
    bare.log(helm, zap("HelmRelease", "kite", "kube-system", "running 'upgrade' action", age=10), age=10)
    bare.log(helm, "panic: not JSON at all", age=9)
    bare.log(
        helm,
        zap(
            "HelmRelease",
            "kite",
            "kube-system",
            "Reconciler error",
            "error",
            age=5,
            error="pull https://bot:s3cretpw@charts.example.com failed",
        ),
        age=5,
    )
    return bare


@pytest.mark.sandbox
def test_pods_found_like_flux_logs(flux: Bare) -> None:
    pods = controller_pods(client=flux.cluster)
    assert [(p.controller, p.container, p.ready) for p in pods] == [
        ("helm-controller", "manager", True),
        ("source-controller", "manager", True),
    ]


@pytest.mark.sandbox
def test_read_logs_shows_exactly_kite_merged_and_masked(flux: Bare) -> None:
    result = read_logs(
        kind="hr",
        name="kite",
        namespace="kube-system",
        since="1h",
        client=flux.cluster,
        reporter=SilentReporter(),
    )
    parsed = [line for line in result.lines if line.parsed]
    assert [line.msg for line in parsed] == ["running 'upgrade' action", "Reconciler error"]
    assert {(line.kind, line.name, line.namespace, line.controller) for line in parsed} == {
        ("HelmRelease", "kite", "kube-system", "helm-controller")
    }
    assert [line.msg for line in result.lines if not line.parsed] == ["panic: not JSON at all"]
    assert result.counts == {"info": 1, "error": 1, "kein JSON": 1}
    assert "s3cretpw" not in str(result) and "s3cretpw" not in result._repr_html_()
    assert "HelmRelease/kite.kube-system - Reconciler error pull https://bot:****@" in str(result)


@pytest.mark.sandbox
def test_all_namespaces_merges_controllers_in_time_order(flux: Bare) -> None:
    result = read_logs(since="1h", client=flux.cluster, reporter=SilentReporter())
    msgs = [line.msg for line in result.lines]
    assert msgs[:3] == [
        "pulled 'kite' chart",
        "release in-sync with desired state",
        "running 'upgrade' action",
    ]
    assert {line.controller for line in result.lines} == {"helm-controller", "source-controller"}
    tail = read_logs(controller="helm", tail=1, client=flux.cluster, reporter=SilentReporter())
    assert [line.level for line in tail.lines] == ["error"]


@pytest.mark.sandbox
def test_follow_is_bounded_and_sees_new_lines(flux: Bare) -> None:
    pod = controller_pods(client=flux.cluster)[0].pod
    later = threading.Timer(0.4, lambda: flux.log(pod, zap("HelmRelease", "kite", "kube-system", "followed")))
    later.start()
    start = time.monotonic()
    result = read_logs(
        kind="HelmRelease",
        name="kite",
        namespace="kube-system",
        tail=0,
        follow="1500ms",
        client=flux.cluster,
        reporter=SilentReporter(),
    )
    elapsed = time.monotonic() - start
    later.join()
    assert [line.msg for line in result.lines] == ["followed"]
    assert 1.3 < elapsed < 5


@pytest.mark.sandbox
def test_no_controller_pods_names_namespace_and_selector(bare: Bare) -> None:
    with pytest.raises(NotFound) as info:
        read_logs(kind="hr", name="kite", client=bare.cluster, reporter=SilentReporter())
    assert "'flux-system'" in info.value.message and PART_OF_FLUX in info.value.message
    assert info.value.exit_code == 1


@pytest.mark.sandbox
def test_requested_controller_not_ready_is_an_error(bare: Bare) -> None:
    bare.controller("helm-controller", phase="Pending", ready=False)
    with pytest.raises(RunbookError) as info:
        read_logs(controller="helm-controller", client=bare.cluster, reporter=SilentReporter())
    assert "nicht bereit (Phase Pending)" in info.value.message and info.value.exit_code == 1


@pytest.mark.sandbox
def test_requested_controller_that_is_crash_looping_is_still_read(flux: Bare) -> None:
    pod = flux.controller("kustomize-controller", ready=False)
    flux.log(pod, zap("Kustomization", "apps", FLUX, "panic: nil map", "error"))
    result = read_logs(
        controller="kustomize-controller", kind="ks", client=flux.cluster, reporter=SilentReporter()
    )
    assert [line.msg for line in result.lines if line.parsed] == ["panic: nil map"]
    assert any("nicht bereit" in w for w in result.warnings)


@pytest.mark.sandbox
def test_running_but_unready_pod_warns_and_is_read(flux: Bare) -> None:
    pod = flux.controller("kustomize-controller", ready=False)
    flux.log(pod, zap("Kustomization", "apps", FLUX, "health check failed", "error"))
    result = read_logs(kind="ks", client=flux.cluster, reporter=SilentReporter())
    assert [line.msg for line in result.lines if line.parsed] == ["health check failed"]
    assert any("nicht bereit" in w for w in result.warnings)


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("args", "text"),
    [
        ({"kind": "helmrelase"}, "Unbekannte Art"),
        ({"level": "warning"}, "Ungültiges Level"),
        ({"since": "5 Minuten"}, "Ungültige Dauer"),
        ({"follow": "-1s"}, "größer als null"),
        ({"tail": -3}, "tail"),
        ({"since": "5m", "since_time": "2024-05-01T00:00:00Z"}, "schließen sich aus"),
        ({"controller": "image-controller"}, "Unbekannter Controller"),
    ],
)
def test_bad_input_is_a_usage_error(flux: Bare, args: dict, text: str) -> None:
    with pytest.raises(UsageError) as info:
        read_logs(client=flux.cluster, reporter=SilentReporter(), **args)
    assert text in info.value.message and info.value.exit_code == 2


@pytest.mark.sandbox
def test_plain_logs_like_kubectl_selector(flux: Bare) -> None:
    out = plain_logs(client=flux.cluster)
    assert out.command == "kubectl logs -n flux-system -l app=helm-controller"
    assert "s3cretpw" not in str(out) and "bot:****@" in out.lines[-1]
    three = plain_logs(tail=3, client=flux.cluster)
    assert three.command.endswith("--tail=3") and three.lines[1] == "panic: not JSON at all"
    assert len(three.lines) == 3
    assert plain_logs(controller="source", client=flux.cluster).pods[0].startswith("source-controller-")
    with pytest.raises(NotFound, match="app=nothing"):
        plain_logs("app=nothing", client=flux.cluster)


def _event(name: str, kind: str, obj: str, ns: str, type_: str, reason: str, msg: str, when: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "type": type_,
        "reason": reason,
        "message": msg,
        "involvedObject": {"kind": kind, "name": obj, "namespace": ns},
        "count": 1,
        "firstTimestamp": when,
        "lastTimestamp": when,
        "source": {"component": "helm-controller"},
    }


@pytest.mark.sandbox
def test_events_of_helmrelease_include_source_and_chart(bare: Bare) -> None:
    bare.store.create(
        by_kind("HelmRelease"),
        {
            "metadata": {"name": "kite", "namespace": "kube-system"},
            "spec": {
                "interval": "10m",
                "chart": {
                    "spec": {
                        "chart": "kite",
                        "sourceRef": {"kind": "HelmRepository", "name": "kite", "namespace": FLUX},
                    }
                },
            },
        },
    )
    ev = by_kind("Event")
    bare.store.create(
        ev,
        _event(
            "a",
            "HelmRelease",
            "kite",
            "kube-system",
            "Warning",
            "UpgradeFailed",
            "token=abc123 rejected",
            "2024-05-01T12:00:10Z",
        ),
    )
    bare.store.create(
        ev,
        _event(
            "b",
            "HelmChart",
            "kube-system-kite",
            FLUX,
            "Normal",
            "ChartPullSucceeded",
            "pulled 'kite' chart",
            "2024-05-01T12:00:05Z",
        ),
    )
    bare.store.create(
        ev,
        _event(
            "c",
            "HelmRepository",
            "kite",
            FLUX,
            "Normal",
            "NewArtifact",
            "stored fetched index",
            "2024-05-01T12:00:01Z",
        ),
    )
    bare.store.create(
        ev, _event("d", "HelmRelease", "other", "kube-system", "Normal", "X", "other", "2024-05-01T12:00:02Z")
    )
    result = events_for("hr", "kite", namespace="kube-system", client=bare.cluster)
    assert [r.object for r in result.rows] == [
        "HelmRepository/kite",
        "HelmChart/kube-system-kite",
        "HelmRelease/kite",
    ]
    assert result.show_namespace and str(result).splitlines()[0].split() == [
        "NAMESPACE",
        "LAST",
        "SEEN",
        "TYPE",
        "REASON",
        "OBJECT",
        "MESSAGE",
    ]
    assert "abc123" not in str(result)
    assert result._repr_html_().count('class="failing"') == 1
    with pytest.raises(NotFound, match="HelmRelease kube-system/missing"):
        events_for("HelmRelease", "missing", namespace="kube-system", client=bare.cluster)


# --- the full sandbox (controllers write the lines themselves) ---------------------------------------


def _reconcile_kite(cluster: Cluster) -> None:
    token = datetime.now(UTC).isoformat()
    args = ("helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite")
    cluster.custom.patch_namespaced_custom_object(
        *args, {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = cluster.custom.get_namespaced_custom_object(*args).get("status") or {}
        if status.get("lastHandledReconcileAt") == token:
            return
        time.sleep(0.05)
    pytest.fail("kite was not reconciled within 30 s")


@pytest.mark.sandbox
def test_sandbox_logs_after_reconcile_show_only_kite(sandbox: object) -> None:
    cluster = connect(str(sandbox.kubeconfig))  # type: ignore[attr-defined]
    _reconcile_kite(cluster)
    result = read_logs(
        kind="HelmRelease",
        name="kite",
        namespace="kube-system",
        since="5m",
        client=cluster,
        reporter=SilentReporter(),
    )
    parsed = [line for line in result.lines if line.parsed]
    assert parsed, str(result)
    kite = ("HelmRelease", "kite", "kube-system")
    assert {(line.kind, line.name, line.namespace) for line in parsed} == {kite}
    assert {line.controller for line in parsed} == {"helm-controller"}
    events = events_for("HelmRelease", "kite", namespace="kube-system", client=cluster)
    assert any(r.object == "HelmChart/kube-system-kite" for r in events.rows), str(events)


@pytest.mark.runbook
def test_logs_notebook_runs_against_sandbox(sandbox: object, tmp_path: Path) -> None:
    import papermill

    out = tmp_path / "logs.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        kernel_name="python3",
        progress_bar=False,
        parameters={"kubeconfig": str(sandbox.kubeconfig)},
    )  # type: ignore[attr-defined]
    cells = json.loads(out.read_text())["cells"]
    html = [
        o["data"]["text/html"]
        for c in cells
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    html_text = ["".join(h) if isinstance(h, list) else h for h in html]
    assert any("HelmRelease" in h and "<th>Zeit</th>" in h for h in html_text)
    assert any("Events zu HelmRelease kube-system/kite" in h for h in html_text)
    assert any("kubectl logs -n flux-system -l app=helm-controller" in h for h in html_text)
