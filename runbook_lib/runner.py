"""Find runbooks, validate their parameters, execute them with papermill, keep a run record.

The flow of ``runbook run``: find the notebook -> read its ``parameters`` cell (``ast``, no kernel)
-> convert and check every ``-p`` value -> check the kubeconfig context (:func:`prepare`) -> execute
with papermill (by default in-process, see :mod:`.engine`) -> write the executed notebook ->
:class:`RunRecord` (:func:`execute`). Everything up to the execution fails with :class:`UsageError`
(exit 2) before a cell runs.

:class:`Runbook` is the one reader of a notebook file: title, parameters, kernel, and the cells with
their tags (the site and the shape test read notebooks through it).

Where runbooks live: the search path of :mod:`.folders` (``--runbooks``, ``RUNBOOK_NOTEBOOKS``, the
runbooks shipped with the package); a ``directory`` argument replaces it with that one folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook_lib.cluster import KubeTarget, resolve_target
from runbook_lib.durations import german_seconds
from runbook_lib.errors import ConfigError, Interrupted, RunbookError, UsageError, os_reason
from runbook_lib.folders import Folder, describe, located, search_path
from runbook_lib.params import Parameter, parse_parameters, validate
from runbook_lib.records import reserve_output

#: default engine of `runbook run`: in-process (no kernel start), see runbook_lib.engine
DEFAULT_ENGINE = "inprocess"
#: the engines `runbook run --engine` offers: ours, and papermill's own with a Jupyter kernel
ENGINES = ("inprocess", "nbclient")
#: the cell tag papermill looks for (and :class:`Runbook` reads the parameters from)
PARAMETERS_TAG = "parameters"
#: the key of the project's settings in a notebook's metadata (``{"runbook": {"read_only": true}}``)
METADATA_KEY = "runbook"
#: parameter names whose values are never printed in a run record
_SECRET_WORDS = ("token", "password", "secret", "passwort")


# --- reading a notebook file ---------------------------------------------------------------------------


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (nbformat stores a list of lines or a string)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook file: its type, source and tags."""

    #: "markdown", "code" or "raw"
    type: str
    source: str
    tags: tuple[str, ...] = ()
    #: the cell as stored (outputs, execution_count, metadata), for checks of the file itself
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, cell: Mapping[str, Any]) -> Cell:
        """A cell of the notebook JSON (``nb["cells"][i]``)."""
        tags = tuple((cell.get("metadata") or {}).get("tags") or ())
        return cls(str(cell.get("cell_type", "")), cell_source(cell), tags, cell)


def parameters_index(cells: Sequence[Cell]) -> int | None:
    """Index of the first code cell tagged ``parameters`` (papermill injects the values after it)."""
    return next((i for i, c in enumerate(cells) if c.type == "code" and PARAMETERS_TAG in c.tags), None)


def _title(cells: Iterable[Cell]) -> str:
    for cell in cells:
        if cell.type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


@dataclass(frozen=True)
class Runbook:
    """A notebook under ``notebooks/``: name, German title, declared parameters, and its cells."""

    name: str
    path: Path
    title: str
    parameters: tuple[Parameter, ...]
    kernel: str = "python3"
    cells: tuple[Cell, ...] = field(default=(), compare=False, repr=False)
    #: the notebook's metadata as stored (kernelspec, ``runbook`` settings of the site, …)
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, path: Path) -> Runbook:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = tuple(Cell.from_json(c) for c in nb.get("cells", []))
            index = parameters_index(cells)
            params = tuple(parse_parameters(cells[index].source)) if index is not None else ()
        except (OSError, ValueError, SyntaxError, AttributeError, TypeError) as exc:
            raise ConfigError(
                f"Das Runbook {path} ist kein lesbares Notebook: {exc}",
                "Die Datei mit Jupyter öffnen und reparieren oder aus dem Runbook-Verzeichnis entfernen.",
            ) from exc
        metadata = nb.get("metadata") or {}
        kernel = (metadata.get("kernelspec") or {}).get("name") or "python3"
        return cls(path.stem, path, _title(cells), params, kernel, cells, metadata)

    @property
    def parameters_cell(self) -> Cell | None:
        index = parameters_index(self.cells)
        return None if index is None else self.cells[index]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def settings(self) -> Mapping[str, Any]:
        """The notebook's ``metadata.runbook`` settings (``read_only``, the site's ``site_scenario``)."""
        value = self.metadata.get(METADATA_KEY)
        return value if isinstance(value, Mapping) else {}

    @property
    def read_only(self) -> bool:
        """The runbook changes nothing (``metadata.runbook.read_only``)."""
        return self.settings.get("read_only") is True

    @property
    def in_smoke(self) -> bool:
        """`runbook smoke` runs it: read-only, and not one that only waits (``metadata.runbook.smoke``
        false, e.g. ``watch``)."""
        return self.read_only and self.settings.get("smoke", True) is not False


