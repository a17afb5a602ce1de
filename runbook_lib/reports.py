"""What a run found, for CI: steps and verdicts read from the executed notebook, as JSON.

Where the results come from (a decision, see docs/development.md): the **executed notebook**, not
the runner's namespace. The notebook is the record of every run whatever executed it (the in-process
engine, ``--engine nbclient`` with a real kernel, plain papermill, a smoke run in a worker process),
and a report can be rebuilt from it later. Two things in it are read:

* **steps**: every code cell after the parameters, named by the Markdown heading above it, with
  papermill's cell status (completed, failed, pending) and duration, and the error of a failed cell
  (the German message of a :class:`~runbook_lib.errors.RunbookError`, never a traceback for those);
* **verdicts**: results that are a verdict (a diagnosis, the status summary, ``flux check``) carry
  :class:`~runbook_lib.report.Verdict` records under :data:`~runbook_lib.report.VERDICTS_MIME` in
  their display data (:meth:`runbook_lib.report.Rendered.verdicts`), so nothing is parsed from text.

A run **passes** when no step failed and no verdict is an error (with ``fail_on_warnings`` also no
warning). The JUnit rendering is :mod:`runbook_lib.junit`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runbook_lib.errors import RunbookError
from runbook_lib.masking import mask
from runbook_lib.report import VERDICTS_MIME, Verdict
from runbook_lib.runner import _SECRET_WORDS, PARAMETERS_TAG, Runbook, RunRecord, cell_source

#: the version of the JSON written by ``--json`` (bumped when a field changes meaning)
SCHEMA = "flux-runbooks/run/1"
#: tags of cells that are not steps: the declared parameters and the values papermill injected
_NOT_STEPS = frozenset({PARAMETERS_TAG, "injected-parameters"})
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Step:
    """One code cell of the run: passed, failed, stopped (a deliberate end, e.g. a dry run) or skipped."""

    index: int
    title: str
    status: str
    duration: float | None = None
    #: German: the error of a failed cell, or why a cell did not run
    message: str = ""
    #: the traceback of an unexpected error (plain text), for the report's details
    details: str = ""


def _runbook_errors() -> set[str]:
    names, todo = set(), [RunbookError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _error(outputs: Iterable[Mapping[str, Any]]) -> tuple[str, str, str]:
    """(ename, German message, details) of a cell's error output; empty strings without one."""
    for out in outputs:
        if out.get("output_type") == "error":
            ename, evalue = str(out.get("ename", "")), str(out.get("evalue", ""))
            if ename in _runbook_errors():
                return ename, evalue, ""
            trace = _ANSI.sub("", "\n".join(out.get("traceback") or ()))
            return ename, f"{ename}: {evalue}".rstrip(": "), trace
    return "", "", ""


def _heading(markdown: str) -> str:
    """The last heading of a Markdown cell (the section the next code cells belong to)."""
    found = ""
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match:
            found = match.group(1).strip()
    return found


def _first_line(code: str) -> str:
    line = next((ln.strip() for ln in code.splitlines() if ln.strip() and not ln.startswith("#")), "")
    return line if len(line) <= 60 else line[:59] + "…"


def steps(nb: Mapping[str, Any]) -> tuple[Step, ...]:
    """The code cells of an executed notebook as steps (see the module docstring)."""
    found: list[Step] = []
    section, used = "", set()
    stopped = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            section = _heading(cell_source(cell)) or section
            continue
        tags = set((cell.get("metadata") or {}).get("tags") or ())
        if cell.get("cell_type") != "code" or tags & _NOT_STEPS or not cell_source(cell).strip():
            continue
        title = section or "Schritt"
        if title in used:
            title = f"{title} – {_first_line(cell_source(cell))}"
        used.add(title)
        pm = (cell.get("metadata") or {}).get("papermill") or {}
        ename, message, details = _error(cell.get("outputs") or ())
        ran = pm.get("status") in ("completed", "failed") or cell.get("execution_count") is not None
        if ename == "SystemExit":
            status, message, details, stopped = (
                "stopped",
                "Das Runbook hat hier gewollt angehalten.",
                "",
                True,
            )
        elif ename:
            status = "failed"
        elif ran:
            status = "passed"
        else:
            status = "skipped"
            message = (
                "Nicht ausgeführt: Das Runbook hat vorher gewollt angehalten (z. B. Probelauf)."
                if stopped
                else "Nicht ausgeführt: Ein Schritt davor ist fehlgeschlagen."
            )
        duration = pm.get("duration")
        found.append(
            Step(
                index=len(found) + 1,
                title=title,
                status=status,
                duration=float(duration) if isinstance(duration, int | float) else None,
                message=mask(message),
                details=mask(details),
            )
        )
    return tuple(found)


