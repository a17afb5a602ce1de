"""Benchmark: filter 1,000,000 Flux controller log lines by kind and name, against Debian's jq.

Run through ``nox -s bench`` (or directly: ``python bench/bench_logs.py [--lines N]``). It generates a
realistic log (four controllers, a few hundred objects, every level, both key layouts) in a temporary
folder, twice: as the controllers write it, and with the API server's timestamp before every line, as
``read_logs`` reads a pod log (``timestamps=true``). It measures lines per second of the path
``read_logs`` takes (the stream read in chunks of :data:`runbook_lib.kube.CHUNK`,
:func:`~runbook_lib.logs.parse.split_lines`, then ``filter_lines(..., stamped=True)``) for
``kind=HelmRelease name=kite``, times ``jq -c 'select(.name=="kite")'`` on the same lines without the
timestamps, and prints the ratio. Memory: peak RSS growth of the filter in a fresh process for 250k and
for 1M lines (flat growth means streaming). It only prints; it never fails the session.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

from runbook_lib.kube import CHUNK
from runbook_lib.logs.parse import filter_lines, make_filter, split_lines

JQ = "/usr/bin/jq"
SEED = 20240501

#: (controller, reconciler name, group, kind, messages per level)
CONTROLLERS = (
    (
        "source-controller",
        "gitrepository",
        "source.toolkit.fluxcd.io",
        "GitRepository",
        {
            "info": [
                "no changes since last reconcilation: observed revision 'main@sha1:{sha}'",
                "stored artifact for commit 'Merge pull request #{n} from team/feature'",
            ],
            "debug": ["fetched artifact from 'ssh://git@github.com/team/fleet.git'"],
            "error": ["failed to checkout and determine revision"],
        },
    ),
    (
        "source-controller",
        "helmchart",
        "source.toolkit.fluxcd.io",
        "HelmChart",
        {
            "info": [
                "artifact up-to-date with remote revision: '0.6.{n}'",
                "pulled 'kite' chart with version '0.6.3'",
            ],
            "debug": ["chart version '0.6.3' resolved"],
            "error": ["chart pull error: failed to get chart version for remote reference"],
        },
    ),
    (
        "kustomize-controller",
        "kustomization",
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        {
            "info": ["server-side apply completed", "Reconciliation finished in 1.{n}s, next run in 10m0s"],
            "debug": ["Source is not ready, artifact not found"],
            "error": ["Reconciliation failed after 3.{n}s, next try in 10m0s"],
        },
    ),
    (
        "helm-controller",
        "helmrelease",
        "helm.toolkit.fluxcd.io",
        "HelmRelease",
        {
            "info": ["release in-sync with desired state", "running 'upgrade' action with timeout of 5m0s"],
            "debug": ["reconcile request received"],
            "error": ["Reconciler error"],
        },
    ),
)
ERRORS = (
    "install retries exhausted",
    "context deadline exceeded",
    "authentication required: https://deploy:****@git.example.com/fleet.git",
)
LEVEL_WEIGHTS = (("info", 80), ("debug", 15), ("error", 5))


def _objects(rng: random.Random, count: int) -> list[tuple[str, str]]:
    namespaces = ["flux-system", "kube-system", "apps", "monitoring", "cert-manager", "team-a", "team-b"]
    names = [
        f"{w}-{i}"
        for i, w in enumerate(rng.choices(["api", "web", "db", "cache", "podinfo", "ingress"], k=count))
    ]
    return [("kube-system", "kite"), *((rng.choice(namespaces), n) for n in names)]


def _line(rng: random.Random, ts: float, ctrl: tuple, obj: tuple[str, str], old: bool) -> str:
    _, reconciler, group, kind, messages = ctrl
    level = rng.choices([lv for lv, _ in LEVEL_WEIGHTS], [w for _, w in LEVEL_WEIGHTS])[0]
    msg = rng.choice(messages[level]).format(sha=f"{rng.getrandbits(160):040x}", n=rng.randint(1, 99))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
    ns, name = obj
    err = f',"error":"{rng.choice(ERRORS)}"' if level == "error" else ""
    if old:
        return (
            f'{{"level":"{level}","ts":"{stamp}","logger":"controller.{reconciler}","msg":"{msg}",'
            f'"reconciler group":"{group}","reconciler kind":"{kind}","name":"{name}",'
            f'"namespace":"{ns}"{err}}}'
        )
    nested = kind[0].lower() + kind[1:]
    return (
        f'{{"level":"{level}","ts":"{stamp}","msg":"{msg}","controller":"{reconciler}",'
        f'"controllerGroup":"{group}","controllerKind":"{kind}","{nested}":{{"name":"{name}",'
        f'"namespace":"{ns}"}},"namespace":"{ns}","name":"{name}","reconcileID":"{uuid.UUID(int=rng.getrandbits(128))}"'
        f"{err}}}"
    )


def _api_stamp(ts: float) -> str:
    """The API server's ``timestamps=true`` prefix (RFC 3339 with nanoseconds), a little after ``ts``."""
    written = ts + 0.0004
    nanos = int(written * 1e9) % 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(written)) + f".{nanos:09d}Z"


