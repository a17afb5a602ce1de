"""Ask Flux to act and wait for it: reconcile, suspend, resume, and the rollout check after a push.

- :mod:`.rules`: pure; the request token, the progress of a request, the ``--with-source`` chain;
- :mod:`.actions`: the requests themselves (reconcile, suspend, resume);
- :mod:`.wait`: reading, patching and watching one object until the request is done;
- :mod:`.rollout`: after a push, sync the affected objects and check that the commit arrived.
"""

from runbook_lib.reconcile.actions import (
    ReconcileResult,
    SuspendResult,
    reconcile,
    request_reconcile,
    resume,
    suspend,
)
from runbook_lib.reconcile.rollout import RolloutReport, roll_out

__all__ = [
    "ReconcileResult",
    "RolloutReport",
    "SuspendResult",
    "reconcile",
    "request_reconcile",
    "resume",
    "roll_out",
    "suspend",
]