Folders = Sequence[str | os.PathLike[str]]


def _located(directory: str | os.PathLike[str] | None, extra: Folders) -> tuple[dict[str, Path], str]:
    """name -> file, and the searched folders in words; ``directory`` alone replaces the search path."""
    if directory is not None:
        only = Folder(Path(directory))
        return {p.stem: p for p in only.notebooks()}, str(only.path)
    path = search_path(extra)
    return {name: file for name, (file, _) in located(path).items()}, describe(path)


def discover(directory: str | os.PathLike[str] | None = None, *, extra: Folders = ()) -> list[Runbook]:
    """Every runbook on the search path (:mod:`.folders`), or only those in ``directory``; by name."""
    found, _ = _located(directory, extra)
    return [Runbook.load(p) for p in found.values()]


def find(name: str, directory: str | os.PathLike[str] | None = None, *, extra: Folders = ()) -> Runbook:
    """The runbook called ``name``; :class:`UsageError` naming the closest one otherwise."""
    found, where = _located(directory, extra)
    if name in found:
        return Runbook.load(found[name])
    import difflib

    close = difflib.get_close_matches(name, list(found), n=1, cutoff=0.5)
    guess = f" Meinten Sie '{close[0]}'?" if close else ""
    raise UsageError(
        f"Das Runbook '{name}' gibt es nicht.{guess}",
        f"Vorhandene Runbooks: {', '.join(found) or 'keine'} (`runbook list`; gesucht in {where}).",
    )


# --- run --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What a run did, printed after it (German) and returned to callers and tests."""

    runbook: str
    parameters: Mapping[str, Any]
    target: KubeTarget
    started: datetime
    duration: float
    #: "ok", "stopped" (a cell ended the run early with SystemExit(0), e.g. a dry run) or "failed"
    status: str
    output: Path
    error: str = ""
    failed_cell: int | None = None
    engine: str = DEFAULT_ENGINE
    #: the failing cell raised a UsageError (bad parameter value found by the library): exit code 2
    usage_error: bool = False
    #: the runbook's own verdict: the last ✔/✗/⚠ line it displayed (e.g. "✗ Flux synchronisiert nicht: …")
    summary: str = ""
    #: the run was stopped with Ctrl+C (the error then says in which state it left things): exit code 130
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.status != "failed":
            return 0
        if self.interrupted:
            return 130
        return 2 if self.usage_error else 1

    def _params(self) -> str:
        shown = [
            f"{k}={'****' if any(w in k.lower() for w in _SECRET_WORDS) else v!r}"
            for k, v in self.parameters.items()
        ]
        return ", ".join(shown) or "(Standardwerte)"

    def _result(self) -> str:
        if self.status == "ok":
            return "✔ erfolgreich"
        if self.status == "stopped":
            return f"✔ planmäßig in Zelle {self.failed_cell} beendet, ohne Fehler"
        if self.interrupted:
            return f"✗ in Zelle {self.failed_cell} mit Strg+C abgebrochen"
        return f"✗ in Zelle {self.failed_cell} fehlgeschlagen"

    def __str__(self) -> str:
        lines = [
            f"Runbook:    {self.runbook}",
            f"Parameter:  {self._params()}",
            f"Cluster:    {self.target.describe()}",
            f"Beginn:     {self.started:%Y-%m-%d %H:%M:%S} UTC",
            f"Dauer:      {german_seconds(self.duration)}",
            f"Ergebnis:   {self._result()}",
            f"Protokoll:  {self.output}",
        ]
        if self.summary:
            lines.insert(-1, f"Befund:     {self.summary}")
        if self.error:
            lines.insert(0, f"✗ {self.error}\n")
        return "\n".join(lines)


