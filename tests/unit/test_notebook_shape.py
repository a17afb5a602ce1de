"""Every runbook has the same shape (DESIGN.md "Runbooks"): checked for each notebooks/*.ipynb.

H1 title first, a "Wann verwenden" section, exactly one ``parameters`` cell whose assignments are all
typed and commented (with ``kubeconfig`` and ``kube_context``), no committed outputs, code cells that
call the library without loops, conditions or definitions, and a shell command shown in the Markdown
of every section with a step (a code cell that displays a value).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
#: statements and expressions that are logic, which belongs in runbook_lib
LOGIC = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.IfExp,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Try,
    ast.Lambda,
)
SHELL_BLOCK = re.compile(r"```(?:bash|sh|shell|console)\s*\n\s*\S", re.MULTILINE)


def source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def python(code: str) -> str:
    """IPython magics and shell escapes are not Python; blank them out before parsing."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def tags(cell: dict[str, Any]) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def sections(cells: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Split at every Markdown cell that starts a ``##`` section; each part keeps its Markdown cells too."""
    parts: list[tuple[str, list[dict[str, Any]]]] = [("(Anfang)", [])]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            heading = next((ln for ln in source(cell).splitlines() if ln.startswith("## ")), None)
            if heading:
                parts.append((heading, []))
        parts[-1][1].append(cell)
    return parts


def test_there_are_runbooks() -> None:
    assert any(p.stem == "status" for p in NOTEBOOKS)


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_h1_title_first(nb: dict[str, Any]) -> None:
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown"
    assert source(first).lstrip().startswith("# ")


def test_wann_verwenden_section(nb: dict[str, Any]) -> None:
    markdown = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"^#+ .*Wann verwenden", markdown, re.MULTILINE)


def test_exactly_one_parameters_cell_typed_and_commented(nb: dict[str, Any]) -> None:
    cells = [c for c in nb["cells"] if "parameters" in tags(c)]
    assert len(cells) == 1 and cells[0]["cell_type"] == "code"
    code = source(cells[0])
    comments = {
        t.start[0] for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT
    }
    names = []
    for node in ast.parse(code).body:
        assert isinstance(node, ast.AnnAssign), (
            f"Zeile {node.lineno}: Parameter ohne Typ: {ast.unparse(node)}"
        )
        assert isinstance(node.target, ast.Name) and node.value is not None
        assert node.lineno in comments, f"Parameter {node.target.id} ohne Kommentar"
        names.append(node.target.id)
    assert {"kubeconfig", "kube_context"} <= set(names)


def test_no_outputs_committed(nb: dict[str, Any]) -> None:
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None
    assert "papermill" not in nb.get("metadata", {})
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_code_cells_hold_no_logic(nb: dict[str, Any]) -> None:
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(python(source(cell)))
        logic = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, LOGIC)]
        assert not logic, f"Logik in einer Zelle ({', '.join(logic)}), gehört in runbook_lib:\n{source(cell)}"


def is_step(cell: dict[str, Any]) -> bool:
    """A code cell that shows something (its last statement is an expression); setup cells only import
    and connect, and need no shell equivalent."""
    if cell["cell_type"] != "code" or "parameters" in tags(cell):
        return False
    body = ast.parse(python(source(cell))).body
    return bool(body) and isinstance(body[-1], ast.Expr)


def test_every_section_with_code_shows_the_shell_command(nb: dict[str, Any]) -> None:
    for heading, cells in sections(nb["cells"]):
        if not any(is_step(c) for c in cells):
            continue
        markdown = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
        assert SHELL_BLOCK.search(markdown), (
            f"Abschnitt {heading!r}: kein Shell-Befehl (```bash) neben dem Code"
        )
