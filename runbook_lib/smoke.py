"""``runbook smoke``: every read-only runbook against one cluster, in parallel, one summary, one exit code.

Which runbooks: those whose notebook says ``"runbook": {"read_only": true}`` in its metadata
(:attr:`runbook_lib.runner.Runbook.read_only`), on the whole search path (a team's own read-only
runbooks included), or the ones named on the command line (each must be read-only).

Parameters: ``-p NAME WERT`` goes to every selected runbook that declares ``NAME``;
``-p RUNBOOK.NAME WERT`` only to that runbook. Everything (names, parameters, kubeconfig contexts) is
validated before the first runbook starts.

Parallel where safe: read-only runbooks only read, so they may run at the same time. The in-process
engine runs a notebook inside its process (one IPython shell per process), so parallel runs happen in
worker processes, each writing its executed notebook into the output folder. The workers come from a
``forkserver`` that imports the library, papermill, IPython and the kubernetes client once
(:data:`PRELOAD`) and forks a worker per slot: spawned workers would each pay that import (seconds of
CPU) again, and forking this process could copy the threads of a caller (a test, a notebook).
``--jobs 1`` runs them one after another in this process.

Exit code: 0 every run passed (no failed step, no error finding); 1 a run failed or found an error
(with ``fail_on_warnings`` also a warning); 2 a runbook refused its parameters.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook_lib.cluster import KubeTarget
from runbook_lib.errors import UsageError
from runbook_lib.report import Rendered, text_table
from runbook_lib.reports import SCHEMA as RUN_SCHEMA
from runbook_lib.reports import RunReport, counts, from_record
from runbook_lib.runner import DEFAULT_ENGINE, Folders, Runbook, discover, execute, find, prepare

SCHEMA = "flux-runbooks/smoke/1"
#: at most this many runbooks at once by default: enough for the read-only runbooks there are, few
#: enough not to crowd a CI runner or the API server
DEFAULT_JOBS = 4


@dataclass(frozen=True)
class Planned:
    """One validated run: the runbook, its converted values, its cluster and where its notebook goes."""

    runbook: Runbook
    values: dict[str, Any]
    target: KubeTarget
    output: Path


def select(names: Sequence[str], *, extra: Folders = ()) -> list[Runbook]:
    """The named runbooks (each must be read-only), or every read-only one on the search path."""
    if not names:
        books = [b for b in discover(extra=extra) if b.in_smoke]
        if not books:
            raise UsageError(
                "Es gibt kein Runbook, das nur liest (metadata.runbook.read_only).",
                "`runbook list` zeigt die Runbooks und ob sie nur lesen.",
            )
        return books
    books = []
    for name in dict.fromkeys(names):
        book = find(name, extra=extra)
        if not book.read_only:
            raise UsageError(
                f"Das Runbook '{name}' ändert etwas am Cluster oder im Repository; der Smoke-Test führt "
                "nur Runbooks aus, die nur lesen.",
                f"Einzeln ausführen: `runbook run {name}` (Änderungen nur mit Probelauf prüfen).",
            )
        books.append(book)
    return books


def assign(books: Sequence[Runbook], given: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """``-p NAME WERT`` to every runbook declaring NAME, ``-p RUNBOOK.NAME WERT`` to that one."""
    by_name = {b.name: b for b in books}
    out: dict[str, list[tuple[str, str]]] = {b.name: [] for b in books}
    for key, value in given:
        book_name, dot, param = key.rpartition(".")
        if dot:
            if book_name not in by_name:
                raise UsageError(
                    f"-p {key}: Das Runbook '{book_name}' ist nicht Teil dieses Smoke-Tests.",
                    f"Dabei sind: {', '.join(by_name)}.",
                )
            out[book_name].append((param, value))
            continue
        takers = [b.name for b in books if b.parameter(key) is not None]
        if not takers:
            raise _unknown(key, books)
        for name in takers:
            out[name].append((key, value))
    return out


def _unknown(key: str, books: Sequence[Runbook]) -> UsageError:
    import difflib

    declared = sorted({p.name for b in books for p in b.parameters})
    close = difflib.get_close_matches(key, declared, n=1, cutoff=0.5)
    guess = f" Meinten Sie '{close[0]}'?" if close else ""
    return UsageError(
        f"Unbekannter Parameter '{key}': Kein Runbook dieses Smoke-Tests hat ihn.{guess}",
        f"Erlaubt sind: {', '.join(declared)} (je Runbook: `runbook show NAME`).",
    )


def plan(
    books: Sequence[Runbook],
    given: Iterable[tuple[str, str]],
    *,
    kubeconfig: str | None,
    context: str | None,
    output_dir: Path,
) -> list[Planned]:
    """Validate every runbook's parameters and cluster before anything runs (:func:`prepare` each)."""
    assigned = assign(books, list(given))
    planned = []
    for book in books:
        values, target = prepare(book, assigned[book.name], kubeconfig=kubeconfig, context=context)
        planned.append(Planned(book, values, target, output_dir / f"{book.name}.ipynb"))
    return planned


