"""Pure parts of reconcile: the progress interpretation, the source chain, the request token."""

from __future__ import annotations

import re

import pytest

from runbook_lib import kinds
from runbook_lib.errors import NotFound, UsageError
from runbook_lib.reconcile.actions import _dependencies_behind
from runbook_lib.reconcile.rules import applied, dependency_behind, progress, rfc3339nano, source_ref

REQ = "2026-11-26T10:20:30.123456789+01:00"


def obj(*, handled=REQ, generation=2, observed=2, conditions=(), suspend=False):
    return {
        "metadata": {"name": "kite", "namespace": "kube-system", "generation": generation},
        "spec": {"suspend": suspend},
        "status": {
            "lastHandledReconcileAt": handled,
            "observedGeneration": observed,
            "conditions": list(conditions),
        },
    }


def ready(status, reason="ReconciliationSucceeded", message="Applied revision: main@sha1:abc", gen=2):
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": gen,
    }


def test_not_handled_yet_is_pending_even_when_ready():
    assert progress(obj(handled="older", conditions=[ready("True")]), REQ).state == "pending"


def test_missing_last_handled_is_pending():
    o = obj(conditions=[ready("True")])
    del o["status"]["lastHandledReconcileAt"]
    assert progress(o, REQ).state == "pending"


def test_handled_and_ready_at_current_generation_is_done():
    p = progress(obj(conditions=[ready("True")]), REQ)
    assert p.state == "ready"
    assert p.message.startswith("Applied revision")


def test_ready_naming_a_revision_the_status_does_not_show_yet_is_still_progressing():
    """The real kustomize-controller writes Ready one patch before lastAppliedRevision (flux-facts §18):
    a watch that stopped there reported the old revision as the applied one."""
    ks = obj(conditions=[ready("True", message="Applied revision: main@sha1:new")])
    ks["kind"] = "Kustomization"
    ks["status"]["lastAppliedRevision"] = "main@sha1:old"
    assert progress(ks, REQ).state == "progressing"
    ks["status"]["lastAppliedRevision"] = "main@sha1:new"
    assert progress(ks, REQ).state == "ready"
    repo = obj(conditions=[ready("True", "Succeeded", "stored artifact for revision 'main@sha1:new'")])
    repo["kind"] = "GitRepository"
    repo["status"]["artifact"] = {"revision": "main@sha1:old"}
    assert progress(repo, REQ).state == "progressing"
    repo["status"]["artifact"] = {"revision": "main@sha1:new"}
    assert progress(repo, REQ).state == "ready"


def test_ready_for_an_older_generation_is_still_progressing():
    p = progress(obj(generation=3, observed=2, conditions=[ready("True", gen=2)]), REQ)
    assert p.state == "progressing"


def test_failure_reason_fails_fast_with_controller_message():
    msg = "Helm upgrade failed for release kube-system/kite with chart kite@0.6.3: context deadline exceeded"
    p = progress(
        obj(
            conditions=[
                ready("False", "UpgradeFailed", msg),
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry"},
            ]
        ),
        REQ,
    )
    assert p.state == "failed"
    assert p.message == msg


def test_ready_false_while_progressing_keeps_waiting():
    p = progress(obj(conditions=[ready("False", "Progressing", "Reconciliation in progress")]), REQ)
    assert p.state == "progressing"


def test_ready_unknown_keeps_waiting():
    assert progress(obj(conditions=[ready("Unknown", "Progressing", "x")]), REQ).state == "progressing"


def test_stalled_fails_with_stalled_message():
    p = progress(
        obj(
            conditions=[
                ready("Unknown"),
                {"type": "Stalled", "status": "True", "message": "Failed to upgrade after 3 attempt(s)"},
            ]
        ),
        REQ,
    )
    assert (p.state, p.message) == ("failed", "Failed to upgrade after 3 attempt(s)")


def test_kustomization_source_is_its_source_ref_defaulting_namespace():
    ks = {
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }
    ref, with_source = source_ref(kinds.KUSTOMIZATION, ks)
    assert (ref.kind.kind, ref.name, ref.namespace, with_source) == (
        "GitRepository",
        "flux-system",
        "flux-system",
        False,
    )


def test_kustomization_with_unsupported_source_kind_is_refused():
    ks = {
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "ExternalArtifact", "name": "x"}},
    }
    with pytest.raises(UsageError, match="ExternalArtifact"):
        source_ref(kinds.KUSTOMIZATION, ks)


