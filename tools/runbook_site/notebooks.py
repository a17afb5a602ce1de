"""What the site needs to know about a runbook, read through the library's own reader
(:class:`runbook_lib.runner.Runbook`, what `runbook show` and `runbook run` use), so the site's tables and
the CLI always agree: discovery in workflow order, title, the "Wann verwenden" summary, the parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib import runner

from . import NOTEBOOKS

# The order of the guide's workflow; runbooks not listed here follow alphabetically.
ORDER = (
    "status",
    "sync",
    "logs",
    "change",
    "rollback",
    "troubleshoot-sync",
    "troubleshoot-helmrelease",
    "troubleshoot-certificates",
)
# Parameters that every runbook has and that the CLI fills from --kubeconfig / --context.
CONNECTION_PARAMS = {"kubeconfig": "--kubeconfig", "kube_context": "--context"}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str | None  # annotation source text, e.g. "str | None"
    default: str | None  # default as source text, e.g. '"kite"'
    help: str


@dataclass(frozen=True)
class Runbook:
    name: str
    path: Path
    title: str
    summary: str
    parameters: tuple[Parameter, ...]
    #: the notebook's ``metadata.runbook`` settings (e.g. ``site_scenario``)
    settings: dict[str, Any]

    @property
    def doc_path(self) -> str:
        """Path of the runbook page relative to docs/."""
        return f"runbooks/{self.name}.ipynb"


def sort_key(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def discover(directory: Path = NOTEBOOKS) -> list[Runbook]:
    """Every `*.ipynb` in `directory` (checkpoints and hidden files excluded), in workflow order."""
    if not directory.is_dir():
        return []
    paths = [p for p in directory.glob("*.ipynb") if not p.name.startswith((".", "_"))]
    return [read_runbook(p) for p in sorted(paths, key=lambda p: sort_key(p.stem))]


def read_runbook(path: Path) -> Runbook:
    book = runner.Runbook.load(path)
    settings = book.metadata.get("runbook")
    return Runbook(
        name=book.name,
        path=path,
        title=book.title or path.stem,
        summary=summary_of(c.source for c in book.cells if c.type == "markdown"),
        parameters=tuple(
            Parameter(name=p.name, type=p.type or None, default=p.default or None, help=p.help)
            for p in book.parameters
        ),
        settings=dict(settings) if isinstance(settings, dict) else {},
    )


_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def summary_of(markdown_cells: Iterable[str]) -> str:
    """The first paragraph under the "Wann verwenden" heading, as one line of Markdown."""
    collecting = False
    lines: list[str] = []
    for source in markdown_cells:
        for line in source.splitlines():
            heading = _HEADING.match(line)
            if heading:
                if collecting:
                    return _first_paragraph(lines)
                collecting = "wann verwenden" in heading.group(2).lower()
            elif collecting:
                lines.append(line)
    return _first_paragraph(lines)


_BULLET = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")


def _first_paragraph(lines: list[str]) -> str:
    """The first paragraph; for a list, its first item."""
    para: list[str] = []
    for line in lines:
        if not line.strip():
            if para:
                break
            continue
        bullet = _BULLET.match(line)
        if bullet:
            if para:
                break
            para.append(line[bullet.end() :].strip())
            continue
        para.append(line.strip())
    text = " ".join(para).rstrip(";,: ")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
