"""The `runbook` command as a user runs it (subprocesses, Ctrl+C as a terminal sends it to the process
group) against bad input, interruptions and concurrent use: a German message, the right exit code, no
traceback, and nothing changed or lost (remote refs, checkout, cluster objects)."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flux_sandbox.faults import FaultProxy
from flux_sandbox.sim import Sandbox, Timing
from runbook_lib.cli import main
from runbook_lib.cluster import connect

pytestmark = pytest.mark.runbook

HR = ("helm.toolkit.fluxcd.io", "v2", "kube-system", "helmreleases", "kite")
#: what must never reach a user
LEAKS = re.compile(r"Traceback|MaxRetryError|ProtocolError|HTTPConnectionPool|KeyboardInterrupt|\w+Error: ")


def runbook(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def world(sb: Sandbox) -> dict[str, Any]:
    """What must not change: remote refs, the checkout, the HelmRelease in the cluster."""
    hr = connect(str(sb.kubeconfig)).custom.get_namespaced_custom_object(*HR)
    return {
        "remote": git(sb.remote, "for-each-ref"),
        "head": git(sb.checkout, "rev-parse", "HEAD"),
        "status": git(sb.checkout, "status", "--porcelain"),
        "values": hr["spec"].get("values"),
    }


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the refusals: each test checks that it is unchanged afterwards."""
    with Sandbox(tmp_path_factory.mktemp("hardening"), timing=Timing.fast()) as sb:
        yield sb


def assert_clean_refusal(proc: Any, code: int, text: str) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert text in proc.stderr
    assert not LEAKS.search(proc.stdout + proc.stderr), proc.stdout + proc.stderr


# --- refused before anything acts -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["/proc/x.ipynb", "DIR", "FILE/x.ipynb"])
def test_an_unwritable_output_is_refused_before_the_change_is_pushed(
    shared: Sandbox, tmp_path: Path, where: str
) -> None:
    (tmp_path / "FILE").write_text("x")
    output = where.replace("DIR", str(tmp_path)).replace("FILE", str(tmp_path / "FILE"))
    before = world(shared)
    proc = runbook(
        "run",
        "change",
        "-p",
        "repo_path",
        str(shared.checkout),
        "-p",
        "dry_run",
        "false",
        "--kubeconfig",
        str(shared.kubeconfig),
        "--output",
        output,
        cwd=tmp_path,
    )
    assert_clean_refusal(proc, 2, "✗ Das Protokoll kann nicht nach")
    assert "Es wurde nichts ausgeführt" in proc.stderr and "► Runbook" not in proc.stderr
    assert world(shared) == before


def test_a_repeated_parameter_is_refused_and_nothing_is_pushed(shared: Sandbox, tmp_path: Path) -> None:
    before = world(shared)
    proc = runbook(
        "run",
        "change",
        "-p",
        "repo_path",
        str(shared.checkout),
        "-p",
        "dry_run",
        "true",
        "-p",
        "dry_run",
        "false",
        "--kubeconfig",
        str(shared.kubeconfig),
        cwd=tmp_path,
    )
    assert_clean_refusal(proc, 2, "Parameter 'dry_run' ist mehrfach angegeben ('true' und 'false')")
    assert world(shared) == before and not (tmp_path / "runs").exists()


def test_an_alias_bomb_is_refused_in_bounded_memory(shared: Sandbox, tmp_path: Path) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(5)
    )

    def limit_memory() -> None:  # the unbounded version took 23 GB; 1.5 GB is far more than enough
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook_lib.cli",
            "run",
            "change",
            "-p",
            "set_values",
            bomb,
            "-p",
            "repo_path",
            str(shared.checkout),
            "--kubeconfig",
            str(shared.kubeconfig),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_memory,
    )
    assert_clean_refusal(proc, 2, "YAML-Aliase (`*a`) sind in Parametern nicht erlaubt")


@pytest.mark.parametrize(
    ("content", "text"), [("- a\n- b\n", "der Inhalt ist eine Liste"), ("a: [\n", "kein gültiges YAML")]
)
def test_an_invalid_kubeconfig_is_a_german_error(tmp_path: Path, content: str, text: str) -> None:
    (tmp_path / "kubeconfig").write_text(content)
    proc = runbook("run", "status", "--kubeconfig", str(tmp_path / "kubeconfig"), cwd=tmp_path)
    assert_clean_refusal(proc, 2, text)


