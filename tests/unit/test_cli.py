"""The `runbook` command: German output, exit codes 0 / 1 / 2, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runbook_lib.cli import main


@pytest.fixture
def books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runbook folder with one good, one failing and one dry-run notebook."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    bodies = {
        "gut": "print('alles gut')",
        "kaputt": "from runbook_lib.errors import ClusterUnreachable\n"
        "raise ClusterUnreachable(\"Der Cluster ist nicht erreichbar: Kontext 'x' (http://127.0.0.1:9).\", "
        "'Läuft der Cluster?')",
        "probe": "raise SystemExit(0)",
    }
    for name, body in bodies.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        params = nbformat.v4.new_code_cell(
            "dry_run: bool = True  # Nur anzeigen, nichts ändern\n"
            "kubeconfig: str | None = None  # Pfad zur Kubeconfig\n"
            "kube_context: str | None = None  # Kontext"
        )
        params.metadata.tags = ["parameters"]
        nb.cells = [
            nbformat.v4.new_markdown_cell(f"# Titel von {name}"),
            params,
            nbformat.v4.new_code_cell(body),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_list_shows_names_and_german_titles(books: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "TITEL"]
    assert lines[1].split(maxsplit=1) == ["gut", "Titel von gut"]
    assert len(lines) == 4


def test_show_lists_parameters_with_type_default_help(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "gut"]) == 0
    out = capsys.readouterr().out
    assert "gut: Titel von gut" in out
    row = next(line for line in out.splitlines() if line.startswith("dry_run"))
    assert row.split(maxsplit=3) == ["dry_run", "bool", "True", "Nur anzeigen, nichts ändern"]


def test_run_success_prints_run_record_and_writes_notebook(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "gut", "-p", "dry_run", "false"]) == 0
    out = capsys.readouterr().out
    assert "Ergebnis:   ✔ erfolgreich" in out and "Parameter:  dry_run=False" in out
    written = list((books.parent / "runs").glob("gut-*.ipynb"))
    assert len(written) == 1 and written[0].name.endswith("Z.ipynb")


def test_run_failure_exit_1_with_german_message_no_traceback(
    books: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["run", "kaputt", "--output", str(tmp_path / "k.ipynb")]) == 1
    captured = capsys.readouterr()
    assert (
        "✗ Der Cluster ist nicht erreichbar: Kontext 'x' (http://127.0.0.1:9).\n→ Läuft der Cluster?"
        in captured.out
    )
    assert "Traceback" not in captured.out + captured.err
    assert (tmp_path / "k.ipynb").exists()


def test_run_clean_stop_exit_0(books: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "probe", "--output", str(tmp_path / "p.ipynb")]) == 0
    assert "Ergebnis:   ✔ planmäßig in Zelle" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "gut", "-p", "dry_rn", "true"],
            "Unbekannter Parameter 'dry_rn' für das Runbook 'gut'. Meinten Sie 'dry_run'?",
        ),
        (["run", "gut", "-p", "dry_run", "vielleicht"], "Parameter 'dry_run' erwartet einen Wahrheitswert"),
        (["run", "gu"], "Das Runbook 'gu' gibt es nicht. Meinten Sie 'gut'?"),
        (["show", "nix"], "Das Runbook 'nix' gibt es nicht."),
        (
            ["run", "gut", "--kubeconfig", "/does/not/exist"],
            "Die Kubeconfig '/does/not/exist' existiert nicht.",
        ),
    ],
)
def test_usage_errors_exit_2_in_german(
    books: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (books.parent / "runs").exists()


def test_argparse_errors_exit_2_in_german(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "status", "-p", "nur-name"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Fehler: Argument -p/--parameter: erwartet zwei Werte (NAME WERT)" in err
    assert err.startswith("Aufruf: runbook run")


def test_help_is_german_and_fast_imports() -> None:
    code = (
        "import sys; from runbook_lib.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('papermill', 'kubernetes', 'IPython', 'nbformat') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Befehle:" in out and "ein Runbook ausführen" in out
    assert "HEAVY []" in out


def test_show_example_uses_a_parameter_with_its_default(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "gut"]) == 0
    assert "Beispiel: runbook run gut -p dry_run True --kubeconfig" in capsys.readouterr().out


def test_kubeconfig_flag_and_parameter_that_disagree_exit_2(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "gut", "--kubeconfig", "/a", "-p", "kubeconfig", "/b"]) == 2
    assert "widersprechen sich" in capsys.readouterr().err
