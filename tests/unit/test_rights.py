"""The rights of the runbooks (pure): the shipped roles grant them, the files in rbac/ and the README
are made from them, a 403 names the missing right, a refused read is never an empty result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiException

from runbook_lib.access import RightsCheck, _missing_error
from runbook_lib.diagnose.common import attempt
from runbook_lib.errors import Forbidden, from_api_exception, missing_right
from runbook_lib.rbac import README_BEGIN, README_END, manifest, readme_section
from runbook_lib.rights import (
    HELM_HISTORY,
    OPERATE,
    READ,
    ROLES,
    RUNBOOK_RIGHTS,
    Check,
    from_metadata,
    grants,
    rights_of,
    role_rules,
    rules_to_add,
)

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = (
    "status",
    "logs",
    "troubleshoot-sync",
    "troubleshoot-helmrelease",
    "troubleshoot-certificates",
    "trace",
    "fleet",
    "watch",
    "audit",
)
ACTING = ("sync", "change", "rollback", "preview")
PARAMS = {"namespace": "kube-system", "flux_namespace": "flux-system", "dry_run": False}


def test_every_shipped_runbook_declares_its_rights() -> None:
    shipped = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert shipped == set(RUNBOOK_RIGHTS)
    for name in shipped:
        assert any(not r.optional for r in RUNBOOK_RIGHTS[name]), name


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_role_grants_every_right_of_the_read_only_runbooks_but_secrets(name: str) -> None:
    rules = role_rules(READ)
    for check in (c for r in RUNBOOK_RIGHTS[name] for c in r.checks(PARAMS)):
        if check.resource == "secrets":
            assert check.optional and not grants(rules, check)
            assert grants(role_rules(HELM_HISTORY), check)
        else:
            assert grants(rules, check), f"{name}: {check}"


@pytest.mark.parametrize("name", ACTING)
def test_operate_role_grants_the_acting_runbooks_and_read_does_not(name: str) -> None:
    checks = [c for r in RUNBOOK_RIGHTS[name] for c in r.checks(PARAMS)]
    assert all(grants(role_rules(OPERATE), c) for c in checks)
    assert any(not grants(role_rules(READ), c) for c in checks if c.verb == "patch")


def test_read_role_never_writes_and_never_reads_secrets() -> None:
    for rule in role_rules(READ):
        assert set(rule["verbs"]) <= {"get", "list", "watch"}  # the read verbs (watch: `watch`)
        assert "secrets" not in rule["resources"]
    assert not any("secrets" in rule["resources"] for rule in role_rules(OPERATE))


def test_a_dry_run_needs_no_write_rights() -> None:
    dry = [c for r in RUNBOOK_RIGHTS["change"] for c in r.checks({**PARAMS, "dry_run": True})]
    assert dry and all(c.verb in ("get", "list") for c in dry)
    assert all(grants(role_rules(READ), c) for c in dry)


@pytest.mark.parametrize("role", ROLES)
def test_rbac_files_are_made_from_the_rights(role: str) -> None:
    path = ROOT / "rbac" / f"{role}.yaml"
    assert path.read_text(encoding="utf-8") == manifest(role), "python -m runbook_lib.rbac write rbac"
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert [d["kind"] for d in docs] == [
        "ClusterRole",
        "RoleBinding" if role == HELM_HISTORY else "ClusterRoleBinding",
    ]
    assert docs[0]["rules"] == role_rules(role)
    assert docs[1]["roleRef"]["name"] == role


def test_helm_history_file_says_it_opens_every_secret() -> None:
    text = (ROOT / "rbac" / f"{HELM_HISTORY}.yaml").read_text(encoding="utf-8")
    assert "JEDES Secret" in text and "nie mit ClusterRoleBinding" in text


def test_readme_rights_section_is_made_from_the_roles() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    assert section == "\n" + readme_section(), "README: Abschnitt aus runbook_lib.rbac.readme_section()"
    assert "**jedes Secret**" in section


def test_forbidden_names_the_missing_right() -> None:
    body = json.dumps(
        {
            "message": 'pods is forbidden: User "runbook-x" cannot list resource "pods" in API group "" '
            'in the namespace "kube-system"'
        }
    )
    error = from_api_exception(ApiException(status=403, reason="Forbidden"), "die Pods")
    assert isinstance(error, Forbidden) and error.missing == ""
    exc = ApiException(status=403, reason="Forbidden")
    exc.body = body
    error = from_api_exception(exc, "die Pods")
    assert isinstance(error, Forbidden)
    assert error.missing == "list pods in kube-system"
    assert "fehlendes Recht: list pods in kube-system" in error.message
    assert (
        missing_right(
            'cannot list resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the '
            "cluster scope"
        )
        == "list customresourcedefinitions.apiextensions.k8s.io (clusterweit)"
    )
    assert missing_right('cannot get resource "pods/log" in API group "" in the namespace "flux-system"') == (
        "get pods/log in flux-system"
    )


def test_a_check_reads_like_the_403() -> None:
    check = Check("list", "pods", "", "kube-system")
    assert str(check) == "list pods in kube-system"
    assert str(Check("get", "pods/log", "", "flux-system")) == "get pods/log in flux-system"
    rules = rules_to_add(
        [check, Check("list", "events", "", "kube-system"), Check("get", "pods/log", "", None)]
    )
    assert '- apiGroups: [""]\n  resources: ["pods", "events"]\n  verbs: ["list"]' in rules
    assert "Role im Namespace kube-system" in rules and "ClusterRole (mit ClusterRoleBinding)" in rules


def test_a_refused_read_is_never_empty() -> None:
    def refused() -> list[object]:
        error = Forbidden("Keine Berechtigung für die Pods")
        error.missing = "list pods in kube-system"
        raise error

    slot = attempt(refused)
    assert not slot.ok and slot.value is None
    assert slot.error == "nicht lesbar (fehlendes Recht: list pods in kube-system)"


def test_missing_required_rights_give_the_rule_to_add() -> None:
    missing = [Check("patch", "helmreleases", "helm.toolkit.fluxcd.io", "kube-system", role=OPERATE)]
    error = _missing_error("sync", missing)
    assert (
        "fehlen Rechte, ohne die das Runbook sync nicht arbeiten kann: patch helmreleases in kube-system"
        in (error.message)
    )
    assert error.hint is not None
    assert 'apiGroups: ["helm.toolkit.fluxcd.io"]' in error.hint and f"rbac/{OPERATE}.yaml" in error.hint


def test_the_check_result_lists_missing_optional_rights_without_a_verdict_mark() -> None:
    pods = Check("list", "pods", "", "kube-system", optional=True, purpose="Pods der Release")
    result = RightsCheck("troubleshoot-helmrelease", ((pods, False),))
    assert "list pods in kube-system (Pods der Release)" in str(result)
    assert not str(result).startswith(("✔", "✗", "⚠"))


def test_a_team_runbook_declares_its_rights_in_its_metadata() -> None:
    declared = {"rights": [{"verbs": ["list"], "resources": ["pods"], "namespace": "{namespace}"}]}
    rights = rights_of("team-runbook", declared)
    assert rights is not None and [str(c) for c in rights[0].checks(PARAMS)] == ["list pods in kube-system"]
    assert rights_of("team-runbook", {}) is None
    assert rights_of("status", {}) == RUNBOOK_RIGHTS["status"]
    with pytest.raises(Exception, match="unvollständig"):
        from_metadata({"rights": [{"verbs": ["list"]}]})
