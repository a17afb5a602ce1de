"""The preview runbook on the simulated engine: the sandbox's test branch previewed, then merged and rolled
out; a branch that does not exist is a usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]


def run_preview(sb: Any, tmp_path: Path, *params: str) -> subprocess.CompletedProcess[str]:
    pairs = [x for p in params for x in ("-p", *p.split("=", 1))]
    args = ["run", "preview", "-p", "repo_path", str(sb.checkout), *pairs, "--kubeconfig", str(sb.kubeconfig)]
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", *args, "--output", str(tmp_path / "preview.ipynb")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_preview_then_merge_the_sandbox_test_branch(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox()
    branch_head = git(sb.remote, "rev-parse", "refs/heads/test/kite-replikate")
    proc = run_preview(sb, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Branch origin/test/kite-replikate" in out and "Übernahme per Fast-Forward" in out
    assert "Kite: zwei Replikate testen, bevor sie nach main kommen" in out
    assert "-    replicaCount: 1\n+    replicaCount: 2" in out  # the dry-run diff, or Git's where it cannot
    assert (
        "HelmRelease    kube-system  kite         definiert in clusters/orbstack/apps/kite/helmrelease.yaml"
        in out
    )
    assert "✔ Vorschau beendet: nichts wurde gemergt oder gepusht (merge = False)." in out + proc.stderr
    assert git(sb.remote, "rev-parse", "refs/heads/main") != branch_head

    proc = run_preview(sb, tmp_path, "merge=True")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "per Fast-Forward in main übernommen" in proc.stdout
    assert f"✔ Commit {branch_head[:7]} ist im Cluster angekommen." in proc.stdout
    assert git(sb.remote, "rev-parse", "refs/heads/main") == branch_head


def test_unknown_branch_is_a_usage_error(sandbox: Any, tmp_path: Path) -> None:
    proc = run_preview(sandbox, tmp_path, "branch=test/kite-replicas")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        "Den Branch `test/kite-replicas` gibt es weder lokal noch auf `origin`." in proc.stdout + proc.stderr
    )
    assert "Meinten Sie: test/kite-replikate?" in proc.stdout + proc.stderr
