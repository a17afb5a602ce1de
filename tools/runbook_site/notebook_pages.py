"""Runbook pages that render as written: two faults of mkdocs-jupyter 0.27 worked around, tested.

1. With ``markdown_cell_processor: mkdocs`` the notebook's Markdown cells reach MkDocs only after
   nbconvert has put the whole page through BeautifulSoup: ``&&`` in a code block arrives as
   ``&amp;&amp;`` (and is shown, and copied, that way), ``<commit>`` becomes a lower-cased HTML element
   with an invented closing tag. The page is therefore built from a *guarded copy* of the notebook whose
   Markdown cells hold placeholders (:func:`guarded_copy`); :func:`restore` puts the original Markdown
   back before MkDocs renders it.
2. ``nb2html`` appends ``<style>{resources['inlining']['css']}</style>`` with a Python list repr, indented
   so that Markdown shows it as a code block at the end of every page; the styles it means are in the
   page already. :func:`restore` drops that block.

A notebook without an executed copy (plain ``mkdocs build``/``mkdocs serve``) gets the generated intro
with a note how to produce the outputs (:func:`guarded_copy` with ``intro``).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from runbook_lib.runner import Cell, parameters_index

from .intro import INTRO_TAG

#: what stands in a guarded Markdown cell instead of its source: no character BeautifulSoup changes
PLACEHOLDER = "RUNBOOKSITEMARKDOWNCELL{index:04d}"
_PLACEHOLDER = re.compile(r"RUNBOOKSITEMARKDOWNCELL(\d{4})")
#: the style block nb2html appends after the notebook (mkdocs_jupyter/nbconvert2.py, version 0.27.0)
_APPENDED_STYLE = re.compile(r"\n\s*<style>\s*\[.*?\]\s*</style>\s*$", re.DOTALL)


def insert_intro(nb: dict[str, Any], name: str, markdown: str) -> None:
    """Put the intro cell in front of the parameters cell (replacing an earlier one)."""
    cells = nb.setdefault("cells", [])
    cells[:] = [c for c in cells if INTRO_TAG not in (c.get("metadata") or {}).get("tags", [])]
    index = parameters_index([Cell.from_json(c) for c in cells])
    if index is None:
        index = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    cells.insert(
        index,
        {
            "cell_type": "markdown",
            "id": "site-" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:12],
            "metadata": {"tags": [INTRO_TAG]},
            "source": markdown,
        },
    )


def guarded_copy(source: Path, target: Path, *, intro: str | None = None) -> list[str]:
    """Write ``source`` to ``target`` with every Markdown cell replaced by a placeholder (after inserting
    ``intro``, when given); returns the original Markdown of the cells, in placeholder order."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    if intro is not None:
        insert_intro(nb, source.stem, intro)
    originals: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = cell.get("source", "")
            originals.append("".join(text) if isinstance(text, list) else str(text))
            cell["source"] = PLACEHOLDER.format(index=len(originals) - 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return originals


def restore(markdown: str, originals: list[str]) -> str:
    """The page as mkdocs-jupyter produced it from a guarded copy, with the Markdown cells back and
    without the appended style block."""
    markdown = _APPENDED_STYLE.sub("\n", markdown)
    return _PLACEHOLDER.sub(lambda m: originals[int(m.group(1))], markdown)
