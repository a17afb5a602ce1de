"""Build, check and serve the German documentation site (not part of the installed library).

`tools/site.py` is the command line; `tools/mkdocs_hooks.py` plugs the generated parts into MkDocs.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"
# Executed copies of the runbooks, written by `tools/site.py build` (gitignored).
RUNBOOK_DOCS = DOCS / "runbooks"
MKDOCS_YML = ROOT / "mkdocs.yml"
DEFAULT_SITE = ROOT / "site"
# Failed executions are kept here for inspection (gitignored via build/).
FAILED_DIR = ROOT / "build" / "site-failed"


def link(target_doc: str, from_page: str, text: str) -> str:
    """A Markdown link from the page ``from_page`` to ``target_doc`` (both relative to docs/)."""
    rel = posixpath.relpath(target_doc, posixpath.dirname(from_page) or ".")
    return f"[{text}]({rel})"
