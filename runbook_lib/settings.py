"""Settings in one place, read once; the precedence is written down here.

For every setting: the call's argument wins, then the ``RUNBOOK_*`` environment variable, then the
default below. :func:`settings` reads the environment once per process (one ``runbook run`` is one process;
tests that change the environment build their own ``Settings.from_env(env)``). The kubeconfig and the
context follow the same order and end at the kubeconfig's own defaults (``KUBECONFIG`` or
``~/.kube/config`` and its current context); :func:`runbook_lib.cluster.resolve_target` resolves them,
reading ``Settings.from_env()`` each time (a notebook may set ``RUNBOOK_CONTEXT`` after the first call).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from runbook_lib.errors import UsageError

#: the label every Flux controller Deployment and CRD carries (flux2 manifests/install/labels.yaml); not a
#: setting: Flux's install fixes it, and ``flux check``/``flux logs`` select by it
PART_OF_FLUX = "app.kubernetes.io/part-of=flux"


@dataclass(frozen=True)
class Settings:
    """Defaults of the library, each with the reason for its value."""

    #: where ``flux install`` puts the controllers and the root GitRepository/Kustomization
    #: (``flux --namespace`` default); ``RUNBOOK_FLUX_NAMESPACE``
    flux_namespace: str = "flux-system"
    #: seconds one API request may take before the cluster counts as unreachable: an incident needs a
    #: fast "cannot reach it", not a hanging cell; ``RUNBOOK_REQUEST_TIMEOUT``
    request_timeout: float = 10.0
    #: how often a read that failed with 429, a 5xx or a broken connection is tried again (runbook_lib.kube):
    #: three retries ride out a restarting API server or a short overload (about 2 s of waiting in
    #: all) without hiding a cluster that is really gone; ``RUNBOOK_RETRIES``
    retries: int = 3
    #: seconds before the first retry, doubled for each further one (with jitter): short enough that
    #: a blip costs a quarter second; ``RUNBOOK_RETRY_BACKOFF``
    retry_backoff: float = 0.25
    #: the context that runbooks which change something expect (``expected_context`` parameter wins);
    #: outside the sandbox they refuse to change a cluster whose context is a different one;
    #: ``RUNBOOK_EXPECTED_CONTEXT``
    expected_context: str | None = None
    #: seconds a git fetch or push may take: long enough for a slow remote, short enough that a hung
    #: credential prompt or network does not block a runbook forever; ``RUNBOOK_NETWORK_TIMEOUT``
    network_timeout: float = 120.0
    #: how long a reconcile waits for the controller by default: ``flux reconcile``'s own ``--timeout``
    #: default (5m); ``RUNBOOK_RECONCILE_TIMEOUT``
    reconcile_timeout: str = "5m"
    #: the shortest window of controller logs a diagnosis reads: a failure is usually retried within an
    #: hour, so an hour shows at least one attempt; ``RUNBOOK_MIN_LOG_WINDOW``
    min_log_window: str = "1h"
    #: kubeconfig file (``--kubeconfig``/the runbook's ``kubeconfig`` parameter win); ``RUNBOOK_KUBECONFIG``
    kubeconfig: str | None = None
    #: kubeconfig context (``--context``/``kube_context`` win); ``RUNBOOK_CONTEXT``
    context: str | None = None
    #: the team's own runbook folders, searched before the runbooks shipped with the package
    #: (``--runbooks`` wins); ``RUNBOOK_NOTEBOOKS``, several separated by ``os.pathsep`` (``:``)
    notebooks: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by the ``RUNBOOK_*`` variables that are set (and not empty)."""
        env = os.environ if environ is None else environ
        base = cls()

        def get(name: str, default: str | None) -> str | None:
            return env.get(f"RUNBOOK_{name}") or default

        def number[N: (int, float)](name: str, kind: type[N], default: N) -> N:
            """A positive number from RUNBOOK_<name> (zero allowed for counts), else UsageError."""
            raw = get(name, None)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or value < 0 or (kind is float and not 0 < value < float("inf")):
                what = "eine ganze Zahl ab 0" if kind is int else "eine Zahl größer 0 (Sekunden)"
                raise UsageError(
                    f"Die Umgebungsvariable RUNBOOK_{name}={raw!r} ist ungültig: erwartet {what}.",
                    f"RUNBOOK_{name} berichtigen oder entfernen (Standard: {default}).",
                )
            return value

        return cls(
            flux_namespace=get("FLUX_NAMESPACE", base.flux_namespace) or base.flux_namespace,
            request_timeout=number("REQUEST_TIMEOUT", float, base.request_timeout),
            network_timeout=number("NETWORK_TIMEOUT", float, base.network_timeout),
            retries=number("RETRIES", int, base.retries),
            retry_backoff=number("RETRY_BACKOFF", float, base.retry_backoff),
            expected_context=get("EXPECTED_CONTEXT", None),
            reconcile_timeout=get("RECONCILE_TIMEOUT", base.reconcile_timeout) or base.reconcile_timeout,
            min_log_window=get("MIN_LOG_WINDOW", base.min_log_window) or base.min_log_window,
            kubeconfig=get("KUBECONFIG", None),
            context=get("CONTEXT", None),
            notebooks=tuple(p for p in (get("NOTEBOOKS", "") or "").split(os.pathsep) if p),
        )


@functools.cache
def settings() -> Settings:
    """The process's settings: :meth:`Settings.from_env` of the environment at first use."""
    return Settings.from_env()
