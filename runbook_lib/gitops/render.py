"""Rendering helpers shared by the plans and results: diffs, command blocks, commit tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from runbook_lib.gitops.affected import AffectedObject
from runbook_lib.gitops.repo import Command, mask_secrets, shell
from runbook_lib.report import color_style, html_table, text_table

_DIFF_COLOURS = {"+": "success", "-": "failure", "@": "accent"}


@dataclass(frozen=True, kw_only=True)
class CommitInfo:
    """A commit as the preview shows it."""

    sha: str
    author: str
    date: str  # ISO 8601 with offset
    subject: str
    parents: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def commands_text(commands: Iterable[Command], comments: Sequence[str] = ()) -> str:
    lines = [f"# {c}" for c in comments] + [f"  {shell(c)}" for c in commands]
    return "\n".join(lines)


def commands_html(commands: Iterable[Command], comments: Sequence[str] = ()) -> str:
    lines = [f"# {c}" for c in comments] + [shell(c) for c in commands]
    return f"<pre><code>{escape(chr(10).join(lines))}</code></pre>"


def diff_html(diff: str) -> str:
    out = []
    for line in mask_secrets(diff).splitlines():
        colour = _DIFF_COLOURS.get(line[:1]) if not line.startswith(("+++", "---")) else None
        text = escape(line)
        out.append(f'<span style="{color_style(colour)}">{text}</span>' if colour else text)
    return f'<pre class="runbook-diff">{chr(10).join(out)}</pre>'


def commits_rows(commits: Iterable[CommitInfo]) -> list[list[str]]:
    return [[c.short, c.author, c.date, c.subject + (" (Merge)" if c.is_merge else "")] for c in commits]


COMMIT_HEADERS = ["COMMIT", "AUTOR", "DATUM", "BETREFF"]
AFFECTED_HEADERS = ["ART", "NAMESPACE", "NAME", "GRUND"]


def commits_text(commits: Sequence[CommitInfo]) -> str:
    return text_table(COMMIT_HEADERS, commits_rows(commits)) if commits else "(keine)"


def commits_html(commits: Sequence[CommitInfo], caption: str) -> str:
    return html_table(COMMIT_HEADERS, commits_rows(commits), caption=caption)


def affected_rows(affected: Iterable[AffectedObject]) -> list[list[str]]:
    return [[a.kind, a.namespace, a.name, a.reason] for a in affected]


def affected_text(affected: Sequence[AffectedObject]) -> str:
    if not affected:
        return "(keine Flux-Objekte gefunden)"
    return text_table(AFFECTED_HEADERS, affected_rows(affected))


def affected_html(affected: Sequence[AffectedObject]) -> str:
    if not affected:
        return "<p>Keine betroffenen Flux-Objekte gefunden.</p>"
    return html_table(AFFECTED_HEADERS, affected_rows(affected), caption="Betroffene Flux-Objekte")


def section(title: str, body: str) -> str:
    return f"{title}:\n{body}"


def html_block(title: str, *parts: str) -> str:
    return f'<div class="runbook-gitops"><h4>{escape(title)}</h4>{"".join(parts)}</div>'


def para(text: str) -> str:
    return f"<p>{escape(mask_secrets(text))}</p>"


def escape_text(text: str) -> str:
    return escape(mask_secrets(text))
