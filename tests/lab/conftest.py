"""JupyterLab as the site tells people to use it (``pip install '.[lab]'``, ``jupyter lab``), driven in
headless Chromium like a person would: open a runbook, edit its parameters cell, Run → Run All Cells.

- ``lab`` (session): ``jupyter lab`` on 127.0.0.1 (free port, random token) with its own config,
  data, runtime, settings and workspace folders (nothing of the user's JupyterLab leaks in; the news
  prompt is off), serving a temporary folder; stopped (kernels included) after the session.
- ``lab_browser`` (session): headless Chromium (Debian's, with its chromedriver).
- ``notebook``: copies a runbook into a folder of its own under the served folder and opens it in a
  fresh workspace (:class:`LabNotebook`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lab_support import LabNotebook

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: the news prompt of JupyterLab would cover the notebook (and ask the internet); users can switch it
#: off the same way
SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    served: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("jupyterlab")
    served = home / "runbooks"
    served.mkdir()
    for name, values in SETTINGS.items():
        path = home / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        # the kernel is this environment's Python (where runbook_lib is installed)
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",  # CI machines run as root
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={served}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not _ready(f"{url}/api/status?token={token}"):
            assert proc.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, (
                "JupyterLab ist nicht gestartet:\n" + (home / "server.log").read_text()
            )
            time.sleep(0.5)
        yield Lab(url, token, served)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def lab_browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="lab-chromium-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        "--lang=de-DE",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def notebook(lab: Lab, lab_browser: Any, request: pytest.FixtureRequest) -> Callable[[str], LabNotebook]:
    """``notebook("status")``: the runbook copied into its own folder and opened in a fresh workspace."""

    def open_runbook(name: str) -> LabNotebook:
        folder = lab.served / request.node.name.replace("[", "-").replace("]", "")
        folder.mkdir(exist_ok=True)
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", folder / f"{name}.ipynb")
        page = LabNotebook(lab_browser, source=ROOT / "notebooks" / f"{name}.ipynb")
        workspace = secrets.token_hex(4)
        page.open(f"{lab.url}/lab/workspaces/{workspace}/tree/{folder.name}/{name}.ipynb?token={lab.token}")
        return page

    return open_runbook
