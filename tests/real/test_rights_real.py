"""Least privilege on a real kube-apiserver with real RBAC: every runbook with the smallest shipped
role (``DIR/kubeconfig-<role>``, a user bound by the binding in ``rbac/``) gives the admin's verdict in
every scenario of the real engine; a role without ``list pods`` is named by troubleshoot-helmrelease.

One engine per scenario runs every runbook as admin and as the role (real-engine starts are slow).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from flux_sandbox.real import roles
from flux_sandbox.real.engine import Engine
from runbook_lib.rights import OPERATE, READ, role_rules

EngineFactory = Callable[[str], Engine]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.real, pytest.mark.timeout(1500)]

#: what the read-only role is for (README); the certificate scenario exists only in the simulated engine
READ_ONLY = ("status", "logs", "troubleshoot-sync", "troubleshoot-helmrelease", "troubleshoot-certificates")
SCENARIOS = (
    "healthy",
    "helmrelease-upgrade-failed",
    "git-auth-failure",
    "kustomization-build-failed",
    "chart-version-missing",
    "suspended",
)


def run(name: str, kubeconfig: Path, tmp: Path, *params: str) -> dict[str, Any]:
    """``runbook run NAME`` as a user would, the JSON report read back (exit code added)."""
    out = tmp / f"{name}-{kubeconfig.name}.json"
    args = [a for p in params for a in ("-p", *p.split("=", 1))]
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "run", name, "--kubeconfig", str(kubeconfig), *args,
         "--output", str(tmp / f"{name}-{kubeconfig.name}.ipynb"), "--json", str(out), "--quiet"],
        cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.exists(), proc.stdout + proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    report["rc"] = proc.returncode
    report["output"] = proc.stdout + proc.stderr
    return report


def _counts_out(summary: str) -> str:
    """The verdict line without its line count (``✔ 9 Zeilen (…)``: a retrying controller logs on)."""
    return re.sub(r"^(✔|✗|⚠) \d+ Zeilen", r"\1 N Zeilen", summary)


def problems(report: dict[str, Any]) -> set[tuple[str, str]]:
    """The findings that are a verdict (errors and warnings), by name."""
    return {(f["outcome"], f["name"]) for f in report["findings"] if f["outcome"] in ("error", "warning")}


#: findings read from the Helm storage (Secrets): the read-only role has no right on Secrets, and
#: marks that part "nicht lesbar" instead (its subject is the Helm release, ``Helm-Release ns/name``)
def _storage(names: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {n for n in names if "Helm-Release " in n[1] or "Helm-Storage" in n[1]}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_read_only_role_gives_the_admins_verdict(
    make_engine: EngineFactory, scenario: str, tmp_path: Path
) -> None:
    engine = make_engine(scenario)
    admin, reader = engine.kubeconfig, roles.kubeconfig_path(engine, READ)
    assert reader.exists() and roles.kubeconfig_path(engine, OPERATE).exists()
    for name in READ_ONLY:
        as_admin = run(name, admin, tmp_path)
        as_reader = run(name, reader, tmp_path)
        assert as_reader["rc"] == 0 == as_admin["rc"], f"{scenario}/{name}:\n{as_reader['output']}"
        assert as_reader["status"] == as_admin["status"] == "ok", as_reader["output"]
        admin_problems, reader_problems = problems(as_admin), problems(as_reader)
        assert reader_problems - _storage(reader_problems) == admin_problems - _storage(admin_problems), (
            f"{scenario}/{name}: Befund weicht vom Admin ab\nAdmin: {as_admin['summary']}\n"
            f"Rolle: {as_reader['summary']}\n{as_reader['output']}"
        )
        if name != "troubleshoot-helmrelease":  # logs: the controller may log more lines between runs
            assert _counts_out(as_reader["summary"]) == _counts_out(as_admin["summary"]), f"{scenario}/{name}"
        assert "Keine Berechtigung" not in as_reader["output"]
    if scenario == "healthy":
        _operator_syncs_outside_flux_system(engine, tmp_path)
        _without_list_pods_the_right_is_named(engine, tmp_path)


def _operator_syncs_outside_flux_system(engine: Engine, tmp: Path) -> None:
    """`sync` of the HelmRelease kube-system/kite with the operator role: reconciled and reported so
    (it used to fail listing Events in kube-system after a successful reconcile)."""
    operator = roles.kubeconfig_path(engine, OPERATE)
    done = run("sync", operator, tmp, "kind=hr", "name=kite", "namespace=kube-system")
    assert done["rc"] == 0 and done["status"] == "ok", done["output"]
    assert done["summary"].startswith("✔ HelmRelease kube-system/kite"), done["summary"]
    # the read-only role may not: refused before anything changed, with the rule to add
    refused = run(
        "sync", roles.kubeconfig_path(engine, READ), tmp, "kind=hr", "name=kite", "namespace=kube-system"
    )
    assert refused["status"] != "ok"
    # the read role has `watch` (the runbook watch needs it), so only `patch` is missing
    assert "fehlen Rechte" in refused["output"] and "patch gitrepositories" in refused["output"]
    assert "helmreleases in kube-system" in refused["output"]
    assert 'verbs: ["patch"]' in refused["output"] and "Es hat nichts geändert" in refused["output"]


def _without_list_pods_the_right_is_named(engine: Engine, tmp: Path) -> None:
    """A copy of the read-only role without ``pods`` in its list rule: troubleshoot-helmrelease names
    the missing right instead of reporting no pods."""
    rules = []
    for rule in role_rules(READ):
        resources = [r for r in rule["resources"] if r != "pods"]
        if resources:
            rules.append({**rule, "resources": resources})
    name = "runbooks-test-no-pods"
    docs = yaml.safe_load_all(
        f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules: {json.dumps(rules)}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: {name}}}]
"""
    )
    engine.apply([d for d in docs if d], manager="kubectl")
    kubeconfig = roles.user_kubeconfig(
        engine, "runbook-no-pods", name, engine.state_dir / "kubeconfig-no-pods"
    )
    report = run("troubleshoot-helmrelease", kubeconfig, tmp)
    assert report["rc"] == 0 and report["status"] == "ok", report["output"]
    text = Path(report["notebook"]).read_text(encoding="utf-8")
    assert "nicht lesbar (fehlendes Recht: list pods in kube-system)" in text
    assert "Keine Pods gefunden" not in text
    assert "list pods in kube-system" in report["output"] or any(
        "Pods nicht lesbar" in f["name"] for f in report["findings"]
    ), report["output"]
