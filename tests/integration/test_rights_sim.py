"""The preflight against the simulated engine: it answers access reviews as an admin would, so every
runbook's rights are there; a team's own runbook declares its rights in its notebook metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flux_sandbox.sim import Sandbox
from runbook_lib.access import check_rights, declared_rights
from runbook_lib.cli import main
from runbook_lib.cluster import connect
from runbook_lib.errors import UsageError
from runbook_lib.kube import can_i
from runbook_lib.rights import RUNBOOK_RIGHTS

PARAMS = {
    "status": {"namespace": None},
    "logs": {"namespace": "kube-system"},
    "sync": {"namespace": "kube-system"},
    "change": {"dry_run": False},
    "rollback": {"dry_run": False},
    "troubleshoot-sync": {"namespace": "flux-system"},
    "troubleshoot-helmrelease": {"namespace": "kube-system"},
    "troubleshoot-certificates": {"namespace": None},
    "trace": {"namespace": "kube-system"},
    "fleet": {},
    "watch": {"namespace": None},
    "audit": {"namespace": None},
    "preview": {"dry_run": False},
}


@pytest.mark.parametrize("name", sorted(RUNBOOK_RIGHTS))
def test_the_sandbox_grants_every_right_like_an_admin(sandbox: Sandbox, name: str) -> None:
    cluster = connect(str(sandbox.kubeconfig))
    result = check_rights(name, client=cluster, **PARAMS[name])
    expected = {
        c for r in RUNBOOK_RIGHTS[name] for c in r.checks({**PARAMS[name], "flux_namespace": "flux-system"})
    }
    assert {c for c, _ in result.checks} == expected
    assert not result.missing
    assert str(result).startswith(f"Rechte: alle {len(expected)} vorhanden")


def test_can_i_asks_with_namespace_and_subresource(sandbox: Sandbox) -> None:
    cluster = connect(str(sandbox.kubeconfig))
    assert can_i(cluster, "get", "pods/log", "", "flux-system") is True
    assert can_i(cluster, "list", "customresourcedefinitions", "apiextensions.k8s.io", None) is True


def _team_runbook(folder: Path, rights: object) -> Path:
    nb = {
        "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["# Eigenes Runbook"]}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "runbook": {"read_only": True, "rights": rights}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path = folder / "team-check.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_a_team_runbook_declares_and_checks_its_own_rights(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rights = [
        {
            "verbs": ["list"],
            "resources": ["pods"],
            "group": "",
            "namespace": "{namespace}",
            "purpose": "Pods",
        },
        {"verbs": ["get"], "resources": ["secrets"], "namespace": "{namespace}", "optional": True},
    ]
    _team_runbook(tmp_path, rights)
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(tmp_path))
    declared = declared_rights("team-check")
    assert [r.resources for r in declared] == [("pods",), ("secrets",)]
    result = check_rights("team-check", namespace="apps", client=connect(str(sandbox.kubeconfig)))
    assert [str(c) for c, ok in result.checks if ok] == ["list pods in apps", "get secrets in apps"]
    assert main(["show", "team-check"]) == 0
    out = capsys.readouterr().out
    assert "Benötigte Rechte" in out and "secrets" in out and "optional" in out


def test_a_runbook_without_declared_rights_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(tmp_path))
    with pytest.raises(UsageError, match="keine Rechte deklariert"):
        declared_rights("gibt-es-nicht")
    _team_runbook(tmp_path, "list pods")
    with pytest.raises(UsageError, match="keine Liste"):
        declared_rights("team-check")


def test_show_lists_the_rights_and_the_smallest_role(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "troubleshoot-helmrelease"]) == 0
    out = capsys.readouterr().out
    assert "Benötigte Rechte" in out
    row = next(line for line in out.splitlines() if line.startswith("list") and " pods " in line)
    assert "optional" in row
    assert (
        "Kleinste mitgelieferte Rolle: flux-runbooks-read (optional dazu: flux-runbooks-helm-history)" in out
    )
    assert main(["show", "sync"]) == 0
    assert "Kleinste mitgelieferte Rolle: flux-runbooks-operate." in capsys.readouterr().out
