"""Benchmark: `runbook run status` against `flux get all -A` (and `kubectl get <kinds> -A`) on the real
engine, whole processes, interleaved; at the 10 Flux objects of the guide's cluster and at scale.

Targets (docs/development.md, "Performance targets"): 10 objects ≤ 2.0× `flux get all -A`; 5,000
objects ≤ 1.0×, and the cost per object linear up to 20,000.

At scale the objects are created through the API of the real kube-apiserver (GitRepositories,
HelmRepositories, HelmCharts, Kustomizations, HelmReleases in 20 namespaces, each with a Ready
status written through the status subresource). The Flux controllers are stopped first: they would
otherwise reconcile thousands of objects pointing nowhere, and the statuses would change during the
measurement. The API server, its storage and both clients are the real ones.

    python bench/bench_status.py [--state DIR] [--runs N] [--sizes 1000,5000,20000]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
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
    timed,
    tool,
)

KINDS = "gitrepositories,helmrepositories,helmcharts,kustomizations,helmreleases,ocirepositories,buckets"
READY = {
    "type": "Ready",
    "status": "True",
    "reason": "Succeeded",
    "message": "bench",
    "lastTransitionTime": "2026-11-26T10:00:00Z",
}


def compare(cluster: RealCluster, runs: int, label: str, targets: float) -> tuple[float, float]:
    """Interleaved runs; returns (median ours, median flux)."""
    env = cluster.env()
    kubectl = tool("kubectl")
    with tempfile.TemporaryDirectory() as tmp:
        record = str(Path(tmp) / "status.ipynb")
        measures = {
            "runbook run status": lambda: timed(
                [RUNBOOK, "run", "status", "--quiet", "--output", record], env
            ),
            "flux get all -A": lambda: timed([cluster.flux, "get", "all", "-A"], env),
        }
        if kubectl:
            measures["kubectl get <Arten> -A"] = lambda: timed([kubectl, "get", KINDS, "-A"], env)
            measures["kubectl get <Arten> -A -o json"] = lambda: timed(
                [kubectl, "get", KINDS, "-A", "-o", "json"], env
            )
        samples = interleaved(measures, runs)
    print(f"{label}:")
    for name, values in samples.items():
        print(f"  {name:32} {spread(values)}")
    ours, flux = samples["runbook run status"], samples["flux get all -A"]
    ratio_line("runbook / flux get all -A", ours, flux, targets)
    if kubectl:
        print(
            f"  (zum Vergleich: runbook / kubectl get -A = "
            f"{statistics.median(ours) / statistics.median(samples['kubectl get <Arten> -A']):.2f}×, "
            f"/ kubectl -o json = "
            f"{statistics.median(ours) / statistics.median(samples['kubectl get <Arten> -A -o json']):.2f}×)"
        )
    return statistics.median(ours), statistics.median(flux)


def _bodies(i: int) -> tuple[str, str, str, dict, dict]:
    """(group/version, plural, namespace, object, status) of the i-th object."""
    ns, name = f"bench-{i % 20}", f"obj-{i}"
    sha = "a" * 40
    src = {"kind": "GitRepository", "name": "obj-0"}
    kinds = [
        (
            "source.toolkit.fluxcd.io/v1",
            "gitrepositories",
            "GitRepository",
            {"interval": "1h", "url": f"https://git.example/{name}.git", "ref": {"branch": "main"}},
            {
                "artifact": {
                    "revision": f"main@sha1:{sha}",
                    "path": "x",
                    "url": "http://x",
                    "digest": "sha256:" + "b" * 64,
                    "lastUpdateTime": "2026-11-26T10:00:00Z",
                }
            },
        ),
        (
            "source.toolkit.fluxcd.io/v1",
            "helmrepositories",
            "HelmRepository",
            {"interval": "1h", "url": "https://charts.example"},
            {},
        ),
        (
            "source.toolkit.fluxcd.io/v1",
            "helmcharts",
            "HelmChart",
            {
                "interval": "1h",
                "chart": name,
                "version": "1.0.0",
                "sourceRef": {"kind": "HelmRepository", "name": "obj-1"},
            },
            {},
        ),
        (
            "kustomize.toolkit.fluxcd.io/v1",
            "kustomizations",
            "Kustomization",
            {"interval": "1h", "path": f"./{name}", "prune": True, "sourceRef": src},
            {"lastAppliedRevision": f"main@sha1:{sha}"},
        ),
        (
            "helm.toolkit.fluxcd.io/v2",
            "helmreleases",
            "HelmRelease",
            {
                "interval": "1h",
                "chart": {"spec": {"chart": name, "sourceRef": {"kind": "HelmRepository", "name": "obj-1"}}},
            },
            {},
        ),
    ]
    api_version, plural, kind, spec, status = kinds[i % len(kinds)]
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}
    status = {**status, "observedGeneration": 1, "conditions": [READY]}
    return api_version, plural, ns, obj, status


def populate(cluster: RealCluster, start: int, stop: int) -> None:
    """Create objects ``start`` … ``stop - 1`` through the API, with a Ready status (8 in parallel)."""
    from kubernetes import client, config

    api = config.new_client_from_config(str(cluster.kubeconfig))
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    for i in range(20):
        try:
            core.create_namespace({"metadata": {"name": f"bench-{i}"}})
        except client.ApiException as exc:
            if exc.status != 409:
                raise

    def one(i: int) -> None:
        api_version, plural, ns, obj, status = _bodies(i)
        group, version = api_version.split("/")
        custom.create_namespaced_custom_object(group, version, ns, plural, obj)
        custom.patch_namespaced_custom_object_status(
            group, version, ns, plural, obj["metadata"]["name"], {"status": status}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(start, stop)))


def stop_controllers(cluster: RealCluster) -> None:
    engine = cluster.engine
    if engine is None:
        sys.exit("✗ Messung im großen Maßstab nur mit einer hier gestarteten Engine (ohne --state)")
    for name in ("source-controller", "kustomize-controller", "helm-controller"):
        engine.supervisor.stop(engine.procs[name])  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="eine laufende echte Sandbox verwenden (nur 10 Objekte)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--sizes", default="1000,5000", help="Objektzahlen im großen Maßstab, z. B. 1000,5000,20000"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(load())
    with real_cluster(args.state) as cluster:
        base = compare(cluster, args.runs, "10 Flux-Objekte (gesundes Szenario)", 2.0)
        print_phases(phases("status", [], cluster))
        if not sizes or args.state:
            return 0
        stop_controllers(cluster)
        points, done = [(10, *base)], 0
        for size in sizes:
            print(f"► lege {size - done} Objekte über die API an …", flush=True)
            populate(cluster, done, size)
            done = size
            ours, flux = compare(cluster, max(3, args.runs // 2), f"{size} Flux-Objekte (+10)", 1.0)
            print_phases(phases("status", [], cluster))
            points.append((size + 10, ours, flux))
        marginal = [
            (b[0], (b[1] - a[1]) / (b[0] - a[0]), (b[2] - a[2]) / (b[0] - a[0]))
            for a, b in itertools.pairwise(points)
        ]
        print(
            "Grenzkosten pro zusätzlichem Objekt (bis N): "
            + ", ".join(f"bis {n}: runbook {o * 1e6:.0f} µs, flux {f * 1e6:.0f} µs" for n, o, f in marginal)
        )
        if len(marginal) > 1:
            print(
                f"Linearität runbook: Grenzkosten bis {marginal[-1][0]} / bis {marginal[0][0]} = "
                f"{marginal[-1][1] / marginal[0][1]:.2f} (≈ 1: linear)"
            )
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
