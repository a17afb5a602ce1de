"""Execute every runbook against the sandbox and write the rendered copies into docs/runbooks/.

Each runbook runs with papermill against a sandbox in the scenario it is shown with (`healthy`
unless `SITE_SCENARIOS` or the notebook's `metadata.runbook.site_scenario` say otherwise), with the
parameters of `metadata.runbook.site_parameters` if the notebook has them. The
executed copy gets the generated "how to run" cell, and absolute sandbox paths are replaced by
`$SANDBOX` so no host paths end up on the site.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import FAILED_DIR, RUNBOOK_DOCS
from .intro import RunInfo, german_seconds, intro_markdown
from .notebook_pages import insert_intro
from .notebooks import Runbook

DEFAULT_SCENARIO = "healthy"
# Troubleshooting and rollback runbooks are more instructive against a broken sandbox. Used only when the
# scenario exists in flux_sandbox.sim.scenarios.SCENARIOS; the notebook's own
# metadata.runbook.site_scenario wins.
SITE_SCENARIOS: dict[str, tuple[str, ...]] = {
    "troubleshoot-sync": ("git-auth-failure", "kustomization-build-failed"),
    "troubleshoot-helmrelease": ("helmrelease-upgrade-failed", "chart-version-missing"),
    "troubleshoot-certificates": ("certificate-challenge-failed",),
    # the preview then shows the bad commit (image tag v0.7.0) that the rollback would undo
    "rollback": ("helmrelease-upgrade-failed",),
}
# Parameter names that receive the sandbox's GitOps checkout.
CHECKOUT_PARAMS = ("checkout", "repo", "repo_path", "repository", "gitops_repo")
# A runbook is used during an incident; on the site's sandbox none should need minutes.
EXECUTION_TIMEOUT_S = 300
# No angle brackets: the placeholder also lands in HTML outputs.
PLACEHOLDER = "$SANDBOX"


class SiteBuildError(Exception):
    """A build step failed; the message is German and names the runbook."""


@dataclass
class Executed:
    runbook: Runbook
    scenario: str | None
    duration_s: float | None
    ok: bool
    output: Path


@dataclass
class SandboxHandle:
    kubeconfig: Path
    checkout: Path | None
    state_dir: Path
    extra_paths: list[str] = field(default_factory=list)


def available_scenarios() -> set[str] | None:
    """Names in SCENARIOS, or None while the sandbox package does not provide them."""
    try:
        from flux_sandbox.sim.scenarios import SCENARIOS
    except ImportError:
        return None
    return set(SCENARIOS)


def scenario_for(runbook: Runbook, known: set[str] | None) -> str:
    wanted = runbook.settings.get("site_scenario")
    if wanted:
        if known is not None and wanted not in known:
            raise SiteBuildError(
                f"Runbook »{runbook.name}«: das Szenario »{wanted}« aus metadata.runbook.site_scenario "
                f"gibt es nicht (vorhanden: {', '.join(sorted(known))})."
            )
        return str(wanted)
    for candidate in SITE_SCENARIOS.get(runbook.name, ()):
        if known is not None and candidate in known:
            return candidate
    return DEFAULT_SCENARIO


def start_sandboxes(
    base: Path, scenarios: list[str], stack: contextlib.ExitStack
) -> dict[str, SandboxHandle]:
    """Start one sandbox per scenario, concurrently (each takes about a second); `stack` stops them."""
    try:
        from flux_sandbox.sim import Sandbox
    except ImportError as exc:
        raise SiteBuildError(
            "Die Sandbox (flux_sandbox.sim.Sandbox) ist nicht verfügbar, die Runbooks können nicht "
            f"ausgeführt werden ({exc}). Zum Entwickeln der Seite: tools/site.py build --no-execute"
        ) from exc

    def start(scenario: str) -> Any:
        sb = Sandbox(base / f"sandbox-{scenario}", scenario=scenario)
        sb.start()
        return sb

    handles: dict[str, SandboxHandle] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, len(scenarios))) as pool:
        futures = {scenario: pool.submit(start, scenario) for scenario in scenarios}
    for scenario, future in futures.items():
        try:
            sb = future.result()
        except Exception as exc:
            errors.append(f"Szenario {scenario}: {type(exc).__name__}: {exc}")
            continue
        stack.callback(sb.stop)
        handles[scenario] = handle_of(sb, base / f"sandbox-{scenario}")
    if errors:
        raise SiteBuildError("Die Sandbox ließ sich nicht starten: " + "; ".join(errors))
    return handles


def handle_of(sb: Any, state_dir: Path) -> SandboxHandle:
    checkout = getattr(sb, "checkout", None)
    return SandboxHandle(
        kubeconfig=Path(sb.kubeconfig),
        checkout=Path(checkout) if checkout else None,
        state_dir=Path(state_dir),
    )


def parameters_for(runbook: Runbook, sb: SandboxHandle) -> dict[str, Any]:
    names = {p.name for p in runbook.parameters}
    params: dict[str, Any] = {}
    if "kubeconfig" in names or not names:
        params["kubeconfig"] = str(sb.kubeconfig)
    for name in CHECKOUT_PARAMS:
        if name in names and sb.checkout is not None:
            params[name] = str(sb.checkout)
    # the notebook's metadata.runbook.site_parameters: values for the site's run only (the watch page
    # watches 10 s, not the default 30 s, of which the build would otherwise wait 20 s for nothing new)
    for name, value in (runbook.settings.get("site_parameters") or {}).items():
        if name not in names:
            raise SiteBuildError(
                f"Runbook »{runbook.name}«: metadata.runbook.site_parameters nennt »{name}«, "
                "das kein Parameter des Notebooks ist."
            )
        params[name] = value
    return params


def clean_output_dir() -> None:
    RUNBOOK_DOCS.mkdir(parents=True, exist_ok=True)
    for old in RUNBOOK_DOCS.glob("*.ipynb"):
        old.unlink()


def write_rendered(nb: dict[str, Any], runbook: Runbook, info: RunInfo) -> Path:
    """Insert the intro cell and write docs/runbooks/<name>.ipynb."""
    insert_intro(nb, runbook.name, intro_markdown(runbook, info))
    meta = nb.setdefault("metadata", {})
    meta["runbook_site"] = {
        "executed": info.executed,
        "stopped": info.stopped,
        "scenario": info.scenario,
        "duration_s": info.duration_s,
        "finished_at": info.finished_at,
    }
    RUNBOOK_DOCS.mkdir(parents=True, exist_ok=True)
    out = RUNBOOK_DOCS / f"{runbook.name}.ipynb"
    out.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out


def render_unexecuted(runbooks: list[Runbook], *, clean: bool = True) -> list[Executed]:
    if clean:
        clean_output_dir()
    done = []
    for rb in runbooks:
        out = write_rendered(json.loads(rb.path.read_text(encoding="utf-8")), rb, RunInfo(executed=False))
        done.append(Executed(rb, None, None, True, out))
    return done


def sanitize(text: str, sb: SandboxHandle, workdir: Path) -> str:
    """Replace absolute paths of this machine by placeholders (longest first)."""
    replacements = {str(sb.state_dir.resolve()): PLACEHOLDER, str(sb.state_dir): PLACEHOLDER}
    replacements[str(workdir)] = "."
    for path in sorted(replacements, key=len, reverse=True):
        text = text.replace(json.dumps(path)[1:-1], replacements[path])
    return text


def run_one(runbook: Runbook, sb: SandboxHandle, scenario: str, workdir: Path) -> Executed:
    """Execute with `runbook run`'s runner (papermill, in-process engine); papermill directly without it."""
    params = parameters_for(runbook, sb)
    raw = workdir / f"{runbook.name}.ipynb"
    try:
        status, error, duration = _execute(runbook, params, raw)
    except SiteBuildError:
        raise
    except Exception as exc:
        kept = keep_failed(raw, runbook)
        raise SiteBuildError(
            f"Runbook »{runbook.name}« konnte beim Bau der Seite nicht ausgeführt werden (Szenario "
            f"{scenario}): {type(exc).__name__}: {exc}. Ausgabe (falls vorhanden): {kept}"
        ) from exc
    if status == "failed":
        kept = keep_failed(raw, runbook)
        raise SiteBuildError(
            f"Runbook »{runbook.name}« ist beim Bau der Seite fehlgeschlagen (Szenario {scenario}): {error}. "
            f"Das ausgeführte Notebook liegt unter {kept}."
        )
    nb = json.loads(sanitize(raw.read_text(encoding="utf-8"), sb, workdir))
    pm = nb.get("metadata", {}).get("papermill", {})
    pm["input_path"] = f"notebooks/{runbook.name}.ipynb"
    pm["output_path"] = f"docs/runbooks/{runbook.name}.ipynb"
    finished = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stopped = drop_clean_exit(nb) or status == "stopped"
    info = RunInfo(
        executed=True, scenario=scenario, duration_s=duration, finished_at=finished, stopped=stopped
    )
    return Executed(runbook, scenario, duration, True, write_rendered(nb, runbook, info))


