"""Build time of the documentation site: the full build (every runbook executed against fresh
sandboxes, then `mkdocs build --strict`) and MkDocs alone, measured in one run on this machine.

    python bench/bench_site.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from runbook_site.cli import run_mkdocs  # noqa: E402

REPORTED = re.compile(r"Ausführung ([\d,]+) s, MkDocs ([\d,]+) s, gesamt ([\d,]+) s")


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def full_build(site_dir: Path) -> tuple[float, float, float]:
    """Wall time of `tools/site.py build` and its own execute/mkdocs split."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONUTF8="1")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "site.py"), "build", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"✗ tools/site.py build ist fehlgeschlagen:\n{proc.stdout}{proc.stderr}")
    match = REPORTED.search(proc.stdout)
    if not match:
        sys.exit(f"✗ keine Zeitangaben in der Ausgabe:\n{proc.stdout}")
    return wall, _num(match.group(1)), _num(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Wiederholungen von MkDocs allein (Median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        site = Path(tmp) / "site"
        wall, execute_s, mkdocs_s = full_build(site)
        # MkDocs alone, on the executed notebooks of that build; mkdocs-jupyter's cache is warm now
        warm = statistics.median(run_mkdocs(site) for _ in range(max(1, args.runs)))
    pages = sum(1 for _ in (ROOT / "notebooks").glob("*.ipynb"))
    print(f"site: full build (execute + mkdocs)     {wall:7.2f} s wall  ({pages} runbooks)")
    print(f"site:   execute runbooks vs sandboxes   {execute_s:7.2f} s")
    print(f"site:   mkdocs build --strict           {mkdocs_s:7.2f} s")
    print(f"site: mkdocs only, warm cache (median)  {warm:7.2f} s")
    print(f"site: ratio mkdocs / full build         {mkdocs_s / wall:7.2f}")
    print(f"site: ratio warm mkdocs / cold mkdocs   {warm / mkdocs_s:7.2f}")


if __name__ == "__main__":
    main()
