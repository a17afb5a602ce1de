"""Simulated controllers of the sandbox cluster, in-process threads over the Store.

``start(env)`` starts source-, kustomize-, helm-controller and cert-manager and returns a
:class:`Controllers` handle; ``flux_install.install(store)`` must have run first (the controllers log
to their Pods). Timing knobs live in :class:`~.base.Timing`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flux_sandbox.sim.controllers.base import ArtifactStorage, Controller, Env, Timing
from flux_sandbox.sim.controllers.certmanager import CertManagerController
from flux_sandbox.sim.controllers.helm import HelmController
from flux_sandbox.sim.controllers.kustomize import KustomizeController
from flux_sandbox.sim.controllers.source import SourceController

__all__ = ["ArtifactStorage", "Controllers", "Env", "Timing", "start"]


@dataclass(frozen=True)
class Controllers:
    items: tuple[Controller, ...]

    def get(self, name: str) -> Controller:
        """The controller whose Deployment is called ``name`` (``source-controller``)."""
        for ctrl in self.items:
            if ctrl.name == name:
                return ctrl
        raise KeyError(name)

    def stop(self) -> None:
        for ctrl in self.items:
            ctrl._stop.set()
        for ctrl in self.items:
            ctrl.stop()


def start(env: Env) -> Controllers:
    classes = (SourceController, KustomizeController, HelmController, CertManagerController)
    return Controllers(tuple(cls(env).start() for cls in classes))
