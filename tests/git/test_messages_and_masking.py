"""Pure rules of the git side: commit message policy, secret masking, push failure classification."""

from __future__ import annotations

import pytest

from runbook_lib.errors import UsageError
from runbook_lib.gitops.message import check_message
from runbook_lib.gitops.push import classify_push_error, push_detail
from runbook_lib.gitops.repo import mask_secrets


@pytest.mark.parametrize(
    "message", ["", "   ", "update", "Fix", "changes", "wip", "test", "fix stuff again", "kite"]
)
def test_empty_short_or_generic_messages_are_refused(message: str) -> None:
    with pytest.raises(UsageError) as err:
        check_message(message)
    assert "Commit-Message" in err.value.message
    assert "Beispiel" in (err.value.hint or "")


@pytest.mark.parametrize(
    "message",
    ["Update Kite configuration", "kite: raise image tag to v0.5.0", "  Kite: Replikas auf 2 erhöhen  "],
)
def test_descriptive_messages_pass_stripped(message: str) -> None:
    assert check_message(message) == message.strip()


def test_too_short_message_says_so() -> None:
    with pytest.raises(UsageError) as err:
        check_message("kite v2")
    assert "zu kurz" in err.value.message


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://user:tok3n@github.com/a/b.git", "https://****@github.com/a/b.git"),
        (
            "fatal: unable to access 'https://x-token@host/r/'",
            "fatal: unable to access 'https://****@host/r/'",
        ),
        ("ssh://git@example.com/r", "ssh://****@example.com/r"),
        ("/srv/git/remote.git", "/srv/git/remote.git"),
        ("remote: token=ghp_abcdefghijklmnopqrstuvwx", "remote: token=****"),
        ("git@github.com:team/repo.git", "git@github.com:team/repo.git"),
    ],
)
def test_mask_secrets(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


@pytest.mark.parametrize(
    ("stderr", "cause"),
    [
        (" ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs", "moved"),
        (" ! [rejected]        main -> main (non-fast-forward)", "moved"),
        (" ! [rejected]        main -> main (stale info)", "lease"),
        ("remote: frozen\n ! [remote rejected] main -> main (pre-receive hook declined)", "hook"),
        ("fatal: '/x/missing.git' does not appear to be a git repository", "unreachable"),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", "unreachable"),
        ("error: something else entirely", "other"),
    ],
)
def test_classify_push_error(stderr: str, cause: str) -> None:
    assert classify_push_error(stderr) == cause


def test_push_detail_prefers_the_remote_message() -> None:
    stderr = (
        "remote: main is frozen\nTo /x\n"
        " ! [remote rejected] main -> main (pre-receive hook declined)\nerror: x"
    )
    assert push_detail(stderr) == "main is frozen"
    assert push_detail("fatal: no route\nmore") == "no route"
