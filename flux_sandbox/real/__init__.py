"""The real engine of the sandbox: a real kube-apiserver with etcd, kube-controller-manager,
kube-scheduler and kwok (a node and the pod lifecycle without a kubelet), and the real Flux
controllers, built from pinned Go modules (:mod:`.versions`, :mod:`.build`) and run as local
processes (:mod:`.engine`)."""

from __future__ import annotations

import os


def serve(state_dir: str | os.PathLike[str], scenario: str = "healthy", port: int = 0) -> int:
    """What ``runbook sandbox up --engine real`` runs: the same contract as the simulated engine's
    ``serve`` (``ready:`` line, files in DIR, every child ended on SIGINT/SIGTERM)."""
    from .engine import serve as _serve

    return _serve(state_dir, scenario, port)
