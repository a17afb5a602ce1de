"""Helpers of the runbook tests: execute a notebook with papermill, read what its cells displayed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import papermill

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def run(notebook: str, tmp_path: Path, /, *, cwd: Path | None = None, **parameters: Any) -> dict[str, Any]:
    """Execute ``notebooks/<notebook>.ipynb`` with a kernel (as papermill users do) and return the
    executed notebook (JSON); raises ``PapermillExecutionError`` when a cell fails."""
    out = tmp_path / f"{notebook}.out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{notebook}.ipynb"),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(cwd) if cwd else None,
    )
    return dict(json.loads(out.read_text(encoding="utf-8")))


def code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def cell_text(cell: dict[str, Any]) -> str:
    """Everything a code cell displayed, as plain text (``text/plain`` outputs and streams)."""
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        parts.append("".join(data.get("text/plain", "")) + "".join(output.get("text", "")))
    return "\n".join(parts)


def notebook_text(nb: dict[str, Any]) -> str:
    """Everything the notebook displayed: streams, HTML and plain text, and error values."""
    parts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            data = output.get("data") or {}
            parts.append("".join(data.get("text/html", "")) + "".join(data.get("text/plain", "")))
            parts.append(output.get("evalue", ""))
    return "\n".join(parts)
