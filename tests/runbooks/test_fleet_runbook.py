"""``fleet`` over several simulated sandboxes in one merged kubeconfig: healthy ones, a stopped one, one
that accepts connections and never answers, and one with a failing HelmRelease."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runbook_lib.fleet import HEALTHY, TIMED_OUT, UNREACHABLE, fleet

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]


def merged(path: Path, clusters: dict[str, str]) -> Path:
    """One kubeconfig with a context per (name -> server), as teams merge theirs (distinct names)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters.items()],
        "users": [{"name": n, "user": {}} for n in clusters],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in clusters],
        "current-context": next(iter(clusters)),
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def server_of(sb: Any) -> str:
    return str(
        yaml.safe_load(Path(sb.kubeconfig).read_text(encoding="utf-8"))["clusters"][0]["cluster"]["server"]
    )


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a frozen API server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_three_sandboxes_one_stopped_two_healthy_rows_one_unreachable(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sandboxes = [make_sandbox() for _ in range(3)]
    servers = {name: server_of(sb) for name, sb in zip(("prod", "stage", "dev"), sandboxes, strict=True)}
    sandboxes[1].stop()
    kubeconfig = merged(tmp_path / "kubeconfig", servers)
    proc = subprocess.run(
        [*RUNBOOK, "run", "fleet", "--kubeconfig", str(kubeconfig), "-p", "timeout", "20s",
         "--output", str(tmp_path / "fleet.ipynb")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # for CI: a cluster is not healthy
    rows = {
        line.split()[0]: line
        for line in proc.stdout.splitlines()
        if line.split()[:1] in (["prod"], ["stage"], ["dev"])
    }
    assert "✔ gesund" in rows["prod"] and "✔ gesund" in rows["dev"]
    assert "✗ nicht erreichbar" in rows["stage"] and "Verbindung abgelehnt" in rows["stage"]
    assert "main@sha1:" in rows["prod"] and "v2." in rows["prod"]
    assert "✗ 3 Cluster" in proc.stdout and "2 gesund, 1 mit Problemen" in proc.stdout
    assert "1 Cluster ist nicht gesund: stage (nicht erreichbar)" in proc.stdout
    # the healthy pair alone: exit code 0
    proc = subprocess.run(
        [*RUNBOOK, "run", "fleet", "--kubeconfig", str(kubeconfig), "-p", "contexts", "prod,dev", "-q",
         "--output", str(tmp_path / "fleet2.ipynb")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_cluster_that_never_answers_is_reported_at_the_deadline(
    sandbox: Any, silent_server: str, tmp_path: Path
) -> None:
    kubeconfig = merged(tmp_path / "kubeconfig", {"ok": server_of(sandbox), "frozen": silent_server})
    result = fleet(kubeconfig=str(kubeconfig), timeout="2s")
    states = {row.context: row.state for row in result.rows}
    assert states == {"ok": HEALTHY, "frozen": TIMED_OUT}
    # the frozen cluster's request would time out only after 10 s (the request timeout); the table
    # came at the deadline
    assert result.seconds < 9
    assert "keine Antwort innerhalb von 2s" in str(result)


def test_a_failing_helmrelease_is_the_oldest_failing_object(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("helmrelease-upgrade-failed")
    kubeconfig = merged(tmp_path / "kubeconfig", {"broken": server_of(sb), "gone": "http://127.0.0.1:9"})
    result = fleet(kubeconfig=str(kubeconfig), timeout="15s")
    broken, gone = result.rows
    assert broken.state == "failing" and broken.counts and broken.counts["failing"] >= 1
    assert broken.oldest_failing.startswith("HelmRelease kube-system/kite (seit ")
    assert gone.state == UNREACHABLE
    assert [v.outcome for v in result.verdicts()] == ["error", "error"]


def test_unknown_contexts_are_usage_errors(sandbox: Any, tmp_path: Path) -> None:
    kubeconfig = merged(tmp_path / "kubeconfig", {"prod": server_of(sandbox)})
    proc = subprocess.run(
        [*RUNBOOK, "run", "fleet", "--kubeconfig", str(kubeconfig), "-p", "contexts", "prod,prd",
         "--output", str(tmp_path / "f.ipynb")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Nicht in der Kubeconfig: prd." in proc.stdout + proc.stderr
    assert "Vorhandene Kontexte: prod" in proc.stdout + proc.stderr
