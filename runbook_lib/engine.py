"""Run a notebook's cells in this process, in an IPython ``InteractiveShell``.

Starting a Jupyter kernel (a second Python, ZeroMQ, the kernel handshake) takes longer than a whole
status runbook. ``runbook run`` therefore executes cells in-process: the shell gets a display hook
and a display publisher that turn results, ``display()`` calls, ``print`` output and errors into
nbformat outputs on the running cell, exactly the shapes a kernel would send (``execute_result``,
``display_data``, ``stream``, ``error``). ``runbook run`` drives it through :mod:`.notebook_exec`
(papermill's record without importing papermill, nbformat or the ZeroMQ chain: issue 15);
``papermill --engine inprocess`` drives it through :mod:`.papermill_plugin`. ``--engine nbclient``
still runs a real kernel. This module imports neither papermill nor nbformat.

Like nbclient it skips empty cells and cells tagged ``skip-execution``, and continues after an
error in a cell tagged ``raises-exception``. Differences from a kernel: output written to file
descriptor 1/2 by subprocesses is not captured, and ``execution_timeout`` is not enforced.

``papermill --engine inprocess`` works too: the package declares the engine as a ``papermill.engine``
entry point (:mod:`runbook_lib.papermill_plugin`, which also brings the parameter translator).
"""

from __future__ import annotations

import base64
import io
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Any as AnyTrait
from traitlets.config import Config

#: the name ``papermill --engine`` / ``execute_notebook(engine_name=...)`` knows it by
ENGINE_NAME = "inprocess"
SKIP_TAG = "skip-execution"
ALLOW_ERROR_TAG = "raises-exception"
#: cells whose printed lines ``runbook run`` shows while the cell runs (``watch``), see ``live`` below
LIVE_TAG = "live"


class Node(dict[str, Any]):
    """An output or cell as nbformat's ``NotebookNode`` behaves: a dict with attribute access."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def new_output(output_type: str, **fields: Any) -> Node:
    """An output as ``nbformat.v4.new_output`` builds it (the fields a kernel message carries)."""
    out = Node(output_type=output_type)
    if output_type in ("execute_result", "display_data"):
        out.update(data={}, metadata={})
    if output_type == "stream":
        out.update(name="stdout", text="")
    out.update(fields)
    return out


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Mime bundles as nbformat stores them: binary payloads base64-encoded."""
    return {k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for k, v in data.items()}


class _CellStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a cell: text becomes ``stream`` outputs (merged like Jupyter)."""

    def __init__(self, shell: InProcessShell, name: str, echo: Any = None) -> None:
        self._shell, self.name, self._echo = shell, name, echo

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if text:
            self._shell.add_stream(self.name, text)
            if self._echo is not None:
                self._echo.write(text)
        return len(text)


class _CellDisplayHook(DisplayHook):
    """The value of a cell's last expression becomes its ``execute_result``."""

    def write_output_prompt(self) -> None:
        return None

    def write_format_data(self, format_dict: dict[str, Any], md_dict: dict[str, Any] | None = None) -> None:
        out = new_output(
            "execute_result",
            data=_jsonable(format_dict),
            metadata=md_dict or {},
            execution_count=self.prompt_count,
        )
        self.shell.add_output(out)  # type: ignore[union-attr]

    def log_output(self, format_dict: dict[str, Any]) -> None:
        return None

    def finish_displayhook(self) -> None:
        self._is_active = False


class _CellDisplayPublisher(DisplayPublisher):
    """``display()`` calls become ``display_data`` outputs; ``display_id`` updates replace in place."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):  # type: ignore[no-untyped-def]
        display_id = (transient or {}).get("display_id")
        out = new_output("display_data", data=_jsonable(data), metadata=metadata or {})
        self.shell.add_output(out, display_id=display_id, update=update)

    def clear_output(self, wait: bool = False) -> None:
        self.shell.clear_outputs(wait=wait)


class InProcessShell(InteractiveShell):
    """An ``InteractiveShell`` whose output goes into the current cell's ``outputs`` list."""

    displayhook_class = _CellDisplayHook
    display_pub_class = _CellDisplayPublisher
    cell_outputs = AnyTrait()

    def begin_cell(self) -> None:
        self.cell_outputs = []
        self._displays: dict[str, Any] = {}
        self._clear_pending = False

    def add_output(self, out: Any, *, display_id: str | None = None, update: bool = False) -> None:
        if update and display_id in self._displays:
            self._displays[display_id].update(data=out.data, metadata=out.metadata)
            return
        self._flush_clear()
        self.cell_outputs.append(out)
        if display_id:
            self._displays[display_id] = out

    def add_stream(self, name: str, text: str) -> None:
        self._flush_clear()
        last = self.cell_outputs[-1] if self.cell_outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.cell_outputs.append(new_output("stream", name=name, text=text))

    def clear_outputs(self, *, wait: bool) -> None:
        if wait:
            self._clear_pending = True
        else:
            self.cell_outputs.clear()

    def _flush_clear(self) -> None:
        if self._clear_pending:
            self._clear_pending = False
            self.cell_outputs.clear()

    def _showtraceback(self, etype, evalue, stb):  # type: ignore[no-untyped-def]
        self.add_output(new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb)))

    def enable_gui(self, gui=None):  # type: ignore[no-untyped-def]
        return None


@contextmanager
def _kernel_warnings() -> Iterator[None]:
    """Warning filters as a fresh Python process (a kernel) has them, not the host's (pytest's)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        # IPython's hint after SystemExit; a stop is how a dry run ends
        warnings.filterwarnings("ignore", message="To exit: use")
        yield


@contextmanager
def shell_session() -> Iterator[InProcessShell]:
    """A fresh shell registered as *the* IPython instance (``display()`` finds it), cleaned up after."""
    import atexit

    main = sys.modules.get("__main__")
    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.clear_instance()
    with _kernel_warnings():
        shell = InProcessShell.instance(config=config)
    try:
        yield shell
    finally:
        # no shell.reset(): it runs a full gc.collect(); dropping the namespace is enough here
        atexit.unregister(shell.atexit_operations)
        shell.user_ns.clear()
        InProcessShell.clear_instance()
        if main is not None:
            sys.modules["__main__"] = main


def run_cell(shell: InProcessShell, cell: Any, live: Any = None) -> bool:
    """Execute one code cell into its ``outputs``; True if it raised. ``live`` (a text stream) also
    gets what a cell tagged :data:`LIVE_TAG` prints, as it prints it."""
    shell.begin_cell()
    echo = live if live is not None and LIVE_TAG in cell.get("metadata", {}).get("tags", []) else None
    with (
        redirect_stdout(_CellStream(shell, "stdout", echo)),
        redirect_stderr(_CellStream(shell, "stderr")),
        _kernel_warnings(),
    ):
        result = shell.run_cell(cell_source(cell), store_history=True)
    cell["outputs"] = shell.cell_outputs
    cell["execution_count"] = result.execution_count
    return not result.success


def language_info() -> dict[str, Any]:
    version = ".".join(str(v) for v in sys.version_info[:3])
    return {
        "name": "python",
        "version": version,
        "mimetype": "text/x-python",
        "file_extension": ".py",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "pygments_lexer": "ipython3",
        "nbconvert_exporter": "python",
    }


def runnable(cell: Any) -> bool:
    """A code cell with source and without the ``skip-execution`` tag (nbclient's rule)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and bool(cell_source(cell).strip()) and SKIP_TAG not in tags


def cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
