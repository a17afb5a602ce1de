"""The built site, checked in its files: strict build, generated pages, links, offline, German search."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from site_support import MISSING, ROOT, BuiltSite, discover

pytestmark = [pytest.mark.site, pytest.mark.timeout(900)]

GUIDE_PAGES = {
    # section of gitops-workflow.de.md -> page (URL path)
    "Übersicht": "leitfaden/",
    "Änderungen vornehmen": "leitfaden/aenderungen-vornehmen/",
    "Automatische Synchronisation": "leitfaden/automatische-synchronisation/",
    "Status prüfen": "leitfaden/status-pruefen/",
    "Logs anzeigen": "leitfaden/logs-anzeigen/",
    "Manuelle Synchronisation": "leitfaden/manuelle-synchronisation/",
    "Rollback": "leitfaden/rollback/",
    "Best Practices": "leitfaden/best-practices/",
    "Flux synchronisiert nicht": "leitfaden/troubleshooting/flux-synchronisiert-nicht/",
    "HelmRelease schlägt fehl": "leitfaden/troubleshooting/helmrelease-schlaegt-fehl/",
    "Zertifikats-Probleme": "leitfaden/troubleshooting/zertifikats-probleme/",
}
GUIDE_RUNBOOK = {
    "leitfaden/aenderungen-vornehmen/": "change",
    "leitfaden/status-pruefen/": "status",
    "leitfaden/logs-anzeigen/": "logs",
    "leitfaden/manuelle-synchronisation/": "sync",
    "leitfaden/rollback/": "rollback",
    "leitfaden/troubleshooting/flux-synchronisiert-nicht/": "troubleshoot-sync",
    "leitfaden/troubleshooting/helmrelease-schlaegt-fehl/": "troubleshoot-helmrelease",
    "leitfaden/troubleshooting/zertifikats-probleme/": "troubleshoot-certificates",
}


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.refs.append((tag, name, value))


def refs(html: str) -> list[tuple[str, str, str]]:
    parser = _Refs()
    parser.feed(html)
    return parser.refs


def test_strict_build_passed(built_site: BuiltSite) -> None:
    assert "mkdocs build --strict" in built_site.output
    assert "✔ Seite gebaut" in built_site.output
    assert (built_site.site_dir / "index.html").exists()
    assert (built_site.site_dir / "404.html").exists()


def test_every_notebook_has_a_page_with_how_to_run_and_parameters(built_site: BuiltSite) -> None:
    runbooks = discover()
    assert runbooks, "notebooks/ enthält keine Runbooks"
    for rb in runbooks:
        html = built_site.html(f"runbooks/{rb.name}/")
        text = built_site.text(f"runbooks/{rb.name}/")
        assert "So führen Sie dieses Runbook aus" in text, rb.name
        assert f"runbook run {rb.name}" in text, rb.name
        assert f"papermill notebooks/{rb.name}.ipynb" in text, rb.name
        assert "jupyter lab" in text, rb.name
        for param in rb.parameters:
            assert f"<td><code>{param.name}</code></td>" in html, f"{rb.name}: Parameter {param.name} fehlt"
        # the nav lists the runbook (added by the hook, not by hand)
        index = built_site.html("runbooks/")
        assert f'href="{rb.name}/"' in index or f'href="./{rb.name}/"' in index, rb.name


def test_guide_sections_are_pages_linking_their_runbook(built_site: BuiltSite) -> None:
    existing = {rb.name for rb in discover()}
    for title, path in GUIDE_PAGES.items():
        assert title in built_site.text(path), path
    for path, runbook in GUIDE_RUNBOOK.items():
        html = built_site.html(path)
        if runbook in existing:
            assert f"runbooks/{runbook}/" in html, f"{path} verlinkt das Runbook {runbook} nicht"
            assert MISSING not in html
        else:
            assert MISSING in html, f"{path} sagt nicht, dass es {runbook} noch nicht gibt"


def test_guide_corrections_are_explained(built_site: BuiltSite) -> None:
    logs = built_site.text("leitfaden/logs-anzeigen/")
    assert "flux logs helmrelease kite -n kube-system" in logs  # the original command stays visible
    assert "flux logs --kind=HelmRelease --name=kite -n kube-system" in logs
    sync = built_site.text("leitfaden/automatische-synchronisation/")
    assert "spec.interval" in sync and "Korrektur" in sync


def test_internal_links_resolve(built_site: BuiltSite) -> None:
    broken = []
    for page in built_site.pages():
        base = "http://site/" + built_site.url_path(page)
        for _tag, _attr, value in refs(page.read_text(encoding="utf-8")):
            target = urlsplit(urljoin(base, value))
            if target.netloc != "site":
                continue
            path = built_site.site_dir / unquote(target.path).lstrip("/")
            if not (path.is_file() or (path / "index.html").is_file()):
                broken.append(f"{built_site.url_path(page)} -> {value}")
    assert not broken, "Tote Links:\n" + "\n".join(broken)


def test_no_external_resources(built_site: BuiltSite) -> None:
    """Nothing the browser would load comes from outside (links to other sites are fine)."""
    external = []
    for page in [*built_site.pages(), built_site.site_dir / "404.html"]:
        for tag, attr, value in refs(page.read_text(encoding="utf-8")):
            loads = attr == "src" or (tag == "link" and attr == "href")
            if loads and re.match(r"^(https?:)?//", value):
                external.append(f"{page.relative_to(built_site.site_dir)}: <{tag} {attr}={value}>")
    for asset in built_site.site_dir.rglob("*.css"):
        for url in re.findall(r"url\((['\"]?)(https?://[^)'\"]+)\1\)", asset.read_text(encoding="utf-8")):
            external.append(f"{asset.name}: {url[1]}")
    for page in built_site.pages():
        html = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in html
        assert "cdn.jsdelivr.net" not in html, page
    assert not external, "\n".join(external)


def test_search_index_is_german_and_finds_certificates(built_site: BuiltSite) -> None:
    index = json.loads((built_site.site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["de"]
    hits = [d["location"] for d in index["docs"] if "Zertifikat" in d["text"] or "Zertifikat" in d["title"]]
    assert any(loc.startswith("leitfaden/troubleshooting/zertifikats-probleme/") for loc in hits)


def test_reference_has_a_page_per_facade_module(built_site: BuiltSite) -> None:
    """Only the public facade is published; internal modules have no reference page."""
    modules = built_site.modules
    assert set(modules) >= {"runbook_lib.errors", "runbook_lib.status", "runbook_lib.cluster"}
    assert "runbook_lib.kube" not in modules and "runbook_lib.report" not in modules
    for module in modules:
        html = built_site.html(f"referenz/{module.removeprefix('runbook_lib.')}/")
        assert module in html
    errors = built_site.html("referenz/errors/")
    assert "RunbookError" in errors and 'class="doc doc-' in errors


def test_exercises_cover_every_scenario(built_site: BuiltSite) -> None:
    html = built_site.text("uebungen/")
    try:
        from flux_sandbox.sim.scenarios import SCENARIOS
    except ImportError:
        pytest.skip("flux_sandbox.sim.scenarios noch nicht verfügbar")
    for name in SCENARIOS:
        if name != "healthy":
            assert f"--scenario {name}" in html, name


def test_run_records_list_every_executed_runbook(built_site: BuiltSite) -> None:
    built_site.require_outputs()
    html = built_site.html("laufprotokolle/")
    for rb in discover():
        assert f'href="../runbooks/{rb.name}/"' in html, rb.name
    assert "✔ erfolgreich" in html
    assert "✗ Fehler" not in html


def test_runbook_pages_show_real_outputs_without_host_paths(built_site: BuiltSite) -> None:
    built_site.require_outputs()
    for rb in discover():
        html = built_site.html(f"runbooks/{rb.name}/")
        assert "jp-OutputArea-output" in html, f"{rb.name}: keine Ausgaben"
        assert "Echte Ausgaben" in built_site.text(f"runbooks/{rb.name}/"), rb.name
        assert "/tmp/" not in html and str(Path.home()) + "/" not in html, (
            f"{rb.name}: Host-Pfad auf der Seite"
        )
    status = built_site.html("runbooks/status/")
    assert 'class="runbook-table"' in status


def test_build_time_is_reported(built_site: BuiltSite) -> None:
    assert re.search(r"Ausführung [\d,]+ s, MkDocs [\d,]+ s, gesamt [\d,]+ s", built_site.output)
    assert built_site.seconds > 0
    assert ROOT.joinpath("mkdocs.yml").exists()


def code_blocks(page_html: str) -> list[str]:
    """The text of every code block of a page as the copy button copies it (tags gone, entities decoded)."""
    blocks = re.findall(r"<pre[^>]*>(?:<span></span>)?<code[^>]*>(.*?)</code></pre>", page_html, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]


def test_runbook_pages_end_with_the_notebook_and_show_commands_as_written(built_site: BuiltSite) -> None:
    """No raw `<style> ['pre { … }']` block at the end of a runbook page (mkdocs-jupyter 0.27 appends
    it), and command lines read and copy as written: `&&` and `<commit>`, never `&amp;&amp;` or a
    `<commit-hash>` element."""
    for rb in discover():
        page = built_site.html(f"runbooks/{rb.name}/")
        text = built_site.text(f"runbooks/{rb.name}/")
        assert "['pre {" not in text and "line-height: 125%" not in text, rb.name
        for block in code_blocks(page):
            assert "&amp;" not in block and "&lt;" not in block and "&gt;" not in block, (rb.name, block)
    rollback = "\n".join(code_blocks(built_site.html("runbooks/rollback/")))
    assert 'git revert --no-commit <commit> && git commit -m "Zurückgenommen: …" && git push' in rollback
    assert (
        "git reset --hard <commit-hash> && git push --force-with-lease=main:<angezeigter Stand>" in rollback
    )
    assert "</commit-hash>" not in built_site.html("runbooks/rollback/")
    change = "\n".join(code_blocks(built_site.html("runbooks/change/")))
    assert "git status && git fetch && git status -sb" in change


def test_reference_pages_show_no_sphinx_markup_and_link_their_citations(built_site: BuiltSite) -> None:
    for module in built_site.modules:
        text = built_site.text(f"referenz/{module.removeprefix('runbook_lib.')}/")
        assert not re.search(r":(func|class|mod|meth|attr|data|exc):", text), module
    status = built_site.html("referenz/status/")
    assert '<a href="../../flux-facts/#3-flux-get">docs/flux-facts.md §3</a>' in status


def test_run_durations_are_one_number_in_one_format(built_site: BuiltSite) -> None:
    """The run records page and each runbook page name the same duration, with a German decimal comma."""
    built_site.require_outputs()
    rows = re.findall(r"<tr>(.*?)</tr>", built_site.html("laufprotokolle/"), re.S)
    for rb in discover():
        note = re.search(r"Echte Ausgaben .*? in (\d+,\d\d s)\.", built_site.text(f"runbooks/{rb.name}/"))
        assert note, rb.name
        row = next(r for r in rows if f'href="../runbooks/{rb.name}/"' in r)
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        assert cells[3] == note.group(1), (rb.name, cells, note.group(1))
