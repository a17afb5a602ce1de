"""The generated parts of the site, without building it: parameters, intro, guide boxes, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runbook_site import notebook_pages, reference
from runbook_site.intro import RunInfo, intro_markdown, parameter_table
from runbook_site.notebooks import Parameter, Runbook, read_runbook
from runbook_site.pages import expand
from site_support import MISSING, discover, execute

pytestmark = pytest.mark.site

CELL = """kubeconfig: str | None = None  # Pfad zur Kubeconfig
name: str = "kite"  # Name der HelmRelease
dry_run: bool = True  # Nur anzeigen, nichts ändern
retries = 3
"""


def notebook(cells: list[tuple[str, str, list[str]]]) -> dict:
    out = []
    for i, (kind, src, tags) in enumerate(cells):
        cell = {"id": f"c{i}", "cell_type": kind, "metadata": {"tags": tags}, "source": src}
        if kind == "code":
            cell |= {"outputs": [], "execution_count": None}
        out.append(cell)
    return {
        "cells": out,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(tmp_path: Path, name: str, nb: dict) -> Path:
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_parameters_come_from_the_notebook(tmp_path: Path) -> None:
    nb = notebook(
        [
            ("markdown", "# Beispiel: ein Test\n\n## Wann verwenden\n\n- wenn es brennt;\n- sonst nie\n", []),
            ("code", CELL, ["parameters"]),
        ]
    )
    rb = read_runbook(write(tmp_path, "beispiel", nb))
    assert rb.title == "Beispiel: ein Test"
    assert rb.summary == "Wenn es brennt."
    assert [p.name for p in rb.parameters] == ["kubeconfig", "name", "dry_run", "retries"]
    name = rb.parameters[1]
    assert (name.type, name.default, name.help) == ("str", '"kite"', "Name der HelmRelease")
    assert (rb.parameters[3].type, rb.parameters[3].default) == (None, "3")


def test_intro_has_three_ways_and_a_parameter_table() -> None:
    rb = Runbook(
        "beispiel",
        Path("notebooks/beispiel.ipynb"),
        "Beispiel",
        "",
        (
            Parameter("kubeconfig", "str | None", "None", "Pfad"),
            Parameter("name", "str", '"kite"', "Name | Alias"),
            Parameter("dry_run", "bool", "True", "Nur anzeigen"),
        ),
        {},
    )
    text = intro_markdown(
        rb, RunInfo(executed=True, scenario="healthy", duration_s=1.25, finished_at="2026-01-02T03:04:05Z")
    )
    assert '=== "Jupyter"' in text and '=== "runbook run"' in text and '=== "papermill"' in text
    assert "runbook run beispiel -p name kite -p dry_run True" in text
    assert "papermill notebooks/beispiel.ipynb runs/beispiel.ipynb -k python3 -p name kite" in text
    assert "-p dry_run False" in text  # how to leave the dry run
    assert "in 1,25 s" in text  # the one duration format: German decimal comma, hundredths
    table = parameter_table(rb.parameters)
    assert (
        '<tr><td><code>kubeconfig</code></td><td data-label="Typ"><code>str | None</code></td>'
        '<td data-label="Standardwert"><code>None</code></td><td data-label="Bedeutung">Pfad</td></tr>'
    ) in table
    assert "Name | Alias" in table and '<table class="runbook-params">' in table


def test_guide_marker_links_existing_runbooks_and_names_missing_ones() -> None:
    runbooks = {rb.name: rb for rb in discover()}
    assert "status" in runbooks
    out = expand("x\n\n<!-- runbook: status, gibt-es-nicht -->\n", "leitfaden/status-pruefen.md", runbooks)
    assert "(../runbooks/status.ipynb)" in out
    assert MISSING in out and "`gibt-es-nicht`" in out
    assert "<!--" not in out


def test_a_failing_runbook_fails_the_build_with_a_german_message_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = notebook(
        [
            ("markdown", "# Kaputt\n", []),
            (
                "code",
                "kubeconfig: str | None = None  # Pfad\nkube_context: str | None = None  # Kontext\n",
                ["parameters"],
            ),
            ("code", "raise RuntimeError('absichtlich kaputt')", []),
        ]
    )
    rb = read_runbook(write(tmp_path, "kaputt", nb))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
        "contexts: [{name: t, context: {cluster: t, user: t}}]\n"
        "clusters: [{name: t, cluster: {server: 'http://127.0.0.1:9'}}]\nusers: [{name: t, user: {}}]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(execute, "FAILED_DIR", tmp_path / "failed")
    handle = execute.SandboxHandle(kubeconfig=kubeconfig, checkout=None, state_dir=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(execute.SiteBuildError) as err:
        execute.run_one(rb, handle, "healthy", work)
    message = str(err.value)
    assert "Runbook »kaputt«" in message and "fehlgeschlagen" in message
    assert "absichtlich kaputt" in message
    assert (tmp_path / "failed" / "kaputt.ipynb").exists()


def test_sanitize_replaces_sandbox_paths(tmp_path: Path) -> None:
    handle = execute.SandboxHandle(kubeconfig=tmp_path / "kubeconfig", checkout=None, state_dir=tmp_path)
    text = json.dumps({"p": f"{tmp_path}/kubeconfig", "html": f"<td>{tmp_path}/checkout</td>"})
    clean = execute.sanitize(text, handle, tmp_path / "work")
    assert str(tmp_path) not in clean
    assert "$SANDBOX/kubeconfig" in clean and "<td>$SANDBOX/checkout</td>" in clean


def test_site_parameters_of_the_notebook_are_passed_and_unknown_names_refused(tmp_path: Path) -> None:
    handle = execute.SandboxHandle(kubeconfig=tmp_path / "kubeconfig", checkout=None, state_dir=tmp_path)
    nb = notebook([("code", CELL, ["parameters"])])
    nb["metadata"]["runbook"] = {"site_parameters": {"name": "podinfo"}}
    rb = read_runbook(write(tmp_path, "beispiel", nb))
    expected = {"kubeconfig": str(tmp_path / "kubeconfig"), "name": "podinfo"}
    assert execute.parameters_for(rb, handle) == expected
    nb["metadata"]["runbook"] = {"site_parameters": {"nme": "podinfo"}}
    rb = read_runbook(write(tmp_path, "beispiel", nb))
    with pytest.raises(execute.SiteBuildError, match="»nme«, das kein Parameter"):
        execute.parameters_for(rb, handle)
    watch = read_runbook(Path(__file__).parents[2] / "notebooks" / "watch.ipynb")
    assert execute.parameters_for(watch, handle)["duration"] == "10s"


def test_guarded_copy_keeps_markdown_away_from_nbconvert_and_restore_puts_it_back(tmp_path: Path) -> None:
    """mkdocs-jupyter 0.27 runs the page through BeautifulSoup: `&&` came out as `&amp;&amp;`, `<commit>`
    as an HTML element. The page is built from a copy with placeholders; restore() puts the Markdown
    back as written and drops the `<style> ['pre …']` block nbconvert appends."""
    source = "## Rollback\n\n```bash\ngit revert --no-commit <commit> && git push\n```\n"
    path = write(tmp_path, "demo", notebook([("markdown", source, []), ("code", "x = 1", ["parameters"])]))
    originals = notebook_pages.guarded_copy(path, tmp_path / "guarded" / "demo.ipynb", intro="Einleitung")
    guarded = json.loads((tmp_path / "guarded" / "demo.ipynb").read_text(encoding="utf-8"))
    assert [c["source"] for c in guarded["cells"] if c["cell_type"] == "markdown"] == [
        "RUNBOOKSITEMARKDOWNCELL0000",
        "RUNBOOKSITEMARKDOWNCELL0001",
    ]
    assert originals == [source, "Einleitung"]  # the intro goes in front of the parameters cell
    rendered = (
        '<div markdown="1">\n\nRUNBOOKSITEMARKDOWNCELL0000\n\n</div>\n'
        "        <style>\n        ['pre { line-height: 125%; }']\n        </style>\n        "
    )
    page = notebook_pages.restore(rendered, originals)
    assert "git revert --no-commit <commit> && git push" in page
    assert "<style>" not in page and "line-height" not in page


def test_plain_mkdocs_pages_say_how_to_get_the_outputs() -> None:
    rb = discover()[0]
    text = intro_markdown(rb, RunInfo(executed=False, built_by="mkdocs"))
    assert "ohne Ausgaben" in text and "`python tools/site.py build`" in text and "docs/runbooks/" in text


def test_reference_pages_lose_sphinx_roles_and_link_the_cited_developer_pages() -> None:
    html = (
        "<p>Reads with :func:<code>connect</code> and :class:<code>~runbook_lib.diagnose.Diagnosis</code>, "
        "see :mod:<code>.rules</code> (docs/flux-facts.md §10) and docs/development.md.</p>"
    )
    out = reference.readable_reference(html, "referenz/status/", has_page=lambda p: p == "flux-facts.md")
    assert ":func:" not in out and ":class:" not in out and ":mod:" not in out
    assert "<code>connect</code>" in out and "<code>Diagnosis</code>" in out and "<code>rules</code>" in out
    assert '<a href="../../flux-facts/#10-cert-manager">docs/flux-facts.md §10</a>' in out
    assert "and docs/development.md." in out  # not a page of this build: left as text
