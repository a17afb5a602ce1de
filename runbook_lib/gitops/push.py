"""Push with exact flags and turn git's refusals into German errors that name the kept commit.

A push that does not land raises :class:`~runbook_lib.errors.NotPushed`: :class:`PushRejected` when the
remote answered no (moved on, hook, lease), :class:`PushFailed` when it was not reached. The local commit
is never touched here; the error names it and says how to bring it onto the remote.
"""

from __future__ import annotations

import git

from runbook_lib.errors import NotPushed, PushFailed, PushRejected
from runbook_lib.gitops.repo import Checkout, Command, git_stderr, run_git, shell
from runbook_lib.report import Reporter

_UNREACHABLE = (
    "could not read from remote repository",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "repository not found",
)


def classify_push_error(stderr: str) -> str:
    """``lease``, ``moved``, ``hook``, ``unreachable`` or ``other`` for a failed push's stderr."""
    text = stderr.lower()
    if "stale info" in text:
        return "lease"
    if "[rejected]" in text and ("fetch first" in text or "non-fast-forward" in text):
        return "moved"
    if "[remote rejected]" in text or "hook declined" in text:
        return "hook"
    if any(marker in text for marker in _UNREACHABLE):
        return "unreachable"
    return "other"


def push_detail(stderr: str) -> str:
    """The informative part of a failed push's stderr: the remote's own words, else git's reason."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    remote = [ln.removeprefix("remote:").strip() for ln in lines if ln.startswith("remote:")]
    remote = [ln for ln in remote if ln]
    if remote:
        return "; ".join(remote[:3])
    for marker in ("fatal:", "! ["):
        found = [ln for ln in lines if ln.startswith(marker)]
        if found:
            return found[0].removeprefix("fatal:").strip()
    return lines[-1] if lines else "(keine Meldung)"


def integrate_commands(checkout: Checkout) -> tuple[Command, ...]:
    """What a user runs to bring a kept local commit onto a remote that moved."""
    return (("git", "pull", "--rebase", checkout.remote, checkout.remote_branch), checkout.push_command())


def push(
    repo: git.Repo,
    command: Command,
    *,
    checkout: Checkout,
    kept_commit: str,
    what: str,
    reporter: Reporter,
    result: object | None = None,
) -> None:
    """Run ``command`` (a ``git push``); on failure raise :class:`NotPushed` naming ``kept_commit``.

    ``what`` is the German noun for the pushed thing (``Commit``, ``Revert-Commit``); ``result`` (the
    "nicht gepusht" result of the caller) travels with the error as ``exc.result``.
    """
    reporter.action(f"pushe {what} {kept_commit[:7]} nach `{checkout.upstream}`: {shell(command)}")
    try:
        run_git(repo, command, network=True)
    except git.GitCommandError as exc:
        reporter.failure(f"Push nach `{checkout.upstream}` fehlgeschlagen")
        raise push_error(
            git_stderr(exc), checkout=checkout, kept_commit=kept_commit, what=what, result=result
        ) from exc
    reporter.success(f"{what} {kept_commit[:7]} ist auf `{checkout.upstream}`")


def push_error(
    stderr: str, *, checkout: Checkout, kept_commit: str, what: str, result: object | None = None
) -> NotPushed:
    """The German error for a failed push of ``kept_commit`` (kept locally, nicht gepusht)."""
    cause = classify_push_error(stderr)
    short = kept_commit[:7]
    kept = f"Der {what} {short} bleibt lokal erhalten, er ist nicht gepusht."
    integrate = " && ".join(shell(c) for c in integrate_commands(checkout))
    retry = shell(checkout.push_command())
    detail = push_detail(stderr)
    if cause == "moved":
        return PushRejected(
            f"Push abgelehnt: `{checkout.upstream}` hat inzwischen neue Commits. {kept}",
            f"Commit {short} integrieren und erneut pushen: `{integrate}`.",
            kept_commit=kept_commit,
            cause=cause,
            result=result,
        )
    if cause == "hook":
        return PushRejected(
            f"Push abgelehnt: ein Hook auf dem Remote hat den {what} zurückgewiesen ({detail}). {kept}",
            f"Meldung des Hooks prüfen und Commit {short} anpassen (`git commit --amend`), "
            f"dann `{retry}`; oder ihn mit `git reset --hard {checkout.remote_head[:7]}` verwerfen.",
            kept_commit=kept_commit,
            cause=cause,
            result=result,
        )
    if cause == "unreachable":
        return PushFailed(
            f"Remote `{checkout.remote}` ({checkout.remote_url}) ist nicht erreichbar: {detail}. {kept}",
            f"Netzwerk/URL prüfen (`git remote -v`), dann Commit {short} pushen: `{retry}`.",
            kept_commit=kept_commit,
            cause=cause,
            result=result,
        )
    return PushFailed(
        f"Push nach `{checkout.upstream}` fehlgeschlagen: {detail}. {kept}",
        f"Ursache beheben, dann Commit {short} pushen: `{retry}`.",
        kept_commit=kept_commit,
        cause=cause,
        result=result,
    )
