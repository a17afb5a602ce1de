"""The ``runbook`` command: list, show, run, sandbox.

Imports stay inside the command functions: ``runbook --help`` and ``runbook list`` must not pay for
papermill, IPython or the kubernetes client. Exit codes: 0 success (a clean stop such as a dry run
included), 1 the runbook failed, 2 usage or parameter error.
"""

from __future__ import annotations

import argparse
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


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "Aufruf: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with German headings and error messages; errors exit with 2."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", _Formatter)
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


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="runbook", description="GitOps-Runbooks für Flux: anzeigen, ausführen, Sandbox starten."
    )
    sub = parser.add_subparsers(dest="command", metavar="BEFEHL", parser_class=_Parser, title="Befehle")
    sub.required = True
    sub.add_parser(
        "list", help="alle Runbooks mit Titel auflisten", description="Alle Runbooks mit Titel auflisten."
    )
    show = sub.add_parser(
        "show",
        help="Parameter eines Runbooks anzeigen",
        description="Parameter eines Runbooks mit Typ, Standardwert und Beschreibung anzeigen.",
    )
    show.add_argument("name", metavar="NAME", help="Name des Runbooks (siehe `runbook list`)")
    run = sub.add_parser(
        "run",
        help="ein Runbook ausführen",
        description="Ein Runbook mit papermill ausführen; "
        "das ausgeführte Notebook ist das Protokoll des Laufs.",
    )
    run.add_argument("name", metavar="NAME", help="Name des Runbooks")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "WERT"),
        help="Parameter setzen (mehrfach möglich); der Wert wird nach dem deklarierten Typ umgewandelt",
    )
    run.add_argument("--kubeconfig", metavar="PFAD", help="Kubeconfig (füllt den Parameter kubeconfig)")
    run.add_argument(
        "--context", metavar="NAME", help="Kontext der Kubeconfig (füllt den Parameter kube_context)"
    )
    run.add_argument(
        "--output",
        metavar="PFAD",
        help="ausgeführtes Notebook hierhin schreiben (Standard: runs/<name>-<UTC-Zeit>.ipynb)",
    )
    run.add_argument(
        "--engine",
        choices=("inprocess", "nbclient"),
        default="inprocess",
        help="inprocess (Standard, schnell, ohne Kernel-Start) oder nbclient (eigener Jupyter-Kernel)",
    )
    sandbox = sub.add_parser(
        "sandbox",
        help="die lokale Sandbox starten oder ihre Szenarien zeigen",
        description="Lokaler Kubernetes-API-Server mit simuliertem Flux und GitOps-Repository.",
    )
    sandbox_sub = sandbox.add_subparsers(
        dest="sandbox_command", metavar="BEFEHL", parser_class=_Parser, title="Befehle"
    )
    sandbox_sub.required = True
    up = sandbox_sub.add_parser(
        "up",
        help="Sandbox starten (läuft bis Strg+C)",
        description="Sandbox starten; schreibt DIR/kubeconfig, DIR/remote.git, DIR/checkout.",
    )
    up.add_argument(
        "--state", required=True, metavar="DIR", help="Verzeichnis für Kubeconfig und Repositorys"
    )
    up.add_argument(
        "--scenario",
        default="healthy",
        metavar="NAME",
        help="Szenario (Standard: healthy; siehe `runbook sandbox scenarios`)",
    )
    up.add_argument(
        "--port", type=int, default=0, metavar="N", help="Port des API-Servers (Standard: frei gewählt)"
    )
    sandbox_sub.add_parser(
        "scenarios",
        help="Szenarien der Sandbox auflisten",
        description="Szenarien der Sandbox mit einer Zeile Beschreibung auflisten.",
    )
    return parser


def _list(args: argparse.Namespace) -> int:
    from .report import text_table
    from .runner import discover, notebooks_dir

    books = discover()
    if not books:
        print(f"Keine Runbooks in {notebooks_dir()} gefunden.")
        return 0
    print(text_table(["NAME", "TITEL"], [[b.name, b.title] for b in books]))
    return 0


def _show(args: argparse.Namespace) -> int:
    from .report import text_table
    from .runner import find

    book = find(args.name)
    print(f"{book.name}: {book.title}\nDatei: {book.path}\n")
    if not book.parameters:
        print("Keine Parameter.")
        return 0
    rows = [[p.name, p.type or "?", p.default, p.help] for p in book.parameters]
    print(text_table(["PARAMETER", "TYP", "STANDARD", "BESCHREIBUNG"], rows))
    print(f"\nBeispiel: {example(book)}")
    return 0


def example(book: Any) -> str:
    """A command line for ``runbook show``: the first own parameter that has a default, with that value."""
    own = [p for p in book.parameters if p.name not in ("kubeconfig", "kube_context")]
    with_default = [p for p in own if p.default not in ("None", "")]
    shown = (with_default or own or [None])[0]
    value = shown.default.strip("'\"") if shown and shown.default not in ("None", "") else "WERT"
    pair = f" -p {shown.name} {shlex.quote(value)}" if shown else ""
    return f"runbook run {book.name}{pair} --kubeconfig ~/.kube/config --context NAME"


def _run(args: argparse.Namespace) -> int:
    from .runner import find, prepare, run

    given = [tuple(p) for p in args.parameter]
    # validate first: a usage error must not be announced as a run
    prepare(find(args.name), given, kubeconfig=args.kubeconfig, context=args.context)
    print(f"► Runbook '{args.name}' wird ausgeführt …", file=sys.stderr, flush=True)
    record = run(
        args.name,
        given,
        kubeconfig=args.kubeconfig,
        context=args.context,
        output=args.output,
        engine=args.engine,
    )
    print(record)
    return record.exit_code


def _sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_command == "scenarios":
        from .report import text_table
        from .sandbox.scenarios import SCENARIOS

        print(text_table(["SZENARIO", "BESCHREIBUNG"], [[n, s.description] for n, s in SCENARIOS.items()]))
        return 0
    from .sandbox import serve

    return int(serve(args.state, args.scenario, args.port) or 0)


_COMMANDS = {"list": _list, "show": _show, "run": _run, "sandbox": _sandbox}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runbook`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    from .errors import RunbookError

    try:
        return _COMMANDS[args.command](args)
    except RunbookError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("✗ Abgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
