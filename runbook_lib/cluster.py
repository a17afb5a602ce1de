"""Connect to a cluster from a kubeconfig and a context; know which cluster you are on.

Precedence (written down once, used everywhere): the call's argument, then the environment
(``RUNBOOK_KUBECONFIG``, ``RUNBOOK_CONTEXT``), then the kubeconfig's defaults (``KUBECONFIG`` or
``~/.kube/config`` and its current context).

Library functions take ``client: Cluster | None = None``; ``None`` means :func:`default_cluster`,
which connects from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from runbook_lib.errors import ClusterUnreachable, ConfigError, from_api_exception

#: seconds a single API request may take before the cluster counts as unreachable; an incident
#: needs a fast "cannot reach it", not a hanging cell
REQUEST_TIMEOUT = float(os.environ.get("RUNBOOK_REQUEST_TIMEOUT", "10"))


@dataclass
class Cluster:
    """An API connection plus what it points at (context name and server URL)."""

    api_client: k8s.ApiClient
    context: str
    server: str
    kubeconfig: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api_client)

    @cached_property
    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api_client)

    def describe(self) -> str:
        return f"Kontext '{self.context}' ({self.server})"

    def version(self) -> str:
        """The server's gitVersion; raises ClusterUnreachable with context and server in the message."""
        try:
            info = k8s.VersionApi(self.api_client).get_code(_request_timeout=REQUEST_TIMEOUT)
        except k8s.ApiException as exc:
            raise from_api_exception(exc, f"die Version des Clusters ({self.describe()})") from exc
        except Exception as exc:  # urllib3 connection errors come in many shapes
            raise ClusterUnreachable(
                f"Der Cluster ist nicht erreichbar: {self.describe()}.",
                "Läuft der Cluster bzw. die Sandbox (`runbook sandbox up --state DIR`)? "
                "Kubeconfig und Kontext prüfen (`kubectl config get-contexts`).",
            ) from exc
        return str(info.git_version)


def _resolve(kubeconfig: str | None, context: str | None) -> tuple[str | None, str | None]:
    kubeconfig = kubeconfig or os.environ.get("RUNBOOK_KUBECONFIG") or None
    context = context or os.environ.get("RUNBOOK_CONTEXT") or None
    return kubeconfig, context


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """Build a :class:`Cluster` from a kubeconfig file and context (see the module docstring)."""
    kubeconfig, context = _resolve(kubeconfig, context)
    path = os.path.expanduser(kubeconfig) if kubeconfig else None
    if path and not os.path.exists(path):
        raise ConfigError(
            f"Die Kubeconfig '{path}' existiert nicht.",
            "Pfad prüfen, oder für die Sandbox zuerst `runbook sandbox up --state DIR` starten "
            "und DIR/kubeconfig verwenden.",
        )
    try:
        contexts, active = k8s_config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError) as exc:
        raise ConfigError(
            f"Die Kubeconfig {path or os.environ.get('KUBECONFIG') or '~/.kube/config'} ist nicht lesbar "
            f"(fehlt oder ist leer): {exc}",
            "Mit `kubectl config view` prüfen oder `--kubeconfig PFAD` angeben.",
        ) from exc
    names = [c["name"] for c in contexts]
    chosen = context or (active or {}).get("name")
    if chosen not in names:
        import difflib

        close = difflib.get_close_matches(str(chosen), names, n=1)
        raise ConfigError(
            f"Der Kontext '{chosen}' steht nicht in der Kubeconfig {path or ''}".rstrip() + ".",
            (f"Meinten Sie '{close[0]}'? " if close else "")
            + f"Vorhandene Kontexte: {', '.join(names) or 'keine'}.",
        )
    try:
        api_client = k8s_config.new_client_from_config(config_file=path, context=chosen)
    except (ConfigException, OSError) as exc:
        raise ConfigError(
            f"Der Kontext '{chosen}' ist unvollständig: {exc}",
            "Cluster und Benutzer des Kontexts in der Kubeconfig prüfen.",
        ) from exc
    server = api_client.configuration.host
    return Cluster(api_client=api_client, context=str(chosen), server=server, kubeconfig=path)


def default_cluster(client: Cluster | None = None) -> Cluster:
    """``client`` if given, else a new connection from the environment (cheap: it only reads files)."""
    return client if client is not None else connect()
