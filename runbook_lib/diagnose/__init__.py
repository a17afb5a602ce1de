"""Troubleshooting: gathered state in, findings (cause, evidence, next step, command) out.

The guide's three troubleshooting cases, each as gather -> interpret -> render:

* "Flux synchronisiert nicht": rules in :mod:`.sync`, :mod:`.kustomize`, :mod:`.workload`;
  :func:`gather_sync` and :func:`diagnose_sync` in :mod:`.sync_run`;
* "HelmRelease schlägt fehl": rules in :mod:`.helmrelease`, :mod:`.helmstorage`, :mod:`.workload`;
  :func:`gather_helmrelease` and :func:`diagnose_helmrelease` in :mod:`.helm_run`;
* "Zertifikats-Probleme": rules and :func:`diagnose_certificates` in :mod:`.certs`; gathering in
  :func:`runbook_lib.certs.gather_certificates`.

Result types live in :mod:`.model`: :class:`Finding`, :class:`Diagnosis` (``_repr_html_``/``__str__``),
:class:`Summary`, :class:`Evidence`. Gathering only reads; it never changes the cluster.
"""

from .certs import diagnose_certificates
from .helm_run import HelmReleaseState, diagnose_helmrelease, gather_helmrelease, troubleshoot_helmrelease
from .model import ERROR, INFO, NO_PROBLEMS, WARNING, Diagnosis, Evidence, Finding, Summary
from .sync_run import SyncState, diagnose_sync, gather_sync, troubleshoot_sync

__all__ = [
    "ERROR",
    "INFO",
    "NO_PROBLEMS",
    "WARNING",
    "Diagnosis",
    "Evidence",
    "Finding",
    "HelmReleaseState",
    "Summary",
    "SyncState",
    "diagnose_certificates",
    "diagnose_helmrelease",
    "diagnose_sync",
    "gather_helmrelease",
    "gather_sync",
    "troubleshoot_helmrelease",
    "troubleshoot_sync",
]
