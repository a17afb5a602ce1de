"""The README's quickstart from a fresh clone: `./dev` prepares `.venv`, and the next steps the README
gives after `./dev demo` work as written (`source .venv/bin/activate`, then `runbook …`, `kubectl …`).

The clone is made from the committed HEAD of this repository. `./dev demo` itself builds and serves the
site until Ctrl+C; its sandbox (`.sandbox/`) is started here with `runbook sandbox up --state .sandbox`,
which is what the demo runs, so the README's commands meet the same cluster. Installing uses the pip
cache, as a second run of `./dev` does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.quickstart, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]


def readme_next_steps() -> list[str]:
    """The command lines of the README's block that starts with `source .venv/bin/activate`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if "source .venv/bin/activate" in b)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_readme_next_steps_work_after_dev_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "flux-runbooks"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "NOX", "KUBECONFIG"))}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if ".nox" not in p and ".venv" not in p
    )
    env["RUNBOOK_SANDBOX_TIMING"] = "fast"
    assert shutil.which("runbook", path=env["PATH"]) is None, "runbook darf vorher nicht auf dem PATH sein"
    setup = subprocess.run(
        ["./dev", "-l"], cwd=clone, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (clone / ".venv" / "bin" / "runbook").is_file()
    log = tmp_path / "sandbox.log"
    with log.open("w", encoding="utf-8") as out:
        sandbox = subprocess.Popen(
            [str(clone / ".venv" / "bin" / "runbook"), "sandbox", "up", "--state", ".sandbox"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "ready:" not in log.read_text(encoding="utf-8") and sandbox.poll() is None:
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.2)
        assert "ready:" in log.read_text(encoding="utf-8"), log.read_text(encoding="utf-8")
        steps = readme_next_steps()
        assert steps[0] == "source .venv/bin/activate" and "runbook list" in steps
        script = "set -e\n" + "\n".join(steps) + "\n"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc"],
            input=script,
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "troubleshoot-helmrelease" in done.stdout  # runbook list
    assert "Befund:     ✔ 10 Flux-Objekte" in done.stdout  # runbook run status against the demo's sandbox
    assert "kube-system" in done.stdout and "kite" in done.stdout  # kubectl get helmreleases -A
