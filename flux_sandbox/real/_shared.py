"""Everything the real engine takes from the project and the simulated engine, in one place.

At the merge (the simulated engine moves to ``flux_sandbox.sim``) only these imports change.
"""

from __future__ import annotations

from runbook_lib.errors import RunbookError, UsageError
from runbook_lib.sandbox.gitrepo import (
    BRANCH,
    HELMRELEASE,
    URL_PLACEHOLDER,
    GitOpsRepo,
    git,
    history,
    template_files,
)
from runbook_lib.sandbox.scenarios import (
    CERTIFICATE,
    MISSING_CHART,
    MISSING_TAG,
    NEW_HOST,
    SCENARIOS,
    edit_yaml,
)

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