def _subclass_names(base: type[Exception]) -> set[str]:
    """The names of ``base`` and all its subclasses (a failed cell reports only the name)."""
    found, todo = set(), [base]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _error_text(exc: Any) -> str:
    """The German message of a RunbookError, else ``Type: value`` (never the traceback)."""
    if exc.ename in _subclass_names(RunbookError):
        return str(exc.evalue)
    if exc.ename == "KeyboardInterrupt":
        return (
            f"Abgebrochen mit Strg+C in Zelle {exc.exec_count}. Die Zellen davor sind gelaufen; was sie "
            "getan haben, steht im Protokoll."
        )
    return f"{exc.ename}: {exc.evalue}".rstrip(": ")


_VERDICT_MARKS = ("✔", "✗", "⚠")
#: progress lines of the reporter end with the elapsed time ("✔ GitRepository annotiert  [0.1s]")
_PROGRESS_LINE = re.compile(r"\[\d+(?:\.\d+)?s\]$")


def _marked_lines(cell: Any) -> list[str]:
    lines = []
    for out in cell.get("outputs", []):
        text = out.get("text") or (out.get("data") or {}).get("text/plain") or ""
        text = "".join(text) if isinstance(text, list) else str(text)
        for line in text.splitlines():
            line = line.strip().strip("'\"")
            if line.startswith(_VERDICT_MARKS) and not _PROGRESS_LINE.search(line):
                lines.append(line)
    return lines


def verdict(nb: Any) -> str:
    """The runbook's own verdict, in the project's vocabulary (✔ ✗ ⚠).

    The closing cell's line when it has one (``result.check()``, a diagnosis summary, the dry-run
    stop); else the last ✗ line (a failure shown anywhere wins); else the first ✔ line (the summary
    near the top, e.g. "✔ 10 Flux-Objekte …: 10 bereit").
    """
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and c.get("outputs")]
    if not cells:
        return ""
    closing = _marked_lines(cells[-1])
    if closing:
        return closing[-1]
    every = [line for cell in cells for line in _marked_lines(cell)]
    failures = [line for line in every if line.startswith("✗")]
    return failures[-1] if failures else next(iter(every), "")


def _stopped_cell(nb: Any) -> int | None:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") == "SystemExit":
                return cell.get("execution_count")
    return None


