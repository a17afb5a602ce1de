"""Parts of the real engine that need no built binaries: pins, charts, repository, Git server."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from flux_sandbox.real import build, versions
from flux_sandbox.real._shared import HELMRELEASE, template_files
from flux_sandbox.real.charts import KITE_VERSIONS, MISSING_IMAGES, kite_charts, write_repository
from flux_sandbox.real.repo import APPS, JETSTACK_REPOSITORY, KITE_REPOSITORY, real_files
from flux_sandbox.real.servers import GitServer


def test_every_component_is_pinned_once_with_a_reason() -> None:
    names = [c.name for c in versions.COMPONENTS]
    assert len(names) == len(set(names))
    for comp in versions.COMPONENTS:
        assert comp.version.startswith("v") and comp.why
        if comp.method == "gomod":
            assert (versions.GO_DIR / comp.name / "go.mod").exists()
            assert (versions.GO_DIR / comp.name / "go.sum").exists()
            assert f"{comp.module} {comp.version}" in (versions.GO_DIR / comp.name / "go.mod").read_text()


def test_cache_key_follows_the_pins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = versions.cache_key()
    assert versions.KUBERNETES_VERSION in key and versions.FLUX_VERSION in key
    assert versions.cache_key() == key
    monkeypatch.setenv("RUNBOOK_REAL_CACHE", str(tmp_path))
    assert versions.cache_dir() == tmp_path / key


def test_human_durations_are_german() -> None:
    assert build.human(0.42) == "0,4 s"
    assert build.human(38) == "38 s"
    assert build.human(252) == "4 min 12 s"


def test_chart_repository_index_matches_the_packages(tmp_path: Path) -> None:
    write_repository(tmp_path, "http://127.0.0.1:1/kite", kite_charts())
    index = yaml.safe_load((tmp_path / "index.yaml").read_text())
    versions_ = [e["version"] for e in index["entries"]["kite"]]
    assert sorted(versions_) == sorted(KITE_VERSIONS) and "0.6.9" not in versions_
    for entry in index["entries"]["kite"]:
        data = (tmp_path / f"kite-{entry['version']}.tgz").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["digest"]
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
            chart = yaml.safe_load(tar.extractfile("kite/Chart.yaml").read())  # type: ignore[union-attr]
        assert chart["version"] == entry["version"] and chart["appVersion"] == f"v{entry['version']}"
    assert MISSING_IMAGES == ("ghcr.io/zxh326/kite:v0.7.0",)


def test_repository_points_at_local_servers_with_short_values() -> None:
    files = real_files(template_files("http://127.0.0.1:2/remote.git"), "http://127.0.0.1:3")
    assert "url: http://127.0.0.1:3/kite" in files[KITE_REPOSITORY]
    assert "url: http://127.0.0.1:3/jetstack" in files[JETSTACK_REPOSITORY]
    assert yaml.safe_load(files[HELMRELEASE])["spec"]["timeout"] == "20s"
    assert yaml.safe_load(files[APPS])["spec"]["retryInterval"] == "10s"
    assert "Sandbox-Werte" in files["README.md"]
    # the scenario edits of the simulator still find their anchors
    assert "    replicaCount: 1\n" in files[HELMRELEASE]


@pytest.mark.git
def test_git_server_wants_the_token(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(tmp_path / "remote.git")], check=True, env=env
    )
    server = GitServer(tmp_path, lambda: "richtig").start()
    try:
        base = f"127.0.0.1:{server.port}/remote.git"
        good = subprocess.run(
            ["git", "ls-remote", f"http://git:richtig@{base}"], capture_output=True, env=env
        )
        bad = subprocess.run(
            ["git", "ls-remote", f"http://git:falsch@{base}"], capture_output=True, text=True, env=env
        )
    finally:
        server.stop()
    assert good.returncode == 0, good.stderr
    assert bad.returncode != 0 and "Authentication failed" in bad.stderr
