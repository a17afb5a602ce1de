"""Connect to a cluster from a kubeconfig and a context; know which cluster you are on.

Precedence (written down once, implemented once in :func:`resolve_target`): the call's argument, then
the environment (``RUNBOOK_KUBECONFIG``, ``RUNBOOK_CONTEXT``, read through
:class:`runbook_lib.settings.Settings`), then the kubeconfig's defaults (``KUBECONFIG`` or
``~/.kube/config`` and its current context). ``runbook run`` checks the target before a cell runs;
:func:`connect` resolves it the same way and then builds the client. A bad kubeconfig or context is a
:class:`UsageError` on both paths (exit code 2).

Library functions take ``client: Cluster | None = None``; ``None`` means :func:`default_cluster`,
which connects from the environment. The kubernetes client is imported on first connect only, so the
``runbook`` command can check a kubeconfig without paying for it.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_lib.errors import ConfigError, UsageError
from runbook_lib.settings import Settings

if TYPE_CHECKING:
    from kubernetes import client as k8s

#: kubectl's kubeconfig when neither an argument nor ``KUBECONFIG`` names one
DEFAULT_KUBECONFIG = "~/.kube/config"


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster a kubeconfig and context point at, read from the file (no connection made)."""

    #: the chosen context; empty when no kubeconfig was found and none was asked for
    context: str
    server: str
    #: the kubeconfig file given (argument or ``RUNBOOK_KUBECONFIG``), expanded; None: kubectl's defaults
    kubeconfig: str | None = None

    def describe(self) -> str:
        if not self.context:
            return "unbekannt (keine Kubeconfig gefunden)"
        return f"Kontext '{self.context}' ({self.server or 'Server unbekannt'})"


def _kubeconfig_files(given: str | None) -> list[Path]:
    if given:
        return [Path(given).expanduser()]
    if os.environ.get("KUBECONFIG"):
        return [Path(p).expanduser() for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(DEFAULT_KUBECONFIG).expanduser()]


class _NotAKubeconfig(ValueError):
    """A file that parses as YAML but does not have a kubeconfig's shape (message in German)."""


def _kind_of(value: object) -> str:
    return {
        list: "eine Liste",
        str: "ein Text",
        int: "eine Zahl",
        float: "eine Zahl",
        bool: "ein Wahrheitswert",
    }.get(type(value), type(value).__name__)


def _entries(data: dict, field: str) -> list[dict]:
    """``clusters``/``contexts`` as a list of mappings with a ``name``; _NotAKubeconfig otherwise."""
    items = data.get(field) or []
    if not isinstance(items, list):
        raise _NotAKubeconfig(f"`{field}` ist {_kind_of(items)}, erwartet eine Liste")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _NotAKubeconfig(f"ein Eintrag in `{field}` hat keinen Namen (`name:`)")
        if not isinstance(item.get(field[:-1]) or {}, dict):
            raise _NotAKubeconfig(f"`{field[:-1]}` von '{item['name']}' ist keine Zuordnung")
    return items


def _load_kubeconfigs(files: list[Path]) -> tuple[str, dict[str, str]]:
    """(current context, context name -> server URL), merged like kubectl (first file wins)."""
    import yaml

    current, servers = "", {}  # type: tuple[str, dict[str, str]]
    for path in files:
        if not path.is_file():
            continue
        data = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
        if data is None:  # an empty file is an empty kubeconfig, as for kubectl
            continue
        if not isinstance(data, dict):
            raise _NotAKubeconfig(
                f"der Inhalt ist {_kind_of(data)}, erwartet eine Zuordnung (`apiVersion: v1`, …)"
            )
        clusters = {
            c["name"]: str((c.get("cluster") or {}).get("server") or "") for c in _entries(data, "clusters")
        }
        for ctx in _entries(data, "contexts"):
            servers.setdefault(ctx["name"], clusters.get((ctx.get("context") or {}).get("cluster"), ""))
        current = current or str(data.get("current-context") or "")
    return current, servers


