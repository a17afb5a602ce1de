#!/usr/bin/env python3
"""The documentation site: `python tools/site.py build | serve | demo` (see tools/runbook_site)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runbook_site.cli import main

if __name__ == "__main__":
    sys.exit(main())