def test_helmrelease_template_source_is_its_helmchart_in_the_source_namespace():
    hr = {
        "metadata": {"name": "kite", "namespace": "kube-system"},
        "spec": {
            "chart": {
                "spec": {
                    "chart": "kite",
                    "sourceRef": {"kind": "HelmRepository", "name": "kite", "namespace": "flux-system"},
                }
            }
        },
    }
    ref, with_source = source_ref(kinds.HELM_RELEASE, hr)
    assert (ref.kind.kind, ref.name, ref.namespace, with_source) == (
        "HelmChart",
        "kube-system-kite",
        "flux-system",
        True,
    )


def test_helmrelease_chart_ref_oci():
    hr = {
        "metadata": {"name": "kite", "namespace": "kube-system"},
        "spec": {"chartRef": {"kind": "OCIRepository", "name": "kite-chart"}},
    }
    ref, with_source = source_ref(kinds.HELM_RELEASE, hr)
    assert (ref.kind.kind, ref.namespace, with_source) == ("OCIRepository", "kube-system", False)


def test_helmchart_source_is_looked_up_in_the_chart_namespace():
    hc = {
        "metadata": {"name": "kube-system-kite", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "HelmRepository", "name": "kite"}},
    }
    ref, _ = source_ref(kinds.HELM_CHART, hc)
    assert (ref.kind.kind, ref.name, ref.namespace) == ("HelmRepository", "kite", "flux-system")


def test_git_repository_has_no_source():
    assert source_ref(kinds.GIT_REPOSITORY, {"metadata": {"name": "x", "namespace": "y"}}) is None


def test_request_token_is_rfc3339nano_without_trailing_zeros():
    token = rfc3339nano(1_700_000_000.5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.5(Z|[+-]\d\d:\d\d)", token)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", rfc3339nano(1_700_000_000.0))


def test_without_a_request_token_only_readiness_at_the_generation_counts():
    o = obj(handled="something-else", conditions=[ready("True")])
    assert progress(o, None).state == "ready"
    stale = obj(handled="x", generation=3, observed=2, conditions=[ready("True", gen=2)])
    assert progress(stale, None).state == "progressing"


def test_waiting_for_a_dependency_is_not_a_failure():
    message = "HelmChart 'flux-system/kube-system-kite' is not ready"
    o = obj(conditions=[ready("False", "SourceNotReady", message)])
    p = progress(o, REQ)
    assert p.state == "progressing"
    assert "kube-system-kite" in p.message


def test_failing_objects_point_to_the_troubleshooting_runbook_of_their_kind() -> None:
    from runbook_lib.reconcile.actions import Step, _failure_hint
    from runbook_lib.reconcile.rules import troubleshoot_hint

    ks = Step("Kustomization flux-system/apps", "t", "a", "a", "failed", "kustomize build failed", 0.1)
    assert "`troubleshoot-sync`" in _failure_hint(ks) and "troubleshoot-helmrelease" not in _failure_hint(ks)
    hr = Step("HelmRelease kube-system/kite", "t", "a", "a", "failed", "upgrade failed", 0.1)
    assert "`troubleshoot-helmrelease`" in _failure_hint(hr)
    both = troubleshoot_hint(["GitRepository flux-system/flux-system", "HelmRelease kube-system/kite"])
    assert "`troubleshoot-sync` bzw. `troubleshoot-helmrelease`" in both


def test_kind_aliases_resolve_and_an_ambiguous_word_is_a_usage_error_naming_the_candidates() -> None:
    assert kinds.resolve("hr").kind == "HelmRelease"
    assert kinds.resolve("helmrepo").kind == "HelmRepository"
    assert kinds.resolve("HelmRepositories").kind == "HelmRepository"
    assert kinds.resolve("git").kind == "GitRepository"
    with pytest.raises(UsageError) as ambiguous:
        kinds.resolve("helm")
    assert ambiguous.value.exit_code == 2
    assert ambiguous.value.message == (
        "Die Art 'helm' ist mehrdeutig: gemeint sein können HelmRelease (hr), HelmRepository (helmrepo), "
        "HelmChart (hc)."
    )
    assert "`-p kind hr`" in ambiguous.value.hint
    with pytest.raises(UsageError, match="Unbekannte Art 'helmrel'"):
        kinds.resolve("helmrel")


