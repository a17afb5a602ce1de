"""Benchmark: `runbook run status` against the real engine vs papermill running a trivial one-cell
notebook with a kernel, in an environment with the full `jupyter` package.

Target (docs/development.md, "Performance targets"): ≤ 0.25×. The baseline environment is built once
under `.nox/bench-jupyter-baseline` (`RUNBOOK_BENCH_BASELINE` overrides the path). Both are timed as
whole commands, as a user starts them, interleaved (A B A B …); medians with their range.

    python bench/bench_runner.py [--state DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from common import RUNBOOK, interleaved, load, ratio_line, real_cluster, spread, timed
from nbformat.v4 import new_code_cell, new_notebook

BASELINE = Path(os.environ.get("RUNBOOK_BENCH_BASELINE", ".nox/bench-jupyter-baseline"))
BASELINE_PACKAGES = ("jupyter==1.1.1", "papermill==2.7.0", "ipykernel==7.4.0")


def baseline_papermill() -> Path:
    """papermill of an environment with the full jupyter package (created on first use)."""
    papermill = BASELINE / "bin" / "papermill"
    if not papermill.exists():
        print(f"► lege die Vergleichsumgebung {BASELINE} an (pip install {' '.join(BASELINE_PACKAGES)})")
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE)], check=True)
        subprocess.run(
            [str(BASELINE / "bin" / "python"), "-m", "pip", "install", "-q", *BASELINE_PACKAGES], check=True
        )
    return papermill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="eine laufende echte Sandbox verwenden")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(load())
    with real_cluster(args.state) as cluster, tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.ipynb"
        nb = new_notebook(cells=[new_code_cell("1 + 1")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, trivial)
        ours = [RUNBOOK, "run", "status", "--quiet", "--output", str(Path(tmp) / "status.ipynb")]
        theirs = [
            str(baseline_papermill()),
            str(trivial),
            str(Path(tmp) / "out.ipynb"),
            "-k",
            "python3",
            "--no-progress-bar",
        ]
        env = cluster.env()
        samples = interleaved(
            {
                "runbook run status": lambda: timed(ours, env),
                "papermill, triviales Notebook": lambda: timed(theirs, env),
            },
            args.runs,
        )
    for name, values in samples.items():
        print(f"  {name:32} {spread(values)}")
    ratio_line("runbook / papermill", *samples.values(), 0.25)
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
