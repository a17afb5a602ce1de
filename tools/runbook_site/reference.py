"""The reference pages as a reader sees them: no Sphinx markup, citations that are links.

The library's docstrings use Sphinx roles (``:func:`connect```, ``:class:`~.Diagnosis```), which
mkdocstrings' Google style leaves as text: ``:func:connect``. They cite the developer pages of the
repository as ``docs/flux-facts.md §10``, a file path the site reader cannot open. Both are fixed in the
rendered HTML of the reference pages: a role becomes plain code with the name as written (``~`` and a
leading ``.`` dropped, as Sphinx shows them), a cited page that is on the site becomes a link to it (to
the numbered section, when one is cited).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from functools import cache

from markdown.extensions.toc import slugify

from . import DOCS

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj|const):(<code>)([^<]*)(</code>)")
_CITED = re.compile(r'(?<![\w/="])docs/([\w-]+)\.md(?:\s§(\d+))?')


def _shown(target: str) -> str:
    """The name as Sphinx shows it: ``~a.b.c`` -> ``c``, ``.rules`` -> ``rules``."""
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target.lstrip(".")


@cache
def section_anchor(page: str, number: str) -> str:
    """The anchor of the heading ``## <number>. Title`` of ``docs/<page>.md`` (as MkDocs' toc makes it);
    empty when there is no such heading."""
    path = DOCS / f"{page}.md"
    if not path.is_file():
        return ""
    found = re.search(
        rf"^##\s+({re.escape(number)}\.\s+.+?)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE
    )
    return slugify(found.group(1), "-") if found else ""


def readable_reference(html: str, page_url: str, *, has_page: Callable[[str], bool]) -> str:
    """The HTML of a reference page (served at ``page_url``, e.g. ``referenz/status/``) without role
    markup and with links for the pages it cites (pure but for reading the cited page's headings)."""
    html = _ROLE.sub(lambda m: f"{m.group(1)}{_shown(m.group(2))}{m.group(3)}", html)

    def link(match: re.Match[str]) -> str:
        page, number = match.group(1), match.group(2)
        if not has_page(f"{page}.md"):
            return match.group(0)
        href = posixpath.relpath(f"{page}/", page_url or ".") + "/"
        anchor = section_anchor(page, number) if number else ""
        return f'<a href="{href}{"#" + anchor if anchor else ""}">{match.group(0)}</a>'

    return _CITED.sub(link, html)
