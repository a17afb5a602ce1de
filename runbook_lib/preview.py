"""`preview`: what a test branch would do to the cluster before it is merged, and the merge itself.

:func:`plan_preview` compares the branch with the branch Flux follows from their merge base: the commits,
the changed files rendered as Flux would apply them (:mod:`runbook_lib.gitops.cluster_preview`), the
server-side dry run against the live objects (:mod:`runbook_lib.drift`: created, changed, and pruned for
documents the branch removes), the Flux objects that would reconcile, and the audit's checks on the
result. :func:`merge_preview` merges it (fast-forward, else a merge commit with a German message), pushes
with lease and leaves the rollout check to ``roll_out``. Git never loses a commit: a refused push keeps the
merge commit locally, a conflict is aborted and leaves the checkout as it was.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from html import escape
from typing import Any

import git
import yaml

from runbook_lib.audit.gather import index_text
from runbook_lib.audit.rules import (
    WORKLOAD_KINDS,
    Commit,
    Thresholds,
    commit_findings,
    image_findings,
    interval_findings,
    remediation_findings,
    resource_findings,
)
from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.diagnose.model import Diagnosis
from runbook_lib.drift import DryRunDiff, dry_run, live_objects, ref_of
from runbook_lib.errors import GitError, UsageError
from runbook_lib.gitops import render
from runbook_lib.gitops.affected import AffectedObject, find_affected, scan_flux_objects
from runbook_lib.gitops.cluster_preview import as_applied, blob_reader, owner_of, render_files
from runbook_lib.gitops.push import push
from runbook_lib.gitops.repo import Checkout, fetch, git_stderr, identity, open_repo, preflight, run_git
from runbook_lib.report import Rendered, Reporter, default_reporter, plural

#: the kinds whose interval the audit checks on the branch's result
_SOURCES = ("GitRepository", "HelmRepository", "OCIRepository", "Bucket")


@dataclass(frozen=True)
class BranchPreview(Rendered):
    """What merging ``branch`` into ``base`` would do; rendering it is the preview."""

    repo_path: str
    remote: str
    branch: str
    base: str
    branch_head: str
    base_head: str
    merge_base: str
    commits: tuple[Commit, ...]
    files: tuple[str, ...]
    git_diff: str
    cluster: DryRunDiff
    affected: tuple[AffectedObject, ...]
    checks: Diagnosis

    @property
    def fast_forward(self) -> bool:
        return self.merge_base == self.base_head

    def _head(self) -> list[str]:
        how = (
            "Fast-Forward"
            if self.fast_forward
            else "Merge-Commit (der Basis-Branch hat inzwischen neue Commits)"
        )
        return [
            f"Branch {self.remote}/{self.branch} ({self.branch_head[:7]}) → {self.base} "
            f"({self.base_head[:7]}): {plural(len(self.commits), 'Commit', 'Commits')}, "
            f"{plural(len(self.files), 'Datei', 'Dateien')}; Übernahme per {how}",
            *[f"  {c.sha[:7]} {c.summary} ({c.author}, {c.date})" for c in self.commits],
        ]

    def __str__(self) -> str:
        return "\n".join(
            [
                *self._head(),
                "",
                str(self.cluster).rstrip("\n"),
                "",
                render.section(
                    "Flux-Objekte, die nach dem Merge abgleichen", render.affected_text(self.affected)
                ),
                "",
                "Audit des Branch-Stands:",
                str(self.checks).rstrip("\n"),
            ]
        )

    def _repr_html_(self) -> str:
        return render.html_block(
            f"Vorschau des Branches {self.branch}",
            *[render.para(line) for line in self._head()],
            self.cluster._repr_html_(),
            render.affected_html(self.affected),
            f"<p><b>Audit des Branch-Stands:</b></p>{self.checks._repr_html_()}",
        )


def _ref(repo: git.Repo, remote: str, branch: str) -> str:
    for ref in (f"{remote}/{branch}", branch):
        try:
            repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            continue
        return ref
    names = [h.name for h in repo.heads] + [
        r.name.removeprefix(f"{remote}/") for r in repo.remote(remote).refs
    ]
    import difflib

    close = difflib.get_close_matches(branch, sorted(set(names)), n=3, cutoff=0.4)
    raise UsageError(
        f"Den Branch `{branch}` gibt es weder lokal noch auf `{remote}`.",
        (f"Meinten Sie: {', '.join(close)}? " if close else "")
        + "Vorhandene Branches zeigt `git branch -a`; einen Test-Branch legt das Runbook `change` mit "
        "`-p new_branch NAME` an.",
    )


def _docs(text: str | None) -> dict[str, dict[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(text or "") if isinstance(d, dict) and d.get("metadata")]
    except yaml.YAMLError:
        return {}
    return {
        ref_of(d): d for d in docs if not str(d.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")
    }


def plan_preview(
    repo_path: str,
    *,
    branch: str,
    base: str | None = None,
    remote: str = "origin",
    client: Cluster | None = None,
    reporter: Reporter | None = None,
) -> BranchPreview:
    """Preview merging ``branch`` into ``base`` (None: the checked-out branch, which Flux follows)."""
    reporter = default_reporter(reporter)
    cluster = client or default_cluster()
    repo = open_repo(repo_path)
    fetch(repo, remote, reporter)
    base = base or str(repo.active_branch.name)
    base_ref, head_ref = _ref(repo, remote, base), _ref(repo, remote, branch)
    if repo.commit(base_ref).hexsha == repo.commit(head_ref).hexsha:
        raise UsageError(
            f"`{branch}` und `{base}` zeigen auf denselben Commit: Es gibt nichts zu übernehmen.",
            "Erst Änderungen auf den Test-Branch committen (Runbook `change` mit `-p new_branch`).",
        )
    merge_base = run_git(repo, ("git", "merge-base", base_ref, head_ref))
    log = run_git(repo, ("git", "log", "--format=%H%x00%s%x00%an%x00%as", f"{base_ref}..{head_ref}", "--"))
    commits = tuple(Commit(*line.split("\x00", 3)) for line in log.splitlines() if line.count("\x00") == 3)
    status = run_git(repo, ("git", "diff", "--name-status", "--no-renames", merge_base, head_ref))
    changed = [tuple(line.split("\t", 1)) for line in status.splitlines() if "\t" in line]
    files = tuple(path for _, path in changed)
    new_read, old_read = blob_reader(repo, head_ref), blob_reader(repo, merge_base)
    flux = scan_flux_objects(repo, head_ref)
    kept = {f: new_read(f) or "" for s, f in changed if s != "D" and f.endswith((".yaml", ".yml"))}
    rendered = render_files(kept, flux, new_read)
    new_refs = {ref_of(o) for o in rendered.objects}
    old_flux = scan_flux_objects(repo, merge_base)
    removed = [
        as_applied(doc, owner)
        for _, f in changed
        if (owner := owner_of(f, old_flux)) is not None
        for r, doc in _docs(old_read(f)).items()
        if ref_of(as_applied(doc, owner)) not in new_refs
    ]
    prune = live_objects(cluster, removed)
    git_diff = run_git(repo, ("git", "diff", merge_base, head_ref))
    result = dry_run(
        rendered.objects,
        client=cluster,
        prune=prune,
        fallback=git_diff,
        notes=rendered.notes,
        title=f"Was der Cluster nach dem Merge täte (server-side dry run gegen {base})",
    )
    checks = _checks(rendered.objects, commits, branch, kept)
    effect = (
        f"{plural(len(result.changes), 'Objekt würde', 'Objekte würden')} sich ändern"
        if result.supported
        else "kein Probelauf auf dem Cluster möglich"
    )
    reporter.success(f"Vorschau: {plural(len(commits), 'Commit', 'Commits')} auf {branch}, {effect}")
    return BranchPreview(
        repo_path=str(repo.working_tree_dir),
        remote=remote,
        branch=branch,
        base=base,
        branch_head=repo.commit(head_ref).hexsha,
        base_head=repo.commit(base_ref).hexsha,
        merge_base=merge_base,
        commits=commits,
        files=files,
        git_diff=git_diff,
        cluster=result,
        affected=find_affected(repo, files, revs=(base_ref, head_ref)),
        checks=checks,
    )


def _checks(
    objects: tuple[dict[str, Any], ...], commits: tuple[Commit, ...], branch: str, files: dict[str, str]
) -> Diagnosis:
    """The audit's rules on what the branch would apply (and on its commit messages)."""
    index: dict[Any, Any] = {}
    for file, text in files.items():
        index.update(index_text(file, text))
    workloads = [o for o in objects if o.get("kind") in WORKLOAD_KINDS]
    releases = [o for o in objects if o.get("kind") == "HelmRelease"]
    sources = [o for o in objects if o.get("kind") in _SOURCES]
    findings = [
        *resource_findings(workloads, index),
        *image_findings(workloads, index),
        *remediation_findings(releases, index),
        *interval_findings(sources, Thresholds()),
        *commit_findings(commits, branch),
    ]
    return Diagnosis(
        title="Audit des Branches",
        findings=tuple(findings),
        checked=(
            "Ressourcenlimits",
            "Feste Image-Tags",
            "Upgrade-Remediation",
            "Abfrageintervalle",
            "Commit-Messages",
        ),
    )


