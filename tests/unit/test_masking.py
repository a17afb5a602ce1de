"""Secret masking: what must disappear, and what must stay readable."""

from __future__ import annotations

import pytest

from runbook_lib.masking import MASK, mask


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "clone https://deploy:hunter2@git.example.com/fleet.git failed",
            "hunter2",
            "https://deploy:****@git.example",
        ),
        ("Authorization: Bearer abc.DEF-123456~xyz", "abc.DEF-123456~xyz", "Authorization: Bearer ****"),
        ("header authorization: basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "basic ****"),
        ("login failed: password=s3cr3t&user=bob", "s3cr3t", "password=****&user=bob"),
        ("token: abcdef123456", "abcdef123456", "token: ****"),
        ('{"password": "x1y2z3"}', "x1y2z3", '"password": "****"'),
        ("API_KEY=AbC123dEf", "AbC123dEf", "API_KEY=****"),
        ("client_secret: topsecretvalue", "topsecretvalue", "client_secret: ****"),
        (
            "using ghp_abcdefghijklmnopqrstuvwxyz0123456789 for auth",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "using **** for auth",
        ),
        ("glpat-abcdefghijklmnopqrst1 rejected", "glpat-abcdefghijklmnopqrst1", "**** rejected"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36",
            "SflKxwRJSMeKKF2QT4fwpMeJf36",
            "jwt ****",
        ),
        ("aws AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE", "aws **** denied"),
    ],
)
def test_secret_is_masked(text: str, secret: str, kept: str) -> None:
    masked = mask(text)
    assert secret not in masked
    assert kept in masked
    assert masked != text


@pytest.mark.parametrize(
    "text",
    [
        "stored artifact for revision 'main@sha1:0123456789abcdef0123456789abcdef01234567'",
        "secretRef: flux-system",
        "Helm install succeeded for release kube-system/kite.v3 with chart kite@0.6.3",
        "fetching https://zxh326.github.io/kite/index.yaml",
        "reconcileID 5c1e2f0a-8b7d-4f51-9d7e-0a6f3c2b1d11",
        "",
    ],
)
def test_ordinary_text_stays_readable(text: str) -> None:
    assert mask(text) == text


def test_masking_is_idempotent() -> None:
    once = mask("https://u:p4ss@h/x token=abc123 Bearer qwertyuiop")
    assert mask(once) == once
    assert once.count(MASK) == 3


def test_a_lone_token_in_a_url_is_masked() -> None:
    """``https://TOKEN@host`` has no ``user:`` part; the token itself must not survive (it did once)."""
    assert mask("clone https://ghp_abc123secret@github.com/org/repo failed") == (
        "clone https://****@github.com/org/repo failed"
    )
    assert mask("https://s3cr3t@git.example/repo.git") == "https://****@git.example/repo.git"


def test_hide_user_masks_the_whole_userinfo() -> None:
    assert mask("https://deploy:pw@host/x", hide_user=True) == "https://****@host/x"
    assert mask("https://deploy:pw@host/x") == "https://deploy:****@host/x"
