"""The public facade: what notebooks use is importable from ``runbook_lib``, documented, and cheap."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import runbook_lib
from runbook_lib.runner import Runbook

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", runbook_lib.__all__)
def test_every_public_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(runbook_lib, name)
    assert inspect.getdoc(value), f"runbook_lib.{name} has no docstring"


def test_a_subpackage_import_does_not_shadow_the_public_function() -> None:
    code = (
        "import runbook_lib.reconcile.actions, runbook_lib.settings\n"
        "from runbook_lib import reconcile, settings\n"
        "print(callable(reconcile), reconcile.__module__, callable(settings))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "runbook_lib.reconcile.actions", "True"]


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = runbook_lib.nope  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_only_the_facade(path: Path) -> None:
    """Runbooks depend on the facade, so moving a module inside the library never breaks one."""
    imported: list[str] = []
    for cell in Runbook.load(path).cells:
        if cell.type != "code" or "parameters" in cell.tags:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom):
                assert node.module == "runbook_lib", f"{path.name}: from {node.module} import …"
                imported += [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                pytest.fail(f"{path.name}: import {', '.join(a.name for a in node.names)}")
    assert imported and set(imported) <= set(runbook_lib.__all__)


def test_importing_the_facade_loads_nothing_heavy() -> None:
    """``import runbook_lib`` must not pay for the kubernetes client, papermill or git."""
    # `kubernetes` itself is the empty package module of _kubernetes_lazily (nothing loaded yet)
    heavy = "('kubernetes.client', 'kubernetes.config', 'papermill', 'git')"
    code = f"import sys, runbook_lib; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_kubernetes_package_loads_its_subpackages_on_first_use() -> None:
    """`import runbook_lib` first: `kubernetes.client` without dynamic/stream/…, which still work."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.metadata, runbook_lib, kubernetes.client, kubernetes.watch\n"
        "eager = ('kubernetes.dynamic', 'kubernetes.stream', 'kubernetes.leaderelection')\n"
        "print(sorted(m for m in eager if m in sys.modules))\n"
        "import kubernetes\n"
        "print(kubernetes.__version__ == importlib.metadata.version('kubernetes'))\n"
        "print(kubernetes.dynamic.DynamicClient.__name__, kubernetes.config.load_kube_config.__name__)\n"
        "print(hasattr(kubernetes, 'no_such_part'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:4] == ["[]", "True", "DynamicClient load_kube_config", "False"]
