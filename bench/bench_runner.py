"""Benchmark: `runbook run status` against the sandbox vs papermill running a trivial one-cell notebook.

Target (docs/development.md, "Performance targets"):
the runbook, installed as the project installs it (no Jupyter server
stack), takes at most half the time of plain papermill with a kernel in an environment with the full
`jupyter` package. That baseline environment is built once under `.nox/bench-jupyter-baseline`
(`RUNBOOK_BENCH_BASELINE` overrides the path). Both are timed as whole commands, as a user starts
them; the median of several runs is compared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from flux_sandbox.sim import Sandbox

RUNS = 7
BIN = Path(sys.executable).parent
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


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(Path(tmp) / "sbx") as sb:
        trivial = Path(tmp) / "trivial.ipynb"
        nb = new_notebook(cells=[new_code_cell("1 + 1")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, trivial)
        ours_cmd = [
            str(BIN / "runbook"),
            "run",
            "status",
            "--kubeconfig",
            str(sb.kubeconfig),
            "--output",
            str(Path(tmp) / "status.ipynb"),
        ]
        theirs_cmd = [
            str(baseline_papermill()),
            str(trivial),
            str(Path(tmp) / "out.ipynb"),
            "-k",
            "python3",
            "--no-progress-bar",
        ]
        timed(ours_cmd), timed(theirs_cmd)  # warm the file cache for both
        ours = statistics.median(timed(ours_cmd) for _ in range(RUNS))
        theirs = statistics.median(timed(theirs_cmd) for _ in range(RUNS))
    print(f"runbook run status (Sandbox):                  {ours * 1000:7.0f} ms (Median über {RUNS})")
    print(f"papermill, triviales Notebook, volles jupyter: {theirs * 1000:7.0f} ms (Median über {RUNS})")
    print(f"Verhältnis {ours / theirs:.2f} (Ziel ≤ 0.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
