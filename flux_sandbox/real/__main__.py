"""``python -m flux_sandbox.real up --state DIR [--scenario NAME] [--port N]``: the real engine for
trying it out, with the contract of ``runbook sandbox up`` (``ready:`` line, files in DIR, Ctrl+C)."""

from __future__ import annotations

import argparse
import sys

from ._shared import RunbookError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flux_sandbox.real", description="Sandbox mit echtem Flux"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="BEFEHL")
    up = sub.add_parser("up", help="Sandbox starten (läuft bis Strg+C)")
    up.add_argument("--state", required=True, metavar="DIR", help="Zustandsverzeichnis")
    up.add_argument("--scenario", default="healthy", help="Szenario (Standard: healthy)")
    up.add_argument("--port", type=int, default=0, help="Port des kube-apiservers (Standard: frei gewählt)")
    sub.add_parser("build", help="alle Komponenten bauen (wie python -m flux_sandbox.real.build)")
    args = parser.parse_args(argv)
    if args.command == "build":
        from .build import main as build_main

        return build_main([])
    from .engine import serve

    try:
        return serve(args.state, args.scenario, args.port)
    except RunbookError as exc:
        print(f"✗ {exc}", file=sys.stderr, flush=True)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
