"""Result types of :mod:`runbook_lib.logs.read`: a table in notebooks, ``flux logs`` lines in terminals.

Every message and error is masked (:func:`runbook_lib.masking.mask`) when it is rendered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape

from runbook_lib.durations import whole_seconds
from runbook_lib.logs.parse import NOT_JSON, LogLine, format_line, level_counts
from runbook_lib.masking import mask
from runbook_lib.report import Rendered, html_table

#: rows shown in a notebook table; the newest are kept. Thousands of rows make a notebook slow to open
#: and the site page heavy; `tail`/`since` narrow the query instead
MAX_HTML_ROWS = 500
HEADERS = ["Zeit", "Level", "Controller", "Objekt", "Meldung", "Fehler"]


def _row_class(line: LogLine) -> str:
    if not line.parsed:
        return "suspended"  # orange: marked, not an error
    return "failing" if line.level == "error" or line.error else ""


#: objects named in the summary line of error lines (the table has them all)
MAX_OBJECTS = 3


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{level}: {n}" for level, n in counts.items()) or "keine Zeilen"


@dataclass(frozen=True)
class LogResult(Rendered):
    """Filtered controller log lines, merged in time order."""

    lines: tuple[LogLine, ...]
    description: str = ""
    pods: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the level filter (``error``: no line found is good news)
    level: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Lines per level (``kein JSON`` for lines that are not JSON)."""
        return level_counts(self.lines)

    @property
    def errors(self) -> tuple[LogLine, ...]:
        return tuple(line for line in self.lines if line.level == "error")

    def __len__(self) -> int:
        return len(self.lines)

    def summary(self) -> str:
        """One marked line: no lines, or how many error lines and from which objects, or all fine."""
        if not self.lines:
            if self.level == "error":
                return f"✔ Keine Fehlerzeilen ({self.description})."
            return f"✗ Keine passenden Log-Zeilen ({self.description})."
        errors = self.errors
        if not errors:
            return f"✔ {_count(len(self.lines), 'Zeile', 'Zeilen')} ({self.description}), keine Fehler."
        by_object = Counter(line.object or line.controller for line in errors)
        objects = ", ".join(f"{obj} ({n})" for obj, n in by_object.most_common(MAX_OBJECTS))
        more = f" und {len(by_object) - MAX_OBJECTS} weitere" if len(by_object) > MAX_OBJECTS else ""
        newest = errors[-1]
        text = mask(
            f"{newest.msg}: {newest.error}" if newest.error and newest.error not in newest.msg else newest.msg
        )
        count = _count(len(errors), "Fehlerzeile", "Fehlerzeilen")
        return (
            f"✗ {count} ({self.description}) von {objects}{more}; zuletzt {whole_seconds(newest.ts)}: {text}"
        )

    def __str__(self) -> str:
        out = [f"⚠ {w}" for w in self.warnings]
        out.append(self.summary())
        out.extend(format_line(line) for line in self.lines)
        return "\n".join(out)

    def _repr_html_(self) -> str:
        shown = self.lines[-MAX_HTML_ROWS:]
        rows = [
            [line.ts, line.level or NOT_JSON, line.controller, line.object, mask(line.msg), mask(line.error)]
            for line in shown
        ]
        warn = "".join(f"<p>⚠ {escape(w)}</p>" for w in self.warnings)
        cut = len(self.lines) - len(shown)
        note = f"<p>… {cut} ältere Zeilen ausgelassen (mit tail oder since eingrenzen).</p>" if cut else ""
        summary = (
            f"<p><b>{escape(self.summary())}</b></p><p>{escape(self.description)} — {len(self.lines)} Zeilen "
            f"({escape(_counts_text(self.counts))}); Pods: {escape(', '.join(self.pods) or '-')}</p>"
        )
        if not self.lines:
            return f"{warn}{summary}"
        table = html_table(HEADERS, rows, row_classes=[_row_class(line) for line in shown])
        return f"{warn}{summary}{note}{table}"


@dataclass(frozen=True)
class PlainLogs(Rendered):
    """What ``kubectl logs -n NS -l SELECTOR`` prints (raw lines, secrets masked)."""

    command: str
    pods: tuple[str, ...]
    lines: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def _repr_html_(self) -> str:
        body = escape("\n".join(self.lines)) or "(keine Ausgabe)"
        return (
            f"<p><code>{escape(self.command)}</code> — Pods: {escape(', '.join(self.pods))}</p>"
            f'<pre style="white-space:pre-wrap">{body}</pre>'
        )
