"""What papermill loads from this package: the in-process engine and a parameter translator.

The package declares ``inprocess = "runbook_lib.papermill_plugin:InProcessEngine"`` as a
``papermill.engine`` entry point, and papermill loads every such entry point when it is imported.
So plain ``papermill --engine inprocess`` finds the engine of :mod:`runbook_lib.engine`.

papermill has no extension point for parameter translators. Its Python translator reads the
``parameters`` cell with a regular expression that knows neither ``str | None`` nor a ``=`` inside a
help comment: it logs "Unable to parse line" and "Passed unknown parameter: kubeconfig", and
``papermill --help-notebook`` leaves those parameters out. Loading this module therefore registers
:class:`ParameterTranslator` for Python: papermill's own translator (injection unchanged) whose
inspection is :func:`runbook_lib.params.parse_parameters` (``ast``). Wherever this package is
installed, papermill reads typed parameters without warnings.

This module is imported while papermill itself is still being imported (from the bottom of
``papermill.engines``), so it stays small and imports :mod:`runbook_lib.engine` (IPython) only when
the engine runs. ``runbook run`` with the default engine imports neither papermill nor this module
(:mod:`runbook_lib.notebook_exec`).
"""

from __future__ import annotations

from typing import Any

from papermill.engines import Engine
from papermill.models import Parameter as PapermillParameter
from papermill.translators import PythonTranslator, papermill_translators


class ParameterTranslator(PythonTranslator):
    """papermill's Python translator, inspecting the ``parameters`` cell with ``ast`` (our reader).

    ``papermill --help-notebook`` then lists every parameter with its declared type and help, and a
    ``kubeconfig: str | None`` parameter is not "unknown". A cell that does not parse falls back to
    papermill's own inspection.
    """

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Any]:
        from runbook_lib.params import parse_parameters

        source = parameters_cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            declared = parse_parameters(source)
        except SyntaxError:
            return list(super().inspect(parameters_cell))
        return [
            PapermillParameter(
                name=p.name, inferred_type_name=p.type or "None", default=p.default, help=p.help
            )
            for p in declared
        ]


class InProcessEngine(Engine):
    """papermill engine: every code cell runs in one in-process IPython shell (:mod:`.engine`).

    ``runbook run`` does not come through here (it uses :mod:`.notebook_exec`, without papermill);
    this is the engine of ``papermill --engine inprocess``.
    """

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        import nbformat

        from runbook_lib import engine

        nb = nb_man.nb
        live = kwargs.get("live")
        with engine.shell_session() as shell:
            for index, cell in enumerate(nb.cells):
                nb_man.cell_start(cell, index)
                failed = engine.runnable(cell) and engine.run_cell(shell, cell, live)
                if cell.cell_type == "code":
                    cell.outputs = [nbformat.from_dict(out) for out in cell.outputs]
                if failed and engine.ALLOW_ERROR_TAG not in cell.metadata.get("tags", []):
                    nb_man.cell_exception(cell, cell_index=index)
                    nb_man.cell_complete(cell, cell_index=index)
                    break
                nb_man.cell_complete(cell, cell_index=index)
        nb.metadata["language_info"] = engine.language_info()
        return nb


def register_engine() -> str:
    """Register the in-process engine with papermill (idempotent); returns its name."""
    from papermill.engines import papermill_engines

    papermill_engines.register("inprocess", InProcessEngine)
    return "inprocess"


def register_translator() -> None:
    """Make :class:`ParameterTranslator` papermill's translator for Python (idempotent)."""
    papermill_translators.register("python", ParameterTranslator)


# papermill imports this module through the entry point only to get the engine class: the translator
# is registered as a side effect of that import (see the module docstring)
register_translator()