def _clean_exit(output: dict[str, Any]) -> bool:
    return (
        output.get("output_type") == "error"
        and output.get("ename") == "SystemExit"
        and output.get("evalue") in ("0", "")
    )


def drop_clean_exit(nb: dict[str, Any]) -> bool:
    """Remove the `SystemExit: 0` traceback of a planned stop (the intro says where the run ended).

    Returns whether the run stopped that way.
    """
    stopped = False
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs") or []
        kept = [o for o in outputs if not _clean_exit(o)]
        if len(kept) != len(outputs):
            cell["outputs"] = kept
            stopped = True
    return stopped


def _execute(runbook: Runbook, params: dict[str, Any], output: Path) -> tuple[str, str, float]:
    """Run one notebook; returns (status, German error text, seconds): status ok, stopped or failed.

    The seconds are the run's own duration as `runbook run` reports it (RunRecord.duration), so the
    runbook page, the run records page and the CLI name the same number.
    """
    try:
        from runbook_lib import runner
    except ImportError:
        runner = None
    if runner is not None:
        given = [(k, v) for k, v in params.items() if k != "kubeconfig"]
        record = runner.run(
            runbook.name,
            given,
            kubeconfig=params.get("kubeconfig"),
            output=output,
            directory=runbook.path.parent,
        )
        if record.status == "failed":
            return "failed", f"Zelle {record.failed_cell}: {record.error}", record.duration
        return record.status, "", record.duration
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(runbook.path),
            str(output),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(output.parent),
            execution_timeout=EXECUTION_TIMEOUT_S,
        )
    except PapermillExecutionError as exc:
        if exc.ename == "SystemExit" and str(exc.evalue) in ("0", ""):
            return "stopped", "", time.perf_counter() - started
        return "failed", f"Zelle {exc.exec_count}: {exc.ename}: {exc.evalue}", time.perf_counter() - started
    return "ok", "", time.perf_counter() - started


