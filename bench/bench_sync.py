"""Benchmark: from `git push` to the command's return, `runbook run sync` against `flux reconcile`, on the
real engine, whole processes, interleaved (each run after its own push).

Healthy: a commit that changes a comment in the Kite HelmRelease is pushed, then
`runbook run sync -p kind ks -p name apps` (with source, the default) or
`flux reconcile kustomization apps --with-source`; both return when the Kustomization applied the new
revision. Target ≤ 0.5×.

Failing: a commit asks for Kite chart 0.6.9, which the chart repository lacks, then
`runbook run sync -p kind hr -p name kite -p namespace kube-system` or
`flux reconcile helmrelease kite -n kube-system --with-source` (the Kustomization `apps` applies the
HelmRelease without error; the HelmRelease's chart fails). Target ≤ 0.05× of flux, which waits for
its `--timeout` (default 5m; `--flux-timeout` shortens it for a quicker run and is printed).

    python bench/bench_sync.py [--state DIR] [--runs N] [--failing-runs N] [--flux-timeout 5m]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    RUNBOOK,
    RealCluster,
    interleaved,
    load,
    phases,
    print_phases,
    ratio_line,
    real_cluster,
    spread,
)

HELMRELEASE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def git(cluster: RealCluster, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cluster.checkout), *args], check=True, capture_output=True, text=True
    ).stdout


def push(cluster: RealCluster, change: str) -> None:
    """Commit and push one change to the HelmRelease file (as a user does before syncing)."""
    path = cluster.checkout / HELMRELEASE
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("# bench ")]
    text = "\n".join([*lines, f"# bench {time.time_ns()}"]) + "\n"  # every push is a new commit
    if change == "bad-chart":
        text = text.replace("      version: 0.6.3\n", "      version: 0.6.9\n")
    path.write_text(text, encoding="utf-8")
    git(cluster, "add", HELMRELEASE)
    git(
        cluster,
        "-c",
        "user.name=Bench",
        "-c",
        "user.email=bench@example.org",
        "commit",
        "-qm",
        f"bench: {change}",
    )
    git(cluster, "push", "-q", "origin", "HEAD")


def after_push(cluster: RealCluster, change: str, argv: list[str], *, check: bool = True) -> float:
    """Push, then time the command from its start to its exit."""
    push(cluster, change)
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=cluster.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    took = time.perf_counter() - start
    if check and proc.returncode != 0:
        sys.exit(f"✗ {' '.join(argv)} endete mit {proc.returncode}:\n{proc.stderr.decode()[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="eine laufende echte Sandbox verwenden (sie wird verändert)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--failing-runs", type=int, default=2)
    parser.add_argument("--flux-timeout", default="5m")
    args = parser.parse_args()
    print(load())
    with real_cluster(args.state) as cluster, tempfile.TemporaryDirectory() as tmp:
        git(cluster, "pull", "-q", "--rebase")
        record = str(Path(tmp) / "sync.ipynb")
        ours = [
            RUNBOOK,
            "run",
            "sync",
            "-p",
            "kind",
            "ks",
            "-p",
            "name",
            "apps",
            "--quiet",
            "--output",
            record,
        ]
        flux = [cluster.flux, "reconcile", "kustomization", "apps", "--with-source"]
        samples = interleaved(
            {
                "runbook run sync (ks apps)": lambda: after_push(cluster, "comment", ours),
                "flux reconcile ks apps --with-source": lambda: after_push(cluster, "comment", flux),
            },
            args.runs,
        )
        print("Gesund, vom Push bis zur Rückkehr:")
        for name, values in samples.items():
            print(f"  {name:40} {spread(values)}")
        ratio_line("runbook / flux", *samples.values(), 0.5)
        print_phases(phases("sync", ["-p", "kind", "ks", "-p", "name", "apps"], cluster))

        if args.failing_runs > 0:
            hr = ["-p", "kind", "hr", "-p", "name", "kite", "-p", "namespace", "kube-system"]
            ours_hr = [RUNBOOK, "run", "sync", *hr, "--quiet", "--output", record]
            flux_hr = [
                cluster.flux,
                "reconcile",
                "helmrelease",
                "kite",
                "-n",
                "kube-system",
                "--with-source",
                "--timeout",
                args.flux_timeout,
            ]
            failing = interleaved(
                {
                    "runbook run sync (hr kite)": lambda: after_push(
                        cluster, "bad-chart", ours_hr, check=False
                    ),
                    f"flux reconcile hr kite --with-source --timeout {args.flux_timeout}": lambda: after_push(
                        cluster, "bad-chart", flux_hr, check=False
                    ),
                },
                args.failing_runs,
                warmup=0,
            )
            print("Fehlschlag (Chart 0.6.9 fehlt), vom Push bis zur Rückkehr:")
            for name, values in failing.items():
                print(f"  {name:60} {spread(values)}")
            ratio_line("runbook / flux", *failing.values(), 0.05)
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
