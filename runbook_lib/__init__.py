"""Flux-Runbooks: the library behind the runbooks.

What the runbooks (notebooks) use is exported here, one import away::

    from runbook_lib import connect, cluster_info, summary, flux_get

Everything else is internal and may change. The names load lazily on first use, so
``import runbook_lib`` costs nothing (the ``runbook`` command starts fast, and a runbook pays only for
what it uses). Verbs follow the flux CLI: ``flux_get``/``flux_check``/``reconcile``/``suspend``/
``resume``/``events_for``/``read_logs``; the troubleshooting cases are ``gather_*`` then ``diagnose_*``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

#: public name -> (module, attribute); the one list of what notebooks may rely on
_EXPORTS: dict[str, tuple[str, str]] = {
    # connect, and know which cluster you are on
    "Cluster": ("runbook_lib.cluster", "Cluster"),
    "connect": ("runbook_lib.cluster", "connect"),
    "cluster_info": ("runbook_lib.check", "cluster_info"),
    "flux_check": ("runbook_lib.check", "check"),
    "confirm_target": ("runbook_lib.guard", "confirm_target"),
    "check_rights": ("runbook_lib.access", "check_rights"),
    # status (flux get)
    "flux_get": ("runbook_lib.status", "get"),
    "overview": ("runbook_lib.status", "overview"),
    "summary": ("runbook_lib.status", "summary"),
    "git_sync": ("runbook_lib.sources", "git_sync"),
    # act and wait (flux reconcile/suspend/resume), and the rollout check after a push
    "reconcile": ("runbook_lib.reconcile", "reconcile"),
    "request_reconcile": ("runbook_lib.reconcile", "request_reconcile"),
    "suspend": ("runbook_lib.reconcile", "suspend"),
    "resume": ("runbook_lib.reconcile", "resume"),
    "roll_out": ("runbook_lib.reconcile", "roll_out"),
    # logs and events
    "read_logs": ("runbook_lib.logs", "read_logs"),
    "plain_logs": ("runbook_lib.logs", "plain_logs"),
    "events_for": ("runbook_lib.events", "events_for"),
    # changes in Git
    "plan_change": ("runbook_lib.gitops", "plan_change"),
    "apply_change": ("runbook_lib.gitops", "apply_change"),
    "preview_change": ("runbook_lib.gitops.cluster_preview", "preview_change"),
    "plan_preview": ("runbook_lib.preview", "plan_preview"),
    "stop_if_test_branch": ("runbook_lib.gitops.branch", "stop_if_test_branch"),
    "merge_preview": ("runbook_lib.preview", "merge_preview"),
    "stop_before_merge": ("runbook_lib.preview", "stop_before_merge"),
    "plan_rollback": ("runbook_lib.gitops", "plan_rollback"),
    "apply_rollback": ("runbook_lib.gitops", "apply_rollback"),
    "stop_if_dry_run": ("runbook_lib.dryrun", "stop_if_dry_run"),
    # troubleshooting: gather, then diagnose
    "gather_sync": ("runbook_lib.diagnose", "gather_sync"),
    "diagnose_sync": ("runbook_lib.diagnose", "diagnose_sync"),
    "gather_helmrelease": ("runbook_lib.diagnose", "gather_helmrelease"),
    "diagnose_helmrelease": ("runbook_lib.diagnose", "diagnose_helmrelease"),
    "gather_certificates": ("runbook_lib.diagnose.certificates", "gather_certificates"),
    "diagnose_certificates": ("runbook_lib.diagnose", "diagnose_certificates"),
    # from the cluster to Git (flux trace plus the file and line)
    "trace": ("runbook_lib.trace", "trace"),
    # every cluster of a kubeconfig at once
    "fleet": ("runbook_lib.fleet", "fleet"),
    # Flux live for a while, and who would be told
    "watch": ("runbook_lib.watch", "watch_flux"),
    "notifications": ("runbook_lib.notify", "notifications"),
    # best practices of the guide, checked (issue 16)
    "audit": ("runbook_lib.audit", "audit"),
    # errors and settings
    "RunbookError": ("runbook_lib.errors", "RunbookError"),
    "UsageError": ("runbook_lib.errors", "UsageError"),
    "settings": ("runbook_lib.settings", "settings"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'runbook_lib' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Facade(types.ModuleType):
    """Keeps a public name bound to the library object. Importing a subpackage of the same name
    (``import runbook_lib.reconcile.actions``, ``runbook_lib.settings``) makes Python set the package
    attribute to the module; every later ``from runbook_lib import reconcile`` in that process (a
    runbook executed in-process after such an import) would then get the module, not the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade


