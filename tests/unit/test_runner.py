"""Runbook parameters (ast, no kernel), typed conversion, validation, preflight, in-process runs."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from runbook_lib.cluster import resolve_target
from runbook_lib.errors import UsageError
from runbook_lib.params import Parameter, convert, parse_parameters, type_spec, validate
from runbook_lib.runner import Runbook, find, run

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

PARAMS = """\
name: str = "kite"  # Name der HelmRelease
namespace: str | None = None  # Namespace (None = alle)
timeout_s: int = 300  # Wartezeit in Sekunden
ratio: float = 0.5  # Anteil
dry_run: bool = True  # Nur anzeigen, nichts ändern
set_values: dict[str, Any] = {}  # Werte, die gesetzt werden
files: list[str] = []  # Dateien
mode: Literal["fast", "safe"] = "safe"  # Modus
retries: Optional[int] = None  # Versuche
untyped = 3
"""


@pytest.fixture
def declared() -> dict[str, Parameter]:
    return {p.name: p for p in parse_parameters(PARAMS)}


def test_parse_parameters_reads_type_default_and_help(declared: dict[str, Parameter]) -> None:
    p = declared["name"]
    assert (p.type, p.default, p.help, p.default_value) == ("str", '"kite"', "Name der HelmRelease", "kite")
    assert declared["namespace"].type == "str | None"
    assert declared["set_values"].default_value == {}
    assert declared["untyped"].type == "" and declared["untyped"].help == ""
    assert list(declared) == [
        "name",
        "namespace",
        "timeout_s",
        "ratio",
        "dry_run",
        "set_values",
        "files",
        "mode",
        "retries",
        "untyped",
    ]


def test_status_notebook_parameters() -> None:
    book = Runbook.load(NOTEBOOKS / "status.ipynb")
    assert book.title == "Flux-Status prüfen"
    assert {p.name: p.type for p in book.parameters} == {
        "kubeconfig": "str | None",
        "kube_context": "str | None",
        "namespace": "str | None",
    }
    assert all(p.help for p in book.parameters)


@pytest.mark.parametrize(
    ("annotation", "base", "optional"),
    [
        ("str", "str", False),
        ("str | None", "str", True),
        ("None | int", "int", True),
        ("Optional[float]", "float", True),
        ("dict[str, Any]", "dict", False),
        ("list[str] | None", "list", True),
        ("int | str", "any", False),
        ("", "str", False),
        ("SomethingElse", "str", False),
    ],
)
def test_type_spec(annotation: str, base: str, optional: bool) -> None:
    spec = type_spec(annotation)
    assert (spec.base, spec.optional) == (base, optional)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("ja", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("nein", False),
        ("0", False),
    ],
)
def test_bool_parsing(declared: dict[str, Parameter], raw: str, expected: bool) -> None:
    assert convert(declared["dry_run"], raw) is expected


def test_bad_bool_is_a_german_usage_error(declared: dict[str, Parameter]) -> None:
    with pytest.raises(UsageError) as err:
        convert(declared["dry_run"], "vielleicht")
    assert err.value.exit_code == 2
    assert "Parameter 'dry_run' erwartet einen Wahrheitswert" in err.value.message
    assert "'vielleicht'" in err.value.message


def test_numbers_and_optional(declared: dict[str, Parameter]) -> None:
    assert convert(declared["timeout_s"], "42") == 42
    assert convert(declared["ratio"], "1.5") == 1.5
    assert convert(declared["namespace"], "None") is None
    assert convert(declared["namespace"], "kube-system") == "kube-system"
    assert convert(declared["retries"], "null") is None
    assert convert(declared["retries"], "3") == 3
    assert convert(declared["name"], "None") == "None"  # plain str stays text
    with pytest.raises(UsageError, match="erwartet eine ganze Zahl"):
        convert(declared["timeout_s"], "3.5")


def test_yaml_mapping_and_list(declared: dict[str, Parameter]) -> None:
    assert convert(declared["set_values"], '{"spec.values.x": 1}') == {"spec.values.x": 1}
    assert convert(declared["set_values"], "spec.values.image.tag: v1.2.3") == {
        "spec.values.image.tag": "v1.2.3"
    }
    assert convert(declared["files"], "[a.yaml, b.yaml]") == ["a.yaml", "b.yaml"]
    with pytest.raises(UsageError, match="erwartet eine Zuordnung"):
        convert(declared["set_values"], "[1, 2]")
    with pytest.raises(UsageError):
        convert(declared["set_values"], "{unclosed")


def test_literal_choices(declared: dict[str, Parameter]) -> None:
    assert convert(declared["mode"], "fast") == "fast"
    with pytest.raises(UsageError, match="einen der Werte 'fast', 'safe'"):
        convert(declared["mode"], "slow")


def test_unknown_parameter_names_the_closest(declared: dict[str, Parameter]) -> None:
    with pytest.raises(UsageError) as err:
        validate(declared.values(), [("nmae", "x")], "demo")
    assert err.value.exit_code == 2
    assert err.value.message == "Unbekannter Parameter 'nmae' für das Runbook 'demo'. Meinten Sie 'name'?"
    assert "runbook show demo" in (err.value.hint or "")


def test_validate_converts_every_value(declared: dict[str, Parameter]) -> None:
    values = validate(declared.values(), [("dry_run", "false"), ("set_values", '{"a": [1]}')], "demo")
    assert values == {"dry_run": False, "set_values": {"a": [1]}}


def test_unknown_runbook_suggests_closest() -> None:
    with pytest.raises(UsageError, match="Meinten Sie 'status'"):
        find("stats", NOTEBOOKS)


# --- kubeconfig preflight ---------------------------------------------------------------------------


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "clusters": [{"name": n, "cluster": {"server": s}} for n, s in contexts.items()],
                "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in contexts],
                "users": [{"name": n, "user": {}} for n in contexts],
            }
        )
    )
    return path


def test_resolve_target_reads_context_and_server(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://a:6443", "b": "https://b:6443"}, "a")
    assert resolve_target(str(kc)).describe() == "Kontext 'a' (https://a:6443)"
    assert resolve_target(str(kc), "b").server == "https://b:6443"


def test_resolve_target_unknown_context_names_context_and_servers(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"runbook-sandbox": "http://127.0.0.1:1234"}, "runbook-sandbox")
    with pytest.raises(UsageError) as err:
        resolve_target(str(kc), "orbstack")
    assert "Der Kontext 'orbstack' steht nicht in der Kubeconfig" in err.value.message
    assert "'runbook-sandbox' (http://127.0.0.1:1234)" in (err.value.hint or "")


def test_resolve_target_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="existiert nicht"):
        resolve_target(str(tmp_path / "nope"))


# --- in-process execution ---------------------------------------------------------------------------


def make_runbook(folder: Path, name: str, *cells: str, params: str = "x: int = 1  # Zahl") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    param_cell = nbformat.v4.new_code_cell(params)
    param_cell.metadata.tags = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Test {name}"),
        param_cell,
        *(nbformat.v4.new_code_cell(c) for c in cells),
    ]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def outputs(path: Path) -> list[list[dict[str, Any]]]:
    nb = nbformat.read(path, as_version=4)  # joins the line lists of the file format
    return [c.get("outputs", []) for c in nb.cells if c.cell_type == "code"]


def test_inprocess_run_captures_results_streams_and_displays(tmp_path: Path) -> None:
    make_runbook(
        tmp_path,
        "demo",
        "print('hallo'); x * 2",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>fett</b>'))",
    )
    record = run("demo", [("x", "21")], output=tmp_path / "out.ipynb", directory=tmp_path)
    assert (record.status, record.exit_code, record.parameters) == ("ok", 0, {"x": 21})
    cells = outputs(tmp_path / "out.ipynb")
    assert cells[-2][0] == {"output_type": "stream", "name": "stdout", "text": "hallo\n"}
    assert cells[-2][1]["output_type"] == "execute_result" and cells[-2][1]["data"]["text/plain"] == "42"
    assert cells[-1][0]["data"]["text/html"] == "<b>fett</b>"
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    assert nb["metadata"]["papermill"]["parameters"] == {"x": 21}
    assert "injected-parameters" in nb["cells"][2]["metadata"]["tags"]


def test_inprocess_run_failure_keeps_the_german_message(tmp_path: Path) -> None:
    make_runbook(
        tmp_path,
        "boom",
        "from runbook_lib.errors import NotFound\n"
        "raise NotFound('HelmRelease kube-system/kite wurde nicht gefunden.', 'Namen prüfen.')",
        "print('nie')",
    )
    record = run("boom", output=tmp_path / "out.ipynb", directory=tmp_path)
    assert (record.status, record.exit_code, record.failed_cell) == ("failed", 1, 2)
    assert record.error == "HelmRelease kube-system/kite wurde nicht gefunden.\n→ Namen prüfen."
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    assert nb["metadata"]["papermill"]["exception"] is True
    assert nb["cells"][-1]["metadata"]["papermill"]["status"] == "pending"
    assert any("papermill-error-cell-tag" in c["metadata"].get("tags", []) for c in nb["cells"])
    # the cell shows the German message and the next step, not a traceback through the library
    error = next(o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error")
    assert (error["ename"], error["traceback"]) == (
        "NotFound",
        ["\x1b[1;31m✗ HelmRelease kube-system/kite wurde nicht gefunden.\x1b[0m", "→ Namen prüfen."],
    )


def test_other_errors_show_type_and_value_not_traceback(tmp_path: Path) -> None:
    make_runbook(tmp_path, "zero", "1 / 0")
    record = run("zero", output=tmp_path / "out.ipynb", directory=tmp_path)
    assert record.error == "ZeroDivisionError: division by zero"
    assert "Traceback" not in str(record)


def test_clean_stop_is_success(tmp_path: Path) -> None:
    make_runbook(tmp_path, "dry", "print('Vorschau')", "raise SystemExit(0)", "print('ändern')")
    record = run("dry", output=tmp_path / "out.ipynb", directory=tmp_path)
    assert (record.status, record.exit_code, record.failed_cell) == ("stopped", 0, 3)
    assert outputs(tmp_path / "out.ipynb")[-1] == []


def test_parameter_errors_stop_before_anything_runs(tmp_path: Path) -> None:
    make_runbook(tmp_path, "demo", "open('ran', 'w')")
    out = tmp_path / "out.ipynb"
    with pytest.raises(UsageError):
        run("demo", [("x", "zwei")], output=out, directory=tmp_path)
    with pytest.raises(UsageError, match="keinen Parameter 'kubeconfig'"):
        run("demo", kubeconfig=str(tmp_path / "kc"), output=out, directory=tmp_path)
    assert not out.exists()


def test_run_record_text_is_german(tmp_path: Path) -> None:
    make_runbook(tmp_path, "demo", "x")
    record = run("demo", [("x", "5")], output=tmp_path / "o.ipynb", directory=tmp_path)
    text = str(record)
    assert re.search(r"^Dauer:      \d+,\d\d s$", text, re.MULTILINE)  # German decimal comma
    for label in (
        "Runbook:    demo",
        "Parameter:  x=5",
        "Cluster:",
        "Ergebnis:   ✔ erfolgreich",
        f"Protokoll:  {tmp_path / 'o.ipynb'}",
    ):
        assert label in text


def _cell(*texts: str) -> dict:
    return {
        "cell_type": "code",
        "outputs": [{"output_type": "stream", "name": "stdout", "text": t} for t in texts],
    }


def test_verdict_prefers_the_closing_cell_then_failures_then_the_first_success() -> None:
    from runbook_lib.runner import verdict

    progress = "✔ GitRepository annotiert  [0.1s]\n"
    closing = {
        "cells": [_cell("✗ irgendwo fehlerhaft\n"), _cell(progress, "'✔ Kustomization a/b: Revision x'\n")]
    }
    assert verdict(closing) == "✔ Kustomization a/b: Revision x"
    failure = {
        "cells": [_cell("✔ 3 Flux-Objekte: 3 bereit\n"), _cell("✗ check failed\n"), _cell("Tabelle\n")]
    }
    assert verdict(failure) == "✗ check failed"
    summary = "✔ 3 Flux-Objekte: 3 bereit\n"
    healthy = {"cells": [_cell(summary), _cell("✔ all checks passed\n"), _cell("x\n")]}
    assert verdict(healthy) == "✔ 3 Flux-Objekte: 3 bereit"
    assert verdict({"cells": [_cell(progress)]}) == ""


def test_a_usage_error_raised_inside_the_runbook_exits_with_2(tmp_path: Path) -> None:
    from runbook_lib.runner import RunRecord

    record = RunRecord(
        "sync",
        {},
        None,
        datetime.now(UTC),
        0.1,
        "failed",
        tmp_path / "x.ipynb",  # type: ignore[arg-type]
        "Ungültige Dauer",
        5,
        usage_error=True,
    )
    assert record.exit_code == 2
    assert dataclasses.replace(record, usage_error=False).exit_code == 1


def test_search_path_team_folders_first_then_the_shipped_runbooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.folders import located, search_path, shipped_folder

    first, second = tmp_path / "eins", tmp_path / "zwei"
    for folder in (first, second):
        folder.mkdir()
        nbformat.write(nbformat.v4.new_notebook(), folder / "eigen.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), second / "status.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), second / ".versteckt.ipynb")
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", f"{second}:{first}")
    path = search_path([first])
    assert [f.path for f in path] == [first, second, shipped_folder()]
    assert [f.shipped for f in path] == [False, False, True]
    found = located(path)
    assert found["eigen"][0] == first / "eigen.ipynb"  # --runbooks before RUNBOOK_NOTEBOOKS
    assert found["status"][0] == second / "status.ipynb"  # a team's own status replaces the shipped one
    assert found["sync"][0] == shipped_folder() / "sync.ipynb"
    assert ".versteckt" not in found
