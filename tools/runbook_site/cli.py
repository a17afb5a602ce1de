"""`tools/site.py build | serve | demo`: the documentation site from runbooks to browser."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import DEFAULT_SITE, MKDOCS_YML, ROOT
from .execute import SandboxHandle, SiteBuildError, execute_all, handle_of, render_unexecuted
from .notebooks import discover
from .serve import make_server, url_of

DEMO_STATE = ROOT / ".sandbox"


@dataclass(frozen=True)
class BuildTimes:
    execute_s: float
    mkdocs_s: float

    @property
    def total_s(self) -> float:
        return self.execute_s + self.mkdocs_s


def _de(seconds: float) -> str:
    return f"{seconds:.1f}".replace(".", ",") + " s"


def mkdocs_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # silence Material's MkDocs 2.0 banner
    env["PYTHONUTF8"] = "1"
    return env


def run_mkdocs(site_dir: Path) -> float:
    """`mkdocs build --strict`; returns its duration, raises SiteBuildError with its output."""
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(MKDOCS_YML),
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        env=mkdocs_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    duration = time.perf_counter() - started
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise SiteBuildError(
            f"mkdocs build --strict ist fehlgeschlagen (Exit-Code {proc.returncode}):\n{output}"
        )
    for line in output.splitlines():
        if "WARNING" in line or "ERROR" in line:
            print(line, file=sys.stderr)
    return duration


def build(
    site_dir: Path = DEFAULT_SITE,
    *,
    execute: bool = True,
    healthy: SandboxHandle | None = None,
    only: set[str] | None = None,
) -> BuildTimes:
    runbooks = discover()
    started = time.perf_counter()
    if execute:
        execute_all(runbooks, healthy=healthy, only=only)
    else:
        print("► Runbooks ohne Ausführung übernehmen (--no-execute)")
        render_unexecuted(runbooks)
    execute_s = time.perf_counter() - started
    print("► mkdocs build --strict")
    mkdocs_s = run_mkdocs(site_dir)
    times = BuildTimes(execute_s, mkdocs_s)
    print(
        f"✔ Seite gebaut in {site_dir}: {len(runbooks)} Runbooks, Ausführung {_de(execute_s)}, "
        f"MkDocs {_de(mkdocs_s)}, gesamt {_de(times.total_s)}"
    )
    return times


def serve_forever(site_dir: Path, port: int, extra: str = "") -> None:
    if not (site_dir / "index.html").exists():
        raise SiteBuildError(f"In {site_dir} liegt keine gebaute Seite. Zuerst: python tools/site.py build")
    server = make_server(site_dir, port)
    print(f"✔ Die Dokumentation läuft unter {url_of(server)}{extra} – beenden mit Strg+C.", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@contextlib.contextmanager
def demo_sandbox(state_dir: Path) -> Iterator[SandboxHandle]:
    try:
        from flux_sandbox.sim import Sandbox
    except ImportError as exc:
        raise SiteBuildError(f"Die Sandbox (flux_sandbox.sim.Sandbox) ist nicht verfügbar: {exc}") from exc
    print(f"► starte Sandbox in {state_dir}")
    sb = Sandbox(state_dir, scenario="healthy")
    sb.start()
    try:
        yield handle_of(sb, state_dir)
    finally:
        print("► beende Sandbox")
        sb.stop()


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/site.py", description="Dokumentationsseite bauen und anzeigen."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="Runbooks gegen die Sandbox ausführen und die Seite bauen")
    p_build.add_argument("--no-execute", action="store_true", help="Runbooks ohne Ausführung darstellen")
    p_build.add_argument("--site-dir", type=Path, default=DEFAULT_SITE)
    p_build.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="nur dieses Runbook ausführen (wiederholbar; zum Entwickeln)",
    )
    p_serve = sub.add_parser("serve", help="die gebaute Seite auf 127.0.0.1 bereitstellen")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--site-dir", type=Path, default=DEFAULT_SITE)
    p_demo = sub.add_parser("demo", help="Sandbox starten, bauen und bereitstellen")
    p_demo.add_argument("--port", type=int, default=8000)
    p_demo.add_argument("--site-dir", type=Path, default=DEFAULT_SITE)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    site_dir = args.site_dir.resolve()
    try:
        if args.command == "build":
            build(site_dir, execute=not args.no_execute, only=set(args.only) if args.only else None)
        elif args.command == "serve":
            serve_forever(site_dir, args.port)
        else:
            with demo_sandbox(DEMO_STATE) as sb:
                build(site_dir, healthy=sb)
                kube = f" (Sandbox: export KUBECONFIG={sb.kubeconfig})"
                serve_forever(site_dir, args.port, kube)
    except SiteBuildError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("✔ beendet")
        return 0
    except OSError as exc:
        if args.command in ("serve", "demo") and exc.errno == 98:
            print(f"✗ Port {args.port} ist belegt. Wählen Sie einen anderen mit --port.", file=sys.stderr)
            return 1
        raise
    return 0