def default_output_dir(started: datetime) -> Path:
    return Path("runs") / f"smoke-{started:%Y%m%dT%H%M%SZ}"


def _run_one(item: Planned, engine: str) -> RunReport:
    """Execute one planned run and read its report (in this process or a worker)."""
    record = execute(item.runbook, item.values, item.target, output=item.output, engine=engine)
    return from_record(record, item.runbook)


#: what a run imports; the forkserver imports it once so that every worker starts with it loaded
PRELOAD = (
    "runbook_lib.notebook_exec",
    "runbook_lib.engine",
    "runbook_lib.reports",
    "runbook_lib.smoke",
    "runbook_lib.cluster",
    "runbook_lib.check",
    "runbook_lib.status",
    "runbook_lib.sources",
    "runbook_lib.events",
    "runbook_lib.logs",
    "runbook_lib.diagnose",
    "runbook_lib.diagnose.certificates",
    # the kubernetes client loads its API classes (and 300 models) on first use: seconds of CPU
    "kubernetes.client.api.core_v1_api",
    "kubernetes.client.api.apps_v1_api",
    "kubernetes.client.api.custom_objects_api",
)


def _context() -> Any:
    """The forkserver with :data:`PRELOAD` where the platform has one (Linux, macOS), else spawn."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _start_forkserver(context: Any) -> None:
    """Start the forkserver with Ctrl+C ignored: it imports :data:`PRELOAD` first and only then protects
    itself, so an interrupt during those seconds would print a traceback from it (the parent handles
    the interrupt). Python keeps a signal ignored that was ignored when it started."""
    import signal
    import threading

    if (
        context.get_start_method() != "forkserver"
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _interrupt_held() -> Iterator[None]:
    """Hold Ctrl+C back while the workers start; it arrives right after. A worker whose start was cut
    off is forked anyway once the forkserver has loaded, and then fails with a traceback."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _ignore_interrupt() -> None:
    """Workers leave Ctrl+C to the parent (which stops handing out runbooks); their run ends by itself."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_all(
    planned: Sequence[Planned],
    *,
    jobs: int = DEFAULT_JOBS,
    engine: str = DEFAULT_ENGINE,
    on_done: Callable[[RunReport], None] | None = None,
) -> list[RunReport]:
    """Run the planned runbooks, ``jobs`` at a time; reports in the planned order."""
    done = on_done or (lambda report: None)
    if jobs <= 1 or len(planned) <= 1:
        import importlib

        for module in PRELOAD:  # as in a worker: the runs' durations do not include the imports
            importlib.import_module(module)
        reports = []
        for item in planned:
            reports.append(_run_one(item, engine))
            done(reports[-1])
        return reports
    by_name: dict[str, RunReport] = {}
    context = _context()
    _start_forkserver(context)
    with _interrupt_held():
        pool = ProcessPoolExecutor(
            max_workers=min(jobs, len(planned)), mp_context=context, initializer=_ignore_interrupt
        )
    try:
        with _interrupt_held():
            futures: dict[Future[RunReport], Planned] = {pool.submit(_run_one, p, engine): p for p in planned}
        for future in as_completed(futures):
            report = future.result()
            by_name[report.runbook] = report
            done(report)
    except KeyboardInterrupt:
        # the workers ignore Ctrl+C; left alone they would print tracebacks once this process is gone
        print(
            "◎ Abbruch: Die laufenden Runbooks (sie lesen nur) laufen noch zu Ende …",
            file=sys.stderr,
            flush=True,
        )
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [by_name[p.runbook.name] for p in planned]


@dataclass(frozen=True)
class SmokeResult(Rendered):
    """All runs of one smoke test, with the summary printed at the end."""

    reports: tuple[RunReport, ...]
    target: KubeTarget
    started: datetime
    duration: float
    output_dir: Path
    fail_on_warnings: bool = False

    def failed(self) -> tuple[RunReport, ...]:
        return tuple(r for r in self.reports if not r.passed(fail_on_warnings=self.fail_on_warnings))

    @property
    def exit_code(self) -> int:
        if any(r.exit_code == 2 for r in self.reports):
            return 2
        return 1 if self.failed() else 0

    def headline(self) -> str:
        total, failed = len(self.reports), len(self.failed())
        tally = counts(self.reports, fail_on_warnings=self.fail_on_warnings)
        found = ", ".join(
            f"{tally[k]} {word}" for k, word in (("error", "Fehler"), ("warning", "Warnungen")) if tally[k]
        )
        found = f" ({found})" if found else ""
        if not failed:
            return f"✔ alle {total} Runbooks bestanden{found}"
        return f"✗ {failed} von {total} Runbooks nicht bestanden{found}"

    def _rows(self) -> list[list[str]]:
        rows = []
        for r in self.reports:
            mark = "✔ bestanden" if r.passed(fail_on_warnings=self.fail_on_warnings) else "✗ nicht bestanden"
            rows.append([r.runbook, mark, f"{r.duration:.1f} s", r.error or r.summary or "-"])
        return rows

    def _problems(self) -> list[str]:
        lines = []
        for r in self.failed():
            for step in r.steps:
                if step.status == "failed":
                    lines.append(f"✗ {r.runbook}: Schritt {step.index} „{step.title}“ fehlgeschlagen")
                    lines += [f"    {line}" for line in step.message.splitlines()]
            for v in r.problems(fail_on_warnings=self.fail_on_warnings):
                mark = "✗" if v.outcome == "error" else "⚠"
                lines.append(f"{mark} {r.runbook}: {v.name}")
                lines += [f"    {line}" for line in v.message.splitlines()]
        return lines

    def __str__(self) -> str:
        out = [
            f"Smoke-Test: {len(self.reports)} Runbooks, Cluster {self.target.describe()}",
            "",
            text_table(["RUNBOOK", "ERGEBNIS", "DAUER", "BEFUND"], self._rows()),
        ]
        problems = self._problems()
        if problems:
            out += ["", "Nicht bestanden:", *problems]
        out += [
            "",
            f"Ergebnis:   {self.headline()}",
            f"Dauer:      {self.duration:.1f} s",
            f"Protokolle: {self.output_dir}{os.sep}",
        ]
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        """The summary of ``runbook smoke --json`` (each run as in ``runbook run --json``)."""
        return {
            "schema": SCHEMA,
            "run_schema": RUN_SCHEMA,
            "cluster": {"context": self.target.context, "server": self.target.server},
            "started": self.started.isoformat(),
            "duration_s": round(self.duration, 3),
            "verdict": "passed" if not self.failed() else "failed",
            "exit_code": self.exit_code,
            "summary": self.headline(),
            "notebooks": str(self.output_dir),
            "counts": counts(self.reports, fail_on_warnings=self.fail_on_warnings),
            "runbooks": [r.as_json(fail_on_warnings=self.fail_on_warnings) for r in self.reports],
        }


def smoke(
    names: Sequence[str] = (),
    given: Iterable[tuple[str, str]] = (),
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    jobs: int = DEFAULT_JOBS,
    engine: str = DEFAULT_ENGINE,
    fail_on_warnings: bool = False,
    extra: Folders = (),
    progress: Callable[[str], None] | None = None,
) -> SmokeResult:
    """Select, validate (usage errors raise before anything runs), run, and summarize."""
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: mindestens 1.")
    started = datetime.now(UTC)
    folder = Path(output_dir) if output_dir else default_output_dir(started)
    books = select(names, extra=extra)
    planned = plan(books, given, kubeconfig=kubeconfig, context=context, output_dir=folder)
    folder.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    workers = min(jobs, len(planned))
    say(f"► Smoke-Test: {', '.join(b.name for b in books)} ({workers} gleichzeitig)")

    def done(report: RunReport) -> None:
        mark = "✔" if report.passed(fail_on_warnings=fail_on_warnings) else "✗"
        say(f"{mark} {report.runbook} ({report.duration:.1f} s)")

    clock = time.monotonic()
    reports = run_all(planned, jobs=jobs, engine=engine, on_done=done)
    return SmokeResult(
        reports=tuple(reports),
        target=planned[0].target,
        started=started,
        duration=time.monotonic() - clock,
        output_dir=folder,
        fail_on_warnings=fail_on_warnings,
    )