def _kubernetes_lazily() -> None:
    """Let ``import kubernetes.client`` load only what it needs (issue 15).

    The package ``kubernetes`` imports every subpackage in its ``__init__`` (client, config, dynamic,
    stream, leaderelection, informer): a tenth of a second and more at every start of ``runbook``,
    although the library uses only ``client``, ``config`` and ``watch``. Registered before the first
    import, the package module is created without running its ``__init__``; its subpackages load on
    first use, by import or attribute (``kubernetes.dynamic`` still works). Nothing happens when
    ``kubernetes`` is already imported or not installed.
    """
    import importlib.util
    from pathlib import Path

    if "kubernetes" in sys.modules:
        return
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    try:  # the two names its __init__ defines besides the imports (kubernetes.dynamic reads one)
        source = Path(spec.origin or "").read_text(encoding="utf-8")
    except OSError:
        return
    for line in source.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key in ("__project__", "__version__"):
            setattr(package, key, value.strip().strip("'\""))

    def subpackage(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"kubernetes.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'kubernetes' has no attribute {name!r}") from None

    package.__getattr__ = subpackage  # type: ignore[method-assign]
    sys.modules["kubernetes"] = package


_kubernetes_lazily()


if TYPE_CHECKING:  # what type checkers and editors see; at run time the names load lazily
    from runbook_lib.access import check_rights as check_rights
    from runbook_lib.audit import audit as audit
    from runbook_lib.check import check as flux_check  # noqa: F401 (re-exported under its flux verb)
    from runbook_lib.check import cluster_info as cluster_info
    from runbook_lib.cluster import Cluster as Cluster
    from runbook_lib.cluster import connect as connect
    from runbook_lib.diagnose import diagnose_certificates as diagnose_certificates
    from runbook_lib.diagnose import diagnose_helmrelease as diagnose_helmrelease
    from runbook_lib.diagnose import diagnose_sync as diagnose_sync
    from runbook_lib.diagnose import gather_helmrelease as gather_helmrelease
    from runbook_lib.diagnose import gather_sync as gather_sync
    from runbook_lib.diagnose.certificates import gather_certificates as gather_certificates
    from runbook_lib.dryrun import stop_if_dry_run as stop_if_dry_run
    from runbook_lib.errors import RunbookError as RunbookError
    from runbook_lib.errors import UsageError as UsageError
    from runbook_lib.events import events_for as events_for
    from runbook_lib.fleet import fleet as fleet
    from runbook_lib.gitops import apply_change as apply_change
    from runbook_lib.gitops import apply_rollback as apply_rollback
    from runbook_lib.gitops import plan_change as plan_change
    from runbook_lib.gitops import plan_rollback as plan_rollback
    from runbook_lib.gitops.branch import stop_if_test_branch as stop_if_test_branch
    from runbook_lib.gitops.cluster_preview import preview_change as preview_change
    from runbook_lib.guard import confirm_target as confirm_target
    from runbook_lib.logs import plain_logs as plain_logs
    from runbook_lib.logs import read_logs as read_logs
    from runbook_lib.notify import notifications as notifications
    from runbook_lib.preview import merge_preview as merge_preview
    from runbook_lib.preview import plan_preview as plan_preview
    from runbook_lib.preview import stop_before_merge as stop_before_merge
    from runbook_lib.reconcile import reconcile as reconcile
    from runbook_lib.reconcile import request_reconcile as request_reconcile
    from runbook_lib.reconcile import resume as resume
    from runbook_lib.reconcile import roll_out as roll_out
    from runbook_lib.reconcile import suspend as suspend
    from runbook_lib.settings import settings as settings
    from runbook_lib.sources import git_sync as git_sync
    from runbook_lib.status import get as flux_get  # noqa: F401 (re-exported under its flux verb)
    from runbook_lib.status import overview as overview
    from runbook_lib.status import summary as summary
    from runbook_lib.trace import trace as trace
    from runbook_lib.watch import watch_flux as watch  # noqa: F401 (the module runbook_lib.watch is shadowed)
