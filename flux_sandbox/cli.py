"""``runbook sandbox up|scenarios``: start a sandbox engine, or list the scenarios.

The ``runbook`` command hands everything after ``sandbox`` to :func:`main`. Engines are imported only
when they are started, so ``runbook sandbox scenarios`` stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runbook_lib.cli import Parser
from runbook_lib.errors import RunbookError

#: the engines ``--engine`` accepts; ``sim`` is the default (starts in seconds, needs nothing built)
ENGINES = ("sim",)


def _port(text: str) -> int:
    """``--port``: a number from 0 to 65535 (argparse turns the error into a German usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' ist keine Portnummer") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"Port {port} gibt es nicht (erlaubt: 1 bis 65535, 0 = frei wählen)")
    return port


def _build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="runbook sandbox",
        description="Lokaler Kubernetes-Cluster mit Flux und GitOps-Repository: starten, Szenarien zeigen.",
    )
    sub = parser.add_subparsers(dest="command", metavar="BEFEHL", parser_class=Parser, title="Befehle")
    sub.required = True
    up = sub.add_parser(
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
        "--port", type=_port, default=0, metavar="N", help="Port des API-Servers (Standard: frei gewählt)"
    )
    up.add_argument(
        "--engine",
        choices=ENGINES,
        default="sim",
        help="sim (Standard): simulierter Cluster, startet in Sekunden",
    )
    sub.add_parser(
        "scenarios",
        help="Szenarien der Sandbox auflisten",
        description="Szenarien der Sandbox mit einer Zeile Beschreibung auflisten.",
    )
    return parser


def _scenarios() -> int:
    from runbook_lib.report import text_table

    from .sim.scenarios import SCENARIOS

    print(text_table(["SZENARIO", "BESCHREIBUNG"], [[n, s.description] for n, s in SCENARIOS.items()]))
    return 0


def _up(args: argparse.Namespace) -> int:
    from .sim import serve

    return int(serve(args.state, args.scenario, args.port) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """``runbook sandbox ARGS``; returns the exit code (2 for usage errors, as the ``runbook`` command)."""
    args = _build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return _scenarios() if args.command == "scenarios" else _up(args)
    except RunbookError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # git, the file system: no traceback for the user
        print(
            f"✗ Die Sandbox konnte nicht starten: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")
            + ".\n→ Ursache beheben (Schreibrechte, freier Platz) und erneut starten.",
            file=sys.stderr,
        )
        return 1