def generate(plain: Path, stamped: Path, lines: int) -> int:
    """Write ``lines`` log lines to ``plain`` and, stamped, to ``stamped``; returns how many are
    HelmRelease kite lines."""
    rng = random.Random(SEED)
    objects = _objects(rng, 400)
    ts, expected = 1714566896.0, 0
    with plain.open("w", buffering=1 << 20) as fh, stamped.open("w", buffering=1 << 20) as st:
        for i in range(lines):
            ctrl = CONTROLLERS[i % len(CONTROLLERS)]
            obj = objects[0] if rng.random() < 0.02 else rng.choice(objects)
            if i % 500 == 0:
                line = (
                    f'{{"level":"info","ts":"{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))}",'
                    f'"msg":"Starting workers","controller":"{ctrl[1]}","worker count":4}}'
                )
            else:
                expected += obj == ("kube-system", "kite") and ctrl[3] == "HelmRelease"
                line = _line(rng, ts, ctrl, obj, old=i % 10 == 0)
                ts += 0.003
            fh.write(line + "\n")
            st.write(f"{_api_stamp(ts)} {line}\n")
    return expected


def run_filter(path: Path) -> tuple[int, float]:
    """Filter a stamped pod log the way ``read_logs`` does: chunks, lines, ``filter_lines``."""
    flt = make_filter(kind="HelmRelease", name="kite")
    start = time.perf_counter()
    with path.open("rb") as fh:
        chunks = iter(partial(fh.read1, CHUNK), b"")
        found = sum(1 for _ in filter_lines(split_lines(chunks), flt, stamped=True))
    return found, time.perf_counter() - start


def run_jq(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    out = subprocess.run([JQ, "-c", 'select(.name=="kite")', str(path)], check=True, capture_output=True)
    return out.stdout.count(b"\n"), time.perf_counter() - start


def rss_growth(path: Path) -> tuple[int, int]:
    """(peak RSS growth, peak RSS) in KiB of filtering ``path`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss", str(path)], check=True, capture_output=True, text=True
    )
    growth, peak = out.stdout.split()
    return int(growth), int(peak)


def _measure_rss(path: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_filter(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak - before, peak)


def _head(src: Path, dst: Path, lines: int) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        for i, line in enumerate(fin):
            if i >= lines:
                break
            fout.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rss", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss:
        _measure_rss(args.rss)
        return
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        plain, big, small = Path(tmp, "flux-1m.json"), Path(tmp, "flux-1m.log"), Path(tmp, "flux-250k.log")
        expected = generate(plain, big, args.lines)
        _head(big, small, args.lines // 4)
        size = big.stat().st_size / 1e6
        found, secs = run_filter(big)
        print(f"Datei: {args.lines:,} Zeilen, {size:.0f} MB; HelmRelease kite: {found} (erwartet {expected})")
        print(f"runbook_lib (wie read_logs): {secs:.2f} s = {args.lines / secs:,.0f} Zeilen/s")
        if shutil.which(JQ):
            jq_found, jq_secs = run_jq(plain)
            print(
                f"jq -c 'select(.name==\"kite\")': {jq_secs:.2f} s, {jq_found} Zeilen; "
                f"Verhältnis jq/runbook_lib = {jq_secs / secs:.1f}x"
            )
        else:
            print(f"{JQ} fehlt; kein Vergleich")
        (grow_small, peak_small), (grow_big, peak_big) = rss_growth(small), rss_growth(big)
        print(
            f"Speicher, Zuwachs des Spitzen-RSS beim Filtern: {args.lines // 4:,} Zeilen {grow_small} KiB "
            f"(Spitze {peak_small} KiB), {args.lines:,} Zeilen {grow_big} KiB (Spitze {peak_big} KiB)"
        )


if __name__ == "__main__":
    main()