# --- merge ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult(Rendered):
    """The merge of the test branch: the new head of the followed branch, pushed."""

    preview: BranchPreview
    commit: str
    fast_forward: bool
    pushed: bool

    @property
    def affected(self) -> tuple[AffectedObject, ...]:
        return self.preview.affected

    def __str__(self) -> str:
        p = self.preview
        how = "per Fast-Forward" if self.fast_forward else "mit Merge-Commit"
        state = "gepusht" if self.pushed else "nur lokal, nicht gepusht"
        return f"✔ {p.branch} {how} in {p.base} übernommen: {self.commit[:7]} ({state}, {p.remote}/{p.base})."

    def _repr_html_(self) -> str:
        return f"<p>{escape(str(self))}</p>"


def merge_message(preview: BranchPreview) -> str:
    """The German message of a merge commit: which branch, into which, and what its commits did."""
    summaries = "; ".join(c.summary for c in preview.commits[:5])
    more = f" (und {len(preview.commits) - 5} weitere)" if len(preview.commits) > 5 else ""
    return (
        f"Test-Branch {preview.branch} nach {preview.base} übernehmen\n\n"
        f"{plural(len(preview.commits), 'Commit', 'Commits')}: {summaries}{more}\n"
        f"Vorher per Runbook `preview` gegen den Cluster geprüft."
    )


