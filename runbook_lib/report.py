"""One progress vocabulary, as the flux CLI prints it: ► action, ◎ waiting, ✔ success, ⚠ warning, ✗ failure.

Library functions take ``reporter=None`` and fall back to :func:`default_reporter`, which prints to
stdout (in a notebook the lines appear under the running cell, as in a terminal). Tests pass
:class:`SilentReporter` or :class:`RecordingReporter`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from html import escape
from typing import TextIO

SYMBOLS = {"action": "►", "waiting": "◎", "success": "✔", "warning": "⚠", "failure": "✗", "info": " "}


class Reporter:
    """Prints progress lines with the elapsed time since the reporter was created."""

    def __init__(self, stream: TextIO | None = None, *, show_elapsed: bool = True) -> None:
        self._stream = stream
        self._start = time.monotonic()
        self.show_elapsed = show_elapsed

    def line(self, level: str, text: str) -> None:
        stream = self._stream or sys.stdout
        suffix = f"  [{time.monotonic() - self._start:.1f}s]" if self.show_elapsed else ""
        stream.write(f"{SYMBOLS[level]} {text}{suffix}\n")
        stream.flush()

    def action(self, text: str) -> None:
        self.line("action", text)

    def waiting(self, text: str) -> None:
        self.line("waiting", text)

    def success(self, text: str) -> None:
        self.line("success", text)

    def warning(self, text: str) -> None:
        self.line("warning", text)

    def failure(self, text: str) -> None:
        self.line("failure", text)

    def info(self, text: str) -> None:
        self.line("info", text)


class SilentReporter(Reporter):
    """Discards every line."""

    def line(self, level: str, text: str) -> None:
        return None


@dataclass
class RecordingReporter(Reporter):
    """Keeps the lines as ``(level, text)`` pairs, for tests and for results that show their progress."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def line(self, level: str, text: str) -> None:
        self.lines.append((level, text))


class Rendered:
    """Mixin for result types: the plain-text form is the German terminal rendering.

    ``repr()`` (and so what IPython stores as ``text/plain`` in an executed notebook) is ``str(self)``,
    not the dataclass field dump, which would be unreadable and could carry unmasked values. The
    ``__repr__`` is set when the subclass is created, before ``@dataclass`` runs, so the dataclass keeps
    it; a subclass that writes its own ``__repr__`` keeps that one.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Rendered.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return str(self).rstrip("\n")


def plural(count: int, one: str, many: str) -> str:
    """``1 Commit`` / ``3 Commits``: the count with the German singular or plural (never ``Commit(s)``)."""
    return f"{count} {one if count == 1 else many}"


def default_reporter(reporter: Reporter | None) -> Reporter:
    return reporter if reporter is not None else Reporter()


# --- rendering helpers shared by the result types -------------------------------------------------

READY_COLORS = {"True": "#2e7d32", "False": "#c62828", "Unknown": "#ef6c00"}


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain, space-padded table for terminals (no borders, like kubectl)."""
    cells = [headers, *rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(headers))]
    out = []
    for r in cells:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)


#: columns whose True/False/Unknown cells are coloured (a condition status, not any boolean:
#: SUSPENDED False is good news and must not look like an error)
STATUS_COLUMNS = frozenset({"READY", "Ready", "BEREIT"})


def html_table(
    headers: list[str], rows: list[list[str]], *, row_classes: list[str] | None = None, caption: str = ""
) -> str:
    """An HTML table; cells are escaped, a row class ``failing`` colours the row, condition columns
    (:data:`STATUS_COLUMNS`) colour True green, False red and Unknown orange."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, r in enumerate(rows):
        cls = row_classes[i] if row_classes else ""
        style = ' style="background:rgba(198,40,40,.10)"' if cls == "failing" else ""
        if cls == "suspended":
            style = ' style="background:rgba(239,108,0,.10)"'
        tds = "".join(
            f"<td{_token_class(c)}>{_cell(c) if h.strip() in STATUS_COLUMNS else escape(str(c))}</td>"
            for h, c in zip(headers, r, strict=False)
        )
        body.append(f'<tr class="{cls}"{style}>{tds}</tr>')
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="runbook-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


#: a word this long (a revision ``main@sha1:<40 hex>``, a generated name) may break anywhere on a page
TOKEN_LENGTH = 25


def _token_class(value: object) -> str:
    """`` class="runbook-token"`` for a cell with a word of :data:`TOKEN_LENGTH` characters or more."""
    return ' class="runbook-token"' if any(len(w) >= TOKEN_LENGTH for w in str(value).split()) else ""


def _cell(value: object) -> str:
    text = str(value)
    if text in READY_COLORS:
        return f'<span style="color:{READY_COLORS[text]};font-weight:bold">{escape(text)}</span>'
    return escape(text)


def dedupe(text: str) -> str:
    """Drop a repeated tail: ``…: context deadline exceeded: context deadline exceeded`` -> once.

    Helm and the Flux controllers wrap errors, so the innermost message often appears twice.
    """
    parts = text.split(": ")
    changed = True
    while changed and len(parts) > 1:
        changed = False
        for size in range(1, len(parts) // 2 + 1):
            if parts[-size:] == parts[-2 * size : -size]:
                del parts[-size:]
                changed = True
                break
    return ": ".join(parts)
