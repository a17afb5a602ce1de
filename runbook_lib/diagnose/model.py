"""Result types of the troubleshooting runbooks: findings, a diagnosis, its summary, evidence tables.

A :class:`Finding` is one interpreted problem: what is wrong (``title``), why (``cause``), what shows
it (``evidence``: the condition, event or log line), what to do (``next_step``) and the matching shell
command. A finding that explains others carries them as ``consequences`` (:meth:`Finding.explains`):
the cause comes first and its symptoms are shown under it, so a diagnosis counts causes, not symptoms.
A :class:`Diagnosis` holds the findings of one runbook, causes ordered by severity, and renders as
HTML cards in a notebook and as plain text in a terminal. Nothing here talks to a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from html import escape
from typing import Any

from runbook_lib.report import Rendered, Verdict, color_style, html_table, plural, text_table

#: severities, most severe first; the number is the sort key
ERROR, WARNING, INFO = 0, 1, 2
SEVERITY_LABELS = {ERROR: "Fehler", WARNING: "Warnung", INFO: "Hinweis"}
SEVERITY_SYMBOLS = {ERROR: "✗", WARNING: "⚠", INFO: "ℹ"}
_TONES = {ERROR: "failure", WARNING: "warning", INFO: "info"}
#: the outcome of a finding's verdict (a test case of `runbook run --junit`)
_OUTCOMES = {ERROR: "error", WARNING: "warning", INFO: "info"}
NO_PROBLEMS = "Keine Probleme gefunden"
#: the heading of the findings a cause explains
CONSEQUENCES = "Folgen dieser Ursache"


@dataclass(frozen=True)
class Finding(Rendered):
    """One problem, with its cause, the evidence that shows it and the next step (German text).

    ``consequences`` are the findings this one explains (a failed ACME challenge explains the invalid
    Order, the failed CertificateRequest and the Certificate that is not ready); they are shown under
    it with their evidence and command, and a summary counts only the cause.
    """

    severity: int
    title: str
    cause: str
    evidence: str
    next_step: str
    command: str = ""
    #: the object the finding is about, e.g. ``HelmRelease kube-system/kite``
    subject: str = ""
    consequences: tuple[Finding, ...] = ()
    #: what the controller is doing about it now and will do next ("Flux versucht es noch: …")
    progress: str = ""

    @property
    def label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def symbol(self) -> str:
        return SEVERITY_SYMBOLS[self.severity]

    @property
    def is_problem(self) -> bool:
        """Errors and warnings are problems; hints are not."""
        return self.severity < INFO

    def explains(self, *effects: Finding) -> Finding:
        """This finding as the cause of ``effects``; their own consequences move up to this one.

        The cause takes the most severe severity of the group: what explains an error is an error.
        """
        flat: list[Finding] = []
        for effect in effects:
            flat += [replace(effect, consequences=()), *effect.consequences]
        if not flat:
            return self
        severity = min([self.severity, *(f.severity for f in flat)])
        return replace(self, severity=severity, consequences=self.consequences + tuple(flat))

    def headline(self) -> str:
        about = f" ({self.subject})" if self.subject else ""
        return f"{self.symbol} {self.label}: {self.title}{about}"

    def verdict(self) -> Verdict:
        """The finding as a test case: named by object and title, the cause as its message."""
        name = f"{self.subject}: {self.title}" if self.subject else self.title
        return Verdict(name=name, outcome=_OUTCOMES[self.severity], message=self.cause, details=str(self))

    def __str__(self) -> str:
        lines = [self.headline(), f"  Ursache:          {self.cause}"]
        lines += _labelled("  Stand:            ", self.progress)
        lines += _labelled("  Beleg:            ", self.evidence)
        lines.append(f"  Nächster Schritt: {self.next_step}")
        lines += _labelled("  Befehl:           ", self.command)
        if self.consequences:
            lines.append(f"  {CONSEQUENCES}:")
            for effect in self.consequences:
                lines.append(f"    {effect.headline()}")
                lines += _labelled("      Beleg:  ", self._known(effect.evidence))
                lines += _labelled("      Befehl: ", effect.command)
        return "\n".join(lines)

    def _known(self, evidence: str) -> str:
        """A consequence's evidence without the long message it shares with the cause's evidence (the
        same ACME or Helm error repeated on every link of a chain)."""
        return "\n".join(shorten_repeated(line, self.evidence) for line in evidence.splitlines())

    def _repr_html_(self) -> str:
        name = _TONES[self.severity]
        command = f"<pre><code>{escape(self.command)}</code></pre>" if self.command else ""
        evidence = f'<pre class="runbook-evidence">{escape(self.evidence)}</pre>' if self.evidence else ""
        progress = f"<p><b>Stand:</b> {_prose(self.progress)}</p>" if self.progress else ""
        return (
            f'<div class="runbook-finding" style="border-left:4px solid;'
            f'{color_style(name, "border-left-color")};padding:.3em .8em;margin:.6em 0">'
            f'<b style="{color_style(name)}">{escape(self.headline())}</b>'
            f"<p><b>Ursache:</b> {_prose(self.cause)}</p>{progress}<b>Beleg:</b>{evidence}"
            f"<p><b>Nächster Schritt:</b> {_prose(self.next_step)}</p>{command}"
            f"{self._consequences_html()}</div>"
        )

    def _consequences_html(self) -> str:
        if not self.consequences:
            return ""
        items = "".join(
            f'<li><b style="{color_style(_TONES[c.severity])}">{escape(c.headline())}</b>'
            + (f'<pre class="runbook-evidence">{escape(self._known(c.evidence))}</pre>' if c.evidence else "")
            + (f"<pre><code>{escape(c.command)}</code></pre>" if c.command else "")
            + "</li>"
            for c in self.consequences
        )
        return f'<div class="runbook-consequences"><b>{CONSEQUENCES}:</b><ul>{items}</ul></div>'


@dataclass(frozen=True)
class FindingText:
    """The fixed German text of a finding, looked up by reason in a rule's table.

    ``title``, ``cause`` and ``next_step`` may name fields in braces (``{dependency}``); the rule
    fills them, the evidence, the command and the subject when it builds the :class:`Finding` (a title
    whose last field is empty loses its trailing space).
    """

    severity: int
    title: str
    cause: str
    next_step: str

    def finding(self, *, evidence: str, command: str = "", subject: str = "", **values: Any) -> Finding:
        return Finding(
            severity=self.severity,
            title=self.title.format(**values).rstrip(),
            cause=self.cause.format(**values),
            evidence=evidence,
            next_step=self.next_step.format(**values),
            command=command,
            subject=subject,
        )


_BACKTICKS = re.compile(r"`([^`]+)`")


def _prose(text: str) -> str:
    """German prose as HTML: escaped, with `backtick` spans (commands, names) as code."""
    return _BACKTICKS.sub(r"<code>\1</code>", escape(text))


#: a shared part shorter than this is kept (names and short reasons repeat legitimately)
_REPEAT_MIN = 60
#: what replaces a part already shown in the cause's evidence
SEE_ABOVE = "… (wie oben)"


def shorten_repeated(line: str, known: str) -> str:
    """``line`` with its longest part that also occurs in ``known`` replaced by :data:`SEE_ABOVE`, when
    that part is at least :data:`_REPEAT_MIN` characters long (pure)."""
    match = SequenceMatcher(None, line, known, autojunk=False).find_longest_match(0, len(line), 0, len(known))
    start, end = match.a, match.a + match.size
    while start < end and start > 0 and not (line[start - 1] in " :;,(" and line[start] != " "):
        start += 1  # begin at a word, not inside one
    if end - start < _REPEAT_MIN:
        return line
    return line[:start].rstrip() + " " + SEE_ABOVE + line[end:]


def _labelled(label: str, text: str) -> list[str]:
    if not text:
        return []
    pad = " " * len(label)
    first, *rest = text.splitlines()
    return [label + first, *(pad + line for line in rest)]


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first; within a severity, the order in which the rules found them."""
    return tuple(sorted(findings, key=lambda f: f.severity))


