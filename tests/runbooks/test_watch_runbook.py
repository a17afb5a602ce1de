"""``watch`` against the simulated sandbox: event lines reach the terminal while the runbook runs, the
summary names what reconciled, and Alerts/Providers are read with what they cover."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from runbook_support import run

from runbook_lib.cluster import connect
from runbook_lib.notify import notifications
from runbook_lib.reconcile import reconcile
from runbook_lib.report import SilentReporter

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]


def test_event_lines_are_printed_while_the_runbook_runs(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox()
    cluster = connect(str(sb.kubeconfig))
    proc = subprocess.Popen(
        [*RUNBOOK, "run", "watch", "--kubeconfig", str(sb.kubeconfig), "-p", "duration", "25s",
         "-p", "kind", "Kustomization", "--output", str(tmp_path / "watch.ipynb")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        started = proc.stdout.readline()
        assert started.startswith("► Beobachte Kustomization für 25s"), started
        # the runbook is still running when Flux reconciles, and its line arrives before the end
        reconcile(
            "ks", "apps", namespace="flux-system", with_source=True, client=cluster, reporter=SilentReporter()
        )
        while line := proc.stdout.readline():
            lines.append(line)
            if "ReconciliationSucceeded" in line:
                assert proc.poll() is None, "die Zeile kam erst nach dem Ende"
                break
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines) + rest + err
    event = next(line for line in lines if "ReconciliationSucceeded" in line)
    assert " ℹ Kustomization flux-system/apps  ReconciliationSucceeded" in event
    # the summary comes at the end; the lines shown live are not repeated
    assert "✔ Abgeglichen:     Kustomization flux-system/apps" in rest
    assert "ReconciliationSucceeded" not in rest
    assert "⚠ Keine Alerts (0 Provider): Flux benachrichtigt niemanden." in rest


def test_a_failing_helmrelease_is_a_warning_line_and_failed_in_the_summary(make_sandbox: Any) -> None:
    sb = make_sandbox()
    cluster = connect(str(sb.kubeconfig))
    from runbook_lib import watch

    cluster.core.list_event_for_all_namespaces(limit=1)  # the client's first call loads its models (slow)

    def break_it() -> None:
        time.sleep(5)
        body = {"spec": {"values": {"image": {"tag": "v0.7.0-gibt-es-nicht"}}}}
        cluster.custom.patch_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite", body
        )

    thread = threading.Thread(target=break_it)
    thread.start()
    result = watch("30s", kind="hr", namespace="kube-system", client=cluster)
    thread.join()
    assert any(s.warning and s.row.object == "HelmRelease/kite" for s in result.events), result.table()
    assert str(result).startswith("✗ HelmRelease in kube-system 30s lang beobachtet")
    refs = [ref for ref, _ in result.failed] + [ref for ref, _ in result.progressing]
    assert "HelmRelease kube-system/kite" in refs


def test_alerts_and_providers_with_what_they_cover(make_sandbox: Any) -> None:
    sb = make_sandbox()
    cluster = connect(str(sb.kubeconfig))
    group, version = "notification.toolkit.fluxcd.io", "v1beta3"
    provider = {"apiVersion": f"{group}/{version}", "kind": "Provider", "metadata": {"name": "team-chat"},
                "spec": {"type": "slack", "channel": "flux"}}  # fmt: skip
    alert = {
        "apiVersion": f"{group}/{version}",
        "kind": "Alert",
        "metadata": {"name": "plattform"},
        "spec": {
            "providerRef": {"name": "team-chat"},
            "eventSeverity": "info",
            "eventSources": [{"kind": "Kustomization", "name": "*"}, {"kind": "GitRepository", "name": "*"}],
        },
    }
    cluster.custom.create_namespaced_custom_object(group, version, "flux-system", "providers", provider)
    cluster.custom.create_namespaced_custom_object(group, version, "flux-system", "alerts", alert)
    result = notifications(client=cluster)
    assert result.installed and len(result.alerts) == 1
    assert result.alerts[0].provider == "slack team-chat"
    assert "HelmRelease kube-system/kite" in result.uncovered
    assert "HelmRelease cert-manager/cert-manager" in result.uncovered
    assert not any(u.startswith(("Kustomization", "GitRepository")) for u in result.uncovered)
    assert result.covered == 4  # flux-system, infrastructure, apps, and the GitRepository


def test_in_jupyter_the_live_view_is_one_updating_display(sandbox: Any, tmp_path: Path) -> None:
    nb = run("watch", tmp_path, kubeconfig=str(sandbox.kubeconfig), duration="3s")
    cell = next(c for c in nb["cells"] if "live" in c["metadata"].get("tags", []))
    kinds = [o["output_type"] for o in cell["outputs"]]
    assert kinds == ["stream", "display_data", "execute_result"], kinds
    live = "".join(cell["outputs"][1]["data"]["text/html"])
    assert "Beobachtung beendet: 0 Ereignisse" in live  # updated in place, not appended
    assert "3s lang beobachtet" in "".join(cell["outputs"][2]["data"]["text/plain"])
