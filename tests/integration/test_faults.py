"""Faults between the runbooks and the API server, driven by the fault proxy (flux_sandbox.faults) in
front of the sandbox, and a stopped controller: every runbook completes correctly or fails with the
project's German message, and nothing is changed or lost on the way.

Runbooks run in-process (``runner.run``) with a request timeout of 1 s, so a frozen server costs a
second, not ten.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flux_sandbox.faults import FaultProxy, Faults
from flux_sandbox.sim import Sandbox
from runbook_lib.cluster import connect
from runbook_lib.durations import parse_time
from runbook_lib.logs import read_logs
from runbook_lib.reconcile.actions import REQUESTED_AT, reconcile
from runbook_lib.reconcile.rules import rfc3339nano
from runbook_lib.report import SilentReporter
from runbook_lib.rights import RUNBOOK_RIGHTS
from runbook_lib.runner import RunRecord, run
from runbook_lib.settings import settings

pytestmark = pytest.mark.sandbox

UNREACHABLE = "Der Cluster ist nicht erreichbar"


@pytest.fixture(autouse=True)
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RUNBOOK_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("RUNBOOK_RETRY_BACKOFF", "0.05")
    settings.cache_clear()
    yield
    settings.cache_clear()


ProxyFactory = Callable[..., tuple[FaultProxy, str]]


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ProxyFactory]:
    """``proxy(sandbox, faults=…)`` -> (the started proxy, the path of a kubeconfig that uses it)."""
    started: list[FaultProxy] = []

    def make(sb: Sandbox, faults: Faults | None = None) -> tuple[FaultProxy, str]:
        p = FaultProxy(sb.kubeconfig, faults=faults).start()
        started.append(p)
        return p, str(p.write_kubeconfig(tmp_path / f"proxy-{len(started)}" / "kubeconfig"))

    yield make
    for p in started:
        p.stop()


def execute(runbook: str, kubeconfig: str, tmp_path: Path, /, **params: object) -> RunRecord:
    given = [(k, str(v)) for k, v in params.items()]
    return run(
        runbook, given, kubeconfig=kubeconfig, output=tmp_path / f"{runbook}-{time.monotonic_ns()}.ipynb"
    )


def text_of(record: RunRecord) -> str:
    """Everything the executed notebook displayed, error values included."""
    nb = json.loads(Path(record.output).read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append(
                "".join(out.get("text", "")) + "".join((out.get("data") or {}).get("text/plain", ""))
            )
            parts.append(out.get("evalue", ""))
    return "\n".join(parts)


# --- a bad network: latency, errors, dropped streams -----------------------------------------------------

BAD_NETWORK = Faults(latency=0.02, error_rate=0.25, drop_streams_after=0.3, seed=7)


def test_status_completes_through_errors_and_latency(
    sandbox: Sandbox, proxy: ProxyFactory, tmp_path: Path
) -> None:
    p, kubeconfig = proxy(sandbox, BAD_NETWORK)
    record = execute("status", kubeconfig, tmp_path)
    assert record.status == "ok", record.error
    assert record.summary.startswith("✔ 10 Flux-Objekte in allen Namespaces: 10 bereit")
    assert p.requests > 10


def test_sync_completes_through_errors_and_dropped_watches(
    make_sandbox: Callable[..., Sandbox], proxy: ProxyFactory, tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    _p, kubeconfig = proxy(sb, BAD_NETWORK)
    record = execute("sync", kubeconfig, tmp_path, kind="ks", name="apps", timeout="30s")
    assert record.status == "ok", record.error
    assert record.summary.startswith("✔ Kustomization flux-system/apps: Revision main@sha1:")


def test_troubleshooting_completes_through_errors(
    sandbox: Sandbox, proxy: ProxyFactory, tmp_path: Path
) -> None:
    _p, kubeconfig = proxy(sandbox, BAD_NETWORK)
    record = execute("troubleshoot-helmrelease", kubeconfig, tmp_path)
    assert record.status == "ok", record.error
    assert record.summary == "✔ Keine Probleme gefunden."


def test_a_followed_log_resumes_after_the_stream_drops(
    make_sandbox: Callable[..., Sandbox], proxy: ProxyFactory
) -> None:
    sb = make_sandbox("healthy")
    p, kubeconfig = proxy(sb, Faults(drop_streams_after=0.5))
    cluster = connect(kubeconfig)
    asked: list[float] = []

    def ask_after_the_first_drop() -> None:  # the controller logs this reconcile
        deadline = time.monotonic() + 10
        while not p.dropped and time.monotonic() < deadline:
            time.sleep(0.02)
        asked.append(time.time())
        direct = connect(str(sb.kubeconfig))
        direct.custom.patch_namespaced_custom_object(
            "source.toolkit.fluxcd.io",
            "v1",
            "flux-system",
            "gitrepositories",
            "flux-system",
            {"metadata": {"annotations": {REQUESTED_AT: rfc3339nano()}}},
        )

    asker = threading.Thread(target=ask_after_the_first_drop)
    asker.start()
    result = read_logs(
        controller="source-controller",
        kind="GitRepository",
        name="flux-system",
        namespace="flux-system",
        since="1s",
        follow="4s",
        client=cluster,
        reporter=SilentReporter(),
    )
    asker.join()
    assert p.dropped >= 2, "the stream was cut, and cut again after it was reopened"
    late = [line for line in result.lines if parse_time(line.ts).timestamp() >= asked[0] - 0.01]
    assert late, "lines written after the stream dropped are read from the reopened stream"
    seen = [(line.ts, line.msg) for line in result.lines]
    assert len(seen) == len(set(seen)), "the overlap of the reopened stream is not read twice"


# --- the runbooks that only read, and how many requests each makes --------------------------------------

READ_ONLY = {
    "status": {},
    "sync": {"kind": "gitrepo", "name": "flux-system", "timeout": "20s"},
    "logs": {},
    "troubleshoot-sync": {},
    "troubleshoot-helmrelease": {},
    "troubleshoot-certificates": {},
}


def requests_of(sb: Sandbox, proxy: ProxyFactory, tmp_path: Path, name: str, params: dict[str, Any]) -> int:
    p, kubeconfig = proxy(sb)
    assert execute(name, kubeconfig, tmp_path, **params).status in ("ok", "stopped")
    return p.requests


# --- a response cut in the middle of its body, at every request of a runbook ---------------------------


@pytest.mark.parametrize("name", ["sync", "troubleshoot-helmrelease"])
def test_a_response_cut_in_half_at_any_request_is_read_again(
    make_sandbox: Callable[..., Sandbox], proxy: ProxyFactory, tmp_path: Path, name: str
) -> None:
    """The outside test saw `✗ ProtocolError: Connection broken` from a body read outside the boundary."""
    sb = make_sandbox("healthy")
    params = READ_ONLY[name]
    for n in range(1, requests_of(sb, proxy, tmp_path, name, params) + 1):
        p, kubeconfig = proxy(sb)
        p.at_request(n, p.cut_next)
        record = execute(name, kubeconfig, tmp_path, **params)
        assert record.status == "ok", f"request {n}: {record.error}"


# --- the API server killed or frozen during each runbook ------------------------------------------------


@pytest.mark.parametrize("fault", ["kill", "freeze"])
@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_a_dead_or_frozen_api_server_ends_each_runbook_with_the_german_error(
    make_sandbox: Callable[..., Sandbox], proxy: ProxyFactory, tmp_path: Path, name: str, fault: str
) -> None:
    sb = make_sandbox("healthy")
    params = READ_ONLY[name]
    middle = max(2, requests_of(sb, proxy, tmp_path, name, params) // 2)
    direct = connect(str(sb.kubeconfig))
    before = direct.custom.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
    p, kubeconfig = proxy(sb)
    p.at_request(middle, p.kill if fault == "kill" else p.freeze)
    began = time.monotonic()
    record = execute(name, kubeconfig, tmp_path, **params)
    assert record.status == "failed" and record.exit_code == 1
    assert record.error.startswith(UNREACHABLE), record.error
    assert ("keine Antwort innerhalb von 1 s" in record.error) is (fault == "freeze")
    assert "Traceback" not in str(record) and "Error:" not in record.error
    assert time.monotonic() - began < 15, "a frozen server must not hold the run until its deadline"
    after = direct.custom.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
    assert [i["spec"] for i in after["items"]] == [i["spec"] for i in before["items"]], "nothing changed"


def _acting_reviews(name: str) -> int:
    """How many more access reviews the preflight asks when the runbook acts than in a dry run."""

    def reviews(dry_run: bool) -> int:
        params = {"dry_run": dry_run, "flux_namespace": "flux-system"}
        return len(dict.fromkeys(c for r in RUNBOOK_RIGHTS[name] for c in r.checks(params)))

    return reviews(False) - reviews(True)


@pytest.mark.parametrize("fault", ["kill", "freeze"])
@pytest.mark.parametrize("name", ["change", "rollback"])
def test_a_dead_api_server_after_the_push_keeps_the_commit_and_says_so(
    make_sandbox: Callable[..., Sandbox], proxy: ProxyFactory, tmp_path: Path, name: str, fault: str
) -> None:
    sb = make_sandbox("healthy")
    params: dict[str, Any] = {"repo_path": sb.checkout, "dry_run": False, "timeout": "20s"}
    if name == "change":
        params |= {
            "set_values": '{"spec.values.replicaCount": 3}',
            "message": "Kite: drei Replikate für den Test",
        }
    else:
        params |= {"reason": "Test: Rollback bei totem API-Server"}
    before_remote = sb.repo.head()
    dry = {k: v for k, v in params.items() if k != "dry_run"}
    # applying asks nothing; acting, the preflight asks the access reviews of the acting rights too
    first_rollout_request = requests_of(sb, proxy, tmp_path, name, dry) + _acting_reviews(name) + 1
    p, kubeconfig = proxy(sb)
    p.at_request(first_rollout_request, p.kill if fault == "kill" else p.freeze)
    record = execute(name, kubeconfig, tmp_path, **params)
    assert record.status == "failed" and record.exit_code == 1
    shown = text_of(record)
    pushed = sb.repo.head()
    assert pushed != before_remote, "the push happened before the fault"
    assert f"{pushed[:7]}" in shown and "ist auf origin/main" in shown
    assert UNREACHABLE in record.error
    assert "nicht vollständig im Cluster angekommen" in record.error or record.error.startswith(UNREACHABLE)


# --- a stopped controller ---------------------------------------------------------------------------------


def test_sync_and_logs_with_a_stopped_controller_name_it(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    sb.stop_controller("source-controller")
    record = execute("sync", str(sb.kubeconfig), tmp_path, kind="gitrepo", name="flux-system", timeout="2s")
    assert record.status == "failed" and record.exit_code == 1
    assert "der source-controller läuft nicht (auf 0 Replikate skaliert), niemand bearbeitet die Anfrage" in (
        record.error
    )
    assert "kubectl -n flux-system describe deploy source-controller" in record.error
    diagnosis = execute("troubleshoot-sync", str(sb.kubeconfig), tmp_path)
    assert diagnosis.status == "ok" and diagnosis.summary.startswith("✗ Flux synchronisiert nicht")
    status = execute("status", str(sb.kubeconfig), tmp_path)
    assert status.status == "ok" and "10 Flux-Objekte" in status.summary
    logs = execute("logs", str(sb.kubeconfig), tmp_path, controller="source-controller")
    assert logs.status == "failed" and logs.exit_code == 1
    assert "Der source-controller hat keinen Pod" in logs.error and "auf 0 Replikate skaliert" in logs.error
    assert execute("logs", str(sb.kubeconfig), tmp_path).status == "ok", (
        "the other controllers' logs are read"
    )
    sb.start_controller("source-controller")
    again = execute("sync", str(sb.kubeconfig), tmp_path, kind="gitrepo", name="flux-system", timeout="20s")
    assert again.status == "ok", again.error


def test_a_request_overtaken_by_a_later_one_is_satisfied_when_that_one_is_handled(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """Two operators sync at once: the controller handles only the newer request (its annotation
    replaced ours); the older request is done too, not left waiting for a token never echoed."""
    sb = make_sandbox("healthy")
    cluster = connect(str(sb.kubeconfig))
    sb.stop_controller("source-controller")
    outcome: dict[str, Any] = {}

    def first_operator() -> None:
        try:
            outcome["result"] = reconcile(
                "gitrepo", "flux-system", timeout="20s", client=cluster, reporter=SilentReporter()
            )
        except Exception as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=first_operator)
    worker.start()
    group = ("source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system")
    deadline = time.monotonic() + 10
    while not (cluster.custom.get_namespaced_custom_object(*group)["metadata"].get("annotations") or {}).get(
        REQUESTED_AT
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    later = rfc3339nano()
    cluster.custom.patch_namespaced_custom_object(
        *group, {"metadata": {"annotations": {REQUESTED_AT: later}}}
    )
    sb.start_controller("source-controller")
    worker.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].ok
    handled = cluster.custom.get_namespaced_custom_object(*group)["status"]["lastHandledReconcileAt"]
    assert handled == later
