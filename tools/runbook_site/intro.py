"""The generated part of every runbook page: how to run it and its parameter table.

It is inserted as a Markdown cell in front of the parameters cell of the rendered copy, so the page
reads: title, "Wann verwenden", how to run it, parameters, then the executed cells with real output.
Material syntax (content tabs, admonitions) works because mkdocs-jupyter runs notebook Markdown
through the site's Markdown extensions (`markdown_cell_processor: mkdocs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from runbook_lib.durations import german_seconds

from .notebooks import CONNECTION_PARAMS, Parameter, Runbook

INTRO_TAG = "runbook-site-intro"


@dataclass(frozen=True)
class RunInfo:
    """How the rendered copy was produced."""

    executed: bool
    scenario: str | None = None
    duration_s: float | None = None
    finished_at: str | None = None  # ISO 8601, UTC
    stopped: bool = False  # ended early on purpose (SystemExit(0), e.g. the dry run stop)
    #: without outputs, built by "no-execute" (tools/site.py build --no-execute) or "mkdocs" (plain
    #: mkdocs build/serve, no executed copy in docs/runbooks/)
    built_by: str = "no-execute"


def table_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def code_cell(text: str | None) -> str:
    if text is None or text == "":
        return "–"
    # Pipes inside a code span do not split a table row; a backtick needs a longer fence.
    text = text.replace("\n", " ")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _html_code(text: str | None) -> str:
    return f"<code>{escape(text)}</code>" if text else "–"


def parameter_table(params: tuple[Parameter, ...]) -> str:
    """The parameters as an HTML table (class ``runbook-params``): on a narrow screen every row becomes
    a block whose cells name their column (``data-label``), see docs/assets/stylesheets/extra.css."""
    if not params:
        return "Dieses Runbook hat keine Parameter.\n"
    rows = "".join(
        f"<tr><td><code>{escape(p.name)}</code></td>"
        f'<td data-label="Typ">{_html_code(p.type)}</td>'
        f'<td data-label="Standardwert">{_html_code(p.default)}</td>'
        f'<td data-label="Bedeutung">{escape(p.help) or "–"}</td></tr>'
        for p in params
    )
    return (
        '<table class="runbook-params"><thead><tr><th>Parameter</th><th>Typ</th><th>Standardwert</th>'
        f"<th>Bedeutung</th></tr></thead><tbody>{rows}</tbody></table>\n"
    )


def _example_params(runbook: Runbook) -> list[Parameter]:
    """One or two parameters worth showing in the example commands."""
    own = [
        p for p in runbook.parameters if p.name not in CONNECTION_PARAMS and p.default not in (None, "None")
    ]
    return own[:2]


def _cli_value(default: str | None) -> str:
    """A default as it would be typed on the command line."""
    if default is None:
        return "WERT"
    value = default.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if not value or any(c in value for c in " {}[]|&;<>$\"'"):
        return "'" + value.replace("'", "'\\''") + "'"
    return value


def how_to_run(runbook: Runbook) -> str:
    examples = _example_params(runbook)
    p_args = "".join(f" -p {p.name} {_cli_value(p.default)}" for p in examples)
    dry_run = any(p.name == "dry_run" for p in runbook.parameters)
    nb = f"notebooks/{runbook.name}.ipynb"
    lines = [
        "## So führen Sie dieses Runbook aus",
        "",
        '=== "Jupyter"',
        "",
        '    1. Installieren Sie JupyterLab (`pip install ".[lab]"`) und starten Sie es mit `jupyter lab`.',
        f"    2. Öffnen Sie `{nb}`.",
        "    3. Tragen Sie Ihre Werte in die Parameterzelle ein, mindestens `kubeconfig` und",
        "       `kube_context`, wenn Sie nicht die aktuelle Umgebung verwenden wollen.",
        "    4. Führen Sie alle Zellen aus (*Run → Run All Cells*).",
        "",
        '=== "runbook run"',
        "",
        "    ```bash",
        f"    runbook run {runbook.name}{p_args} --kubeconfig ~/.kube/config --context orbstack",
        "    ```",
        "",
        "    `runbook` prüft die Parameter vor dem Start, wandelt jeden `-p`-Wert in den deklarierten Typ",
        "    um und legt das ausgeführte Notebook unter `runs/` ab. Gegen die Sandbox genügt",
        "    `--kubeconfig .sandbox/kubeconfig`.",
    ]
    if dry_run:
        lines += [
            "",
            '    !!! warning "Standardmäßig nur Probelauf"',
            "        Das Runbook zeigt mit `dry_run = True` nur, was es tun würde. Erst",
            "        `-p dry_run False` führt die Änderung wirklich aus.",
        ]
    lines += [
        "",
        '=== "papermill"',
        "",
        "    ```bash",
        "    mkdir -p runs        # papermill legt das Zielverzeichnis nicht an",
        f"    papermill {nb} runs/{runbook.name}.ipynb -k python3{p_args} \\",
        "        -p kubeconfig ~/.kube/config -p kube_context orbstack",
        "    ```",
        "",
        "    papermill prüft weder Typen noch Namen der Parameter; unbekannte Namen erzeugen nur eine",
        "    Warnung. `runbook run` ist deshalb der sicherere Weg.",
        "",
        "## Parameter",
        "",
        "Die Tabelle stammt aus der Parameterzelle des Notebooks.",
        "",
        parameter_table(runbook.parameters),
    ]
    return "\n".join(lines)


def run_note(info: RunInfo) -> str:
    if not info.executed and info.built_by == "mkdocs":
        return (
            '!!! note "Ohne Ausgaben"\n'
            "    Diese Seite wurde mit `mkdocs build` bzw. `mkdocs serve` gebaut, ohne die Runbooks\n"
            "    auszuführen, und zeigt das Runbook deshalb ohne Ausgaben. Die echten Ausgaben\n"
            "    entstehen mit `python tools/site.py build` (oder `./dev -s docs`): Es führt jedes\n"
            "    Runbook gegen die Sandbox aus und legt die ausgeführten Kopien in `docs/runbooks/` ab.\n"
            "    Danach zeigen auch `mkdocs build` und `mkdocs serve` die zuletzt aufgezeichneten\n"
            "    Ausgaben.\n"
        )
    if not info.executed:
        return (
            '!!! note "Ohne Ausgaben"\n'
            "    Diese Seite wurde ohne Ausführung gebaut (`tools/site.py build --no-execute`) und zeigt\n"
            "    das Runbook ohne Ausgaben. `python tools/site.py build` führt jedes Runbook gegen die\n"
            "    Sandbox aus und zeigt die echten Ausgaben.\n"
        )
    parts = [f"gegen die Sandbox (Szenario `{info.scenario or 'healthy'}`)"]
    if info.finished_at:
        parts.append(f"am {info.finished_at[:10]} um {info.finished_at[11:16]} UTC")
    if info.duration_s is not None:
        parts.append(f"in {german_seconds(info.duration_s)}")
    return (
        '!!! success "Echte Ausgaben"\n'
        "    Die Ausgaben unten stammen aus einer Ausführung beim Bau dieser Seite, "
        + ", ".join(parts)
        + ".\n    Alle Läufe des Builds stehen in den [Laufprotokollen](../laufprotokolle.md).\n"
        + (
            "\n    Der Lauf endete planmäßig am Ende des Probelaufs (`dry_run = True`); die Zellen danach\n"
            "    zeigen ohne Ausgabe, was ohne Probelauf geschähe.\n"
            if info.stopped
            else ""
        )
    )


def intro_markdown(runbook: Runbook, info: RunInfo) -> str:
    return how_to_run(runbook) + "\n" + run_note(info)
