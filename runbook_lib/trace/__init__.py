"""``trace``: from any object in the cluster to the Flux object that manages it, its source and
revision, and the file and line in the GitOps checkout (like ``flux trace``, plus the line in Git)."""

from runbook_lib.trace.model import Link, Location, Trace
from runbook_lib.trace.walk import trace

__all__ = ["Link", "Location", "Trace", "trace"]
