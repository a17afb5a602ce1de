"""Ctrl+C in the middle of a change or a rollback: leave a named state and say how to go on.

A KeyboardInterrupt can arrive between any two git commands (and git itself is interrupted with the
terminal's process group). :func:`on_interrupt` catches it around an apply step, ignores further Ctrl+C
while it cleans up, and raises :class:`~runbook_lib.errors.Interrupted` with the state the checkout is
in and the commands to continue or undo. The recovery looks at the repository, not at which Python
line was running, so it is right wherever the interrupt landed. The states (documented in the change
and rollback runbooks):

- **unverändert**: nothing was committed (a half-written file, a staged change, a revert in progress
  are undone): the checkout is as the run found it;
- **lokal, nicht gepusht**: the commit (or the revert commit) exists only locally: push it, or drop it;
- **gepusht**: the commit reached the remote; Flux will apply it, only the check was cut short;
- reset only: **Sicherung angelegt**: the backup tag exists (locally, maybe on the remote), the
  branch is back on the old head; **zurückgesetzt und gepusht**: the force push landed.

Whether a push landed is asked from the remote (``git ls-remote``, short timeout): git may have been
stopped after the remote accepted and before it updated the local tracking branch. No commit is ever
dropped: a local commit is kept unless the remote already has it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import git

from runbook_lib.errors import Interrupted
from runbook_lib.gitops.repo import Checkout, Command, dirty_files, run_git, shell

#: seconds ``git ls-remote`` may take while cleaning up after Ctrl+C: the user is waiting
REMOTE_CHECK_TIMEOUT = 15.0
#: seconds to wait for an interrupted git child to release ``index.lock``
LOCK_WAIT = 3.0


@contextlib.contextmanager
def on_interrupt(recover: Callable[[], Interrupted]) -> Iterator[None]:
    """Run the block; on Ctrl+C run ``recover`` (with Ctrl+C ignored meanwhile) and raise its error."""
    try:
        yield
    except KeyboardInterrupt:
        with _sigint_ignored():
            error = recover()
        raise error from None


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_lock(repo: git.Repo) -> None:
    """An interrupted git child may still be cleaning up its ``index.lock``; GitPython's persistent
    ``git cat-file`` helpers got the terminal's Ctrl+C too and are started afresh."""
    repo.git.clear_cache()
    lock = Path(repo.git_dir) / "index.lock"
    deadline = time.monotonic() + LOCK_WAIT
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def remote_head(repo: git.Repo, checkout: Checkout) -> str | None:
    """The commit the remote branch is at now, asked from the remote; None when it cannot be asked."""
    command = ("git", "ls-remote", checkout.remote, f"refs/heads/{checkout.remote_branch}")
    try:
        out = run_git(repo, command, network=True, timeout=REMOTE_CHECK_TIMEOUT)
    except git.GitCommandError:
        return None
    sha = out.split("\t", 1)[0].strip()
    return sha or None


def _cmd(checkout: Checkout, command: Command) -> str:
    """A git command as the user runs it from anywhere (``git -C PATH …``)."""
    return shell((command[0], "-C", checkout.path, *command[1:]))


def restore_head(repo: git.Repo, checkout: Checkout) -> bool:
    """Back to the previewed head with a clean tree and no revert/cherry-pick in progress.

    Only used while HEAD is still the previewed head (nothing committed): then every change in the
    tree is the run's own (the preflight required a clean tree). True when it worked.
    """
    _wait_for_lock(repo)
    with contextlib.suppress(git.GitCommandError):
        run_git(repo, ("git", "reset", "--hard", "-q", checkout.head))
    for sequence in (("git", "revert", "--quit"), ("git", "cherry-pick", "--quit")):
        with contextlib.suppress(git.GitCommandError):
            run_git(repo, sequence)
    return repo.head.commit.hexsha == checkout.head and not dirty_files(repo)


def _unchanged(checkout: Checkout, ok: bool) -> Interrupted:
    if ok:
        return Interrupted(
            "Abgebrochen mit Strg+C, bevor etwas committet oder gepusht war. Der Checkout ist wieder wie "
            f"vorgefunden ({checkout.branch} auf {checkout.head[:7]}, sauber); der Cluster ist unverändert.",
            "Das Runbook einfach erneut ausführen.",
        )
    return Interrupted(
        "Abgebrochen mit Strg+C, bevor etwas committet oder gepusht war. Der Checkout ließ sich nicht "
        "vollständig zurücksetzen.",
        f"Prüfen mit `{_cmd(checkout, ('git', 'status'))}`; ein laufender Revert endet mit "
        f"`{_cmd(checkout, ('git', 'revert', '--abort'))}`, sonst zurück mit "
        f"`{_cmd(checkout, ('git', 'reset', '--hard', checkout.head[:7]))}`.",
    )