def flatten(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Every finding, each cause followed by its consequences."""
    return tuple(f for cause in findings for f in (cause, *cause.consequences))


#: severity -> (singular, plural) for counting causes
_COUNTED = {ERROR: ("Fehler", "Fehler"), WARNING: ("Warnung", "Warnungen")}


@dataclass(frozen=True)
class Summary(Rendered):
    """The last cell of a troubleshooting runbook: "Keine Probleme gefunden" or the causes by severity,
    each followed by the findings it explains."""

    title: str
    findings: tuple[Finding, ...]
    checked: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The causes that are errors or warnings (consequences are not counted)."""
        return tuple(f for f in self.findings if f.is_problem)

    def headline(self) -> str:
        if not self.problems:
            return f"✔ {NO_PROBLEMS}."
        counts = [
            plural(sum(f.severity == s for f in self.problems), *_COUNTED[s])
            for s in (ERROR, WARNING)
            if any(f.severity == s for f in self.problems)
        ]
        effects = sum(len(f.consequences) for f in self.problems)
        more = f" (dazu {plural(effects, 'Folgebefund', 'Folgebefunde')})" if effects else ""
        return f"{self.problems[0].symbol} {self.title}: {', '.join(counts)}{more}"

    def rows(self) -> list[list[str]]:
        rows = []
        for i, f in enumerate(self.findings, 1):
            rows.append([str(i), f.label, f.subject, f.title, f.next_step, _first_line(f.command)])
            rows += [
                [f"{i}.{j}", "Folge", c.subject, c.title, f"siehe {i}", _first_line(c.command)]
                for j, c in enumerate(f.consequences, 1)
            ]
        return rows

    headers = ("#", "SCHWERE", "OBJEKT", "BEFUND", "NÄCHSTER SCHRITT", "BEFEHL")

    def __str__(self) -> str:
        out = [self.headline()]
        if self.checked:
            out.append("Geprüft: " + ", ".join(self.checked))
        if self.findings:
            out += ["", text_table(list(self.headers), self.rows())]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        color = color_style("success" if not self.problems else _TONES[self.problems[0].severity])
        head = f'<p style="{color};font-weight:bold">{escape(self.headline())}</p>'
        checked = f"<p>Geprüft: {escape(', '.join(self.checked))}</p>" if self.checked else ""
        if not self.findings:
            return head + checked
        classes = []
        for f in self.findings:
            classes.append("failing" if f.severity == ERROR else "suspended" if f.severity == WARNING else "")
            classes += ["consequence"] * len(f.consequences)
        return head + checked + html_table(list(self.headers), self.rows(), row_classes=classes)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


@dataclass(frozen=True)
class Diagnosis(Rendered):
    """The findings of one troubleshooting runbook: causes, most severe first, each with the findings
    it explains; and what was checked.

    The text form starts with the first cause (in an incident the terminal shows the cause first) and
    ends with what was checked.
    """

    title: str
    findings: tuple[Finding, ...] = ()
    checked: tuple[str, ...] = ()
    #: a German remark shown under the findings when there is a problem to fix (e.g. why `helm rollback`
    #: is not the fix under GitOps); hints alone do not show it
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", ordered(self.findings))

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Every finding, each cause followed by its consequences."""
        return flatten(self.findings)

    @property
    def ok(self) -> bool:
        """No errors and no warnings (hints are allowed)."""
        return not any(f.is_problem for f in self.all_findings)

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The causes that are errors or warnings."""
        return tuple(f for f in self.findings if f.is_problem)

    @property
    def shown_note(self) -> str:
        """The note, when there is a problem to fix and no cause says the same already (the next steps of
        consequences are not shown)."""
        if not self.note or not self.problems or any(self.note in f.next_step for f in self.findings):
            return ""
        return self.note

    def summary(self) -> Summary:
        return Summary(title=self.title, findings=self.findings, checked=self.checked)

    def verdicts(self) -> tuple[Verdict, ...]:
        """One test case per finding; without a problem also a passed one for the diagnosis itself
        (``Diagnose: …``), so a healthy run shows what was checked."""
        own = tuple(f.verdict() for f in self.findings)
        if self.ok:
            checked = "Geprüft: " + ", ".join(self.checked) if self.checked else ""
            own = (Verdict(f"Diagnose: {self.title}", "ok", f"{NO_PROBLEMS}.", checked), *own)
        return own

    def __str__(self) -> str:
        out = [str(f) + "\n" for f in self.findings] or [f"✔ {NO_PROBLEMS}.\n"]
        if self.shown_note:
            out.append(self.shown_note + "\n")
        if self.checked:
            out.append("Geprüft: " + ", ".join(self.checked))
        return "\n".join(out).rstrip() + "\n"

    def _repr_html_(self) -> str:
        checked = f"<p>Geprüft: {escape(', '.join(self.checked))}</p>" if self.checked else ""
        body = "".join(f._repr_html_() for f in self.findings) or (
            f'<p style="{color_style("success")};font-weight:bold">✔ {NO_PROBLEMS}.</p>'
        )
        note = f"<p><i>{escape(self.shown_note)}</i></p>" if self.shown_note else ""
        return f"{body}{note}{checked}"


@dataclass(frozen=True)
class Evidence(Rendered):
    """A table of gathered facts for one diagnosis step, with the shell command that shows the same.

    ``error`` is the error slot: when gathering this part failed, the table is empty and the error
    says why, and the other steps still show (as ``cmctl status certificate`` does).
    """

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    command: str = ""
    error: str = ""
    empty: str = "Keine Einträge."
    #: per row: "failing", "suspended" (orange) or ""
    marks: tuple[str, ...] = field(default=())

    def _body(self) -> str:
        if self.error:
            return f"✗ Nicht lesbar: {self.error}"
        if not self.rows:
            return self.empty
        return text_table(list(self.headers), [list(r) for r in self.rows])

    def __str__(self) -> str:
        head = f"{self.caption}" + (f"  ($ {self.command})" if self.command else "")
        return f"{head}\n{self._body()}\n"

    def _repr_html_(self) -> str:
        cmd = f" <code>$ {escape(self.command)}</code>" if self.command else ""
        head = f"<p><b>{escape(self.caption)}</b>{cmd}</p>"
        if self.error:
            return head + f'<p style="{color_style("failure")}">✗ Nicht lesbar: {escape(self.error)}</p>'
        if not self.rows:
            return head + f"<p><i>{escape(self.empty)}</i></p>"
        marks = list(self.marks) if len(self.marks) == len(self.rows) else None
        return head + html_table(list(self.headers), [list(r) for r in self.rows], row_classes=marks)


@dataclass(frozen=True)
class EvidenceGroup(Rendered):
    """Several evidence tables shown as one cell's value."""

    parts: tuple[Evidence, ...]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.parts)

    def _repr_html_(self) -> str:
        return "".join(p._repr_html_() for p in self.parts)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.parts)


def evidence(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    command: str = "",
    error: str = "",
    empty: str = "Keine Einträge.",
    marks: Iterable[str] = (),
) -> Evidence:
    """Build an :class:`Evidence` table; cells become strings."""
    return Evidence(
        caption=caption,
        headers=tuple(headers),
        rows=tuple(tuple(str(c) for c in r) for r in rows),
        command=command,
        error=error,
        empty=empty,
        marks=tuple(marks),
    )
