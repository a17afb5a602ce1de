"""Interpreting Flux objects like `flux get`, rendering its table, summaries and `flux check` (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook_lib.check import interpret_check, version_satisfies
from runbook_lib.objects import deployment_status
from runbook_lib.sources import SyncReport, fetch_schedule, next_tick
from runbook_lib.status import (
    FAILING,
    IN_PROGRESS,
    READY,
    SUSPENDED,
    Overview,
    StatusTable,
    flux_table,
    interpret,
    summarize,
    truncate_hex,
)

SHA = "696f056df216eea4f9401adbee0ff744d4df390f"
DIGEST = "sha256:" + "6c95" * 16


def obj(
    kind: str,
    name: str,
    *,
    ns: str = "flux-system",
    ready: tuple[str, str] | None = ("True", "ok"),
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> dict:
    """An API object shaped like docs/flux-facts.md §2: Ready condition, observedGeneration."""
    st: dict[str, Any] = {"observedGeneration": generation, **(status or {})}
    if ready is not None:
        st["conditions"] = [{"type": "Ready", "status": ready[0], "reason": "R", "message": ready[1]}]
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "generation": generation},
        "spec": spec or {},
        "status": st,
    }


def gitrepo(name: str, message: str, *, ready: str = "True", revision: str = f"main@sha1:{SHA}") -> dict:
    return obj("GitRepository", name, ready=(ready, message), status={"artifact": {"revision": revision}})


# --- READY / MESSAGE / SUSPENDED -------------------------------------------------------------------


def test_ready_and_message_come_from_the_ready_condition() -> None:
    s = interpret(obj("Kustomization", "apps", ready=("False", "kustomize build failed")))
    assert (s.ready, s.message, s.state) == ("False", "kustomize build failed", FAILING)


def test_without_ready_condition_it_is_waiting_not_failing() -> None:
    s = interpret(obj("Kustomization", "apps", ready=None, generation=1))
    assert (s.ready, s.message) == ("False", "waiting to be reconciled")
    assert s.state == IN_PROGRESS


def test_unknown_is_in_progress() -> None:
    assert interpret(obj("HelmRelease", "kite", ready=("Unknown", "Running 'upgrade'"))).state == IN_PROGRESS


def test_ready_but_generation_not_observed_is_in_progress() -> None:
    o = obj("Kustomization", "apps")
    o["metadata"]["generation"] = 3
    assert interpret(o).state == IN_PROGRESS


def test_suspended_is_title_case_and_wins_over_ready() -> None:
    s = interpret(obj("Kustomization", "apps", spec={"suspend": True}))
    table = StatusTable("Kustomization", (s,), "flux-system")
    assert table.rows[0][2] == "True"
    assert s.state == SUSPENDED
    assert StatusTable("Kustomization", (interpret(obj("Kustomization", "b")),), "x").rows[0][2] == "False"


def test_oci_helm_repository_and_alerts_are_always_ready() -> None:
    oci = interpret(obj("HelmRepository", "oci", ready=None, spec={"type": "oci"}))
    assert (oci.ready, oci.message) == ("True", "Helm repository is Ready")
    alert = interpret({"kind": "Alert", "metadata": {"name": "a", "namespace": "n"}, "spec": {}})
    assert (alert.ready, alert.message, alert.state) == ("True", "Alert is Ready", READY)
    provider = interpret({"kind": "Provider", "metadata": {"name": "p", "namespace": "n"}})
    assert StatusTable("Provider", (provider,), "n").headers == ["NAME", "READY", "MESSAGE"]


# --- REVISION and hex truncation --------------------------------------------------------------------


def test_truncate_hex_cuts_40_to_128_hex_runs_only() -> None:
    assert truncate_hex(f"main@sha1:{SHA}") == "main@sha1:696f056d"
    assert truncate_hex(DIGEST) == "sha256:6c956c95"
    assert truncate_hex("a" * 39) == "a" * 39
    assert truncate_hex("a" * 129) == "a" * 129
    assert truncate_hex(SHA.upper()) == SHA.upper()
    assert truncate_hex(f"x {SHA} and {SHA}") == "x 696f056d and 696f056d"


@pytest.mark.parametrize(
    ("kind", "status", "revision", "message"),
    [
        (
            "GitRepository",
            {"artifact": {"revision": f"main@sha1:{SHA}"}},
            "main@sha1:696f056d",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        (
            "OCIRepository",
            {"artifact": {"revision": f"6.3.5@{DIGEST}"}},
            "6.3.5@sha256:6c956c95",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        (
            "Bucket",
            {"artifact": {"revision": DIGEST}},
            "sha256:6c956c95",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        (
            "HelmRepository",
            {"artifact": {"revision": DIGEST}},
            "sha256:6c956c95",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        (
            "Kustomization",
            {"lastAppliedRevision": f"main@sha1:{SHA}"},
            "main@sha1:696f056d",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        # HelmChart: revision untouched, message truncated
        (
            "HelmChart",
            {"artifact": {"revision": f"6.3.5+{SHA}"}},
            f"6.3.5+{SHA}",
            "stored artifact for revision 'main@sha1:696f056d'",
        ),
        # HelmRelease: neither
        (
            "HelmRelease",
            {"lastAttemptedRevision": SHA},
            SHA,
            f"stored artifact for revision 'main@sha1:{SHA}'",
        ),
    ],
)
def test_revision_and_truncation_per_kind(kind: str, status: dict, revision: str, message: str) -> None:
    s = interpret(
        obj(kind, "x", ready=("True", f"stored artifact for revision 'main@sha1:{SHA}'"), status=status)
    )
    assert (s.revision, s.message) == (revision, message)


def test_helmrelease_revision_prefers_latest_history_chart_version() -> None:
    status = {
        "history": [{"chartVersion": "0.6.3", "version": 2}, {"chartVersion": "0.6.2", "version": 1}],
        "lastAttemptedRevision": "0.7.0",
    }
    assert interpret(obj("HelmRelease", "kite", status=status)).revision == "0.6.3"
    assert (
        interpret(obj("HelmRelease", "kite", status={"lastAttemptedRevision": "0.7.0"})).revision == "0.7.0"
    )
    assert interpret(obj("HelmRelease", "kite", status={"history": []})).revision == ""


# --- the flux get table -----------------------------------------------------------------------------


def test_flux_get_text_matches_the_golden_format() -> None:
    # Same layout as fluxcd/flux2 cmd/flux/testdata/get/get.golden: cells padded to the column width,
    # header joined by tabs (last header cell one space wider, no tab), every data cell followed by a tab.
    items = tuple(
        interpret(gitrepo(n, f"Fetched revision: main@sha1:{SHA}"))
        for n in ("podinfo", "podinfo-shard1", "podinfo-shard2")
    )
    expected = (
        "NAME          \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              \n"
        "podinfo       \tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t\n"
        "podinfo-shard1\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t\n"
        "podinfo-shard2\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t\n"
    )
    assert str(StatusTable("GitRepository", items, "flux-system")) == expected


def test_flux_get_text_for_not_ready_objects() -> None:
    items = (
        interpret(
            gitrepo("gr-failed", "failed to checkout and determine revision", ready="False", revision="")
        ),
        interpret(gitrepo("gr-unknown", "reconciliation in progress", ready="Unknown", revision="")),
    )
    lines = str(StatusTable("GitRepository", items, "default")).splitlines()
    assert lines[0] == "NAME      \tREVISION\tSUSPENDED\tREADY  \tMESSAGE                                   "
    assert lines[2] == "gr-unknown\t        \tFalse    \tUnknown\treconciliation in progress               \t"


def test_all_namespaces_adds_namespace_column_first() -> None:
    table = StatusTable("HelmRelease", (interpret(obj("HelmRelease", "kite", ns="kube-system")),), None)
    assert table.headers[:2] == ["NAMESPACE", "NAME"]
    assert str(table).splitlines()[1].startswith("kube-system\tkite")


def test_empty_table_says_so_in_german() -> None:
    assert (
        str(StatusTable("HelmRelease", (), "kube-system"))
        == "Keine HelmRelease-Objekte im Namespace 'kube-system' gefunden.\n"
    )


def test_html_highlights_failing_rows_and_escapes() -> None:
    items = (
        interpret(obj("Kustomization", "ok")),
        interpret(obj("Kustomization", "bad", ready=("False", "<script>x</script>"))),
    )
    html = StatusTable("Kustomization", items, None)._repr_html_()
    assert html.count('class="failing"') == 1
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_flux_table_single_column() -> None:
    assert flux_table(["NAME"], [["a"]]) == "NAME \na   \t\n"


# --- summary ----------------------------------------------------------------------------------------


def test_summary_counts_and_lists_failing_first_with_message() -> None:
    items = [
        interpret(obj("Kustomization", "suspended", spec={"suspend": True})),
        interpret(obj("HelmRelease", "waiting", ready=None)),
        interpret(obj("Kustomization", "ok")),
        interpret(obj("HelmRelease", "kite", ns="kube-system", ready=("False", "install retries exhausted"))),
    ]
    summary = summarize(items)
    assert dict(summary.counts) == {FAILING: 1, IN_PROGRESS: 1, SUSPENDED: 1, READY: 1}
    assert [p.name for p in summary.problems] == ["kite", "waiting", "suspended"]
    text = str(summary)
    assert text.startswith("✗ 4 Flux-Objekte in allen Namespaces: 1 bereit, 1 fehlerhaft")
    assert text.index("install retries exhausted") < text.index("waiting to be reconciled")
    assert not summary.ok


def test_summary_all_ready() -> None:
    summary = summarize([interpret(obj("Kustomization", "ok"))], "flux-system")
    assert summary.ok and not summary.problems
    assert str(summary) == (
        "✔ 1 Flux-Objekte im Namespace 'flux-system': 1 bereit, 0 fehlerhaft, 0 in Arbeit, 0 ausgesetzt\n"
    )


def test_overview_table_resolves_aliases_and_prefixes_names() -> None:
    table = StatusTable("HelmRelease", (interpret(obj("HelmRelease", "kite")),), None, prefixed=True)
    overview = Overview((table,), summarize(table.items))
    assert overview.table("hr") is table
    assert overview.table("ks").items == ()
    assert "helmrelease/kite" in str(overview)


def test_overview_serves_flux_get_and_git_sync_from_one_listing() -> None:
    """The status runbook lists each kind once (issue 15): `get` and `objects` make no request."""
    repo = obj("GitRepository", "flux-system")
    table = StatusTable("GitRepository", (interpret(repo),), None, prefixed=True)
    overview = Overview((table,), summarize(table.items), listed={"GitRepository": (repo,)})
    plain = overview.get("gitrepo")
    assert plain.items == table.items and not plain.prefixed
    assert "gitrepository/" not in str(plain) and "flux-system" in str(plain)
    assert overview.objects("GitRepository") == (repo,)
    assert overview.objects("hr") == ()
    from runbook_lib.sources import git_sync

    now = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    report = git_sync(repositories=overview.objects("GitRepository"), now=now)  # no client needed
    assert [i.name for i in report.items] == ["flux-system"]


def test_notebook_plain_text_is_the_terminal_rendering() -> None:
    pytest.importorskip("IPython")
    from IPython.lib.pretty import pretty

    table = StatusTable("HelmRelease", (interpret(obj("HelmRelease", "kite")),), "flux-system")
    assert pretty(table) == str(table).rstrip("\n")


# --- flux check -------------------------------------------------------------------------------------


def deployment(**changes: Any) -> dict:
    dep = {
        "metadata": {"name": "helm-controller", "generation": 2},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [{"name": "manager", "image": "ghcr.io/fluxcd/helm-controller:v1.4.0"}]
                }
            },
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True"},
            ],
        },
    }
    dep["status"].update(changes)
    return dep


def test_kstatus_deployment_current() -> None:
    assert deployment_status(deployment()) == (True, "")


@pytest.mark.parametrize(
    "changes",
    [
        {"observedGeneration": 1},
        {"readyReplicas": 0},
        {"replicas": 0},
        {"updatedReplicas": 0},
        {"availableReplicas": 0},
        {
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
                {"type": "Available", "status": "True"},
            ]
        },
        {
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "False"},
            ]
        },
    ],
)
def test_kstatus_deployment_not_current(changes: dict) -> None:
    ready, reason = deployment_status(deployment(**changes))
    assert not ready and reason


def test_check_report_reads_like_flux_check() -> None:
    crd = {
        "metadata": {
            "name": "gitrepositories.source.toolkit.fluxcd.io",
            "labels": {
                "app.kubernetes.io/part-of": "flux",
                "app.kubernetes.io/version": "v2.7.0",
                "kustomize.toolkit.fluxcd.io/name": "flux-system",
                "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
            },
        },
        "status": {"storedVersions": ["v1beta2", "v1"]},
    }
    report = interpret_check(kubernetes="v1.34.1", gitrepo_crd=crd, deployments=[deployment()], crds=[crd])
    text = str(report)
    assert report.ok and report.constraint == ">=1.32.0-0"
    assert "✔ distribution: flux-v2.7.0" in text and "✔ bootstrapped: true" in text
    assert "✔ helm-controller: deployment ready\n► ghcr.io/fluxcd/helm-controller:v1.4.0" in text
    assert "✔ gitrepositories.source.toolkit.fluxcd.io/v1" in text
    assert text.endswith("✔ all checks passed\n")


def test_check_fails_without_controllers_or_on_old_kubernetes() -> None:
    empty = interpret_check(kubernetes="v1.34.0", gitrepo_crd=None, deployments=[], crds=[])
    assert not empty.ok
    assert "✗ no controllers found in the 'flux-system' namespace" in str(empty)
    old = interpret_check(kubernetes="v1.27.3", gitrepo_crd=None, deployments=[deployment()], crds=[])
    assert "✗ Kubernetes version v1.27.3 does not match >=1.33.0-0" in str(old)
    assert str(old).endswith("✗ check failed\n")


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("v1.33.0", True),
        ("v1.33.2+k3s1", True),
        ("v1.32.9", False),
        ("1.34", True),
        ("v2.0.0", True),
    ],
)
def test_version_constraint(version: str, ok: bool) -> None:
    assert version_satisfies(version, ">=1.33.0-0") is ok


# --- automatic synchronisation ----------------------------------------------------------------------


def test_fetch_schedule_next_fetch_is_next_interval_step() -> None:
    last = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    repo = gitrepo("flux-system", "ok")
    repo["spec"] = {"interval": "5m0s", "url": "ssh://git@example/repo"}
    repo["status"]["artifact"]["lastUpdateTime"] = "2026-01-01T12:00:00Z"
    soon = fetch_schedule(repo, last + timedelta(minutes=2))
    assert soon.last_fetch == last and soon.next_fetch == last + timedelta(minutes=5)
    assert soon.due(last + timedelta(minutes=2)) == "ca. in 3m (alle 5m0s)"
    assert soon.last(last + timedelta(minutes=2)) == "vor 2m"
    later = fetch_schedule(repo, last + timedelta(minutes=12))
    assert later.next_fetch == last + timedelta(minutes=15)


def test_fetch_schedule_without_artifact_or_suspended() -> None:
    repo = obj("GitRepository", "new", ready=None, spec={"interval": "1m", "suspend": True})
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sched = fetch_schedule(repo, now)
    assert sched.next_fetch is None and sched.last(now) == "noch nie" and sched.due(now) == "ausgesetzt"


def test_fetch_schedule_of_a_failing_source_is_not_shown_as_healthy() -> None:
    now = datetime(2026, 1, 1, 18, 0, tzinfo=UTC)
    repo = gitrepo("flux-system", "ok")
    repo["spec"] = {"interval": "1m", "url": "ssh://git@example/repo"}
    repo["status"]["artifact"]["lastUpdateTime"] = "2026-01-01T12:00:00Z"
    repo["status"]["conditions"] = [
        {
            "type": "Ready",
            "status": "False",
            "reason": "GitOperationFailed",
            "message": "authentication required",
        }
    ]
    sched = fetch_schedule(repo, now)
    assert sched.failing
    assert sched.due(now) == "Wiederholung mit Backoff (Quelle fehlerhaft)"
    assert sched.last(now) == "vor 6h"
    report = SyncReport((sched,), now)
    assert "authentication required" in str(report)
    assert 'class="failing"' in report._repr_html_()


def test_next_tick_boundaries() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=1)
    assert next_tick(t0, step, t0) == t0 + step
    assert next_tick(t0, step, t0 + step) == t0 + 2 * step
