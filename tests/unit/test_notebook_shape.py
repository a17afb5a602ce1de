"""Every runbook has the same shape (docs/development.md, "Runbook shape"): checked for each
notebooks/*.ipynb, read through the library's own reader (``runner.Runbook``).

H1 title first, a "Wann verwenden" section, exactly one ``parameters`` cell whose assignments are all
typed and commented (with ``kubeconfig`` and ``kube_context``), no committed outputs, code cells that
call the library without loops, conditions or definitions, and a shell command shown in the Markdown
of every section with a step (a code cell that displays a value).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from runbook_lib.runner import Cell, Runbook

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


def python(code: str) -> str:
    """IPython magics and shell escapes are not Python; blank them out before parsing."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


def sections(cells: tuple[Cell, ...]) -> list[tuple[str, list[Cell]]]:
    """Split at every Markdown cell that starts a ``##`` section; each part keeps its Markdown cells too."""
    parts: list[tuple[str, list[Cell]]] = [("(Anfang)", [])]
    for cell in cells:
        if cell.type == "markdown":
            heading = next((ln for ln in cell.source.splitlines() if ln.startswith("## ")), None)
            if heading:
                parts.append((heading, []))
        parts[-1][1].append(cell)
    return parts


def test_there_are_runbooks() -> None:
    assert any(p.stem == "status" for p in NOTEBOOKS)


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request: pytest.FixtureRequest) -> Runbook:
    return Runbook.load(request.param)


def test_h1_title_first(nb: Runbook) -> None:
    first = nb.cells[0]
    assert first.type == "markdown"
    assert first.source.lstrip().startswith("# ")


def test_wann_verwenden_section(nb: Runbook) -> None:
    markdown = "\n".join(c.source for c in nb.cells if c.type == "markdown")
    assert re.search(r"^#+ .*Wann verwenden", markdown, re.MULTILINE)


def test_exactly_one_parameters_cell_typed_and_commented(nb: Runbook) -> None:
    cells = [c for c in nb.cells if "parameters" in c.tags]
    assert len(cells) == 1 and cells[0].type == "code"
    code = cells[0].source
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


def test_no_outputs_committed(nb: Runbook) -> None:
    for cell in nb.cells:
        if cell.type == "code":
            assert cell.raw.get("outputs") == [] and cell.raw.get("execution_count") is None
    assert "papermill" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_code_cells_hold_no_logic(nb: Runbook) -> None:
    for cell in nb.cells:
        if cell.type != "code":
            continue
        tree = ast.parse(python(cell.source))
        logic = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, LOGIC)]
        assert not logic, f"Logik in einer Zelle ({', '.join(logic)}), gehört in runbook_lib:\n{cell.source}"


def is_step(cell: Cell) -> bool:
    """A code cell that shows something (its last statement is an expression); setup cells only import
    and connect, and need no shell equivalent."""
    if cell.type != "code" or "parameters" in cell.tags:
        return False
    body = ast.parse(python(cell.source)).body
    return bool(body) and isinstance(body[-1], ast.Expr)


def test_every_section_with_code_shows_the_shell_command(nb: Runbook) -> None:
    for heading, cells in sections(nb.cells):
        if not any(is_step(c) for c in cells):
            continue
        markdown = "\n".join(c.source for c in cells if c.type == "markdown")
        assert SHELL_BLOCK.search(markdown), (
            f"Abschnitt {heading!r}: kein Shell-Befehl (```bash) neben dem Code"
        )


#: facade functions that change the cluster or the GitOps repository
CHANGES = frozenset(
    {"reconcile", "request_reconcile", "suspend", "resume", "roll_out", "apply_change", "apply_rollback"}
)


def test_says_whether_it_only_reads(nb: Runbook) -> None:
    """``metadata.runbook.read_only`` is declared (``runbook smoke`` runs the read-only ones), and a
    read-only runbook neither calls a facade function that changes something nor has a dry run."""
    declared = nb.settings.get("read_only")
    assert isinstance(declared, bool), "metadata.runbook.read_only (true/false) fehlt"
    used = {
        alias.name
        for cell in nb.cells
        if cell.type == "code"
        for node in ast.walk(ast.parse(python(cell.source)))
        if isinstance(node, ast.ImportFrom) and node.module == "runbook_lib"
        for alias in node.names
    }
    if declared:
        assert not used & CHANGES, f"liest nur, ruft aber {sorted(used & CHANGES)} auf"
        assert nb.parameter("dry_run") is None
    else:
        assert used & CHANGES, "ändert nichts: metadata.runbook.read_only sollte true sein"
