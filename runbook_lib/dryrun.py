"""The dry-run gate of runbooks that change something.

``stop_if_dry_run(dry_run)`` ends a papermill or ``runbook run`` execution cleanly (exit 0, the
remaining cells stay unexecuted) with ``SystemExit(0)``, which papermill does not count as an error.
"""

from __future__ import annotations

import sys


def stop_if_dry_run(dry_run: bool, *, apply_hint: str = "-p dry_run False") -> str:
    """Stop here in a dry run, saying that nothing changed and how to apply; else return a ► line."""
    if dry_run:
        sys.stdout.write(
            "✔ Probelauf beendet: nichts wurde geändert (dry_run = True).\n"
            f"  Zum Ausführen: den Parameter dry_run auf False setzen (`runbook run … {apply_hint}`).\n"
        )
        sys.stdout.flush()
        raise SystemExit(0)
    return "► dry_run = False: die Änderung wird jetzt ausgeführt."
