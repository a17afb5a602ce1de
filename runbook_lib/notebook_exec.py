"""``runbook run``'s default path: papermill's ``execute_notebook`` for the in-process engine, without
importing papermill.

papermill (through ``papermill.execute``) imports nbclient, jupyter_client, ZeroMQ, asyncio and
nbformat with its JSON-schema validator: 0.4–2 s before the first cell (issue 15), although the
in-process engine starts no kernel. This module writes the same record papermill writes, from plain
JSON: the ``injected-parameters`` cell after the ``parameters`` cell (papermill's Python literals),
``metadata.papermill`` of the notebook and of every cell (status, start, end, duration, exception),
notebooks below nbformat 4.5 upgraded (cell ids), the error marker cells at the top and before the
failing cell, ``language_info``, and the file as nbformat writes it (sorted keys, indent 1, multi-line
strings split into lists). A failing cell raises :class:`CellFailed`, which carries the fields of
papermill's ``PapermillExecutionError``. ``tests/unit/test_notebook_exec.py`` compares both records.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: the papermill version whose record this module writes (``metadata.papermill.version``)
PAPERMILL_VERSION = "2.7.0"
INJECTED_TAG = "injected-parameters"
ERROR_MARKER_TAG = "papermill-error-cell-tag"
_ERROR_STYLE = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'
_ERROR_MESSAGE = (
    f"<span {_ERROR_STYLE}>An Exception was encountered at "
    "'<a href=\"#papermill-error-cell\">In [%s]</a>'.</span>"
)
_ERROR_ANCHOR = (
    f'<span id="papermill-error-cell" {_ERROR_STYLE}>'
    "Execution using papermill encountered an exception here and stopped:</span>"
)
_SPLIT_MIMES = {"application/javascript", "image/svg+xml"}


class CellFailed(Exception):
    """A cell raised: the fields of papermill's ``PapermillExecutionError``."""

    def __init__(
        self, cell_index: int, exec_count: int | None, source: str, ename: str, evalue: str, traceback: list
    ) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.cell_index, self.exec_count, self.source = cell_index, exec_count, source
        self.ename, self.evalue, self.traceback = ename, evalue, traceback


# --- papermill's Python translator (papermill.translators.PythonTranslator, without black) ---------


