"""The `runbook` command: German output, exit codes 0 / 1 / 2, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
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
        nb.metadata.runbook = {"read_only": name != "probe"}
        params = nbformat.v4.new_code_cell(
            "dry_run: bool = True  # Nur anzeigen, nichts ändern\n"
            "kubeconfig: str | None = None  # Pfad zur Kubeconfig\n"
            "kube_context: str | None = None  # Kontext"
        )
        params.metadata.tags = ["parameters"]
        nb.cells = [
            nbformat.v4.new_markdown_cell(f"# Titel von {name}\n\n## Verbindung"),
            params,
            nbformat.v4.new_code_cell("print('verbunden')"),
            nbformat.v4.new_markdown_cell("## Prüfung"),
            nbformat.v4.new_code_cell(body),
            nbformat.v4.new_code_cell("print('danach')"),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_list_shows_own_folder_before_the_shipped_runbooks(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "TITEL", "ZUGRIFF", "ORDNER"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["gut"].split()[1:] == ["Titel", "von", "gut", "nur", "lesen", str(books)]
    assert rows["probe"].split()[4:] == ["ändert", str(books)]
    # the shipped runbooks are still there, found from any working directory
    assert rows["status"].split()[-3:] == ["nur", "lesen", "mitgeliefert"]
    assert rows["sync"].split()[-2:] == ["ändert", "mitgeliefert"]


def test_own_runbook_replaces_a_shipped_one_of_the_same_name(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (books / "gut.ipynb").rename(books / "status.ipynb")
    assert main(["show", "status", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(books / "status.ipynb")


def test_list_without_own_folder_has_no_folder_column(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RUNBOOK_NOTEBOOKS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "TITEL", "ZUGRIFF"]
    assert [line.split()[0] for line in lines[1:]] == [
        "audit",
        "change",
        "fleet",
        "logs",
        "preview",
        "rollback",
        "status",
        "sync",
        "trace",
        "troubleshoot-certificates",
        "troubleshoot-helmrelease",
        "troubleshoot-sync",
        "watch",
    ]


def test_missing_runbook_folder_is_a_usage_error(
    books: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--runbooks", str(tmp_path / "fehlt")]) == 2
    assert f"Den Runbook-Ordner '{tmp_path / 'fehlt'}' gibt es nicht." in capsys.readouterr().err


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


def test_run_writes_junit_and_json_with_the_german_error(
    books: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reports = ["--junit", str(tmp_path / "r/junit.xml"), "--json", str(tmp_path / "r/ergebnis.json")]
    code = main(["run", "kaputt", "--output", str(tmp_path / "k.ipynb"), *reports])
    assert code == 1
    out = capsys.readouterr().out
    assert f"JUnit:      {tmp_path / 'r/junit.xml'}" in out
    suite = ET.parse(tmp_path / "r/junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "kaputt"
    assert (suite.get("tests"), suite.get("errors"), suite.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    error = cases["Schritt 02: Prüfung"].find("error")
    assert error is not None
    assert error.get("message") == (
        "Der Cluster ist nicht erreichbar: Kontext 'x' (http://127.0.0.1:9).\n→ Läuft der Cluster?"
    )
    skipped = cases["Schritt 03: Prüfung – print('danach')"].find("skipped")
    assert skipped is not None and "fehlgeschlagen" in str(skipped.get("message"))
    data = json.loads((tmp_path / "r/ergebnis.json").read_text(encoding="utf-8"))
    assert (data["runbook"], data["verdict"], data["status"], data["exit_code"]) == (
        "kaputt",
        "failed",
        "failed",
        1,
    )
    assert [s["status"] for s in data["steps"]] == ["passed", "failed", "skipped"]
    assert data["notebook"] == str(tmp_path / "k.ipynb")


def test_smoke_runs_only_read_only_runbooks_and_fails_with_one_exit_code(
    books: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junit = tmp_path / "smoke.xml"
    argv = ["smoke", "gut", "kaputt", "--jobs", "1", "--output-dir", str(tmp_path / "nb")]
    assert main([*argv, "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "Ergebnis:   ✗ 1 von 2 Runbooks nicht bestanden" in out
    assert "✗ kaputt: Schritt 2 „Prüfung“ fehlgeschlagen" in out
    assert sorted(p.name for p in (tmp_path / "nb").iterdir()) == ["gut.ipynb", "kaputt.ipynb"]
    root = ET.parse(junit).getroot()
    assert [s.get("name") for s in root.iter("testsuite")] == ["gut", "kaputt"]
    assert (root.get("tests"), root.get("errors")) == ("6", "1")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["smoke", "probe"], "Das Runbook 'probe' ändert etwas am Cluster oder im Repository"),
        (
            ["smoke", "gut", "-p", "dry_rn", "x"],
            "Unbekannter Parameter 'dry_rn': Kein Runbook dieses Smoke-Tests hat ihn. Meinten Sie 'dry_run'?",
        ),
        (["smoke", "gut", "-p", "status.namespace", "x"], "Das Runbook 'status' ist nicht Teil"),
        (["smoke", "gut", "-p", "gut.dry_run", "vielleicht"], "erwartet einen Wahrheitswert"),
        (["smoke", "gut", "--jobs", "0"], "--jobs 0: mindestens 1."),
    ],
)
def test_smoke_usage_errors_before_anything_runs(
    books: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str, tmp_path: Path
) -> None:
    assert main([*argv, "--output-dir", str(tmp_path / "nb")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "nb").exists()


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
        "heavy = [m for m in ('papermill', 'kubernetes.client', 'IPython', 'nbformat') if m in sys.modules]\n"
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
