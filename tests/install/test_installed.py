"""Installed as a package, used from anywhere: the wheel in a fresh venv, commands run outside the
checkout. `runbook list` shows every runbook, `runbook run` and `runbook smoke` work against the
sandbox, and papermill runs the shipped notebooks without warnings."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Installed

from runbook_lib.runner import Runbook

pytestmark = [pytest.mark.install, pytest.mark.timeout(900)]

CHECKOUT_RUNBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_the_wheel_carries_every_runbook(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(Path(n).stem for n in names if n.startswith("runbook_lib/notebooks/"))
    assert shipped == CHECKOUT_RUNBOOKS
    assert "runbook_lib/py.typed" in names
    assert any(n.startswith("flux_sandbox/sim/repo_template/clusters/") for n in names)
    # the real engine's build modules: `python -m flux_sandbox.real.build` needs them from a wheel too
    go = ROOT / "flux_sandbox" / "real" / "go"
    committed = sorted(str(p.relative_to(ROOT)) for p in go.rglob("*") if p.is_file())
    assert committed and sorted(n for n in names if n.startswith("flux_sandbox/real/go/")) == committed


def test_list_from_anywhere_shows_every_runbook(installed: Installed, outside: Path) -> None:
    proc = installed.run(["runbook", "list"], cwd=outside)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITEL", "ZUGRIFF"]
    assert [line.split()[0] for line in lines[1:]] == CHECKOUT_RUNBOOKS
    path = installed.run(["runbook", "show", "status", "--path"], cwd=outside).stdout.strip()
    assert Path(path).is_relative_to(installed.venv) and Path(path).is_file()


def test_a_teams_own_folder_is_added(installed: Installed, outside: Path) -> None:
    own = outside / "eigene"
    own.mkdir()
    (own / "nachtlauf.ipynb").write_bytes((ROOT / "notebooks" / "status.ipynb").read_bytes())
    proc = installed.run(["runbook", "list", "--runbooks", str(own)], cwd=outside)
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert set(rows) == {*CHECKOUT_RUNBOOKS, "nachtlauf"}
    assert rows["nachtlauf"].endswith(str(own)) and rows["status"].endswith("mitgeliefert")
    via_env = installed.run(
        ["runbook", "show", "nachtlauf", "--path"], cwd=outside, RUNBOOK_NOTEBOOKS=str(own)
    )
    assert via_env.stdout.strip() == str(own / "nachtlauf.ipynb")


def test_run_status_outside_the_checkout(installed: Installed, outside: Path, sandbox: Any) -> None:
    proc = installed.run(["runbook", "run", "status", "--kubeconfig", str(sandbox.kubeconfig)], cwd=outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Ergebnis:   ✔ erfolgreich" in proc.stdout
    assert "Cluster:    Kontext 'runbook-sandbox'" in proc.stdout
    assert len(list((outside / "runs").glob("status-*.ipynb"))) == 1


def test_smoke_from_the_installed_package(installed: Installed, outside: Path, make_sandbox: Any) -> None:
    failing = make_sandbox("helmrelease-upgrade-failed")
    args = ["runbook", "smoke", "--kubeconfig", str(failing.kubeconfig), "--junit", "out.xml"]
    proc = installed.run(args, cwd=outside)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    root = ET.parse(outside / "out.xml").getroot()
    failed = {
        (case.get("classname"), case.get("name")): case.find("failure")
        for case in root.iter("testcase")
        if case.find("failure") is not None
    }
    # the cause comes first (the image that cannot be pulled), the failed upgrade is its consequence
    helmrelease = [f for (cls, _), f in failed.items() if cls == "troubleshoot-helmrelease.Befunde"]
    assert any("v0.7.0" in str(f.get("message")) for f in helmrelease), sorted(failed)
    assert ("status.Befunde", "HelmRelease kube-system/kite") in failed
    healthy = make_sandbox("healthy")
    args = ["runbook", "smoke", "--kubeconfig", str(healthy.kubeconfig), "--junit", "ok.xml"]
    proc = installed.run(args, cwd=outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ET.parse(outside / "ok.xml").getroot().get("failures") == "0"


@pytest.mark.parametrize("name", CHECKOUT_RUNBOOKS)
def test_papermill_help_lists_every_parameter_with_type_and_help(
    installed: Installed, outside: Path, name: str
) -> None:
    path = installed.run(["runbook", "show", name, "--path"], cwd=outside).stdout.strip()
    proc = installed.run(["papermill", "--help-notebook", path], cwd=outside)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\s+", " ", proc.stdout)
    for p in Runbook.load(ROOT / "notebooks" / f"{name}.ipynb").parameters:
        assert f"{p.name}: {p.type} (default {p.default}) {p.help}" in text
    assert "Unable to parse" not in proc.stdout + proc.stderr


def test_papermill_runs_a_runbook_without_parameter_warnings(
    installed: Installed, outside: Path, sandbox: Any
) -> None:
    path = installed.run(["runbook", "show", "status", "--path"], cwd=outside).stdout.strip()
    pm = ["papermill", path, "-p", "kubeconfig", str(sandbox.kubeconfig), "-p", "namespace", "flux-system"]
    kernel = installed.run([*pm, "mit-kernel.ipynb"], cwd=outside)
    assert kernel.returncode == 0, kernel.stderr
    for noise in ("Unable to parse", "unknown parameter", "Black"):
        assert noise not in kernel.stderr
    inprocess = installed.run([*pm, "--engine", "inprocess", "ohne-kernel.ipynb"], cwd=outside)
    assert inprocess.returncode == 0, inprocess.stderr
    assert "warn" not in inprocess.stderr.lower(), inprocess.stderr
    for out in ("mit-kernel.ipynb", "ohne-kernel.ipynb"):
        assert "✔ " in (outside / out).read_text(encoding="utf-8")


def test_pipx_install_works_the_same(wheel: Path, outside: Path, tmp_path: Path, sandbox: Any) -> None:
    """``pipx install`` puts only the `runbook` command on PATH, in its own venv: it finds its runbooks."""
    import shutil
    import subprocess
    import sys

    pipx_home, bin_dir = tmp_path / "pipx", tmp_path / "pipx-bin"
    env = {
        **{
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RUNBOOK_NOTEBOOKS")
        },
        "PIPX_HOME": str(pipx_home),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIPX_MAN_DIR": str(tmp_path / "pipx-man"),
    }
    pipx = [sys.executable, "-m", "pipx"]
    install = [*pipx, "install", "--pip-args=--no-compile", str(wheel)]
    proc = subprocess.run(install, cwd=outside, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in bin_dir.iterdir()) == ["runbook"]
    env["PATH"] = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    listed = subprocess.run(
        ["runbook", "list"], cwd=outside, env=env, capture_output=True, text=True, check=False
    )
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == CHECKOUT_RUNBOOKS, listed.stderr
    run = subprocess.run(
        ["runbook", "run", "status", "--kubeconfig", str(sandbox.kubeconfig)],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and "Ergebnis:   ✔ erfolgreich" in run.stdout, run.stdout + run.stderr
    shutil.rmtree(pipx_home, ignore_errors=True)
