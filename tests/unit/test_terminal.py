"""What `runbook run` prints from an executed notebook: tagged cells, plain or coloured, prose wrapped."""

from __future__ import annotations

import io

from runbook_lib import terminal


def cell(source: str, *outputs: dict, tags: tuple[str, ...] = ()) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}, "outputs": list(outputs)}


def shown(text: str) -> dict:
    return {"output_type": "execute_result", "data": {"text/plain": text, "text/html": "<b>x</b>"}}


def test_only_cells_tagged_terminal_in_notebook_order_with_their_progress_lines() -> None:
    nb = {
        "cells": [
            cell("a", shown("nicht gezeigt")),
            cell(
                "b",
                {"output_type": "stream", "name": "stdout", "text": ["► los\n"]},
                shown("✔ b"),
                tags=("terminal",),
            ),
            {"cell_type": "markdown", "source": "# x", "metadata": {"tags": ["terminal"]}},
            cell(
                "c",
                {"output_type": "error", "ename": "X", "evalue": "y", "traceback": []},
                tags=("terminal",),
            ),
            cell("d", shown("✗ d\nzweite Zeile"), tags=("terminal",)),
        ]
    }
    assert terminal.terminal_text(nb) == "► los\n✔ b\n\n✗ d\nzweite Zeile"
    assert terminal.terminal_text({}) == ""


def test_plain_unless_coloured_and_only_prose_is_wrapped_under_its_label() -> None:
    text = (
        "✗ Fehler: Kein DNS-Eintrag (Challenge x)\n"
        "  Ursache:          " + "sehr lange Ursache " * 8 + "\n"
        "  Befehl:           kubectl describe challenge kite-tls-2-5022927511-1292916911 -n kube-system\n"
        "Befund:     ⚠ 1 Warnung"
    )
    plain = terminal.style(text, color=False)
    assert plain == text
    wrapped = terminal.style(text, color=False, width=70).splitlines()
    assert all(len(line) <= 70 for line in wrapped if "Befehl" not in line)
    assert wrapped[2].startswith(" " * 20 + "Ursache")  # the hanging indent of the label column
    assert any(len(line) > 70 for line in wrapped if "kubectl describe" in line)  # commands stay whole
    assert "kube-system" in next(line for line in wrapped if "kubectl describe" in line)
    coloured = terminal.style(text, color=True)
    assert coloured.splitlines()[0] == "\x1b[1;31m✗ Fehler: Kein DNS-Eintrag (Challenge x)\x1b[0m"
    assert "\x1b[1mUrsache:\x1b[0m" in coloured
    assert coloured.splitlines()[-1] == "\x1b[1mBefund:\x1b[0m     \x1b[1;33m⚠ 1 Warnung\x1b[0m"


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert terminal.use_color(Tty()) and not terminal.use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not terminal.use_color(Tty())
    assert terminal.width(io.StringIO()) is None
