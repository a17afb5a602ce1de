"""The GitOps checkout: change YAML values with commit and push, roll back by revert or reset.

Public API::

    plan = plan_change(repo, file=..., set_values={"spec.values.image.tag": "v0.5.0"}, message=...)
    result = apply_change(plan)
    plan = plan_rollback(repo, commit="HEAD", reason="Login kaputt")
    result = apply_rollback(plan)

Plans are the dry run: they check the checkout (clean, expected branch, fetched, in sync with the
remote) and show the diff, the affected Flux objects and the exact git commands; they change nothing.
A push that does not land raises :class:`NotPushed` (:class:`PushRejected` or :class:`PushFailed`),
which names the local commit it kept and carries the "nicht gepusht" result as ``.result``.

Modules: ``change`` and ``rollback`` (types, plan, apply), ``history`` (which commits a rollback undoes
and the git sequences that undo them), ``repo`` (open, preflight, run git), ``push`` (push and its
German errors), ``edit`` (YAML values), ``affected`` (which Flux objects a change touches),
``message`` (commit message policy), ``render`` (shared rendering).
"""

from runbook_lib.errors import NotPushed, PushFailed, PushRejected
from runbook_lib.gitops.affected import (
    AffectedObject,
    FluxObject,
    affected_by,
    find_affected,
    scan_flux_objects,
)
from runbook_lib.gitops.change import ChangePlan, ChangeResult, apply_change, plan_change
from runbook_lib.gitops.edit import FieldEdit, YamlEdit, edit_yaml
from runbook_lib.gitops.message import check_message
from runbook_lib.gitops.render import CommitInfo
from runbook_lib.gitops.repo import Checkout, mask_secrets
from runbook_lib.gitops.rollback import RollbackPlan, RollbackResult, apply_rollback, plan_rollback

__all__ = [
    "AffectedObject",
    "ChangePlan",
    "ChangeResult",
    "Checkout",
    "CommitInfo",
    "FieldEdit",
    "FluxObject",
    "NotPushed",
    "PushFailed",
    "PushRejected",
    "RollbackPlan",
    "RollbackResult",
    "YamlEdit",
    "affected_by",
    "apply_change",
    "apply_rollback",
    "check_message",
    "edit_yaml",
    "find_affected",
    "mask_secrets",
    "plan_change",
    "plan_rollback",
    "scan_flux_objects",
]
