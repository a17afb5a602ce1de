"""MkDocs hooks of the site (configured in mkdocs.yml under `hooks:`).

- every notebooks/*.ipynb gets a page under Runbooks: the executed copy in docs/runbooks/ written by
  `tools/site.py build`, or, when there is none (plain `mkdocs build`/`mkdocs serve`), the notebook
  itself without outputs and with a note how to produce them; the nav entries are added here, so a new
  notebook needs no site edit. Each page is built from a guarded copy (runbook_site.notebook_pages), so
  its Markdown renders as written (``&&``, ``<commit>``) and no stray style block ends it;
- every runbook_lib module gets a reference page (mkdocstrings), also added to the nav;
- markers in the Markdown pages (`<!-- runbook: status -->`, ...) are expanded, see runbook_site.pages;
- the reference pages show Sphinx roles of the docstrings (``:func:`x```) as code and the repository's
  ``docs/*.md`` they cite as links to the site's pages (runbook_site.reference).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runbook_site import NOTEBOOKS, ROOT, RUNBOOK_DOCS
from runbook_site.intro import RunInfo, intro_markdown
from runbook_site.notebook_pages import guarded_copy, restore
from runbook_site.notebooks import Runbook, discover
from runbook_site.pages import MARKER, expand, reference_doc_path, reference_modules, reference_page
from runbook_site.reference import readable_reference

#: the guarded copies the runbook pages are built from (see runbook_site.notebook_pages; gitignored)
GUARDED = ROOT / "build" / "site-notebooks"


def _runbooks() -> dict[str, Runbook]:
    return {rb.name: rb for rb in discover(NOTEBOOKS)}


def _nav_titles(runbooks: list[Runbook]) -> list[str]:
    """Short nav titles: "Synchronisieren: Flux sofort abgleichen lassen" -> "Synchronisieren",
    unless several runbooks share that prefix ("Fehlersuche: ..."), then the full title."""
    short = [rb.title.split(":")[0].strip() or rb.name for rb in runbooks]
    return [s if short.count(s) == 1 else rb.title for s, rb in zip(short, runbooks, strict=True)]


def _section(nav: list[Any], title: str) -> list[Any] | None:
    for item in nav:
        if isinstance(item, dict) and title in item and isinstance(item[title], list):
            return item[title]
    return None


def on_config(config: Any) -> Any:
    nav = config.nav
    if not nav:
        return config
    runbook_section = _section(nav, "Runbooks")
    if runbook_section is not None:
        runbooks = list(_runbooks().values())
        runbook_section.extend(
            {t: rb.doc_path} for t, rb in zip(_nav_titles(runbooks), runbooks, strict=True)
        )
    reference_section = _section(nav, "Referenz")
    if reference_section is not None:
        reference_section.extend({module: reference_doc_path(module)} for module, _ in reference_modules())
    return config


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into notebook pages
def on_files(files: Files, config: Any) -> Files:
    runbooks = _runbooks()
    # Rendered copies whose notebook is gone are stale.
    for file in list(files):
        rendered = file.src_uri.startswith("runbooks/") and file.src_uri.endswith(".ipynb")
        if rendered and Path(file.src_uri).stem not in runbooks:
            files.remove(file)
    for rb in runbooks.values():
        page = files.get_file_from_path(rb.doc_path)
        intro = None
        if page is None:
            page = File(rb.doc_path, str(RUNBOOK_DOCS.parent), config.site_dir, config.use_directory_urls)
            page.abs_src_path = str(rb.path)
            files.append(page)
            intro = intro_markdown(rb, RunInfo(executed=False, built_by="mkdocs"))
        guarded = GUARDED / f"{rb.name}.ipynb"
        originals = guarded_copy(Path(page.abs_src_path or rb.path), guarded, intro=intro)
        page.runbook_markdown = originals  # type: ignore[attr-defined]
        page.abs_src_path = str(guarded)
    for module, _ in reference_modules():
        path = reference_doc_path(module)
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, content=reference_page(module)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    originals = getattr(page.file, "runbook_markdown", None)
    if originals is not None:  # after mkdocs-jupyter (priority 100) converted the guarded copy
        return restore(markdown, originals)
    if not page.file.src_uri.endswith(".md") or not MARKER.search(markdown):
        return markdown
    # Only what this build has pages for: notebooks or modules added meanwhile get theirs next time.
    runbooks = {n: rb for n, rb in _runbooks().items() if files.get_file_from_path(rb.doc_path)}
    return expand(
        markdown, page.file.src_uri, runbooks, has_page=lambda p: files.get_file_from_path(p) is not None
    )


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    if not page.file.src_uri.startswith("referenz/"):
        return html
    return readable_reference(html, page.url, has_page=lambda p: files.get_file_from_path(p) is not None)
