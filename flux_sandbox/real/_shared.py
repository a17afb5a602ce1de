"""Everything the real engine takes from the project and the simulated engine, in one place.

The scenarios' names and the GitOps repository are shared with the simulated engine.
"""

from __future__ import annotations

from flux_sandbox.sim.gitrepo import (
    BRANCH,
    HELMRELEASE,
    URL_PLACEHOLDER,
    GitOpsRepo,
    git,
    history,
    template_files,
)
from flux_sandbox.sim.scenarios import (
    CERTIFICATE,
    MISSING_CHART,
    MISSING_TAG,
    NEW_HOST,
    SCENARIOS,
    edit_yaml,
)
from runbook_lib.errors import RunbookError, UsageError

__all__ = [
    "BRANCH",
    "CERTIFICATE",
    "HELMRELEASE",
    "MISSING_CHART",
    "MISSING_TAG",
    "NEW_HOST",
    "SCENARIOS",
    "URL_PLACEHOLDER",
    "GitOpsRepo",
    "RunbookError",
    "UsageError",
    "edit_yaml",
    "git",
    "history",
    "template_files",
]
