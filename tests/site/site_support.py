"""Helpers of the site tests, imported by conftest.py and the test modules."""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# tools/ is not an installed package; the tests import the site builder from there.
sys.path.insert(0, str(ROOT / "tools"))

from runbook_site import execute  # noqa: E402
from runbook_site.notebooks import discover  # noqa: E402
from runbook_site.pages import MISSING, reference_modules  # noqa: E402
from runbook_site.serve import serving  # noqa: E402

__all__ = ["MISSING", "discover", "execute", "reference_modules", "serving"]


ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def sandbox_available() -> bool:
    try:
        from flux_sandbox.sim import Sandbox  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class BuiltSite:
    site_dir: Path
    executed: bool
    output: str
    seconds: float
    modules: tuple[str, ...] = ()  # runbook_lib modules when the build started (others edit concurrently)

    def pages(self) -> list[Path]:
        """Every HTML page of the site except the 404 page."""
        return sorted(p for p in self.site_dir.rglob("index.html") if "assets" not in p.parts)

    def url_path(self, page: Path) -> str:
        rel = page.parent.relative_to(self.site_dir).as_posix()
        return "" if rel == "." else rel + "/"

    def html(self, url_path: str) -> str:
        return (self.site_dir / url_path / "index.html").read_text(encoding="utf-8")

    def text(self, url_path: str) -> str:
        """The visible text of a page's article, whitespace collapsed (code highlighting removed)."""
        return page_text(self.html(url_path))

    def require_outputs(self) -> None:
        if not self.executed:
            pytest.skip(
                "Sandbox (flux_sandbox.sim.Sandbox) noch nicht verfügbar: Seite ohne Ausführung gebaut"
            )


def requested_urls(driver: Any) -> list[str]:
    """URLs the page requested since the last call (drains the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message.get("method") == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def console_errors(driver: Any) -> list[str]:
    """SEVERE console entries since the last call (drains the browser log)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def page_text(page_html: str) -> str:
    match = re.search(r"<article.*?</article>", page_html, re.S)
    body = match.group(0) if match else page_html
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", "", body)
    return re.sub(r"\s+", " ", html.unescape(body))
