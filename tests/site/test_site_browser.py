"""The site in headless Chromium: every page loads cleanly and offline, outputs, search, navigation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from site_support import ARTIFACTS, BuiltSite, console_errors, discover, requested_urls

pytestmark = [pytest.mark.site, pytest.mark.timeout(900)]

LOCAL_HOSTS = {"127.0.0.1"}
# Schemes that go over the network; data:, blob:, about: and the browser's own chrome:// do not.
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def load(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    # Material loads the search index in a web worker after the page; give it a moment to do so
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return typeof document$ !== 'undefined'"))


def leaving(urls: list[str]) -> list[str]:
    out = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in NETWORK_SCHEMES and parts.hostname not in LOCAL_HOSTS:
            out.append(url)
    return out


def test_every_page_loads_without_console_errors_or_outside_requests(
    built_site: BuiltSite, site_url: str, browser: Any
) -> None:
    pages = built_site.pages()
    assert len(pages) > 20
    browser.get("about:blank")
    console_errors(browser), requested_urls(browser)  # start with empty logs
    problems = []
    seen = 0
    for page in pages:
        path = built_site.url_path(page)
        load(browser, site_url + path)
        errors = console_errors(browser)
        urls = requested_urls(browser)
        seen += len(urls)
        if errors:
            problems.append(f"{path}: Konsolenfehler {errors}")
        if leaving(urls):
            problems.append(f"{path}: Anfragen nach außen {leaving(urls)}")
        title = browser.find_element("css selector", "article h1").text
        if not title:
            problems.append(f"{path}: keine Überschrift")
    assert seen >= len(pages), "das Performance-Log hat keine Anfragen aufgezeichnet"
    assert not problems, "\n".join(problems)


def test_runbook_outputs_are_visible(built_site: BuiltSite, site_url: str, browser: Any) -> None:
    built_site.require_outputs()
    for rb in discover():
        load(browser, f"{site_url}runbooks/{rb.name}/")
        outputs = [
            o for o in browser.find_elements("css selector", ".jp-OutputArea-output") if o.text.strip()
        ]
        assert outputs, f"{rb.name}: keine sichtbare Ausgabe"
        tables = browser.find_elements("css selector", ".jp-OutputArea-output table")
        findings = browser.find_elements("css selector", ".runbook-finding")
        assert tables or findings, f"{rb.name}: weder Tabelle noch Befund sichtbar"
        params = browser.find_element("xpath", "//h2[contains(., 'Parameter')]/following::table[1]")
        assert params.is_displayed()


def test_status_page_reads_well_and_is_kept_as_screenshot(
    built_site: BuiltSite, site_url: str, browser: Any
) -> None:
    """The status runbook page: its output table is visible; screenshots go to artifacts/."""
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 1000)
    load(browser, f"{site_url}runbooks/status/")
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "status-page.png"))
    built_site.require_outputs()
    table = browser.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output table.runbook-table")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", table)
    browser.execute_script("window.scrollBy(0, -120)")  # below the sticky header
    assert table.is_displayed()
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) >= 1
    assert browser.save_screenshot(str(ARTIFACTS / "status-page-output.png"))


def test_search_finds_german_words(site_url: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    load(browser, site_url)
    opener = browser.find_element(By.CSS_SELECTOR, "label.md-header__button[for='__search']")
    if opener.is_displayed():  # narrow layouts hide the search field behind a button
        opener.click()
    box = WebDriverWait(browser, 10).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input"))
    )
    box.click()
    box.send_keys("Zertifikat")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item a.md-search-result__link")
    )
    links = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item a.md-search-result__link")
    ]
    assert any("zertifikats-probleme" in href for href in links), links
    meta = browser.find_element(By.CSS_SELECTOR, ".md-search-result__meta").text
    assert "ergebnis" in meta.lower(), meta  # German UI text, e.g. "6 Suchergebnisse"


def test_navigation_works(site_url: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def h1() -> str:
        return browser.find_element(By.CSS_SELECTOR, "article h1").text

    load(browser, site_url)
    assert h1().startswith("Flux-Runbooks")
    browser.find_element(
        By.XPATH, "//a[contains(@class,'md-tabs__link') and normalize-space()='Leitfaden']"
    ).click()
    WebDriverWait(browser, 10).until(
        lambda d: "/leitfaden/" in d.current_url and h1() == "GitOps-Workflow mit Flux"
    )
    sidebar = browser.find_element(
        By.XPATH, "//nav[contains(@class,'md-nav--primary')]//a[normalize-space()='Rollback']"
    )
    sidebar.click()
    WebDriverWait(browser, 10).until(
        lambda d: d.current_url.endswith("/leitfaden/rollback/") and h1() == "Rollback"
    )
    browser.find_element(
        By.XPATH, "//a[contains(@class,'md-tabs__link') and normalize-space()='Runbooks']"
    ).click()
    WebDriverWait(browser, 10).until(lambda d: "/runbooks/" in d.current_url and h1() == "Runbooks")
    first = discover()[0]
    browser.find_element(By.CSS_SELECTOR, f"article a[href$='{first.name}/']").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/runbooks/{first.name}/"))
    assert h1() == first.title
    assert browser.title.startswith(first.title)
    assert not console_errors(browser)


def test_output_tables_fit_the_page_and_evidence_wraps_between_words(
    built_site: BuiltSite, site_url: str, browser: Any
) -> None:
    """At 1400 px no output table hides a column behind a scrollbar (they wrap their cells instead), and
    evidence lines break between words, not inside them."""
    built_site.require_outputs()
    browser.set_window_size(1400, 1000)
    wide = []
    for rb in discover():
        load(browser, f"{site_url}runbooks/{rb.name}/")
        wide += browser.execute_script(
            """return [...document.querySelectorAll('.jp-OutputArea-output table.runbook-table')]
                 .filter(t => t.getBoundingClientRect().right >
                              t.closest('.jp-OutputArea-output').getBoundingClientRect().right + 1)
                 .map(t => location.pathname + ': ' +
                           [...t.querySelectorAll('th')].map(h => h.textContent).join(' '))"""
        )
    assert not wide, "Tabellen breiter als die Seite:\n" + "\n".join(wide)
    load(browser, f"{site_url}runbooks/troubleshoot-certificates/")
    styles = browser.execute_script(
        """return [...document.querySelectorAll('pre.runbook-evidence')].map(p => {
             const s = getComputedStyle(p); return [s.wordBreak, s.whiteSpace]; })"""
    )
    assert styles and all(s == ["normal", "pre-wrap"] for s in styles), styles


def test_parameter_table_reads_on_a_phone(built_site: BuiltSite, site_url: str, browser: Any) -> None:
    """At 390 px every parameter is a block (name, type, default, meaning below each other) that fits
    the screen, not a squashed four-column table."""
    browser.set_window_size(390, 844)
    try:
        load(browser, f"{site_url}runbooks/troubleshoot-helmrelease/")
        layout = browser.execute_script(
            """const t = document.querySelector('table.runbook-params');
               const page = t.closest('article').getBoundingClientRect();
               const cells = [...t.querySelectorAll('td')];
               return {display: getComputedStyle(cells[0]).display,
                       fits: cells.every(c => c.getBoundingClientRect().right <= page.right + 1),
                       label: getComputedStyle(cells[1], '::before').content};"""
        )
    finally:
        browser.set_window_size(1280, 900)
    assert layout == {"display": "block", "fits": True, "label": '"Typ: "'}, layout
