"""Mask values that look like secrets before anything is printed or rendered.

Covers what shows up in Flux logs, events and error messages: passwords in URLs
(``https://user:pass@host``), ``Authorization: Bearer …`` and ``Basic …`` headers, ``key=value`` and
``key: value`` pairs whose key names a secret (password, token, secret, api key, …), and tokens with
a recognisable shape (GitHub, GitLab, Slack, AWS access keys, JWTs). Everything else is left alone, so
revisions (``main@sha1:…``), UIDs and digests stay readable.
"""

from __future__ import annotations

import re

#: the replacement for a masked value; fixed width so the length of a secret is not revealed
MASK = "****"

#: a URL's userinfo: ``https://user:password@host`` or a lone ``https://token@host`` (a userinfo that
#: is already masked, ``https://***@host``, is left as it is)
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?!\*+@)(?P<user>[^/\s:@?#'\"]+)(?::(?P<password>[^@\s/]+))?@"
)
_AUTH_HEADER = re.compile(r"(?P<keep>\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<keep>\b[\w.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?)[\w.-]*(?<![Rr]ef)(?<![Nn]ame)(?<![Ff]ile)[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*\*)[^\s\"'&,;)}\]]+",
    re.IGNORECASE,
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
#: cheap pre-check: text without any of these fragments cannot contain a secret the patterns find
_HINTS = (
    "://",
    "earer",
    "asic",
    "oken",
    "ass",
    "pwd",
    "ecret",
    "key",
    "KEY",
    "Key",
    "redential",
    "gh",
    "glpat",
    "xox",
    "AKIA",
    "eyJ",
    "EARER",
    "ASIC",
    "OKEN",
    "ASS",
    "PWD",
    "ECRET",
    "REDENTIAL",
)


def mask(text: str, *, hide_user: bool = False) -> str:
    """``text`` with every secret-looking value replaced by :data:`MASK`.

    In a URL, ``user:password@`` keeps the user (``https://deploy:****@host``) and a lone userinfo is a
    token (``https://****@host``). ``hide_user=True`` masks the user too: for Git remotes, where the
    user part often is a token's name or the token itself (``https://oauth2:…@``, ``https://x-access-token:…@``).
    """
    if not text or not any(h in text for h in _HINTS):
        return text

    def userinfo(m: re.Match[str]) -> str:
        if m["password"] is None or hide_user:
            return f"{m['scheme']}{MASK}@"
        return f"{m['scheme']}{m['user']}:{MASK}@"

    text = _USERINFO.sub(userinfo, text)
    text = _AUTH_HEADER.sub(rf"\g<keep>{MASK}", text)
    text = _KEY_VALUE.sub(rf"\g<keep>{MASK}", text)
    return _TOKEN_SHAPES.sub(MASK, text)
