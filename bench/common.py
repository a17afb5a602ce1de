"""What every benchmark shares: the real engine, whole-process timing interleaved (ABAB…), medians with
spread, ratios, the machine's load, and where the time of a `runbook run` went.

Not a benchmark itself (`nox -s bench` runs only `bench_*.py`). The yardstick (issue 15): the real flux
CLI and kubectl against the real engine (`flux_sandbox.real`), in the same run, as whole processes.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNBOOK = str(BIN / "runbook")

# A pip install writes the bytecode of the package; a checkout under PYTHONDONTWRITEBYTECODE (set on some
# CI and development machines) has none, and every `runbook run` would compile the library's 40 modules
# again: 0.1 s of start-up measured that no installed user pays.
for _package in ("runbook_lib", "flux_sandbox"):
    compileall.compile_dir(ROOT / _package, quiet=1)


def tool(name: str) -> str | None:
    """A command from this environment's bin folder first (kubectl from the dev venv), then PATH."""
    return shutil.which(name, path=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"Last (loadavg) {one:.1f} / {five:.1f} auf {os.cpu_count()} Kernen"


@dataclass
class RealCluster:
    """A running real engine: its kubeconfig, GitOps checkout and flux binary."""

    kubeconfig: Path
    checkout: Path
    flux: str
    engine: object | None = None  # flux_sandbox.real.engine.Engine when this run started it

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "NO_COLOR": "1"}


@contextlib.contextmanager
def real_cluster(state: str | None = None, scenario: str = "healthy") -> Iterator[RealCluster]:
    """The real engine: an already running one (``--state DIR`` of `runbook sandbox up --engine real`),
    or a fresh one started here (30–60 s) and stopped at the end."""
    from flux_sandbox.real.engine import Engine
    from flux_sandbox.real.versions import cache_dir

    if state:
        flux = cache_dir() / "bin" / "flux"
        if not flux.exists():
            sys.exit("✗ flux-Binärdatei fehlt: erst `python -m flux_sandbox.real.build` ausführen")
        yield RealCluster(Path(state, "kubeconfig"), Path(state, "checkout"), str(flux))
        return
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        print(f"► starte die echte Engine ({scenario}) …", flush=True)
        started = time.perf_counter()
        with Engine(tmp, scenario, progress=lambda line: None) as engine:
            print(f"✔ echte Engine bereit nach {time.perf_counter() - started:.0f} s", flush=True)
            yield RealCluster(engine.kubeconfig, engine.checkout, engine.bin("flux"), engine)


def timed(argv: Sequence[str], env: dict[str, str], *, check: bool = True) -> float:
    """Wall time of one whole process, start to exit (output discarded)."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - start
    if check and proc.returncode != 0:
        sys.exit(f"✗ {' '.join(argv)} endete mit {proc.returncode}:\n{proc.stderr.decode()[-2000:]}")
    return took


def interleaved(
    commands: dict[str, Callable[[], float]], runs: int, *, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each measurement in turn (A B A B …), ``runs`` times after ``warmup`` unrecorded rounds."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(warmup + runs):
        for name, measure in commands.items():
            took = measure()
            if round_ >= warmup:
                samples[name].append(took)
    return samples


def spread(values: list[float]) -> str:
    """Median with the range, in ms (``412 ms [398–440], n=7``)."""
    med = statistics.median(values)
    return f"{med * 1000:7.0f} ms [{min(values) * 1000:.0f}–{max(values) * 1000:.0f}], n={len(values)}"


def ratio_line(label: str, ours: list[float], theirs: list[float], target: float) -> float:
    value = statistics.median(ours) / statistics.median(theirs)
    met = "erfüllt" if value <= target else "NICHT erfüllt"
    print(f"  Verhältnis {label}: {value:.2f}× (Ziel ≤ {target:g}×, {met})")
    return value


def phases(runbook: str, params: Sequence[str], cluster: RealCluster) -> dict[str, float]:
    """Where the time of one `runbook run` went, measured in a fresh process (bench/phases.py)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "phases.py"), runbook, *params],
        env=cluster.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def print_phases(found: dict[str, float]) -> None:
    total = sum(v for k, v in found.items() if not k.startswith("davon"))
    parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in found.items())
    print(f"  Zeit von `runbook run` (ein Lauf, ohne Python-Start): {parts}; Summe {total * 1000:.0f} ms")
