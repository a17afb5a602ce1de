"""`runbook run`'s in-process path writes the record papermill writes (issue 15: without papermill).

The same notebook is executed by papermill (with the in-process engine of the papermill plugin) and
by `runbook_lib.notebook_exec`; the two files must be equal except for times and random cell ids.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from runbook_lib import notebook_exec
from runbook_lib.papermill_plugin import register_engine, register_translator

PARAMS = {"name": 'ki"te', "count": 3, "ratio": 0.5, "flag": True, "nothing": None, "items": ["a", {"b": 1}]}


def _notebook(path: Path, *, fail: bool, minor: int = 4) -> Path:
    cells = [
        new_markdown_cell("# Titel\n\n## Schritt"),
        new_code_cell('name = "x"\ncount = 1', metadata={"tags": ["parameters"]}),
        new_code_cell("print('eins')\nprint('zwei')\nimport sys; print('fehler', file=sys.stderr)"),
        new_code_cell(
            "from IPython.display import HTML, display\ndisplay(HTML('<b>a</b>\\n<i>b</i>'))\n1 + count"
        ),
        new_code_cell("raise ValueError('kaputt')" if fail else "None"),
        new_code_cell("after = 1"),
    ]
    nb = new_notebook(cells=cells)
    nb.nbformat_minor = minor
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _normalized(path: Path) -> dict[str, Any]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    times = ("start_time", "end_time", "duration")

    def scrub(meta: dict[str, Any]) -> None:
        for key in times:
            if meta.get(key) is not None:
                meta[key] = "<set>"

    scrub(nb["metadata"]["papermill"])
    nb["metadata"]["papermill"].pop("output_path")
    nb["metadata"].pop("orig_nbformat_minor", None)
    for cell in nb["cells"]:
        cell["id"] = "<id>"
        scrub(cell["metadata"].get("papermill", {}))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = "<tb>"
    return nb


def _papermill(src: Path, out: Path) -> None:
    register_engine()
    register_translator()
    papermill.execute_notebook(
        str(src),
        str(out),
        parameters=PARAMS,
        engine_name="inprocess",
        progress_bar=False,
        kernel_name="python3",
    )


@pytest.mark.parametrize("minor", [4, 5])
def test_record_equals_papermills(tmp_path: Path, minor: int) -> None:
    src = _notebook(tmp_path / "nb.ipynb", fail=False, minor=minor)
    _papermill(src, tmp_path / "pm.ipynb")
    notebook_exec.execute_notebook(src, tmp_path / "ours.ipynb", PARAMS)
    ours, theirs = _normalized(tmp_path / "ours.ipynb"), _normalized(tmp_path / "pm.ipynb")
    assert ours == theirs
    injected = ours["cells"][2]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "".join(injected["source"]).startswith('# Parameters\nname = "ki\\"te"\ncount = 3\n')


def test_failure_writes_markers_and_raises_like_papermill(tmp_path: Path) -> None:
    src = _notebook(tmp_path / "nb.ipynb", fail=True)
    with pytest.raises(PapermillExecutionError) as theirs_err:
        _papermill(src, tmp_path / "pm.ipynb")
    with pytest.raises(notebook_exec.CellFailed) as ours_err:
        notebook_exec.execute_notebook(src, tmp_path / "ours.ipynb", PARAMS)
    for field in ("cell_index", "exec_count", "source", "ename", "evalue"):
        assert getattr(ours_err.value, field) == getattr(theirs_err.value, field), field
    assert ours_err.value.ename == "ValueError"
    ours, theirs = _normalized(tmp_path / "ours.ipynb"), _normalized(tmp_path / "pm.ipynb")
    assert ours == theirs
    assert ours["cells"][0]["metadata"]["tags"] == ["papermill-error-cell-tag"]
    statuses = [c["metadata"]["papermill"]["status"] for c in ours["cells"] if "papermill" in c["metadata"]]
    assert statuses[-2:] == ["failed", "pending"]


def test_runbook_run_imports_no_papermill(tmp_path: Path) -> None:
    """The default path of `runbook run` loads neither papermill nor nbformat (0.4–2 s of imports)."""
    import subprocess

    src = _notebook(tmp_path / "nb.ipynb", fail=False)
    code = (
        "import sys; from runbook_lib import notebook_exec; "
        f"notebook_exec.execute_notebook({str(src)!r}, {str(tmp_path / 'o.ipynb')!r}, {{}}); "
        "heavy = ('papermill', 'nbformat', 'nbclient', 'zmq', 'jupyter_client'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