@pytest.mark.parametrize(
    ("runbook_name", "params", "text"),
    [
        ("status", ["namespace", "kube system"], "Ungültiger Namespace 'kube system'"),
        ("status", ["namespace", "über"], "Ungültiger Namespace 'über'"),
        ("status", ["namespace", "x" * 5000], "(5000 Zeichen)"),
        ("status", ["namespace", "prod\nrm -rf"], "Ungültiger Namespace 'prod\\nrm -rf'"),
        ("status", ["namespace", "$(reboot)"], "unzulässige Zeichen"),
        ("sync", ["name", "apps; rm -rf /"], "Ungültiger Name"),
        ("sync", ["kind", "kustomisation"], "Unbekannte Art 'kustomisation'"),
        ("sync", ["timeout", "fünf Minuten"], "Ungültige Dauer"),
        ("logs", ["namespace", "Kube-System"], "er enthält Großbuchstaben"),
        ("troubleshoot-helmrelease", ["name", "Kite"], "Ungültiger Name 'Kite'"),
        ("troubleshoot-certificates", ["namespace", "a.b"], "einzelnes DNS-Label"),
        ("troubleshoot-sync", ["name", ""], "er ist leer"),
        ("rollback", ["kustomization", "flux system/apps"], "Ungültiger Namespace"),
        ("change", ["file", "clusters/\x00/x.yaml"], "NUL-Zeichen"),
        ("rollback", ["mainline", "eins"], "erwartet eine ganze Zahl"),
    ],
)
def test_bad_values_are_refused_before_the_first_cell(
    shared: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    runbook_name: str,
    params: list[str],
    text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["run", runbook_name, "-p", *params, "--kubeconfig", str(shared.kubeconfig)])
    captured = capsys.readouterr()
    assert code == 2 and text in captured.err
    assert "► Runbook" not in captured.err and not (tmp_path / "runs").exists(), "nothing ran"
    assert len(captured.err) < 1500


# --- the sandbox command -----------------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--state", "FILE"], "ist eine Datei, kein Verzeichnis"),
        (["--state", "FILE/sub"], "und das ist eine Datei"),
        (["--state", "NEW", "--port", "99999"], "Port 99999 gibt es nicht"),
        (["--state", "NEW", "--port", "achtzig"], "'achtzig' ist keine Portnummer"),
        (["--state", "NEW", "--port", "BUSY"], "ist bereits belegt"),
        (["--state", "NEW", "--scenario", "kaputt"], "Unbekanntes Szenario 'kaputt'"),
    ],
)
def test_sandbox_up_refuses_bad_input_and_leaves_no_half_built_dir(
    tmp_path: Path, busy_port: int, args: list[str], text: str
) -> None:
    (tmp_path / "FILE").write_text("keep me\n")
    argv = [
        a.replace("FILE", str(tmp_path / "FILE"))
        .replace("NEW", str(tmp_path / "new"))
        .replace("BUSY", str(busy_port))
        for a in args
    ]
    proc = runbook("sandbox", "up", *argv, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert text in proc.stderr and not LEAKS.search(proc.stderr), proc.stderr
    assert not (tmp_path / "new").exists(), "nothing half built is left behind"
    assert (tmp_path / "FILE").read_text() == "keep me\n"


def test_sandbox_proxy_refuses_to_overwrite_its_upstream_kubeconfig(shared: Sandbox, tmp_path: Path) -> None:
    proc = runbook(
        "sandbox",
        "proxy",
        "--kubeconfig",
        str(shared.kubeconfig),
        "--state",
        str(shared.state_dir),
        cwd=tmp_path,
    )
    assert_clean_refusal(proc, 2, "würde die Kubeconfig")
    assert "runbook-sandbox" in shared.kubeconfig.read_text()


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["show", "statsu"], 2, "Meinten Sie 'status'?"),
        (["run", "status", "--kubeconfig", "/nicht/da"], 2, "existiert nicht"),
        (["run", "status", "--engine", "jupyter"], 2, "ungültige Auswahl"),
        (["run", "status", "-p", "namespace"], 2, "erwartet zwei Werte"),
        (["run", "status", "-p", "nope", "x"], 2, "Unbekannter Parameter 'nope'"),
        (["sandbox", "up"], 2, "diese Argumente fehlen: --state"),
        (["sandbox", "proxy", "--kubeconfig", "/nicht/da", "--state", "x"], 2, "existiert nicht"),
        (
            ["sandbox", "proxy", "--kubeconfig", "K", "--state", "x", "--error-rate", "2"],
            2,
            "nicht zwischen 0 und 1",
        ),
        ([], 2, "diese Argumente fehlen"),
    ],
)
def test_no_cli_verb_shows_a_traceback(
    shared: Sandbox, tmp_path: Path, argv: list[str], code: int, text: str
) -> None:
    proc = runbook(*[a.replace("K", str(shared.kubeconfig)) if a == "K" else a for a in argv], cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert text in proc.stderr and not LEAKS.search(proc.stderr), proc.stderr


@pytest.mark.parametrize("verb", [["list"], ["show", "kaputt"], ["run", "kaputt"]])
def test_a_broken_notebook_is_named_not_a_traceback(tmp_path: Path, verb: list[str]) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "kaputt.ipynb").write_text("{kaputt")
    proc = runbook(*verb, cwd=tmp_path, env={"RUNBOOK_NOTEBOOKS": str(tmp_path / "nb")})
    assert_clean_refusal(proc, 1, "kaputt.ipynb ist kein lesbares Notebook")


