"""The ``runbook`` command: list, show, run, smoke, sandbox.

Imports stay inside the command functions: ``runbook --help`` and ``runbook list`` must not pay for
papermill, IPython or the kubernetes client. Exit codes: 0 success (a clean stop such as a dry run
included), 1 the runbook failed, 2 usage or parameter error.

``runbook sandbox …`` belongs to the engines package (:data:`SANDBOX_CLI`), which the library never
imports: the verb hands its arguments to that module by name, so the library stays usable (and
installable) without it.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

_ARGPARSE_DE = (
    ("the following arguments are required", "diese Argumente fehlen"),
    ("unrecognized arguments", "unbekannte Argumente"),
    ("invalid choice", "ungültige Auswahl"),
    ("choose from", "möglich sind"),
    ("expected 2 arguments", "erwartet zwei Werte (NAME WERT)"),
    ("expected one argument", "erwartet einen Wert"),
    ("invalid int value", "keine ganze Zahl"),
    ("argument ", "Argument "),
)


class Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "Aufruf: " if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse with German headings and error messages; errors exit with 2 (also used by the
    engines package for ``runbook sandbox``)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", Formatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "Argumente"
        self._optionals.title = "Optionen"
        self.add_argument("-h", "--help", action="help", help="diese Hilfe anzeigen und beenden")

    def error(self, message: str) -> NoReturn:
        for english, german in _ARGPARSE_DE:
            message = message.replace(english, german)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: Fehler: {message}\n")


def _runbooks_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runbooks",
        metavar="ORDNER",
        action="append",
        default=[],
        help="eigener Runbook-Ordner, vor den mitgelieferten durchsucht (mehrfach möglich; "
        "auch RUNBOOK_NOTEBOOKS)",
    )


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", metavar="PFAD", help="Kubeconfig (füllt den Parameter kubeconfig)")
    parser.add_argument(
        "--context", metavar="NAME", help="Kontext der Kubeconfig (füllt den Parameter kube_context)"
    )


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--junit",
        metavar="PFAD",
        help="JUnit-XML-Bericht schreiben: ein Testfall je Schritt und je Befund (für die CI)",
    )
    parser.add_argument(
        "--json",
        metavar="PFAD",
        help="Ergebnis maschinenlesbar schreiben (Runbook, Cluster, Parameter, Urteil, Befunde, Dauer)",
    )


def _parameter_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "WERT"),
        help=help_text,
    )


def _build_parser() -> argparse.ArgumentParser:
    from runbook_lib.runner import DEFAULT_ENGINE, ENGINES  # light: no papermill, no kubernetes client

    parser = Parser(
        prog="runbook", description="GitOps-Runbooks für Flux: anzeigen, ausführen, Sandbox starten."
    )
    sub = parser.add_subparsers(dest="command", metavar="BEFEHL", parser_class=Parser, title="Befehle")
    sub.required = True
    listing = sub.add_parser(
        "list",
        help="alle Runbooks mit Titel auflisten",
        description="Alle Runbooks mit Titel auflisten: die mitgelieferten und die aus eigenen Ordnern.",
    )
    _runbooks_option(listing)
    show = sub.add_parser(
        "show",
        help="Parameter eines Runbooks anzeigen",
        description="Parameter eines Runbooks mit Typ, Standardwert und Beschreibung anzeigen.",
    )
    show.add_argument("name", metavar="NAME", help="Name des Runbooks (siehe `runbook list`)")
    show.add_argument(
        "--path",
        action="store_true",
        help="nur den Pfad der Notebook-Datei ausgeben (z. B. für papermill)",
    )
    _runbooks_option(show)
    run = sub.add_parser(
        "run",
        help="ein Runbook ausführen",
        description="Ein Runbook mit papermill ausführen; "
        "das ausgeführte Notebook ist das Protokoll des Laufs.",
    )
    run.add_argument("name", metavar="NAME", help="Name des Runbooks")
    _parameter_option(
        run, "Parameter setzen (mehrfach möglich); der Wert wird nach dem deklarierten Typ umgewandelt"
    )
    _cluster_options(run)
    run.add_argument(
        "--output",
        metavar="PFAD",
        help="ausgeführtes Notebook hierhin schreiben (Standard: runs/<name>-<UTC-Zeit>.ipynb)",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="nur das Ergebnis des Laufs ausgeben, ohne die Befunde und Ausgaben der Runbook-Zellen",
    )
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="inprocess (Standard, schnell, ohne Kernel-Start) oder nbclient (eigener Jupyter-Kernel)",
    )
    _report_options(run)
    _runbooks_option(run)
    smoke = sub.add_parser(
        "smoke",
        help="alle nur lesenden Runbooks gegen einen Cluster prüfen (für die CI)",
        description="Alle Runbooks, die nur lesen (Status und Fehlersuche), gegen einen Cluster ausführen, "
        "parallel, mit einer Zusammenfassung und einem Exit-Code: 0 alles bestanden, 1 ein Runbook ist "
        "fehlgeschlagen oder hat einen Fehler gefunden, 2 Aufruf- oder Parameterfehler.",
    )
    smoke.add_argument(
        "names", nargs="*", metavar="NAME", help="nur diese Runbooks (Standard: alle, die nur lesen)"
    )
    _parameter_option(
        smoke,
        "Parameter für jedes Runbook, das ihn hat; RUNBOOK.NAME nur für dieses Runbook (mehrfach möglich)",
    )
    _cluster_options(smoke)
    smoke.add_argument(
        "--output-dir",
        metavar="ORDNER",
        help="ausgeführte Notebooks hierhin schreiben (Standard: runs/smoke-<UTC-Zeit>/)",
    )
    _report_options(smoke)
    smoke.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="höchstens N Runbooks gleichzeitig (Standard: 4; 1 = nacheinander)",
    )
    smoke.add_argument(
        "--fail-on-warnings",
        action="store_true",
        help="auch Warnungen (z. B. ausgesetzte oder noch arbeitende Objekte) lassen den Test scheitern",
    )
    smoke.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help=argparse.SUPPRESS)
    _runbooks_option(smoke)
    # only listed here; `runbook sandbox ARGS` is parsed by the engines package (see main)
    sub.add_parser(
        "sandbox",
        help="die lokale Sandbox starten oder ihre Szenarien zeigen (`runbook sandbox --help`)",
        description="Lokaler Kubernetes-Cluster mit Flux und GitOps-Repository.",
    )
    return parser


def _list(args: argparse.Namespace) -> int:
    from runbook_lib.folders import describe, search_path, shipped_folder
    from runbook_lib.report import text_table
    from runbook_lib.runner import discover

    books = discover(extra=args.runbooks)
    if not books:
        print(f"Keine Runbooks gefunden (gesucht in {describe(search_path(args.runbooks))}).")
        return 0
    shipped = shipped_folder().resolve()
    rows = [[b.name, b.title, "nur lesen" if b.read_only else "ändert"] for b in books]
    headers = ["NAME", "TITEL", "ZUGRIFF"]
    if any(b.path.resolve().parent != shipped for b in books):
        headers.append("ORDNER")
        for row, b in zip(rows, books, strict=True):
            row.append("mitgeliefert" if b.path.resolve().parent == shipped else str(b.path.parent))
    print(text_table(headers, rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    from runbook_lib.report import text_table
    from runbook_lib.runner import find

    book = find(args.name, extra=args.runbooks)
    if args.path:
        print(book.path)
        return 0
    print(f"{book.name}: {book.title}\nDatei: {book.path}\n")
    if not book.parameters:
        print("Keine Parameter.")
    else:
        rows = [[p.name, p.type or "?", p.default, p.help] for p in book.parameters]
        print(text_table(["PARAMETER", "TYP", "STANDARD", "BESCHREIBUNG"], rows))
        print(f"\nBeispiel: {example(book)}")
    _show_rights(book)
    return 0


def _show_rights(book: Any) -> None:
    """The rights the runbook needs (its notebook's declaration, else the shipped table)."""
    from runbook_lib.report import text_table
    from runbook_lib.rights import DESCRIBE_HEADERS, OPERATE, ROLES, describe, rights_of

    rights = rights_of(book.name, book.settings)
    if rights is None:
        print("\nBenötigte Rechte: nicht deklariert (metadata.runbook.rights im Notebook).")
        return
    print("\nBenötigte Rechte (Rollen in rbac/; das Runbook prüft sie vor dem ersten Schritt):")
    print(text_table(DESCRIBE_HEADERS, describe(rights)))
    roles = [r for r in ROLES if any(x.role == r and not x.optional for x in rights)]
    extra = [r for r in ROLES if r not in roles and any(x.role == r for x in rights)]
    if roles:
        need = OPERATE if OPERATE in roles else roles[0]
        more = f" (optional dazu: {', '.join(extra)})" if extra else ""
        print(f"\nKleinste mitgelieferte Rolle: {need}{more}.")


def example(book: Any) -> str:
    """A command line for ``runbook show``: the first own parameter that has a default, with that value."""
    own = [p for p in book.parameters if p.name not in ("kubeconfig", "kube_context")]
    with_default = [p for p in own if p.default not in ("None", "")]
    shown = (with_default or own or [None])[0]
    value = shown.default.strip("'\"") if shown and shown.default not in ("None", "") else "WERT"
    pair = f" -p {shown.name} {shlex.quote(value)}" if shown else ""
    return f"runbook run {book.name}{pair} --kubeconfig ~/.kube/config --context NAME"


def _run(args: argparse.Namespace) -> int:
    from runbook_lib.records import reserve_output
    from runbook_lib.runner import execute, find, prepare

    given = [tuple(p) for p in args.parameter]
    # validate first, the record's path included: a usage error must not be announced as a run, and
    # nothing may act before everything the run needs is known to work
    book = find(args.name, extra=args.runbooks)
    values, target = prepare(book, given, kubeconfig=args.kubeconfig, context=args.context)
    output = reserve_output(book.name, args.output)
    print(f"► Runbook '{args.name}' wird ausgeführt …", file=sys.stderr, flush=True)
    live = None if args.quiet else _live_echo()
    record = execute(book, values, target, output=output, engine=args.engine, live=live)
    print_run(record, quiet=args.quiet, shown_live=live is not None and args.engine == "inprocess")
    if args.junit or args.json:
        from runbook_lib.reports import from_record

        _write_reports(args, [from_record(record, book)], None)
    return record.exit_code


def _live_echo() -> Any:
    """Where a cell tagged ``live`` prints while it runs: this terminal (``watch``)."""
    from runbook_lib import terminal

    return terminal.LiveEcho(sys.stdout, color=terminal.use_color(sys.stdout))


def print_run(record: Any, *, quiet: bool = False, shown_live: bool = False) -> None:
    """The outputs of the cells tagged ``terminal`` (unless ``quiet``; what ``live`` cells printed only
    if it was not shown as it came), then the run record."""
    from runbook_lib import terminal

    color, width = terminal.use_color(sys.stdout), terminal.width(sys.stdout)
    nb = terminal.read_notebook(record.output)
    shown = "" if quiet else terminal.terminal_text(nb, shown_live=shown_live)
    if shown:
        print(terminal.style(shown, color=color, width=width) + "\n")
    print(terminal.style(str(record), color=color))


def _write_reports(args: argparse.Namespace, reports: list[Any], smoke: Any) -> None:
    """``--junit`` and ``--json`` of run and smoke; the paths are printed after the summary."""
    from runbook_lib.junit import write_junit
    from runbook_lib.reports import write_json

    strict = bool(getattr(args, "fail_on_warnings", False))
    if args.junit:
        name = "runbook smoke" if smoke is not None else f"runbook run {reports[0].runbook}"
        print(f"JUnit:      {write_junit(args.junit, reports, name=name, fail_on_warnings=strict)}")
    if args.json:
        data = smoke.as_json() if smoke is not None else reports[0].as_json()
        print(f"JSON:       {write_json(args.json, data)}")


def _smoke(args: argparse.Namespace) -> int:
    from runbook_lib.smoke import DEFAULT_JOBS, smoke

    result = smoke(
        args.names,
        [tuple(p) for p in args.parameter],
        kubeconfig=args.kubeconfig,
        context=args.context,
        output_dir=args.output_dir,
        jobs=DEFAULT_JOBS if args.jobs is None else args.jobs,
        engine=args.engine,
        fail_on_warnings=args.fail_on_warnings,
        extra=args.runbooks,
    )
    print(result)
    _write_reports(args, list(result.reports), result)
    return result.exit_code


#: the module that implements ``runbook sandbox`` (the engines package, beside the library)
SANDBOX_CLI = "flux_sandbox.cli"


def _sandbox(argv: Sequence[str]) -> int:
    from runbook_lib.errors import UsageError

    try:
        module = importlib.import_module(SANDBOX_CLI)
    except ModuleNotFoundError as exc:
        raise UsageError(
            "Die Sandbox ist in dieser Installation nicht enthalten.",
            "Installieren Sie das Projekt aus dem Repository (`pip install .`), das die Sandbox mitbringt.",
        ) from exc
    return int(module.main(list(argv)))


_COMMANDS = {"list": _list, "show": _show, "run": _run, "smoke": _smoke}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runbook`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from runbook_lib.errors import RunbookError

    try:
        if argv[:1] == ["sandbox"]:
            return _sandbox(argv[1:])
        args = _build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except RunbookError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("✗ Abgebrochen.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one German line, the traceback only on request
        return unexpected(exc)


def unexpected(exc: Exception) -> int:
    """Report an error that is not a RunbookError (a bug) without a traceback, unless RUNBOOK_DEBUG=1."""
    import os
    import traceback

    if os.environ.get("RUNBOOK_DEBUG") == "1":
        traceback.print_exc()
    print(
        f"✗ Unerwarteter Fehler: {type(exc).__name__}: {exc}\n"
        "→ Das ist ein Fehler im Programm, nicht in Ihrer Eingabe. Mit RUNBOOK_DEBUG=1 erneut ausführen und "
        "die Ausgabe melden.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
