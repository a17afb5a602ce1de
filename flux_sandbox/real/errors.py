"""The real engine's error: a German message and a next step, like every error of the project."""

from __future__ import annotations

from ._shared import RunbookError


class EngineError(RunbookError):
    """Starting or running the real engine failed (a component did not come up, a build is missing)."""