def merge_preview(preview: BranchPreview, *, reporter: Reporter | None = None) -> MergeResult:
    """Merge the previewed branch into the followed branch and push with lease."""
    reporter = default_reporter(reporter)
    repo = open_repo(preview.repo_path)
    checkout = preflight(repo, branch=preview.base, remote=preview.remote, reporter=reporter)
    identity(repo)  # a merge commit needs an author; refused before anything changes
    head_ref = _ref(repo, preview.remote, preview.branch)
    if repo.commit(head_ref).hexsha != preview.branch_head or checkout.head != preview.base_head:
        raise GitError(
            f"Seit der Vorschau hat sich {preview.branch} oder {preview.base} bewegt.",
            "Die Vorschau erneut ausführen und das neue Ergebnis prüfen. Es wurde nichts geändert.",
        )
    fast = preview.fast_forward
    try:
        if fast:
            run_git(repo, ("git", "merge", "--ff-only", preview.branch_head))
        else:
            run_git(repo, ("git", "merge", "--no-ff", "-m", merge_message(preview), preview.branch_head))
    except git.GitCommandError as exc:
        _abort_merge(repo)
        raise GitError(
            f"Der Merge von {preview.branch} in {preview.base} ist fehlgeschlagen: {git_stderr(exc)}",
            f"Konflikte auf dem Branch lösen (`git switch {preview.branch} && git merge {preview.base}`),"
            " pushen und die Vorschau erneut ausführen. Der Checkout ist wie vorher.",
        ) from exc
    commit = repo.head.commit.hexsha
    reporter.success(f"{preview.branch} in {preview.base} übernommen: {commit[:7]}")
    result = MergeResult(preview=preview, commit=commit, fast_forward=fast, pushed=False)
    push(
        repo,
        _lease_push(checkout),
        checkout=checkout,
        kept_commit=commit,
        what="Merge",
        reporter=reporter,
        result=result,
    )
    return MergeResult(preview=preview, commit=commit, fast_forward=fast, pushed=True)


def _lease_push(checkout: Checkout) -> tuple[str, ...]:
    ref = f"refs/heads/{checkout.remote_branch}"
    return ("git", "push", f"--force-with-lease={ref}:{checkout.remote_head}", checkout.remote, f"HEAD:{ref}")


def _abort_merge(repo: git.Repo) -> None:
    """End a merge git left half done (conflicts); a finished merge stays (its commit is not lost)."""
    try:
        repo.git.rev_parse("--verify", "--quiet", "MERGE_HEAD")
    except git.GitCommandError:
        return
    run_git(repo, ("git", "merge", "--abort"))


def stop_before_merge(merge: bool) -> str:
    """End the runbook after the preview unless ``merge``; else a ► line."""
    if not merge:
        sys.stdout.write(
            "✔ Vorschau beendet: nichts wurde gemergt oder gepusht (merge = False).\n"
            "  Zum Übernehmen: den Parameter merge auf True setzen (`runbook run preview … -p merge True`).\n"
        )
        sys.stdout.flush()
        raise SystemExit(0)
    return "► merge = True: der Branch wird jetzt übernommen."