def _committed(what: str, commit: str, checkout: Checkout, pushed: bool | None) -> Interrupted:
    """The state after the commit was made: pushed, not pushed, or unknown."""
    short = commit[:7]
    push = _cmd(checkout, checkout.push_command())
    if pushed:
        return Interrupted(
            f"Abgebrochen mit Strg+C nach dem Push: {what} {short} ist auf {checkout.upstream}. Flux wendet "
            "ihn an; nur die Prüfung wurde abgebrochen.",
            "Ob er angekommen ist: `runbook run status` bzw. `flux get kustomizations -A`.",
        )
    if pushed is None:
        return Interrupted(
            f"Abgebrochen mit Strg+C während des Push: {what} {short} ist lokal erhalten; ob er auf "
            f"{checkout.upstream} angekommen ist, ließ sich nicht prüfen.",
            f"Prüfen mit `{_cmd(checkout, ('git', 'fetch', checkout.remote))}` und "
            f"`{_cmd(checkout, ('git', 'status', '-sb'))}`; fehlt er dort, pushen mit `{push}`.",
        )
    return Interrupted(
        f"Abgebrochen mit Strg+C: {what} {short} ist lokal erstellt, aber nicht gepusht. Der Cluster ist "
        "unverändert.",
        f"Weiter: `{push}` (danach prüfen mit `runbook run status`). Verwerfen: "
        f"`{_cmd(checkout, ('git', 'reset', '--hard', checkout.head[:7]))}`.",
    )


def recover_commit(repo: git.Repo, checkout: Checkout, *, what: str) -> Interrupted:
    """After Ctrl+C in a change or a revert: the run's commit is HEAD, or nothing was committed."""
    _wait_for_lock(repo)
    head = repo.head.commit
    if head.hexsha == checkout.head:
        return _unchanged(checkout, restore_head(repo, checkout))
    if [p.hexsha for p in head.parents] != [checkout.head]:  # not ours: touch nothing
        return Interrupted(
            f"Abgebrochen mit Strg+C. Im Checkout steht {head.hexsha[:7]} statt des erwarteten Stands "
            f"{checkout.head[:7]}; nichts wurde verändert.",
            f"Prüfen mit `{_cmd(checkout, ('git', 'log', '--oneline', '-3'))}`.",
        )
    remote = remote_head(repo, checkout)
    pushed = None if remote is None else remote == head.hexsha
    return _committed(what, head.hexsha, checkout, pushed)


def recover_reset(
    repo: git.Repo, checkout: Checkout, *, target: str, tag: str, restore: tuple[Command, ...]
) -> Interrupted:
    """After Ctrl+C in a reset with backup: the backup tag, the branch and the remote, each checked.
    ``restore`` are the commands that bring the old head back (the plan's)."""
    _wait_for_lock(repo)
    remote = remote_head(repo, checkout)
    head = repo.head.commit.hexsha
    tagged = tag in {t.name for t in repo.tags}
    restore_text = " && ".join(f"`{_cmd(checkout, c)}`" for c in restore)
    if remote == target:  # the force push landed: the branch belongs on the target
        if head != target:
            run_git(repo, ("git", "reset", "--hard", "-q", target))
        return Interrupted(
            f"Abgebrochen mit Strg+C nach dem Force-Push: {checkout.upstream} steht auf {target[:7]}, der "
            f"alte Stand {checkout.head[:7]} ist als Tag {tag} gesichert. Nur die Prüfung wurde abgebrochen.",
            f"Ob der alte Stand angekommen ist: `runbook run status`. Wiederherstellen: {restore_text}.",
        )
    if head != checkout.head:  # reset locally, not pushed: back to the old head (it is tagged, too)
        run_git(repo, ("git", "reset", "--hard", "-q", checkout.head))
        if remote is None:
            fetch = _cmd(checkout, ("git", "fetch", checkout.remote))
            log = _cmd(checkout, ("git", "log", "--oneline", "-3", checkout.upstream))
            adopt = _cmd(checkout, ("git", "reset", "--hard", target[:7]))
            return Interrupted(
                f"Abgebrochen mit Strg+C während des Force-Push; ob er auf {checkout.upstream} angekommen "
                f"ist, ließ sich nicht prüfen. Lokal steht {checkout.branch} wieder auf {checkout.head[:7]}, "
                f"gesichert als Tag {tag}.",
                f"Prüfen mit `{fetch}` und `{log}`; steht der Remote auf {target[:7]}, ist der Rollback "
                f"erfolgt (lokal dann `{adopt}`).",
            )
    if not tagged:
        return _unchanged(checkout, restore_head(repo, checkout))
    on_remote = _remote_has_tag(repo, checkout, tag)
    if on_remote is False:
        run_git(repo, ("git", "tag", "-d", tag))
        return _unchanged(checkout, restore_head(repo, checkout))
    where = "lokal und auf dem Remote" if on_remote else "lokal (auf dem Remote ungewiss)"
    return Interrupted(
        f"Abgebrochen mit Strg+C nach dem Anlegen der Sicherung: Tag {tag} liegt {where}; {checkout.branch} "
        f"steht wie vorher auf {checkout.head[:7]}, nichts wurde zurückgesetzt oder gepusht.",
        "Das Runbook erneut ausführen (es legt eine neue Sicherung an). Die Sicherung entfernen, falls "
        f"nicht mehr gebraucht: `{_cmd(checkout, ('git', 'tag', '-d', tag))}` und "
        f"`{_cmd(checkout, ('git', 'push', checkout.remote, f':refs/tags/{tag}'))}`.",
    )


def _remote_has_tag(repo: git.Repo, checkout: Checkout, tag: str) -> bool | None:
    command = ("git", "ls-remote", checkout.remote, f"refs/tags/{tag}")
    try:
        return bool(run_git(repo, command, network=True, timeout=REMOTE_CHECK_TIMEOUT).strip())
    except git.GitCommandError:
        return None
