"""Import papermill for an in-process run without what only its kernel engine needs.

``import papermill`` pulls in nbclient, jupyter_client and ZeroMQ (for the nbclient engine) and, via
tenacity's optional tornado support, tornado: together about a fifth of a whole in-process status
run. :func:`import_papermill` imports papermill so that

* ``papermill.clientwrap`` is a stand-in whose ``PapermillNotebookClient`` imports the real one on
  first use (so ``--engine nbclient`` still works in the same process), and
* tornado is hidden while papermill (and with it tenacity) is imported, then visible again; tenacity
  then only lacks its tornado-coroutine retry support, which papermill does not use.

Nothing happens when papermill was imported already.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def import_papermill() -> bool:
    """Import papermill the light way; False if it was imported already (then nothing changes)."""
    if "papermill" in sys.modules or "papermill.clientwrap" in sys.modules:
        return False
    stand_in = types.ModuleType("papermill.clientwrap", "stand-in until the nbclient engine is used")
    stand_in.PapermillNotebookClient = _DeferredNotebookClient  # type: ignore[attr-defined]
    sys.modules["papermill.clientwrap"] = stand_in
    hide_tornado = "tornado" not in sys.modules
    if hide_tornado:
        sys.modules["tornado"] = None  # type: ignore[assignment]  # makes `import tornado` fail
    try:
        import papermill  # noqa: F401
    finally:
        if hide_tornado and sys.modules.get("tornado", 0) is None:
            del sys.modules["tornado"]
    return True


class _DeferredNotebookClient:
    """Creates the real ``PapermillNotebookClient``, importing it on first use."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        import importlib

        import papermill.engines

        if getattr(sys.modules.get("papermill.clientwrap"), "PapermillNotebookClient", None) is cls:
            del sys.modules["papermill.clientwrap"]
        real = importlib.import_module("papermill.clientwrap").PapermillNotebookClient
        papermill.engines.PapermillNotebookClient = real  # type: ignore[attr-defined]
        return real(*args, **kwargs)
