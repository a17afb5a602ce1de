"""`runbook run sync` after a push reports the revision the real kustomize-controller applied.

The real controllers write Ready=True ("Applied revision: X") one status patch before
``lastAppliedRevision`` (docs/flux-facts.md §18). A wait that stopped at Ready reported the old revision
as applied; the simulated engine writes both at once and could not show it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flux_sandbox.real.engine import Engine

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]

HELMRELEASE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "-c", "user.name=Test", "-c", "user.email=test@example.org", *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def test_sync_after_a_push_reports_the_applied_revision(make_engine, tmp_path: Path) -> None:
    engine: Engine = make_engine("healthy")
    checkout, kubeconfig = engine.state_dir / "checkout", engine.state_dir / "kubeconfig"
    for attempt in range(2):  # the window is ~20 ms wide; each sync crosses it once
        path = checkout / HELMRELEASE
        path.write_text(path.read_text("utf-8") + f"# push {attempt}\n", encoding="utf-8")
        git(checkout, "commit", "-qam", f"test: push {attempt}")
        git(checkout, "push", "-q", "origin", "HEAD")
        sha = git(checkout, "rev-parse", "HEAD")
        proc = subprocess.run(
            [sys.executable, "-m", "runbook_lib.cli", "run", "sync", "-p", "kind", "ks", "-p", "name", "apps",
             "--kubeconfig", str(kubeconfig), "--output", str(tmp_path / f"sync-{attempt}.ipynb")],
            capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        verdict = next(line for line in proc.stdout.splitlines() if line.startswith("Befund:"))
        assert f"Kustomization flux-system/apps: Revision main@sha1:{sha}" in verdict, proc.stdout
        assert f"angewendete Revision main@sha1:{sha}" in proc.stdout, proc.stdout
