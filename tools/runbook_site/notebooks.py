"""What the site needs to know about a runbook, read from the notebook itself.

Discovery, title, the "Wann verwenden" summary and the parameters cell (parsed with ``ast`` and
``tokenize``: ``name: str = "kite"  # Name des HelmRelease`` gives name, type, default and help).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    @property
    def doc_path(self) -> str:
        """Path of the runbook page relative to docs/."""
        return f"runbooks/{self.name}.ipynb"


def cell_source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def sort_key(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def discover(directory: Path = NOTEBOOKS) -> list[Runbook]:
    """Every `*.ipynb` in `directory` (checkpoints and hidden files excluded), in workflow order."""
    if not directory.is_dir():
        return []
    paths = [p for p in directory.glob("*.ipynb") if not p.name.startswith((".", "_"))]
    return [read_runbook(p) for p in sorted(paths, key=lambda p: sort_key(p.stem))]


def read_runbook(path: Path) -> Runbook:
    nb = load(path)
    return Runbook(
        name=path.stem,
        path=path,
        title=title_of(nb) or path.stem,
        summary=summary_of(nb),
        parameters=tuple(parse_parameters(parameters_source(nb))),
    )


def title_of(nb: dict[str, Any]) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for line in cell_source(cell).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def summary_of(nb: dict[str, Any]) -> str:
    """The first paragraph under the "Wann verwenden" heading, as one line of Markdown."""
    collecting = False
    lines: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for line in cell_source(cell).splitlines():
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


def parameters_cell_index(nb: dict[str, Any]) -> int | None:
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def parameters_source(nb: dict[str, Any]) -> str:
    index = parameters_cell_index(nb)
    return "" if index is None else cell_source(nb["cells"][index])


def parse_parameters(source: str) -> list[Parameter]:
    """Top-level assignments of a parameters cell, with the trailing comment as help text.

    Uses runbook_lib.params (what `runbook show` and `runbook run` use) when it is importable, so the
    site's table and the CLI always agree; the local parser below is the fallback.
    """
    if not source.strip():
        return []
    try:
        from runbook_lib.params import parse_parameters as library_parse
    except ImportError:
        return _parse_parameters(source)
    return [
        Parameter(name=p.name, type=p.type or None, default=p.default or None, help=p.help)
        for p in library_parse(source)
    ]


def _parse_parameters(source: str) -> list[Parameter]:
    tree = ast.parse(source)
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    params: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            name, annotation, value = node.targets[0].id, None, node.value
        else:
            continue
        default = ast.get_source_segment(source, value) if value is not None else None
        help_text = comments.get(node.end_lineno or node.lineno, "")
        params.append(Parameter(name=name, type=annotation, default=default, help=help_text))
    return params
