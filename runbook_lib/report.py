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
from types import MappingProxyType
from typing import Any, TextIO

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


#: the MIME type under which a displayed result carries its :class:`Verdict` records (JSON). Notebook
#: front ends and the site ignore it (they show ``text/html``); ``runbook run --junit/--json`` read it
#: from the executed notebook (:mod:`runbook_lib.reports`)
VERDICTS_MIME = "application/vnd.flux-runbooks.verdicts+json"
#: outcomes of a check, most severe first
OUTCOMES = ("error", "warning", "info", "ok")


@dataclass(frozen=True)
class Verdict:
    """One verdict a result stands for: a test case of ``runbook run --junit`` (German text).

    ``name`` says what was checked and stays the same from run to run (``HelmRelease kube-system/kite:
    Upgrade fehlgeschlagen``), so CI can follow a test case over time; ``message`` is the one-line
    cause, ``details`` the whole German text (evidence, next step, command).
    """

    name: str
    #: "error" (a failed test case), "warning", "info" or "ok"
    outcome: str
    message: str = ""
    details: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome, "message": self.message, "details": self.details}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        outcome = str(data.get("outcome", "error"))
        return cls(
            name=str(data.get("name", "")),
            outcome=outcome if outcome in OUTCOMES else "error",
            message=str(data.get("message", "")),
            details=str(data.get("details", "")),
        )


class Rendered:
    """Mixin for result types: the plain-text form is the German terminal rendering.

    ``repr()`` (and so what IPython stores as ``text/plain`` in an executed notebook) is ``str(self)``,
    not the dataclass field dump, which would be unreadable and could carry unmasked values. The
    ``__repr__`` is set when the subclass is created, before ``@dataclass`` runs, so the dataclass keeps
    it; a subclass that writes its own ``__repr__`` keeps that one.

    A result that is a verdict (a diagnosis, the status summary, ``flux check``) returns its
    :class:`Verdict` records from :meth:`verdicts`; displaying it adds them under :data:`VERDICTS_MIME`
    beside ``text/plain`` and ``text/html``, so the executed notebook carries them for the reports.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Rendered.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return str(self).rstrip("\n")

    def verdicts(self) -> tuple[Verdict, ...]:
        """The verdicts this result stands for; none for results that only show something."""
        return ()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        verdicts = self.verdicts()
        return {VERDICTS_MIME: {"verdicts": [v.as_json() for v in verdicts]}} if verdicts else {}


def plural(count: int, one: str, many: str) -> str:
    """``1 Commit`` / ``3 Commits``: the count with the German singular or plural (never ``Commit(s)``)."""
    return f"{count} {one if count == 1 else many}"


def default_reporter(reporter: Reporter | None) -> Reporter:
    return reporter if reporter is not None else Reporter()


# --- rendering helpers shared by the result types -------------------------------------------------

#: the colours of the HTML renderings, by meaning (Material palette, 800 shades)
TONES = MappingProxyType(
    {"success": "#2e7d32", "failure": "#c62828", "warning": "#ef6c00", "info": "#1565c0", "accent": "#6a1b9a"}
)
#: how much of the tone a coloured text keeps; the rest is the surrounding text colour (see tone())
_TONE_SHARE = "75%"


def tone(name: str) -> str:
    """A colour of :data:`TONES` as CSS that stays readable on light and on dark backgrounds.

    The tone is mixed with the surrounding text colour (``currentColor``): darker where the text is
    dark (a light theme), lighter where it is light (JupyterLab Dark, the site's dark scheme). Contrast
    against the page stays at 4.5:1 or more in both (red on JupyterLab Dark: 5.0:1; the plain 800
    shades there: 3.4:1). No theme detection is needed, and the HTML carries no style sheet.
    """
    return f"color-mix(in srgb,{TONES[name]} {_TONE_SHARE},currentColor)"


def color_style(name: str, prop: str = "color") -> str:
    """An inline declaration ``prop:<plain colour>;prop:<tone>``: a renderer without ``color-mix()``
    (or a sanitizer that drops it) keeps the plain colour declared first."""
    return f"{prop}:{TONES[name]};{prop}:{tone(name)}"


READY_COLORS = MappingProxyType({"True": "success", "False": "failure", "Unknown": "warning"})


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


#: JupyterLab right-aligns the cells of HTML output tables (``:not(.jp-RenderedMarkdown)
#: .jp-RenderedHTMLCommon td``); these tables hold names and messages, so they read left-aligned as on
#: the site (docs/assets/stylesheets/extra.css). The rule comes with each table (an output cannot bring
#: a style sheet otherwise) and outranks JupyterLab's; a front end that drops it changes nothing else
_CELLS = ("th", "td")
_TABLE_STYLE = (
    "<style>"
    + ",".join(f"{scope}table.runbook-table {c}" for scope in ("", ".jp-RenderedHTMLCommon ") for c in _CELLS)
    + "{text-align:left;vertical-align:top}</style>"
)


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
        f'{_TABLE_STYLE}<table class="runbook-table">{cap}<thead><tr>{head}</tr></thead>'
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
        return f'<span style="{color_style(READY_COLORS[text])};font-weight:bold">{escape(text)}</span>'
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