def verdicts(nb: Mapping[str, Any]) -> tuple[Verdict, ...]:
    """Every verdict the results of the run displayed, in order, each once."""
    found: dict[tuple[str, str, str], Verdict] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs") or ():
            payload = (out.get("data") or {}).get(VERDICTS_MIME)
            if not isinstance(payload, Mapping):
                continue
            for raw in payload.get("verdicts") or ():
                if isinstance(raw, Mapping):
                    v = Verdict.from_json(dict(raw))
                    v = Verdict(mask(v.name), v.outcome, mask(v.message), mask(v.details))
                    found.setdefault((v.name, v.outcome, v.message), v)
    return tuple(found.values())


def shown_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values as a report may show them: secret-sounding names hidden, the rest masked."""
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            shown[name] = "****"
        elif isinstance(value, str):
            shown[name] = mask(value)
        else:
            text = mask(json.dumps(value, default=str, ensure_ascii=False))
            try:
                shown[name] = json.loads(text)
            except ValueError:
                shown[name] = text
    return shown


@dataclass(frozen=True)
class RunReport:
    """One run for CI: the record of the run, its steps and its verdicts."""

    runbook: str
    title: str
    context: str
    server: str
    parameters: Mapping[str, Any]
    started: datetime
    duration: float
    #: how the execution ended: "ok", "stopped" or "failed" (see RunRecord)
    status: str
    #: the runbook's own verdict line ("✗ HelmRelease …: 1 Fehler")
    summary: str
    error: str
    notebook: Path
    exit_code: int
    steps: tuple[Step, ...] = ()
    verdicts: tuple[Verdict, ...] = ()

    def problems(self, *, fail_on_warnings: bool = False) -> tuple[Verdict, ...]:
        """The verdicts that fail the run: errors, and with ``fail_on_warnings`` warnings."""
        failing = ("error", "warning") if fail_on_warnings else ("error",)
        return tuple(v for v in self.verdicts if v.outcome in failing)

    def passed(self, *, fail_on_warnings: bool = False) -> bool:
        return self.status != "failed" and not self.problems(fail_on_warnings=fail_on_warnings)

    def as_json(self, *, fail_on_warnings: bool = False) -> dict[str, Any]:
        """The machine-readable summary written by ``--json`` (schema :data:`SCHEMA`)."""
        passed = self.passed(fail_on_warnings=fail_on_warnings)
        return {
            "schema": SCHEMA,
            "runbook": self.runbook,
            "title": self.title,
            "cluster": {"context": self.context, "server": self.server},
            "parameters": dict(self.parameters),
            "started": self.started.isoformat(),
            "duration_s": round(self.duration, 3),
            "verdict": "passed" if passed else "failed",
            "status": self.status,
            "summary": self.summary,
            "error": self.error,
            "exit_code": self.exit_code,
            "notebook": str(self.notebook),
            "findings": [v.as_json() for v in self.verdicts],
            "steps": [
                {
                    "index": s.index,
                    "title": s.title,
                    "status": s.status,
                    "duration_s": None if s.duration is None else round(s.duration, 3),
                    "message": s.message,
                }
                for s in self.steps
            ],
        }


def from_record(record: RunRecord, runbook: Runbook | None = None) -> RunReport:
    """The report of a finished run, read from its executed notebook."""
    try:
        nb = json.loads(Path(record.output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        nb = {}
    return RunReport(
        runbook=record.runbook,
        title=runbook.title if runbook else "",
        context=record.target.context,
        server=mask(record.target.server, hide_user=True),
        parameters=shown_parameters(record.parameters),
        started=record.started,
        duration=record.duration,
        status=record.status,
        summary=record.summary,
        error=mask(record.error),
        notebook=record.output,
        exit_code=record.exit_code,
        steps=steps(nb),
        verdicts=verdicts(nb),
    )


def write_json(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write a report as UTF-8 JSON (German text unescaped), creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def counts(reports: Sequence[RunReport], *, fail_on_warnings: bool = False) -> dict[str, int]:
    """How many runs passed and failed, and how many verdicts of each outcome there were."""
    out = {"passed": 0, "failed": 0, "error": 0, "warning": 0, "info": 0, "ok": 0}
    for report in reports:
        out["passed" if report.passed(fail_on_warnings=fail_on_warnings) else "failed"] += 1
        for v in report.verdicts:
            out[v.outcome] += 1
    return out
