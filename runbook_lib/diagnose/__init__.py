"""Troubleshooting: gathered state in, findings (cause, evidence, next step, command) out.

The guide's three troubleshooting cases, each as gather -> interpret -> render, one module per case
for gathering, state and ``diagnose_*`` (:mod:`.sync`, :mod:`.helmrelease`, :mod:`.certificates`) and
the pure rules in :mod:`.rules` (one module per thing that can be wrong; they never import a case
module). Shared pieces: :mod:`.gather` (reads with an error slot per link), :mod:`.common` (slots,
evidence lines, commands), :mod:`.model` (:class:`Finding`, :class:`FindingText`, :class:`Diagnosis`,
:class:`Summary`, :class:`Evidence`). Gathering only reads; it never changes the cluster.
"""

from runbook_lib.diagnose.certificates import CertificatesState, diagnose_certificates, gather_certificates
from runbook_lib.diagnose.helmrelease import (
    HelmReleaseState,
    diagnose_helmrelease,
    gather_helmrelease,
    troubleshoot_helmrelease,
)
from runbook_lib.diagnose.model import (
    ERROR,
    INFO,
    NO_PROBLEMS,
    WARNING,
    Diagnosis,
    Evidence,
    Finding,
    Summary,
)
from runbook_lib.diagnose.sync import SyncState, diagnose_sync, gather_sync, troubleshoot_sync

__all__ = [
    "ERROR",
    "INFO",
    "NO_PROBLEMS",
    "WARNING",
    "CertificatesState",
    "Diagnosis",
    "Evidence",
    "Finding",
    "HelmReleaseState",
    "Summary",
    "SyncState",
    "diagnose_certificates",
    "diagnose_helmrelease",
    "diagnose_sync",
    "gather_certificates",
    "gather_helmrelease",
    "gather_sync",
    "troubleshoot_helmrelease",
    "troubleshoot_sync",
]
