"""Runbooks in JupyterLab, as a person runs them by hand: open the runbook, point its parameters cell at
the sandbox, Run → Run All Cells, read the results; in the light and in the dark theme.

Readable means: every coloured text our results emit has a contrast of at least 4.5:1 (WCAG AA for
text) against what is really behind it, in both themes, and every coloured border at least 3:1.
Screenshots of both themes go to ``artifacts/jupyterlab/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lab_support import LabNotebook, Styled

from flux_sandbox.sim import scenarios

pytestmark = [pytest.mark.lab, pytest.mark.sandbox, pytest.mark.timeout(900)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "jupyterlab"
THEMES = ("JupyterLab Light", "JupyterLab Dark")


def quoted(path: Path | str) -> str:
    return f'"{path}"'


def greenish(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return g > r + 0.15 and g > b + 0.15


def reddish(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return r > g + 0.25 and r > b + 0.25


def assert_readable(page: LabNotebook, theme: str) -> list[Styled]:
    styled = page.styled()
    assert styled, "keine farbigen Ausgaben gefunden"
    for item in styled:
        assert item.text_contrast >= 4.5, f"{theme}: {item.text!r} hat nur Kontrast {item.text_contrast:.1f}"
        if item.border is not None:
            from lab_support import contrast

            assert contrast(item.border, item.background) >= 3, f"{theme}: Rand von {item.text!r}"
    return styled


def test_status_renders_tables_and_colours_in_both_themes(
    notebook: Callable[[str], LabNotebook], sandbox: Any
) -> None:
    page = notebook("status")
    page.theme("JupyterLab Light")
    page.set_parameter("kubeconfig", quoted(sandbox.kubeconfig))
    prompts = page.run_all()
    assert all(p[1:-2].isdigit() for p in prompts), prompts  # every cell ran
    assert page.error_outputs() == []
    tables = page.all(".jp-OutputArea-output table.runbook-table")
    assert len(tables) >= 5
    cells = page.all(".jp-OutputArea-output table.runbook-table td")
    aligned = {
        page.driver.execute_script("return getComputedStyle(arguments[0]).textAlign", c) for c in cells
    }
    assert aligned == {"left"}  # names and messages read left-aligned, as on the site
    text = page.panel().text
    assert "Flux-Objekte in allen Namespaces" in text and "0 fehlerhaft" in text
    assert "Verbunden mit" in text and "runbook-sandbox" in text
    for theme in THEMES:
        page.theme(theme)
        styled = assert_readable(page, theme)
        ready = [s for s in styled if s.text == "True"]
        assert ready and all(greenish(s.color) for s in ready), theme
        page.screenshot(ARTIFACTS / f"status-{theme.split()[-1].lower()}.png", tables[0])
    page.theme("JupyterLab Light")


def test_troubleshooting_shows_findings_in_both_themes(
    notebook: Callable[[str], LabNotebook], make_sandbox: Any
) -> None:
    broken = make_sandbox("helmrelease-upgrade-failed")
    page = notebook("troubleshoot-helmrelease")
    page.theme("JupyterLab Light")
    page.set_parameter("kubeconfig", quoted(broken.kubeconfig))
    prompts = page.run_all()
    assert all(p[1:-2].isdigit() for p in prompts), prompts  # finding problems is no failure
    findings = page.all(".runbook-finding")
    assert findings, "keine Befunde gerendert"
    headlines = [f.find_element("css selector", "b").text for f in findings]
    # the cause comes first: the pod's image that cannot be pulled, the failed upgrade under it
    assert any(h.startswith("✗ Fehler:") and "kite" in h for h in headlines), headlines
    assert scenarios.MISSING_TAG in page.panel().text  # the cause names the missing image tag
    assert page.all(".jp-OutputArea-output tr.failing")  # the summary table marks the errors
    for theme in THEMES:
        page.theme(theme)
        styled = assert_readable(page, theme)
        cards = [s for s in styled if s.text.startswith("✗ Fehler:")]
        headlines = [s for s in cards if s.border is None]  # the card's own text keeps the theme colour
        frames = [s.border for s in cards if s.border is not None]
        assert headlines and all(reddish(s.color) for s in headlines), theme
        assert frames and all(reddish(border) for border in frames), theme
        page.screenshot(ARTIFACTS / f"troubleshoot-helmrelease-{theme.split()[-1].lower()}.png", findings[0])
    page.theme("JupyterLab Light")


def test_an_unreachable_cluster_stops_the_run_with_the_german_message(
    notebook: Callable[[str], LabNotebook], tmp_path: Path
) -> None:
    dead = tmp_path / "kubeconfig"
    dead.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: weg\n"
        "clusters: [{name: weg, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: weg, context: {cluster: weg, user: weg}}]\nusers: [{name: weg, user: {}}]\n",
        encoding="utf-8",
    )
    page = notebook("status")
    page.set_parameter("kubeconfig", quoted(dead))
    prompts = page.run_all()
    ran = [p for p in prompts if p[1:-2].isdigit()]
    assert len(ran) == 2 and all(p == "[ ]:" for p in prompts[2:]), prompts  # stopped at the connection
    (error,) = page.error_outputs()
    assert "✗ Der Cluster ist nicht erreichbar" in error and "Kontext 'weg'" in error
    assert "Traceback" not in error and "File " not in error
    shown = page.all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')[0]
    page.screenshot(ARTIFACTS / "status-unreachable.png", shown, where="center")
