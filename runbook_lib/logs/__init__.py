"""Controller logs: find the Flux controllers' pods, read and filter their JSON lines, render them.

- :mod:`.parse`: pure; zap JSON lines (both layouts), filters, the ``flux logs`` line format;
- :mod:`.read`: gathering from the cluster (pod discovery, streaming reads, bounded follow);
- :mod:`.view`: :class:`LogResult` and :class:`PlainLogs`, rendered for notebooks and terminals.
"""

from runbook_lib.logs.read import controller_pods, plain_logs, read_logs
from runbook_lib.logs.view import LogResult, PlainLogs

__all__ = ["LogResult", "PlainLogs", "controller_pods", "plain_logs", "read_logs"]
