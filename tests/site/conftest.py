"""Fixtures of the site tests: one build per session, a local HTTP server, headless Chromium.

The build executes every runbook against the sandbox (`tools/site.py build`). While the sandbox
package does not provide `Sandbox` yet, it builds with `--no-execute` and the tests that need real
outputs skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from site_support import (
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    BuiltSite,
    reference_modules,
    sandbox_available,
    serving,
)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    site_dir = tmp_path_factory.mktemp("site")
    execute = sandbox_available()
    cmd = [sys.executable, str(ROOT / "tools" / "site.py"), "build", "--site-dir", str(site_dir)]
    if not execute:
        cmd.append("--no-execute")
    # Developer aid, e.g. RUNBOOK_SITE_ARGS="--only status": tests needing every output then fail.
    cmd += os.environ.get("RUNBOOK_SITE_ARGS", "").split()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONUTF8="1")
    modules = tuple(m for m, _ in reference_modules())
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"tools/site.py build ist fehlgeschlagen:\n{output}"
    return BuiltSite(site_dir, execute, output, seconds, modules)


@pytest.fixture(scope="session")
def site_url(built_site: BuiltSite) -> Iterator[str]:
    with serving(built_site.site_dir, port=0) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="site-chromium-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        "--lang=de-DE",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