# --- dependencies that hold a Kustomization back (docs/flux-facts.md §19) ---------------------------------

REV = "main@sha1:" + "b" * 40
GIT = kinds.ObjectRef(kinds.GIT_REPOSITORY, "flux-system", "flux-system")


def ks(
    name, *, applied=REV, ready_status="True", source="flux-system", depends=(), suspend=False, observed=2
):
    return {
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 2},
        "spec": {
            "sourceRef": {"kind": "GitRepository", "name": source},
            "dependsOn": [dict(d) for d in depends],
            "suspend": suspend,
        },
        "status": {
            "lastAppliedRevision": applied,
            "observedGeneration": observed,
            "conditions": [ready(ready_status, gen=2)],
        },
    }


def test_a_dependency_at_the_sources_revision_and_ready_does_not_hold_back():
    assert not dependency_behind(ks("infrastructure"), GIT, REV)


@pytest.mark.parametrize(
    "dependency",
    [
        ks("infrastructure", applied="main@sha1:" + "a" * 40),
        ks("infrastructure", ready_status="False"),
        ks("infrastructure", observed=1),
    ],
    ids=["older revision", "not ready", "generation not observed"],
)
def test_a_dependency_behind_or_not_ready_holds_back(dependency):
    assert dependency_behind(dependency, GIT, REV)


def test_a_dependency_of_another_source_or_suspended_is_left_alone():
    assert not dependency_behind(ks("infrastructure", applied="old", source="other"), GIT, REV)
    assert not dependency_behind(ks("infrastructure", applied="old", suspend=True), GIT, REV)


class FakeApi:
    def __init__(self, *objects):
        self.objects = {(o["metadata"]["name"]): o for o in objects}
        self.objects["flux-system"] = {"status": {"artifact": {"revision": REV}}}

    def get(self, ref):
        if ref.name not in self.objects:
            raise NotFound("fehlt")
        return self.objects[ref.name]


def test_dependencies_behind_come_deepest_first_once_each():
    api = FakeApi(
        ks("apps", applied="old", depends=[{"name": "configs"}, {"name": "crds"}, {"name": "gone"}]),
        ks("configs", applied="old", depends=[{"name": "crds"}, {"name": "other"}]),
        ks("crds", applied="old"),
        ks("other", applied="old", source="elsewhere"),
    )
    target = kinds.ObjectRef(kinds.KUSTOMIZATION, "apps", "flux-system")
    behind = _dependencies_behind(api, target)
    assert [ref.name for ref in behind] == ["crds", "configs"]


def test_a_dependency_with_a_ready_expression_is_judged_by_flux_alone():
    api = FakeApi(
        ks("apps", applied="old", depends=[{"name": "crds", "readyExpr": "dep.status.x == 'y'"}]),
        ks("crds", applied="old"),
    )
    target = kinds.ObjectRef(kinds.KUSTOMIZATION, "apps", "flux-system")
    assert _dependencies_behind(api, target) == []


@pytest.mark.parametrize(
    ("dependency", "state"),
    [
        (ks("infrastructure"), "ready"),
        (ks("infrastructure", applied="old"), "progressing"),  # queued by the source's change
        (ks("infrastructure", observed=1), "progressing"),
        (
            {
                **ks("infrastructure", applied="old"),
                "status": {
                    **ks("x")["status"],
                    "lastAppliedRevision": "old",
                    "conditions": [
                        ready("False", reason="DependencyNotReady", message="dependency 'a/b' is not ready")
                    ],
                },
            },
            "blocked",
        ),
        (
            {
                **ks("infrastructure", applied="old"),
                "status": {
                    "lastAppliedRevision": "old",
                    "lastAttemptedRevision": REV,
                    "observedGeneration": 2,
                    "conditions": [ready("False", reason="BuildFailed", message="kaputt")],
                },
            },
            "failed",
        ),
        (
            {
                **ks("infrastructure", applied="old"),
                "status": {
                    "lastAppliedRevision": "old",
                    "lastAttemptedRevision": "old",
                    "observedGeneration": 2,
                    "conditions": [ready("False", reason="BuildFailed", message="alt")],
                },
            },
            "progressing",  # the failure is the old revision's; the new one is still coming
        ),
    ],
    ids=["applied", "queued", "generation", "waits itself", "failed at the revision", "old failure"],
)
def test_applied_judges_a_dependency_without_a_request(dependency, state):
    assert applied(dependency, REV).state == state
