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
the engine runs.
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
    """The entry point's engine: hands the run to :class:`runbook_lib.engine.InProcessEngine`."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        from runbook_lib.engine import InProcessEngine as Engine

        return Engine.execute_managed_notebook(nb_man, kernel_name, **kwargs)


def register_translator() -> None:
    """Make :class:`ParameterTranslator` papermill's translator for Python (idempotent)."""
    papermill_translators.register("python", ParameterTranslator)


# papermill imports this module through the entry point only to get the engine class: the translator
# is registered as a side effect of that import (see the module docstring)
register_translator()