def literal(value: Any) -> str:
    """``value`` as papermill's Python translator writes it into the injected cell."""
    if value is None or isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return str(value)
        return "float('nan')" if math.isnan(value) else "float('-inf')" if value < 0 else "float('inf')"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_escaped(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return _escaped(value)


def _escaped(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("unicode_escape").decode("utf-8").replace('"', r"\"")
    return f'"{value}"'


def parameters_source(values: dict[str, Any]) -> str:
    return "# Parameters\n" + "".join(f"{name} = {literal(value)}\n" for name, value in values.items())


# --- the notebook as papermill prepares it ---------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _load(path: Path) -> dict[str, Any]:
    """The notebook, multi-line fields joined, with papermill's metadata slots (``load_notebook_node``)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    if nb.get("nbformat") != 4:
        raise ValueError(f"nbformat {nb.get('nbformat')} statt 4")
    if nb.get("nbformat_minor", 0) < 5:
        for cell in nb.get("cells", []):
            cell["id"] = uuid.uuid4().hex[:8]
        nb["nbformat_minor"] = 5
    for cell in nb.get("cells", []):
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        cell.setdefault("metadata", {}).setdefault("tags", [])
        cell["metadata"].setdefault("papermill", {})
    nb.setdefault("metadata", {}).setdefault(
        "papermill",
        {
            "default_parameters": {},
            "parameters": {},
            "environment_variables": {},
            "version": PAPERMILL_VERSION,
        },
    )
    return nb


def _tagged(cells: list[dict[str, Any]], tag: str) -> int:
    return next((i for i, c in enumerate(cells) if tag in c.get("metadata", {}).get("tags", [])), -1)


def _parameterize(nb: dict[str, Any], values: dict[str, Any]) -> None:
    cells = nb["cells"]
    injected: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": uuid.uuid4().hex[:8],
        "metadata": {"tags": [INJECTED_TAG]},
        "outputs": [],
        "source": parameters_source(values),
    }
    old, params = _tagged(cells, INJECTED_TAG), _tagged(cells, "parameters")
    if old >= 0:
        cells[old] = injected
    else:
        cells.insert(params + 1 if params >= 0 else 0, injected)
    nb["metadata"]["papermill"]["parameters"] = values


def _split(nb: dict[str, Any]) -> dict[str, Any]:
    """A copy as nbformat writes it: multi-line text as lists of lines, transient keys dropped."""
    nb = copy.deepcopy(nb)
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        nb["metadata"].pop(key, None)
    for cell in nb["cells"]:
        cell["metadata"].pop("trusted", None)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
        for out in cell.get("outputs", ()) if cell.get("cell_type") == "code" else ():
            if out.get("output_type") in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime, value in list(data.items()):
                    if isinstance(value, str) and (mime.startswith("text/") or mime in _SPLIT_MIMES):
                        data[mime] = value.splitlines(True)
            elif out.get("output_type") == "stream" and isinstance(out.get("text"), str):
                out["text"] = out["text"].splitlines(True)
    return nb


def write(nb: dict[str, Any], path: Path) -> None:
    """Write ``nb`` as ``nbformat.write`` does."""
    text = json.dumps(_split(nb), indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


# --- execution -------------------------------------------------------------------------------------


def _pm(cell: dict[str, Any]) -> dict[str, Any]:
    return cell["metadata"]["papermill"]


def _run(nb: dict[str, Any], live: Any = None) -> None:
    """Execute every cell in one in-process shell, with papermill's per-cell metadata; ``live`` gets
    what cells tagged ``live`` print, as they print it (:func:`runbook_lib.engine.run_cell`)."""
    from runbook_lib import engine

    meta = nb["metadata"]["papermill"]
    started = _now()
    meta.update(start_time=started.isoformat(), end_time=None, duration=None, exception=None)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        cell["metadata"]["papermill"] = {
            "exception": None,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "status": "pending",
        }
    try:
        with engine.shell_session() as shell:
            for cell in nb["cells"]:
                begin = _now()
                _pm(cell).update(start_time=begin.isoformat(), status="running", exception=False)
                failed = engine.runnable(cell) and engine.run_cell(shell, cell, live)
                stop = failed and engine.ALLOW_ERROR_TAG not in cell["metadata"].get("tags", [])
                if stop:
                    _pm(cell).update(exception=True, status="failed")
                    meta["exception"] = True
                end = _now()
                _pm(cell).update(end_time=end.isoformat(), duration=(end - begin).total_seconds())
                if not stop:
                    _pm(cell)["status"] = "completed"
                if stop:
                    break
        nb["metadata"]["language_info"] = engine.language_info()
    finally:
        ended = _now()
        meta.update(end_time=ended.isoformat(), duration=(ended - started).total_seconds())
        for cell in nb["cells"]:
            if _pm(cell)["status"] == "failed":
                break
            if _pm(cell)["status"] == "pending":
                _pm(cell)["status"] = "completed"


def _first_error(nb: dict[str, Any]) -> CellFailed | None:
    """papermill's ``raise_for_execution_errors``: the first error output (a clean SystemExit is none)."""
    for index, cell in enumerate(nb["cells"]):
        clean_exit = False
        for out in cell.get("outputs", ()):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0"):
                clean_exit = True
                continue
            count, source = cell.get("execution_count"), cell["source"]
            return CellFailed(index, count, source, out["ename"], out["evalue"], out["traceback"])
        if not clean_exit and _pm(cell).get("exception") is True:
            count = cell.get("execution_count")
            return CellFailed(index, count, cell["source"], "CellExecutionError", "", [])
    return None


def _marker(source: str) -> dict[str, Any]:
    return {
        "cell_type": "markdown",
        "id": uuid.uuid4().hex[:8],
        "metadata": {"tags": [ERROR_MARKER_TAG]},
        "source": source,
    }


def execute_notebook(
    input_path: str | Path, output_path: str | Path, parameters: dict[str, Any], live: Any = None
) -> dict[str, Any]:
    """Execute ``input_path`` in-process and write the record to ``output_path`` (as papermill would).

    Returns the executed notebook (plain JSON data); raises :class:`CellFailed` after writing the
    record with papermill's error markers when a cell failed.
    """
    output = Path(output_path)
    nb = _load(Path(input_path))
    if parameters:
        _parameterize(nb, parameters)
    nb["metadata"]["papermill"].update(input_path=str(input_path), output_path=str(output_path))
    nb["cells"] = [c for c in nb["cells"] if ERROR_MARKER_TAG not in c["metadata"].get("tags", [])]
    _run(nb, live)
    error = _first_error(nb)
    if error is not None:
        nb["cells"].insert(error.cell_index, _marker(_ERROR_ANCHOR))
        nb["cells"].insert(0, _marker(_ERROR_MESSAGE % error.exec_count))
        write(nb, output)
        raise error
    write(nb, output)
    return nb
