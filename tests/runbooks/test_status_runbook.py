"""The status runbook against the sandbox: papermill with a real kernel, `runbook run`, and bad contexts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import durationpy
import nbformat
import pytest
import yaml

from runbook_lib import check, status
from runbook_lib.cluster import connect
from runbook_lib.kinds import GIT_REPOSITORY
from runbook_lib.kube import list_objects

pytestmark = [pytest.mark.runbook, pytest.mark.sandbox]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "status.ipynb"
RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]


def remote_head(sandbox: Any) -> str:
    return subprocess.run(
        ["git", "-C", str(sandbox.remote), "rev-parse", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()


def plain_outputs(nb: Any) -> str:
    """Every text/plain result and stream of the executed notebook, in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def row(text: str, *cells: str) -> list[str]:
    """The table row (tab separated, cells stripped) that starts with ``cells``."""
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if fields[: len(cells)] == list(cells):
            return fields
    raise AssertionError(f"keine Zeile {cells} in:\n{text}")


@pytest.fixture(scope="module")
def executed(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """notebooks/status.ipynb executed by papermill with a normal Jupyter kernel."""
    import papermill

    out = tmp_path_factory.mktemp("status") / "status.ipynb"
    return papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"kubeconfig": str(sandbox.kubeconfig)},
        kernel_name="python3",
        progress_bar=False,
    )


def test_papermill_reports_kite_and_apps_ready(executed: Any) -> None:
    text = plain_outputs(executed)
    hr = row(text, "kube-system", "kite")
    assert hr[hr.index("kite") + 3] == "True"  # NAME, REVISION, SUSPENDED, READY
    ks = row(text, "flux-system", "apps")
    assert ks[4] == "True" and ks[3] == "False"
    assert executed.metadata.papermill.exception is None


def test_papermill_git_revision_is_remote_head(executed: Any, sandbox: Any) -> None:
    head = remote_head(sandbox)
    git = row(plain_outputs(executed), "flux-system", "flux-system", f"main@sha1:{head[:8]}")
    assert git[4] == "True"
    repos = list_objects(connect(str(sandbox.kubeconfig)), GIT_REPOSITORY, namespace="flux-system") or []
    revisions = {r["metadata"]["name"]: r["status"]["artifact"]["revision"] for r in repos}
    assert revisions["flux-system"] == f"main@sha1:{head}"


def test_papermill_shows_summary_check_and_schedule(executed: Any) -> None:
    text = plain_outputs(executed)
    assert "0 fehlerhaft" in text
    assert "✔ all checks passed" in text and "✔ source-controller: deployment ready" in text
    schedule = text[text.index("LETZTE NEUE REVISION") :]
    fetch = row(schedule, "flux-system", "flux-system")
    assert fetch[2] == "True", fetch
    assert fetch[4].startswith("vor ") and fetch[5].startswith("ca. in "), fetch
    interval = fetch[5].split("alle ", 1)[1].rstrip(")")
    assert durationpy.from_str(interval).total_seconds() > 0, fetch
    html = "".join(
        o.get("data", {}).get("text/html", "") for c in executed.cells for o in c.get("outputs", [])
    )
    assert "<table" in html and 'class="failing"' not in html


def test_library_calls_against_the_sandbox(sandbox: Any) -> None:
    cluster = connect(str(sandbox.kubeconfig))
    assert [i.name for i in status.get("hr", name="kite", namespace="kube-system", client=cluster)] == [
        "kite"
    ]
    assert status.summary(client=cluster).ok
    assert check.check(client=cluster).ok


def test_failing_helmrelease_is_listed_first(make_sandbox: Any) -> None:
    sb = make_sandbox("helmrelease-upgrade-failed")
    summary = status.summary(client=connect(str(sb.kubeconfig)))
    assert not summary.ok
    first = summary.problems[0]
    assert (first.kind, first.name, first.state) == ("HelmRelease", "kite", status.FAILING)
    assert first.message and first.message in str(summary)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "RUNBOOK_"))}
    return subprocess.run([*RUNBOOK, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_runbook_run_status_succeeds(sandbox: Any, tmp_path: Path) -> None:
    result = run_cli("run", "status", "--kubeconfig", str(sandbox.kubeconfig), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ergebnis:   ✔ erfolgreich" in result.stdout
    assert "Cluster:    Kontext 'runbook-sandbox' (http://127.0.0.1:" in result.stdout
    written = list((tmp_path / "runs").glob("status-*Z.ipynb"))
    assert len(written) == 1
    nb = nbformat.read(written[0], as_version=4)
    assert f"main@sha1:{remote_head(sandbox)[:8]}" in plain_outputs(nb)
    assert nb.metadata.papermill.parameters == {"kubeconfig": str(sandbox.kubeconfig)}


def test_unknown_context_exit_2_names_context_and_server(sandbox: Any, tmp_path: Path) -> None:
    result = run_cli(
        "run", "status", "--kubeconfig", str(sandbox.kubeconfig), "--context", "orbstack", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Der Kontext 'orbstack' steht nicht in der Kubeconfig" in result.stderr
    assert f"'runbook-sandbox' ({sandbox.url})" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_unreachable_context_exit_1_names_context_and_server(sandbox: Any, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["clusters"].append({"name": "weg", "cluster": {"server": f"http://127.0.0.1:{port}"}})
    config["contexts"].append(
        {"name": "weg", "context": {"cluster": "weg", "user": config["users"][0]["name"]}}
    )
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump(config))
    result = run_cli("run", "status", "--kubeconfig", str(kc), "--context", "weg", cwd=tmp_path)
    assert result.returncode == 1
    assert f"Der Cluster ist nicht erreichbar: Kontext 'weg' (http://127.0.0.1:{port})" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_runbook_run_with_a_real_kernel(sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "status-kernel.ipynb"
    result = run_cli(
        "run",
        "status",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--engine",
        "nbclient",
        "--output",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    nb = nbformat.read(out, as_version=4)
    assert row(plain_outputs(nb), "kube-system", "kite")[4] == "True"
