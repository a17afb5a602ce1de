"""The GitOps checkout: open it, check it is safe to change (preflight), run git with exact argv.

Every git call goes through :func:`run_git` with an argument list (never a shell string), with
``LC_ALL=C`` (GitPython sets it) so failures can be classified from git's English stderr, and with
``GIT_TERMINAL_PROMPT=0`` so a missing credential fails instead of waiting for input.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import git

from runbook_lib.errors import GitError, PreflightError
from runbook_lib.masking import mask
from runbook_lib.report import Reporter, plural
from runbook_lib.settings import settings

Command = tuple[str, ...]


def mask_secrets(text: str) -> str:
    """:func:`runbook_lib.masking.mask` with the whole user-info of every URL masked
    (``https://user:token@host`` and ``https://token@host`` become ``https://****@host``)."""
    return mask(text, hide_user=True)


def shell(command: Command) -> str:
    """The command as a user would type it into a POSIX shell, secrets masked."""
    return mask_secrets(shlex.join(command))


@dataclass(frozen=True, kw_only=True)
class Checkout:
    """The checked state of a checkout after a successful preflight."""

    path: str
    branch: str
    remote: str
    remote_branch: str
    remote_url: str  # credentials masked
    head: str
    remote_head: str

    @property
    def upstream(self) -> str:
        return f"{self.remote}/{self.remote_branch}"

    def push_command(self) -> Command:
        if self.branch == self.remote_branch:
            return ("git", "push", self.remote, self.branch)
        return ("git", "push", self.remote, f"{self.branch}:{self.remote_branch}")


def open_repo(path: str | Path) -> git.Repo:
    """Open the working tree at ``path`` (the top level, not a sub folder) or raise PreflightError."""
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise PreflightError(
            f"{Path(path).resolve()} ist kein Git-Checkout.",
            "Den Pfad des geklonten GitOps-Repositorys angeben: Parameter `repo_path` "
            "(`runbook run … -p repo_path ~/gitops`); `git clone <url>` legt ihn an.",
        ) from exc
    if repo.bare or repo.working_tree_dir is None:
        raise PreflightError(
            f"{path} ist ein Bare-Repository ohne Arbeitsverzeichnis.",
            "Einen Klon mit Arbeitsverzeichnis verwenden: `git clone <url> checkout`.",
        )
    repo.git.update_environment(GIT_TERMINAL_PROMPT="0")
    return repo


def run_git(repo: git.Repo, command: Command, *, network: bool = False, timeout: float | None = None) -> str:
    """Run ``command`` (``("git", ...)``) in the working tree and return its stdout.

    A ``network`` command (fetch, push, ls-remote) is killed after ``timeout`` seconds (default
    ``settings().network_timeout``). It runs through :mod:`subprocess` rather than GitPython's
    ``kill_after_timeout``, whose watchdog thread outlives a Ctrl+C and keeps the process from exiting
    until the timeout; :func:`subprocess.run` kills the child on Ctrl+C and leaves nothing behind.
    """
    if not network:
        return str(repo.git.execute(list(command)))
    limit = settings().network_timeout if timeout is None else timeout
    env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **repo.git.environment()}  # as GitPython runs git
    try:
        proc = subprocess.run(
            list(command),
            cwd=repo.working_tree_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired as exc:
        raise git.GitCommandError(
            list(command), -9, stderr=f"fatal: Timeout: keine Antwort innerhalb von {limit:g} s"
        ) from exc
    if proc.returncode != 0:
        raise git.GitCommandError(list(command), proc.returncode, stderr=proc.stderr, stdout=proc.stdout)
    return proc.stdout.rstrip("\n")


def git_stderr(exc: git.GitCommandError) -> str:
    """The masked stderr of a failed git command, without GitPython's decoration."""
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    text = text.strip().removeprefix("stderr:").strip().strip("'").strip()
    return mask_secrets(text)


def dirty_files(repo: git.Repo) -> list[str]:
    """Modified, staged and untracked files (``git status --porcelain``), as paths."""
    out = run_git(repo, ("git", "status", "--porcelain=v1", "--untracked-files=normal"))
    return [line[3:] for line in out.splitlines() if line.strip()]


#: operations git can leave half done (marker in the git directory), with how to end them: a checkout in
#: the middle of one must be ended with that command, not stashed
_IN_PROGRESS = (
    ("REVERT_HEAD", "ein `git revert`", "git revert --abort", "git revert --continue"),
    ("CHERRY_PICK_HEAD", "ein `git cherry-pick`", "git cherry-pick --abort", "git cherry-pick --continue"),
    ("sequencer", "ein `git revert` über mehrere Commits", "git revert --abort", "git revert --continue"),
    ("MERGE_HEAD", "ein `git merge`", "git merge --abort", "git commit"),
    ("rebase-merge", "ein `git rebase`", "git rebase --abort", "git rebase --continue"),
    ("rebase-apply", "ein `git rebase` oder `git am`", "git rebase --abort", "git rebase --continue"),
    ("BISECT_LOG", "ein `git bisect`", "git bisect reset", ""),
)


def require_no_operation(repo: git.Repo) -> None:
    """Refuse a checkout in the middle of a revert, merge, rebase, …, naming the command that ends it."""
    git_dir = Path(repo.git_dir)
    for marker, what, abort, finish in _IN_PROGRESS:
        if (git_dir / marker).exists():
            cont = f" oder abschließen mit `{finish}`" if finish else ""
            raise PreflightError(
                f"Im Checkout ist {what} nicht abgeschlossen ({marker} in {git_dir}).",
                f"Abbrechen mit `{abort}` (stellt den Stand davor her){cont}, dann erneut ausführen. "
                "Es wurde nichts geändert.",
            )


def require_clean(repo: git.Repo) -> None:
    files = dirty_files(repo)
    if files:
        shown = ", ".join(files[:10]) + (f" (und {len(files) - 10} weitere)" if len(files) > 10 else "")
        raise PreflightError(
            f"Der Checkout hat nicht committete Änderungen: {shown}.",
            "Änderungen committen oder mit `git stash -u` beiseitelegen (`git status` zeigt sie), "
            "dann erneut ausführen. Es wurde nichts geändert.",
        )


def identity(repo: git.Repo) -> str:
    """``Name <email>`` of the author git would use; PreflightError if none is configured."""
    try:
        author = run_git(repo, ("git", "var", "GIT_AUTHOR_IDENT"))
        run_git(repo, ("git", "var", "GIT_COMMITTER_IDENT"))
    except git.GitCommandError as exc:
        raise PreflightError(
            "Git kennt keinen Autor für den Commit (user.name/user.email fehlen).",
            'Einmalig setzen: `git config --global user.name "Vorname Nachname"` und '
            '`git config --global user.email "name@example.com"`.',
        ) from exc
    return author.rsplit(" ", 2)[0]


def _current_branch(repo: git.Repo) -> str:
    if repo.head.is_detached:
        raise PreflightError(
            "Im Checkout ist kein Branch ausgecheckt (detached HEAD).",
            "Den Branch auschecken, dem Flux folgt, z. B. `git switch main`.",
        )
    return repo.active_branch.name


def _upstream(repo: git.Repo, branch: str, remote: str) -> str:
    tracking = repo.heads[branch].tracking_branch()
    if tracking is None:
        raise PreflightError(
            f"Branch `{branch}` folgt keinem Remote-Branch.",
            f"Upstream setzen: `git branch --set-upstream-to={remote}/{branch}`.",
        )
    if tracking.remote_name != remote:
        raise PreflightError(
            f"Branch `{branch}` folgt `{tracking.name}`, nicht dem Remote `{remote}`.",
            f"Parameter `remote` auf `{tracking.remote_name}` setzen oder den Upstream ändern.",
        )
    return tracking.remote_head


def fetch(repo: git.Repo, remote: str, reporter: Reporter) -> None:
    url = remote_url(repo, remote)
    reporter.action(f"hole den Stand von `{remote}` ({url})")
    try:
        run_git(repo, ("git", "fetch", "--prune", remote), network=True)
    except git.GitCommandError as exc:
        raise GitError(
            f"Remote `{remote}` ({url}) ist nicht erreichbar: {_first_line(git_stderr(exc))}",
            f"Netzwerk, URL und Zugangsdaten prüfen (`git remote -v`, `git fetch {remote}`). "
            "Es wurde nichts geändert.",
        ) from exc


def remote_url(repo: git.Repo, remote: str) -> str:
    """The URL as configured (credentials masked); ``insteadOf`` rewrites are not applied."""
    try:
        return mask_secrets(run_git(repo, ("git", "config", "--get", f"remote.{remote}.url")))
    except git.GitCommandError as exc:
        raise PreflightError(
            f"Der Checkout hat kein Remote `{remote}`.",
            "Vorhandene Remotes zeigt `git remote -v`; den Parameter `remote` anpassen.",
        ) from exc


def _first_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else "(keine Meldung)"


def _ahead_behind(repo: git.Repo, upstream: str) -> tuple[int, int]:
    out = run_git(repo, ("git", "rev-list", "--left-right", "--count", f"HEAD...{upstream}"))
    ahead, behind = out.split()
    return int(ahead), int(behind)


def _require_in_sync(repo: git.Repo, branch: str, upstream: str) -> None:
    ahead, behind = _ahead_behind(repo, upstream)
    if ahead and behind:
        raise PreflightError(
            f"Branch `{branch}` und `{upstream}` sind auseinandergelaufen: {ahead} lokale und "
            f"{behind} entfernte Commits, die der jeweils andere nicht hat.",
            "Lokale Commits auf den neuen Stand setzen mit `git pull --rebase` (Konflikte lösen, "
            "`git rebase --continue`), dann `git push`; danach erneut ausführen. Es wurde nichts geändert.",
        )
    if behind:
        raise PreflightError(
            f"Branch `{branch}` liegt {plural(behind, 'Commit', 'Commits')} hinter `{upstream}`.",
            "Erst `git pull --rebase` ausführen, dann erneut starten. Es wurde nichts geändert.",
        )
    if ahead:
        raise PreflightError(
            f"Branch `{branch}` hat "
            + (
                f"einen lokalen Commit, der noch nicht auf `{upstream}` ist."
                if ahead == 1
                else f"{ahead} lokale Commits, die noch nicht auf `{upstream}` sind."
            ),
            f"Prüfen mit `git log {upstream}..HEAD`; erst `git push` (oder die Commits verwerfen), "
            "dann erneut starten. Es wurde nichts geändert.",
        )


def preflight(repo: git.Repo, *, branch: str | None, remote: str, reporter: Reporter) -> Checkout:
    """Clean tree, expected branch tracking ``remote``, fetched and equal to the remote branch."""
    require_no_operation(repo)  # first: a rebase also detaches HEAD, and its fix is `git rebase --abort`
    current = _current_branch(repo)
    if branch is not None and branch != current:
        raise PreflightError(
            f"Ausgecheckt ist Branch `{current}`, erwartet wird `{branch}`.",
            f"Erst `git switch {branch}` ausführen. Es wurde nichts geändert.",
        )
    url = remote_url(repo, remote)
    remote_branch = _upstream(repo, current, remote)
    require_clean(repo)
    fetch(repo, remote, reporter)
    upstream = f"{remote}/{remote_branch}"
    try:
        remote_head = repo.commit(upstream).hexsha
    except (git.BadName, ValueError) as exc:
        raise PreflightError(
            f"Den Remote-Branch `{upstream}` gibt es nicht (mehr).",
            "Auf dem Remote vorhandene Branches zeigt `git branch -r`; "
            f"ggf. `git push -u {remote} {current}`.",
        ) from exc
    _require_in_sync(repo, current, upstream)
    reporter.success(f"Checkout sauber, `{current}` ist auf dem Stand von `{upstream}`")
    return Checkout(
        path=str(repo.working_tree_dir),
        branch=current,
        remote=remote,
        remote_branch=remote_branch,
        remote_url=url,
        head=repo.head.commit.hexsha,
        remote_head=remote_head,
    )


def require_unmoved(repo: git.Repo, checkout: Checkout) -> None:
    """Apply-time check: same branch, same HEAD as the plan, clean tree."""
    require_no_operation(repo)
    current = _current_branch(repo)
    head = repo.head.commit.hexsha
    if current != checkout.branch or head != checkout.head:
        raise PreflightError(
            f"Der Checkout hat sich seit der Vorschau bewegt ({current}@{head[:7]} statt "
            f"{checkout.branch}@{checkout.head[:7]}).",
            "Den Plan neu erstellen (Vorschau erneut ausführen). Es wurde nichts geändert.",
        )
    require_clean(repo)
