"""Benchmark: `runbook run logs` for HelmRelease kite against `flux logs --kind=HelmRelease --name=kite
-n kube-system`, with 1,000,000 lines in helm-controller's pod log, on the real engine.

How the log gets a million lines: the real engine runs helm-controller as a local process and writes
its output in the CRI format into the file from which kwok serves the pod's log
(`flux_sandbox/real/engine.py`, `_map_pod_logs`). This benchmark appends generated lines to that
file, in the same CRI format and in the JSON layout helm-controller v1.6 writes (`controllerKind`,
nested `helmRelease`, `reconcileID`), for 400 HelmReleases of which `kube-system/kite` is one; whole
lines only (one `write` per block of complete lines, so the running controller's own lines stay
intact). The API server, kwok's log endpoint and both clients are the real ones; the lines are not
the controller's own.

Printed: both commands as whole processes, interleaved (after 250,000 and after 1,000,000 lines);
the peak RSS of `runbook run logs` at both sizes (flat = streaming); and the filter of the user path
(`filter_chunks(..., stamped=True)`, what `read_logs` runs on the API's `timestamps=true` stream) in
lines per second on the same lines, in-process. Targets: ≤ 1.0× flux; ≥ 2,000,000 lines/s.

    python bench/bench_logs.py [--state DIR] [--lines N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
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

MESSAGES = {
    "info": [
        "release in-sync with desired state",
        "running 'upgrade' action with timeout of 5m0s",
        "HelmChart/flux-system/{ns}-{name} with SourceRef 'HelmRepository/flux-system/charts' is in-sync",
    ],
    "debug": ["reconcile request received"],
    "error": ["Reconciler error"],
}
LEVELS = (("info", 80), ("debug", 15), ("error", 5))


def _stamp(ts: float) -> str:
    nanos = int(ts * 1e9) % 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{nanos:09d}Z"


def generate_block(
    rng: random.Random, objects: list[tuple[str, str]], count: int, ts: float
) -> tuple[bytes, bytes, int]:
    """(CRI lines for the pod log file, the same lines as the API serves them, kite lines)."""
    cri, api, kite = [], [], 0
    for _ in range(count):
        ns, name = objects[0] if rng.random() < 0.02 else rng.choice(objects)
        level = rng.choices([lv for lv, _ in LEVELS], [w for _, w in LEVELS])[0]
        msg = rng.choice(MESSAGES[level]).format(ns=ns, name=name)
        err = ',"error":"install retries exhausted"' if level == "error" else ""
        ts += 0.000002
        stamp = _stamp(ts)
        line = (
            f'{{"level":"{level}","ts":"{stamp[:23]}Z","msg":"{msg}","controller":"helmrelease",'
            f'"controllerGroup":"helm.toolkit.fluxcd.io","controllerKind":"HelmRelease",'
            f'"HelmRelease":{{"name":"{name}","namespace":"{ns}"}},"namespace":"{ns}","name":"{name}",'
            f'"reconcileID":"{uuid.UUID(int=rng.getrandbits(128))}"{err}}}'
        )
        kite += (ns, name) == ("kube-system", "kite")
        cri.append(f"{stamp} stderr F {line}\n")
        api.append(f"{stamp} {line}\n")
    return "".join(cri).encode(), "".join(api).encode(), kite


def append_lines(pod_log: Path, api_copy: Path, lines: int, seed: int) -> int:
    """Append ``lines`` generated lines to the pod log (whole lines per write) and to ``api_copy``."""
    rng = random.Random(seed)
    objects = [("kube-system", "kite")] + [
        (rng.choice(["apps", "monitoring", "team-a", "team-b"]), f"app-{i}") for i in range(399)
    ]
    kite, done = 0, 0
    fd = os.open(pod_log, os.O_WRONLY | os.O_APPEND)
    try:
        with api_copy.open("ab") as copy:
            while done < lines:
                n = min(20_000, lines - done)
                cri, api, k = generate_block(rng, objects, n, time.time())
                os.write(fd, cri)
                copy.write(api)
                kite, done = kite + k, done + n
    finally:
        os.close(fd)
    return kite


def filter_rate(api_copy: Path, *, old: bool = False) -> tuple[float, int]:
    """Lines per second of the user path's filter over the API-format lines (in-process, best of 3);
    ``old``: the line-by-line path `read_logs` took before issue 15 (for comparison in the same run)."""
    from runbook_lib.kube import CHUNK
    from runbook_lib.logs.parse import filter_chunks, filter_lines, make_filter, split_lines

    flt = make_filter(kind="HelmRelease", name="kite", namespace="kube-system")
    total = sum(1 for _ in api_copy.open("rb"))
    best, found = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        with api_copy.open("rb") as fh:
            chunks = iter(partial(fh.read1, CHUNK), b"")
            lines = (
                filter_lines(split_lines(chunks), flt, stamped=True)
                if old
                else filter_chunks(chunks, flt, stamped=True)
            )
            found = sum(1 for _ in lines)
        best = min(best, time.perf_counter() - start)
    return total / best, found


def run_with_rss(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"✗ {' '.join(argv)} endete mit {proc.returncode}")
    return took, usage.ru_maxrss // 1024


def measure(cluster: RealCluster, runs: int, label: str, record: str, warmup: int = 1) -> None:
    env = cluster.env()
    params = ["-p", "kind", "HelmRelease", "-p", "name", "kite", "-p", "namespace", "kube-system"]
    ours = [RUNBOOK, "run", "logs", *params, "--quiet", "--output", record]
    flux = [cluster.flux, "logs", "--kind=HelmRelease", "--name=kite", "-n", "kube-system"]
    rss: list[int] = []

    def ours_once() -> float:
        took, peak = run_with_rss(ours, env)
        rss.append(peak)
        return took

    samples = interleaved(
        {"runbook run logs": ours_once, "flux logs": lambda: run_with_rss(flux, env)[0]}, runs, warmup=warmup
    )
    print(f"{label}:")
    for name, values in samples.items():
        print(f"  {name:20} {spread(values)}")
    ratio_line("runbook / flux logs", samples["runbook run logs"], samples["flux logs"], 1.0)
    print(f"  Spitzen-RSS von `runbook run logs`: {max(rss)} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="eine laufende echte Sandbox verwenden (ihr Log wächst)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="ungezählte Runden vor der Messung")
    parser.add_argument("--skip-quarter", action="store_true", help="nur die volle Zeilenzahl messen")
    args = parser.parse_args()
    print(load())
    with real_cluster(args.state) as cluster, tempfile.TemporaryDirectory() as tmp:
        state = Path(args.state) if args.state else cluster.kubeconfig.parent
        pod_log = state / "real" / "logs" / "pods" / "flux-system_helm-controller.log"
        api_copy, record = Path(tmp) / "api.log", str(Path(tmp) / "logs.ipynb")
        quarter = args.lines // 4
        kite = append_lines(pod_log, api_copy, quarter, seed=1)
        if not args.skip_quarter:
            what = f"{quarter:,} Zeilen im Log von helm-controller (davon {kite} zu kite)"
            measure(cluster, args.runs, what, record, args.warmup)
        kite += append_lines(pod_log, api_copy, args.lines - quarter, seed=2)
        measure(cluster, args.runs, f"{args.lines:,} Zeilen (davon {kite} zu kite)", record, args.warmup)
        print_phases(phases("logs", ["-p", "kind", "HelmRelease", "-p", "name", "kite"], cluster))
        rate, found = filter_rate(api_copy)
        met = "erfüllt" if rate >= 2_000_000 else "NICHT erfüllt"
        print(
            f"Filter des Nutzerpfads (filter_chunks, stamped): {rate:,.0f} Zeilen/s, {found} Treffer "
            f"(Ziel ≥ 2.000.000 Zeilen/s, {met})"
        )
        old_rate, old_found = filter_rate(api_copy, old=True)
        print(
            f"  zum Vergleich der Pfad vor Issue 15 (filter_lines je Zeile): {old_rate:,.0f} Zeilen/s, "
            f"{old_found} Treffer; neu/alt = {rate / old_rate:.1f}×"
        )
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
