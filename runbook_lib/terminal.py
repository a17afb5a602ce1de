"""What ``runbook run`` prints from an executed notebook: the outputs of the cells tagged ``terminal``.

In an incident the terminal is where people are, so the runbook itself says which of its results belong
there (the findings of a troubleshooting runbook, the problems of ``status``, the diff of a dry-run
``change``): code cells tagged :data:`TERMINAL_TAG`. Their outputs are printed in the notebook's order and
words, as the plain-text form every result already has (``text/plain``, see :class:`report.Rendered`),
with the progress lines the cell printed. On a terminal the marks are coloured (✗ red, ⚠ orange, ✔ green,
ℹ blue), the labels of a finding bold, and long prose lines wrapped under their label; piped into a file
or another program the text stays plain (``NO_COLOR`` turns colours off on a terminal too).

Everything here is pure except :func:`use_color`, which looks at the stream and the environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

#: the cell tag that puts a cell's output into the terminal
TERMINAL_TAG = "terminal"
#: the cell tag whose printed lines ``runbook run`` shows as they come (the engine's ``LIVE_TAG``)
LIVE_TAG = "live"

_RESET = "\033[0m"
_BOLD = "\033[1m"
#: ANSI colours of the marks, close to the colours of the notebook cards
_MARK_COLORS = {"✗": "\033[1;31m", "⚠": "\033[1;33m", "✔": "\033[32m", "ℹ": "\033[34m", "►": "\033[1m"}
_MARK = re.compile(r"[✗⚠✔ℹ►]")
#: a label of a finding (``  Ursache:          …``) or of the run record (``Befund:     …``)
_LABEL = re.compile(
    r"^(\s*)(Ursache|Stand|Beleg|Nächster Schritt|Befehl|Folgen dieser Ursache|Geprüft|Runbook|Parameter|"
    r"Cluster|Beginn|Dauer|Ergebnis|Befund|Protokoll):(\s*)"
)
#: labels whose text is prose and may be wrapped (never commands, evidence or tables)
_PROSE = ("Ursache", "Stand", "Nächster Schritt")


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An executed notebook as JSON; empty when it was not written (the run failed before)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return dict(json.load(handle))
    except (OSError, ValueError):
        return {}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def output_text(output: Mapping[str, Any]) -> str:
    """The plain text of one notebook output: a stream's text, else ``text/plain`` (errors: nothing,
    the run record reports them)."""
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text"))
    if kind in ("display_data", "execute_result"):
        return _text((output.get("data") or {}).get("text/plain"))
    return ""


def _cells(nb: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for cell in nb.get("cells") or ():
        tags = (cell.get("metadata") or {}).get("tags") or ()
        if cell.get("cell_type") == "code" and TERMINAL_TAG in tags:
            yield cell


def terminal_text(nb: Mapping[str, Any], *, shown_live: bool = False) -> str:
    """The outputs of every cell tagged :data:`TERMINAL_TAG`, in order, one blank line between cells;
    ``shown_live``: leave out what cells tagged :data:`LIVE_TAG` printed (it was shown as it came)."""
    parts = []
    for cell in _cells(nb):
        live = shown_live and LIVE_TAG in ((cell.get("metadata") or {}).get("tags") or ())
        outputs = [o for o in cell.get("outputs") or () if not (live and o.get("output_type") == "stream")]
        text = "".join(output_text(o) for o in outputs).strip("\n")
        if text.strip():
            parts.append(text)
    return "\n\n".join(parts)


def _wrap(line: str, width: int) -> list[str]:
    found = _LABEL.match(line)
    if not found or found.group(2) not in _PROSE or len(line) <= width:
        return [line]
    indent = " " * found.end()
    return textwrap.wrap(
        line, width=width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    ) or [line]


def _paint(line: str) -> str:
    found = _LABEL.match(line)
    if found:
        line = f"{found.group(1)}{_BOLD}{found.group(2)}:{_RESET}{line[found.end(2) + 1 :]}"
    mark = _MARK.search(line)
    if mark is None:
        return line
    # a headline (``✗ Fehler: …``) is coloured to its end; a mark inside a record line from the mark on
    return f"{line[: mark.start()]}{_MARK_COLORS[mark.group()]}{line[mark.start() :]}{_RESET}"


def style(text: str, *, color: bool, width: int | None = None) -> str:
    """``text`` for a terminal: prose lines wrapped to ``width`` under their label, marks and labels
    coloured when ``color`` (pure)."""
    lines = [w for line in text.splitlines() for w in (_wrap(line, width) if width else [line])]
    return "\n".join(_paint(line) for line in lines) if color else "\n".join(lines)


class LiveEcho:
    """What a ``live`` cell prints, to a terminal as it comes: whole lines, styled like the rest."""

    def __init__(self, stream: TextIO, *, color: bool) -> None:
        self._stream, self._color, self._pending = stream, color, ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._stream.write(style(line, color=self._color) + "\n")
        if lines:
            self._stream.flush()
        return len(text)


def use_color(stream: TextIO) -> bool:
    """Colours on a terminal, plain text otherwise; ``NO_COLOR`` (any value) turns them off."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def width(stream: TextIO) -> int | None:
    """The terminal's width for wrapping prose, None when the stream is not a terminal."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return max(60, shutil.get_terminal_size().columns)
