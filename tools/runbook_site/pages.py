"""Generated Markdown fragments, inserted by tools/mkdocs_hooks.py where a page has a marker.

Markers are HTML comments, so a page still reads well in an editor:

- ``<!-- runbook: status -->``: the runbook that performs this step (or that it does not exist yet);
- ``<!-- runbooks-table -->``, ``<!-- guide-table -->``, ``<!-- exercises -->``,
  ``<!-- reference-modules -->``, ``<!-- run-records -->``: the generated tables and lists.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

from . import DOCS, RUNBOOK_DOCS, link
from .exercises import exercises
from .intro import code_cell, german_seconds, table_cell
from .notebooks import Runbook

LIBRARY = DOCS.parent / "runbook_lib"
MARKER = re.compile(r"<!--\s*([a-z-]+)(?::\s*([^>]*?))?\s*-->")
MISSING = "Dieses Runbook gibt es noch nicht"


def runbook_box(names: list[str], runbooks: dict[str, Runbook], page: str) -> str:
    blocks = []
    for name in names:
        rb = runbooks.get(name)
        if rb is None:
            blocks.append(
                f'!!! note "Runbook `{name}`"\n'
                f"    {MISSING}. Bis es da ist, helfen die Befehle auf dieser Seite; die vorhandenen\n"
                f"    Runbooks stehen in der {link('runbooks/index.md', page, 'Runbook-Übersicht')}.\n"
            )
            continue
        summary = f"\n\n    {rb.summary}" if rb.summary else ""
        blocks.append(
            f'!!! abstract "Runbook zu diesem Schritt: {link(rb.doc_path, page, rb.title)}"\n'
            f"    Im Terminal: `runbook run {rb.name}`. Die Runbook-Seite zeigt eine echte Ausführung gegen\n"
            f"    die Sandbox, alle Parameter und die Aufrufe für Jupyter und papermill.{summary}\n"
        )
    return "\n".join(blocks)


def runbooks_table(runbooks: dict[str, Runbook], page: str) -> str:
    if not runbooks:
        return "Noch gibt es keine Runbooks in `notebooks/`.\n"
    rows = ["| Runbook | Wofür | Aufruf |", "|---|---|---|"]
    for rb in runbooks.values():
        rows.append(
            f"| {link(rb.doc_path, page, rb.title)} | {table_cell(rb.summary) or '–'} | "
            f"`runbook run {rb.name}` |"
        )
    return "\n".join(rows) + "\n"


def _h1(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def guide_table(runbooks: dict[str, Runbook], page: str) -> str:
    """Step -> runbook, read from the markers of the guide pages."""
    guide = DOCS / "leitfaden"
    rows = ["| Schritt im Leitfaden | Runbook |", "|---|---|"]
    for path in sorted(guide.rglob("*.md"), key=_guide_order):
        rel = path.relative_to(DOCS).as_posix()
        if rel == page:
            continue
        names = [
            n.strip()
            for kind, arg in MARKER.findall(path.read_text(encoding="utf-8"))
            if kind == "runbook"
            for n in arg.split(",")
            if n.strip()
        ]
        cells = [
            link(runbooks[n].doc_path, page, runbooks[n].title)
            if n in runbooks
            else f"`{n}` (gibt es noch nicht)"
            for n in names
        ]
        rows.append(f"| {link(rel, page, _h1(path))} | {', '.join(cells) or '–'} |")
    return "\n".join(rows) + "\n"


GUIDE_ORDER = (
    "index",
    "aenderungen-vornehmen",
    "automatische-synchronisation",
    "status-pruefen",
    "logs-anzeigen",
    "manuelle-synchronisation",
    "rollback",
    "best-practices",
    "troubleshooting/index",
    "troubleshooting/flux-synchronisiert-nicht",
    "troubleshooting/helmrelease-schlaegt-fehl",
    "troubleshooting/zertifikats-probleme",
)


def _guide_order(path: Path) -> tuple[int, str]:
    key = path.relative_to(DOCS / "leitfaden").with_suffix("").as_posix()
    return (GUIDE_ORDER.index(key) if key in GUIDE_ORDER else len(GUIDE_ORDER), key)


def facade_exports() -> dict[str, list[tuple[str, str]]]:
    """module -> [(public name, attribute)] of the library's public facade (``runbook_lib.__all__``),
    read from ``runbook_lib/__init__.py`` without importing the library."""
    tree = ast.parse((LIBRARY / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_EXPORTS":
            exports: dict[str, tuple[str, str]] = ast.literal_eval(node.value)  # type: ignore[arg-type]
            break
    else:
        raise RuntimeError("runbook_lib/__init__.py has no _EXPORTS table")
    by_module: dict[str, list[tuple[str, str]]] = {}
    for public, (module, attribute) in exports.items():
        by_module.setdefault(module, []).append((public, attribute))
    return by_module


def reference_modules() -> list[tuple[str, str]]:
    """(dotted module name, first docstring line) of every module that holds part of the public facade;
    the rest of the library is internal and not published."""
    found: list[tuple[str, str]] = []
    for module in sorted(facade_exports()):
        path = LIBRARY.parent / module.replace(".", "/")
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        found.append((module, _first_doc_line(source)))
    return found


def _first_doc_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def reference_doc_path(module: str) -> str:
    return f"referenz/{module.removeprefix('runbook_lib.')}.md"


def reference_table(page: str, has_page: Callable[[str], bool]) -> str:
    rows = ["| Modul | Inhalt |", "|---|---|"]
    for module, line in reference_modules():
        if not has_page(reference_doc_path(module)):
            continue
        rows.append(f"| {link(reference_doc_path(module), page, module)} | {table_cell(line) or '–'} |")
    return "\n".join(rows) + "\n"


def reference_page(module: str) -> str:
    names = facade_exports()[module]
    public = ", ".join(f"`{p}`" for p, _ in names)
    members = "".join(f"        - {attribute}\n" for _, attribute in names)
    renamed = [f"`{p}` ist `{module}.{a}`" for p, a in names if p != a]
    note = f" Unter anderem Namen exportiert: {', '.join(renamed)}." if renamed else ""
    return (
        f"# `{module}`\n\n"
        f"Aus `runbook_lib` importierbar: {public}.{note} "
        "Aus den Docstrings erzeugt (englisch, wie der Code).\n\n"
        f"::: {module}\n"
        "    options:\n"
        "      show_root_heading: false\n"
        "      show_submodules: false\n"
        "      members:\n"
        f"{members}"
    )


def run_records(runbooks: dict[str, Runbook], page: str) -> str:
    rows = []
    for rb in runbooks.values():
        rendered = RUNBOOK_DOCS / f"{rb.name}.ipynb"
        if not rendered.exists():
            continue
        meta = json.loads(rendered.read_text(encoding="utf-8")).get("metadata", {})
        site = meta.get("runbook_site", {})
        if not site.get("executed"):
            continue
        pm = meta.get("papermill", {})
        params = ", ".join(f"{k}={v}" for k, v in (pm.get("parameters") or {}).items())
        if site.get("stopped"):
            result = "✔ Probelauf (planmäßig beendet)"
        else:
            result = "✗ Fehler" if pm.get("exception") else "✔ erfolgreich"
        # the run's duration as `runbook run` reports it; papermill's own figure counts only the cells
        duration = site.get("duration_s")
        rows.append(
            f"| {link(rb.doc_path, page, rb.name)} | `{site.get('scenario')}` | {code_cell(params)} | "
            f"{german_seconds(duration) if duration else '–'} | {result} | {site.get('finished_at') or '–'} |"
        )
    if not rows:
        return (
            '!!! note "Keine Läufe in diesem Build"\n'
            "    Diese Seite wurde ohne Ausführung der Runbooks gebaut. `python tools/site.py build` führt\n"
            "    jedes Runbook gegen die Sandbox aus und trägt die Läufe hier ein.\n"
        )
    head = [
        "| Runbook | Szenario | Parameter | Dauer | Ergebnis | Ende (UTC) |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"


def expand(
    markdown: str, page: str, runbooks: dict[str, Runbook], has_page: Callable[[str], bool] = lambda _: True
) -> str:
    """Replace every marker in a page's Markdown by its generated fragment."""

    def replace(match: re.Match[str]) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "runbook":
            return runbook_box([n.strip() for n in (arg or "").split(",") if n.strip()], runbooks, page)
        if kind == "runbooks-table":
            return runbooks_table(runbooks, page)
        if kind == "guide-table":
            return guide_table(runbooks, page)
        if kind == "exercises":
            return exercises(runbooks, page)
        if kind == "reference-modules":
            return reference_table(page, has_page)
        if kind == "run-records":
            return run_records(runbooks, page)
        return match.group(0)

    return MARKER.sub(replace, markdown)
