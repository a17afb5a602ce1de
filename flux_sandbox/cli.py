"""``runbook sandbox up|scenarios``: start a sandbox engine, or list the scenarios.

The ``runbook`` command hands everything after ``sandbox`` to :func:`main`. Engines are imported only
when they are started, so ``runbook sandbox scenarios`` stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runbook_lib.cli import Parser, unexpected
from runbook_lib.errors import RunbookError, os_reason

#: the engines ``--engine`` accepts; ``sim`` is the default (starts in seconds, needs nothing built),
#: ``real`` runs kube-apiserver, etcd, kwok and the real Flux controllers (built once with
#: ``python -m flux_sandbox.real.build``)
ENGINES = ("sim", "real")


def _port(text: str) -> int:
    """``--port``: a number from 0 to 65535 (argparse turns the error into a German usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' ist keine Portnummer") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"Port {port} gibt es nicht (erlaubt: 1 bis 65535, 0 = frei wählen)")
    return port


def _seconds(text: str) -> float:
    """A Go duration (``200ms``, ``2s``) in seconds."""
    from runbook_lib.durations import parse_duration
    from runbook_lib.errors import UsageError

    try:
        value = parse_duration(text, what="die Dauer", allow_zero=True)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    assert value is not None
    return value.total_seconds()


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' ist keine Zahl") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} liegt nicht zwischen 0 und 1")
    return value


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
        help="sim (Standard): simulierter Cluster, startet in Sekunden; real: echter kube-apiserver mit "
        "den echten Flux-Controllern (einmal bauen: python -m flux_sandbox.real.build)",
    )
    proxy = sub.add_parser(
        "proxy",
        help="Störungs-Proxy vor einem API-Server starten (läuft bis Strg+C)",
        description="Ein Proxy vor dem API-Server einer Kubeconfig, der Verzögerung, Fehler und getrennte "
        "Watches einspielt; schreibt DIR/kubeconfig. SIGUSR1 friert ihn ein bzw. taut ihn auf, SIGUSR2 "
        "beendet ihn bzw. startet ihn wieder.",
    )
    proxy.add_argument(
        "--kubeconfig", required=True, metavar="PFAD", help="Kubeconfig des echten API-Servers"
    )
    proxy.add_argument("--context", metavar="NAME", help="Kontext darin (Standard: der aktuelle)")
    proxy.add_argument(
        "--state", required=True, metavar="DIR", help="Verzeichnis für die Kubeconfig des Proxys"
    )
    proxy.add_argument("--port", type=_port, default=0, metavar="N", help="Port (Standard: frei gewählt)")
    proxy.add_argument(
        "--latency", type=_seconds, default=0.0, metavar="DAUER", help="Verzögerung je Anfrage, z. B. 200ms"
    )
    proxy.add_argument(
        "--error-rate",
        type=_share,
        default=0.0,
        metavar="ANTEIL",
        help="Anteil fehlschlagender Anfragen (0 bis 1)",
    )
    proxy.add_argument(
        "--error-status", type=int, choices=(429, 500, 502, 503, 504), default=503, help="Status der Fehler"
    )
    proxy.add_argument(
        "--drop-streams-after",
        type=_seconds,
        default=None,
        metavar="DAUER",
        help="Watches und Log-Streams nach dieser Dauer trennen",
    )
    proxy.add_argument(
        "--seed", type=int, default=0, metavar="N", help="Startwert des Zufalls (gleiche Fehlerfolge)"
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
    if args.engine == "real":
        from .real import serve as serve_real

        return int(serve_real(args.state, args.scenario, args.port) or 0)
    from .sim import serve

    return int(serve(args.state, args.scenario, args.port) or 0)


def _proxy(args: argparse.Namespace) -> int:
    from runbook_lib.cluster import resolve_target

    from .faults import Faults, serve

    target = resolve_target(args.kubeconfig, args.context)  # a German UsageError for a bad kubeconfig
    faults = Faults(
        latency=args.latency,
        error_rate=args.error_rate,
        error_status=args.error_status,
        drop_streams_after=args.drop_streams_after,
        seed=args.seed,
    )
    return serve(args.kubeconfig, args.state, context=target.context or None, port=args.port, faults=faults)


def main(argv: Sequence[str] | None = None) -> int:
    """``runbook sandbox ARGS``; returns the exit code (2 for usage errors, as the ``runbook`` command)."""
    args = _build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    commands = {"scenarios": lambda _: _scenarios(), "up": _up, "proxy": _proxy}
    try:
        return int(commands[args.command](args))
    except RunbookError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # git, the file system: no traceback for the user
        print(
            f"✗ Die Sandbox konnte nicht starten: {os_reason(exc)}"
            + (f" ({exc.filename})" if exc.filename else "")
            + ".\n→ Ursache beheben (Schreibrechte, freier Platz) und erneut starten.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a bug: one German line, the traceback only with RUNBOOK_DEBUG=1
        return unexpected(exc)