# --- concurrent use ---------------------------------------------------------------------------------------


def test_twenty_concurrent_runs_in_one_folder_keep_twenty_records(shared: Sandbox, tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runbook_lib.cli",
                "run",
                "status",
                "--kubeconfig",
                str(shared.kubeconfig),
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, results
    records = sorted((tmp_path / "runs").glob("status-*.ipynb"))
    assert len(records) == 20
    assert all(r.stat().st_size > 1000 for r in records), "every record is a complete notebook"


def test_four_concurrent_syncs_of_one_object_all_succeed(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    args = ["run", "sync", "-p", "kind", "gitrepo", "-p", "name", "flux-system", "-p", "timeout", "30s"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "runbook_lib.cli", *args, "--kubeconfig", str(sb.kubeconfig)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    assert all("Anfrage noch nicht bearbeitet" not in out + err for out, err in outputs)


# --- Ctrl+C, as a terminal sends it (to the whole process group) --------------------------------------


def start_run(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ctrl_c(proc: subprocess.Popen[str]) -> tuple[str, str]:
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return out, err


def blocking_pre_push(checkout: Path, marker: Path) -> None:
    hook = checkout / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    hook.chmod(0o755)


def test_ctrl_c_during_the_push_of_a_change_keeps_the_commit_and_names_it(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    before = world(sb)
    marker = tmp_path / "pushing"
    blocking_pre_push(sb.checkout, marker)
    proc = start_run(
        [
            "run",
            "change",
            "-p",
            "repo_path",
            str(sb.checkout),
            "-p",
            "dry_run",
            "false",
            "--kubeconfig",
            str(sb.kubeconfig),
        ],
        tmp_path,
    )
    wait_for(marker.exists, "the push")
    out, err = ctrl_c(proc)
    assert proc.returncode == 130, out + err
    head = git(sb.checkout, "rev-parse", "HEAD")
    assert head != before["head"] and git(sb.checkout, "status", "--porcelain") == ""
    assert f"{head[:7]} ist lokal erstellt, aber nicht gepusht" in out
    assert git(sb.remote, "for-each-ref") == before["remote"], "the remote is unchanged"
    assert not LEAKS.search(out + err), out + err
    push = re.search(r"Weiter: `(git -C \S+ push origin main)`", out)
    assert push is not None
    (sb.checkout / ".git" / "hooks" / "pre-push").unlink()
    subprocess.run(push.group(1).split(), check=True, capture_output=True)  # the hint works as printed
    assert git(sb.remote, "rev-parse", "main") == head


def test_ctrl_c_during_a_revert_push_leaves_no_revert_in_progress(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    before = world(sb)
    marker = tmp_path / "pushing"
    blocking_pre_push(sb.checkout, marker)
    proc = start_run(
        [
            "run",
            "rollback",
            "-p",
            "repo_path",
            str(sb.checkout),
            "-p",
            "dry_run",
            "false",
            "-p",
            "reason",
            "Test: Abbruch",
            "--kubeconfig",
            str(sb.kubeconfig),
        ],
        tmp_path,
    )
    wait_for(marker.exists, "the push")
    out, err = ctrl_c(proc)
    assert proc.returncode == 130, out + err
    assert "Revert-Commit" in out and "nicht gepusht" in out
    assert not (sb.checkout / ".git" / "REVERT_HEAD").exists()
    assert git(sb.checkout, "status", "--porcelain") == ""
    assert git(sb.checkout, "rev-parse", "HEAD~1") == before["head"]
    assert git(sb.remote, "for-each-ref") == before["remote"]


def test_ctrl_c_while_waiting_for_flux_says_the_commit_is_pushed(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    start = git(sb.remote, "rev-parse", "main")
    sb.stop_controller("source-controller")  # the rollout waits for a fetch that does not come
    proc = start_run(
        [
            "run",
            "change",
            "-p",
            "repo_path",
            str(sb.checkout),
            "-p",
            "dry_run",
            "false",
            "--kubeconfig",
            str(sb.kubeconfig),
        ],
        tmp_path,
    )
    wait_for(lambda: git(sb.remote, "rev-parse", "main") != start, "the push")
    time.sleep(1.0)
    out, err = ctrl_c(proc)
    pushed = git(sb.remote, "rev-parse", "main")
    assert proc.returncode == 130, out + err
    assert f"Commit {pushed[:7]} ist gepusht" in out and "runbook run status" in out
    assert git(sb.checkout, "rev-parse", "HEAD") == pushed
    assert not LEAKS.search(out + err), out + err


# --- the API server dies during a sync ----------------------------------------------------------------------


def test_the_api_server_dying_during_a_sync_is_the_german_error(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    sb.stop_controller("source-controller")  # the sync waits on its watch
    with FaultProxy(sb.kubeconfig) as proxy:
        kubeconfig = proxy.write_kubeconfig(tmp_path / "proxy" / "kubeconfig")
        proc = start_run(
            [
                "run",
                "sync",
                "-p",
                "kind",
                "gitrepo",
                "-p",
                "name",
                "flux-system",
                "--kubeconfig",
                str(kubeconfig),
            ],
            tmp_path,
        )
        wait_for(
            lambda: (
                "reconcile.fluxcd.io/requestedAt"
                in str(
                    connect(str(sb.kubeconfig))
                    .custom.get_namespaced_custom_object(
                        "source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system"
                    )["metadata"]
                    .get("annotations")
                )
            ),
            "the request",
        )
        time.sleep(0.5)
        proxy.kill()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert "✗ Der Cluster ist nicht erreichbar" in out
    assert not LEAKS.search(out + err), out + err


# --- the wrong cluster -----------------------------------------------------------------------------------


def renamed_context(sb: Sandbox, tmp_path: Path, context: str = "prod-eu") -> Path:
    """The sandbox's kubeconfig under another context name: to the runbooks a cluster like any other."""
    target = tmp_path / "prod-kubeconfig"
    target.write_text(sb.kubeconfig.read_text().replace("runbook-sandbox", context))
    target.chmod(0o600)
    return target


def test_a_change_outside_the_sandbox_needs_the_confirmed_context(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox("healthy")
    kubeconfig = renamed_context(sb, tmp_path)
    change = ["run", "change", "-p", "repo_path", str(sb.checkout), "-p", "dry_run", "false"]
    before = world(sb)
    refused = runbook(*change, "--kubeconfig", str(kubeconfig), cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Dieses Runbook ändert den Cluster Kontext 'prod-eu'" in refused.stdout
    assert "`-p expected_context prod-eu`" in refused.stdout
    assert world(sb) == before, "nothing changed"
    confirmed = runbook(
        *change, "-p", "expected_context", "prod-eu", "--kubeconfig", str(kubeconfig), cwd=tmp_path
    )
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert git(sb.remote, "rev-parse", "main") != before["head"]


def test_a_preview_outside_the_sandbox_runs_and_shows_the_cluster(shared: Sandbox, tmp_path: Path) -> None:
    kubeconfig = renamed_context(shared, tmp_path)
    proc = runbook(
        "run",
        "change",
        "-p",
        "repo_path",
        str(shared.checkout),
        "--kubeconfig",
        str(kubeconfig),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nb = next((tmp_path / "runs").glob("change-*.ipynb")).read_text()
    assert "Flux:" in nb and re.search(r"flux-v\d+\.\d+\.\d+", nb) and "Nur Vorschau" in nb
    assert "-p expected_context prod-eu" in nb


def test_the_wrong_expected_context_is_refused_before_the_first_cell(shared: Sandbox, tmp_path: Path) -> None:
    before = world(shared)
    proc = runbook(
        "run",
        "rollback",
        "-p",
        "repo_path",
        str(shared.checkout),
        "-p",
        "dry_run",
        "false",
        "-p",
        "expected_context",
        "prod-eu",
        "--kubeconfig",
        str(shared.kubeconfig),
        cwd=tmp_path,
    )
    assert_clean_refusal(
        proc, 2, "Falscher Cluster: erwartet ist der Kontext 'prod-eu', verbunden ist Kontext"
    )
    assert "► Runbook" not in proc.stderr and not (tmp_path / "runs").exists()
    assert world(shared) == before


def test_a_forced_sync_outside_the_sandbox_is_refused_without_confirmation(
    shared: Sandbox, tmp_path: Path
) -> None:
    kubeconfig = renamed_context(shared, tmp_path)
    proc = runbook(
        "run",
        "sync",
        "-p",
        "kind",
        "hr",
        "-p",
        "name",
        "kite",
        "-p",
        "namespace",
        "kube-system",
        "-p",
        "force",
        "true",
        "--kubeconfig",
        str(kubeconfig),
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Außerhalb der Sandbox muss der Kontext vorher bestätigt werden" in proc.stdout
    hr = connect(str(shared.kubeconfig)).custom.get_namespaced_custom_object(*HR)
    assert "reconcile.fluxcd.io/forceAt" not in (hr["metadata"].get("annotations") or {})