def resolve_target(kubeconfig: str | None = None, context: str | None = None) -> KubeTarget:
    """The kubeconfig file and context to use (see the module docstring), checked against the file.

    Raises :class:`UsageError` naming the file and the contexts it has when the file is missing or
    unreadable, or the context is not in it. Without any kubeconfig and context the target is empty
    (:meth:`KubeTarget.describe` says so); :func:`connect` refuses it.
    """
    env = Settings.from_env()
    given = kubeconfig or env.kubeconfig
    files = _kubeconfig_files(given)
    if given and files[0].is_dir():
        raise UsageError(
            f"Die Kubeconfig '{given}' ist ein Verzeichnis.",
            "Den Pfad der Datei angeben, z. B. DIR/kubeconfig der Sandbox oder ~/.kube/config.",
        )
    if given and not files[0].is_file():
        raise UsageError(
            f"Die Kubeconfig '{given}' existiert nicht.",
            "Pfad prüfen; für die Sandbox: `runbook sandbox up --state DIR`, dann DIR/kubeconfig.",
        )
    import yaml

    try:
        current, servers = _load_kubeconfigs(files)
    except _NotAKubeconfig as exc:
        raise UsageError(
            f"Die Datei {', '.join(map(str, files))} ist keine gültige Kubeconfig: {exc}.",
            "Die richtige Datei angeben (`--kubeconfig PFAD`) oder sie mit `kubectl config view` prüfen.",
        ) from exc
    except (OSError, ValueError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())[:300]
        why = "kein gültiges YAML" if isinstance(exc, yaml.YAMLError) else "kein UTF-8-Text oder nicht lesbar"
        raise UsageError(
            f"Die Kubeconfig {', '.join(map(str, files))} ist nicht lesbar ({why}): {detail}",
            "Die richtige Datei angeben (`--kubeconfig PFAD`) oder sie mit `kubectl config view` prüfen.",
        ) from exc
    chosen = context or env.context or current
    where = given or os.pathsep.join(map(str, files))
    if chosen and not servers:
        raise UsageError(
            f"Der Kontext '{chosen}' ist nicht verfügbar: keine Kubeconfig gefunden ({where}).",
            "Mit `--kubeconfig PFAD` (im Notebook: Parameter kubeconfig) eine Kubeconfig angeben.",
        )
    if chosen and chosen not in servers:
        close = difflib.get_close_matches(chosen, list(servers), n=1)
        guess = f"Meinten Sie '{close[0]}'? " if close else ""
        known = ", ".join(f"'{n}' ({s})" for n, s in sorted(servers.items()))
        raise UsageError(
            f"Der Kontext '{chosen}' steht nicht in der Kubeconfig {where}.",
            f"{guess}Vorhandene Kontexte: {known}. Mit `--context NAME` (im Notebook: Parameter "
            "kube_context) wählen.",
        )
    return KubeTarget(chosen or "", servers.get(chosen or "", ""), str(files[0]) if given else None)


@dataclass
class Cluster:
    """An API connection plus what it points at (context name and server URL)."""

    api_client: k8s.ApiClient
    context: str
    server: str
    kubeconfig: str | None = None

    @cached_property
    def core(self) -> k8s.CoreV1Api:
        from kubernetes import client as k8s

        return k8s.CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> k8s.AppsV1Api:
        from kubernetes import client as k8s

        return k8s.AppsV1Api(self.api_client)

    @cached_property
    def custom(self) -> k8s.CustomObjectsApi:
        from kubernetes import client as k8s

        return k8s.CustomObjectsApi(self.api_client)

    def describe(self) -> str:
        return f"Kontext '{self.context}' ({self.server})"


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """Build a :class:`Cluster` for :func:`resolve_target`'s kubeconfig and context."""
    target = resolve_target(kubeconfig, context)
    if not target.context:
        raise UsageError(
            f"Keine Kubeconfig gefunden ({os.environ.get('KUBECONFIG') or DEFAULT_KUBECONFIG}).",
            "Mit `--kubeconfig PFAD` (im Notebook: Parameter kubeconfig) eine Kubeconfig angeben, oder für "
            "die Sandbox `runbook sandbox up --state DIR` starten und DIR/kubeconfig verwenden.",
        )
    import yaml
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    try:
        configuration = type.__call__(k8s.Configuration)  # as new_client_from_config builds it
        k8s_config.load_kube_config(
            config_file=target.kubeconfig,
            context=target.context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError) as exc:
        # the client's loader fails in many shapes on a malformed user or cluster entry
        raise ConfigError(
            f"Der Kontext '{target.context}' ist unvollständig: {exc}",
            "Cluster und Benutzer des Kontexts in der Kubeconfig prüfen.",
        ) from exc
    # no urllib3 retries: they would retry a read timeout three times; runbook_lib.kube retries itself
    configuration.retries = False
    api_client = k8s.ApiClient(configuration=configuration)
    server = api_client.configuration.host
    return Cluster(api_client=api_client, context=target.context, server=server, kubeconfig=target.kubeconfig)


def default_cluster(client: Cluster | None = None) -> Cluster:
    """``client`` if given, else a new connection from the environment (cheap: it only reads files)."""
    return client if client is not None else connect()
