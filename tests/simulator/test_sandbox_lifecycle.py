"""Sandbox lifecycle: state directory lock, reuse of the GitOps repository, kubeconfig, serve()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from flux_sandbox.sim import Sandbox, Timing
from flux_sandbox.sim.gitrepo import git
from runbook_lib.errors import RunbookError, UsageError

USER = ("Test User", "test@example.org")


def test_second_sandbox_on_same_dir_is_refused(make_sandbox: Callable[..., Sandbox]) -> None:
    first = make_sandbox()
    second = Sandbox(first.state_dir, timing=Timing.fast())
    with pytest.raises(RunbookError) as info:
        second.start()
    assert str(first.state_dir) in info.value.message
    assert f"PID {os.getpid()}" in info.value.message
    assert info.value.hint and "--state" in info.value.hint
    assert first.store.closed is False  # the running one is untouched


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Unbekanntes Szenario 'nope'"):
        Sandbox(tmp_path, "nope")


def test_existing_remote_is_reused_with_user_commits(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Sandbox(state, timing=Timing.fast()) as sb:
        checkout = sb.checkout
        assert git("config", "user.name", cwd=checkout).strip()
        readme = checkout / "clusters/orbstack/apps/kite/NOTIZEN.md"
        readme.write_text("Eigene Notizen\n", encoding="utf-8")
        git("add", "--all", cwd=checkout, author=USER)
        git("commit", "-q", "-m", "Add notes for Kite", cwd=checkout, author=USER)
        git("push", "-q", "origin", "main", cwd=checkout, author=USER)
        head = sb.repo.head()
    with Sandbox(state, timing=Timing.fast()) as again:
        assert again.repo.head() == head
        assert again.repo.subject(head) == "Add notes for Kite"
        log = git("log", "--format=%s", cwd=again.remote)
        assert log.splitlines()[-1] == "Bootstrap Flux for cluster orbstack"
        gitrepo = again.store.get(again.store.rtype_of("GitRepository"), "flux-system", "flux-system")
        assert gitrepo["status"]["artifact"]["revision"] == f"main@sha1:{head}"


def test_kubeconfig_context_and_repository_layout(sandbox: Sandbox) -> None:
    cfg = yaml.safe_load(sandbox.kubeconfig.read_text())
    assert cfg["current-context"] == "runbook-sandbox"
    assert cfg["clusters"][0]["cluster"]["server"] == sandbox.url
    assert (sandbox.remote / "HEAD").exists() and (sandbox.checkout / ".git").exists()
    sync = (sandbox.checkout / "clusters/orbstack/flux-system/gotk-sync.yaml").read_text()
    assert f"url: {sandbox.repo.url}" in sync
    assert git("rev-parse", "HEAD", cwd=sandbox.checkout).strip() == sandbox.repo.head()
    assert len(git("log", "--oneline", cwd=sandbox.remote).splitlines()) >= 3


@pytest.mark.sandbox
def test_python_client_reads_ready_helmrelease_over_http(kubeconfig: str) -> None:
    with config.new_client_from_config(config_file=kubeconfig) as api:
        hr = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite"
        )
        ready = next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        assert ready["message"].startswith(
            (
                "Helm install succeeded for release kube-system/kite.v",
                "Helm upgrade succeeded for release kube-system/kite.v",
            )
        )
        events = client.CoreV1Api(api).list_namespaced_event(
            "kube-system", field_selector="involvedObject.kind=HelmRelease,involvedObject.name=kite"
        )
        assert any(
            e.reason == "InstallSucceeded" and e.involved_object.uid == hr["metadata"]["uid"]
            for e in events.items
        )


@pytest.mark.sandbox
def test_serve_prints_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = (
        "import sys; from flux_sandbox.sim import serve; "
        f"sys.exit(serve({str(tmp_path / 'dir')!r}, 'healthy', 0))"
    )
    env = {**os.environ, "RUNBOOK_SANDBOX_TIMING": "fast"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready: ")
        assert f"export KUBECONFIG={tmp_path / 'dir' / 'kubeconfig'}" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert (tmp_path / "dir" / "kubeconfig").exists()