def keep_failed(raw: Path, runbook: Runbook) -> Path | str:
    if not raw.exists():
        return "(keine Ausgabe geschrieben)"
    FAILED_DIR.mkdir(parents=True, exist_ok=True)
    target = FAILED_DIR / f"{runbook.name}.ipynb"
    shutil.copyfile(raw, target)
    return target


def execute_all(
    runbooks: list[Runbook],
    *,
    healthy: SandboxHandle | None = None,
    only: set[str] | None = None,
    report: Any = print,
) -> list[Executed]:
    """Run every runbook (or those in `only`; the rest are shown without outputs).

    `healthy` is an already running sandbox to use for the default scenario.
    """
    if only is not None and (unknown := only - {rb.name for rb in runbooks}):
        raise SiteBuildError(f"Unbekannte Runbooks: {', '.join(sorted(unknown))}.")
    known = available_scenarios()
    groups: dict[str, list[Runbook]] = {}
    for rb in runbooks:
        if only is None or rb.name in only:
            groups.setdefault(scenario_for(rb, known), []).append(rb)
    clean_output_dir()
    done: list[Executed] = render_unexecuted(
        [rb for rb in runbooks if only is not None and rb.name not in only], clean=False
    )
    with tempfile.TemporaryDirectory(prefix="runbook-site-") as tmp, contextlib.ExitStack() as stack:
        needed = [sc for sc in groups if not (sc == DEFAULT_SCENARIO and healthy is not None)]
        if needed:
            report(f"► starte Sandbox ({', '.join(f'Szenario {sc}' for sc in needed)})")
        sandboxes = start_sandboxes(Path(tmp), needed, stack)
        if healthy is not None:
            sandboxes.setdefault(DEFAULT_SCENARIO, healthy)
        for scenario, members in groups.items():
            workdir = Path(tmp) / f"work-{scenario}"
            workdir.mkdir()
            for rb in members:
                report(f"► führe Runbook {rb.name} aus (Szenario {scenario})")
                result = run_one(rb, sandboxes[scenario], scenario, workdir)
                report(f"✔ {rb.name} in {german_seconds(result.duration_s or 0.0)}")
                done.append(result)
    return done