def prepare(
    runbook: Runbook,
    given: Iterable[tuple[str, str]],
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> tuple[dict[str, Any], KubeTarget]:
    """Validate and convert parameters, fill kubeconfig/kube_context, check the context (no execution).

    The kubeconfig and context are resolved as :func:`runbook_lib.cluster.connect` resolves them.
    """
    values = validate(runbook.parameters, given, runbook.name)
    for flag, name, value in (
        ("--kubeconfig", "kubeconfig", kubeconfig),
        ("--context", "kube_context", context),
    ):
        if value is None:
            continue
        if runbook.parameter(name) is None:
            raise UsageError(f"Das Runbook '{runbook.name}' hat keinen Parameter '{name}' für {flag}.")
        if name in values and values[name] != value:
            raise UsageError(
                f"{flag} {value} und -p {name} {values[name]} widersprechen sich.",
                f"Nur eines angeben: {flag} ist die übliche Form.",
            )
        values[name] = value
    target = resolve_target(values.get("kubeconfig"), values.get("kube_context"))
    if runbook.parameter("expected_context") is not None:
        from runbook_lib.guard import check_target  # the wrong cluster is refused before the first cell

        check_target(target, values.get("expected_context"))
    return values, target


def _execute(runbook: Runbook, values: dict[str, Any], output: Path, engine: str, live: Any = None) -> Any:
    if engine == DEFAULT_ENGINE:
        # papermill's record without papermill's imports (nbclient, ZeroMQ, nbformat): issue 15
        from runbook_lib.notebook_exec import execute_notebook

        return execute_notebook(runbook.path, output, values, live)
    import papermill

    from runbook_lib.papermill_plugin import register_engine, register_translator

    # the parameter translator that reads `str | None` (papermill warns without it); papermill
    # loads it through the entry point too, but a source checkout may have none
    register_engine()
    register_translator()
    try:
        return papermill.execute_notebook(
            str(runbook.path),
            str(output),
            parameters=values,
            engine_name=engine,
            kernel_name=runbook.kernel,
            progress_bar=False,
            request_save_on_cell_execute=True,
            log_output=False,
        )
    except Exception as exc:
        if type(exc).__name__ in ("NoSuchKernel", "DeadKernelError", "TimeoutError"):
            raise ConfigError(
                f"Der Jupyter-Kernel '{runbook.kernel}' ließ sich nicht starten: {exc}",
                "`python -m ipykernel install --user --name python3` ausführen oder "
                "ohne `--engine nbclient` starten.",
            ) from exc
        raise


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise UsageError(f"Unbekannte Engine '{engine}'.", f"Erlaubt: {', '.join(ENGINES)}.")


def run(
    name: str,
    given: Iterable[tuple[str, str]] = (),
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    output: str | os.PathLike[str] | None = None,
    engine: str = DEFAULT_ENGINE,
    directory: str | os.PathLike[str] | None = None,
    extra: Folders = (),
) -> RunRecord:
    """Run a runbook; parameter and usage problems raise :class:`UsageError` before any cell runs.

    :func:`find`, :func:`prepare` and :func:`execute` in one call.
    """
    _check_engine(engine)
    runbook = find(name, directory, extra=extra)
    values, target = prepare(runbook, given, kubeconfig=kubeconfig, context=context)
    return execute(runbook, values, target, output=output, engine=engine)


def execute(
    runbook: Runbook,
    values: dict[str, Any],
    target: KubeTarget,
    *,
    output: str | os.PathLike[str] | None = None,
    engine: str = DEFAULT_ENGINE,
    live: Any = None,
) -> RunRecord:
    """Execute a runbook with the values :func:`prepare` returned; a failing cell is a failed record.

    ``live``: a text stream that gets the printed lines of cells tagged ``live`` while they run (the
    in-process engine only; ``runbook run`` passes the terminal)."""
    _check_engine(engine)
    from runbook_lib.notebook_exec import CellFailed

    failures: tuple[type[Exception], ...] = (CellFailed,)
    if engine != DEFAULT_ENGINE:
        from papermill.exceptions import PapermillExecutionError

        failures = (CellFailed, PapermillExecutionError)
    started = datetime.now(UTC)
    out = reserve_output(runbook.name, output, started)
    clock = time.monotonic()

    def finish(status: str, error: str = "", cell: int | None = None, usage: bool = False) -> RunRecord:
        summary = verdict(_read_output(out)) if status != "failed" else ""
        return RunRecord(
            runbook=runbook.name,
            parameters=values,
            target=target,
            started=started,
            duration=time.monotonic() - clock,
            status=status,
            output=out,
            error=error,
            failed_cell=cell,
            engine=engine,
            usage_error=usage,
            summary=summary,
        )

    try:
        nb = _execute(runbook, values, out, engine, live)
    except failures as caught:
        exc: Any = caught
        interrupted = exc.ename in _subclass_names(Interrupted) or exc.ename == "KeyboardInterrupt"
        record = finish("failed", _error_text(exc), exc.exec_count, exc.ename in _subclass_names(UsageError))
        return replace(record, interrupted=interrupted)
    except OSError as exc:  # the record could not be written (disk full, folder removed meanwhile)
        raise ConfigError(
            f"Das Protokoll {out} konnte nicht geschrieben werden: {os_reason(exc)}.",
            "Platz und Schreibrechte prüfen; was das Runbook getan hat, steht in der Ausgabe oben.",
        ) from exc
    finally:
        _drop_if_empty(out)
    stopped = _stopped_cell(nb)
    return finish("stopped" if stopped else "ok", cell=stopped)


def _drop_if_empty(path: Path) -> None:
    """Remove a reserved record that the run never wrote (it failed before papermill saved it)."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def _read_output(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}
