"""Every command on the site that can run against the sandbox is run by this test, as written, in order.

Page by page, in a fresh directory that looks like the project (its ``notebooks/``), with ``runbook``,
``kubectl`` and ``papermill`` of this environment on the PATH and a home of its own; see
:mod:`site_commands` for what is skipped and why. A command must succeed (exit code 0); the exercises
must also be solved by their solutions: the troubleshooting runbook finds the problem before and none
after.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from site_commands import Command, Terminal, plan, shell_blocks
from site_support import ROOT, BuiltSite

pytestmark = [pytest.mark.site, pytest.mark.timeout(1800)]


def terminal(tmp_path: Path) -> Terminal:
    work = tmp_path / "projekt"
    work.mkdir()
    (work / "notebooks").symlink_to(ROOT / "notebooks")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONUTF8": "1",
        "NO_COLOR": "1",
        # the sandbox's short delays; the commands are the same
        "RUNBOOK_SANDBOX_TIMING": "fast",
        # the reader closes the editor of `git revert` with the proposed message
        "GIT_EDITOR": "true",
    }
    return Terminal(work, env)


def pages(built_site: BuiltSite) -> dict[str, list[Command]]:
    found = {}
    for page in built_site.pages():
        path = built_site.url_path(page)
        commands = plan(path, shell_blocks(page.read_text(encoding="utf-8")))
        if commands:
            found[path] = commands
    return found


def test_the_site_has_commands_to_run_and_says_why_others_are_skipped(built_site: BuiltSite) -> None:
    every = [c for commands in pages(built_site).values() for c in commands]
    runnable = [c for c in every if not c.skip]
    assert len(runnable) >= 40, len(runnable)
    assert all(c.skip for c in every if "orbstack" in c.text or "<" in c.text.replace("<(", ""))
    assert {c.text for c in every if c.skip.startswith("flux-CLI")} >= {"flux get sources git"}


#: the pages whose commands run against a sandbox that the test prepares ("Erste Schritte")
RUN_PAGES = (
    "erste-schritte/",
    "runbooks/",
    "leitfaden/automatische-synchronisation/",
    "leitfaden/logs-anzeigen/",
    "leitfaden/rollback/",
    "leitfaden/troubleshooting/flux-synchronisiert-nicht/",
    "leitfaden/troubleshooting/zertifikats-probleme/",
    "runbooks/status/",
    "runbooks/sync/",
    "runbooks/logs/",
    "runbooks/change/",
    "runbooks/rollback/",
    "runbooks/troubleshoot-sync/",
    "runbooks/troubleshoot-helmrelease/",
    "runbooks/troubleshoot-certificates/",
    "runbooks/trace/",
    "runbooks/fleet/",
    "runbooks/watch/",
    "runbooks/audit/",
    "runbooks/preview/",
)


@pytest.mark.parametrize("page", RUN_PAGES)
def test_commands_of_a_page_run_as_written(page: str, built_site: BuiltSite, tmp_path: Path) -> None:
    commands = pages(built_site)[page]
    runnable = [c for c in commands if not c.skip]
    assert runnable, f"{page}: kein Befehl läuft"
    shell = terminal(tmp_path)
    log = shell.run(commands, prepare=not any(c.sandbox for c in runnable))
    failed = [f"$ {c.text}\n{c.output}(Exit-Code {c.returncode})" for c in runnable if c.returncode != 0]
    assert not failed, f"{page}:\n" + "\n".join(failed) + f"\n--- Protokoll ---\n{log[-4000:]}"


def test_every_page_with_runnable_commands_is_run(built_site: BuiltSite) -> None:
    """A page that gets commands the sandbox can run must be added to RUN_PAGES (the exercises and the
    CI jobs have tests of their own: below, and tests/install/test_ci_page.py)."""
    with_commands = {p for p, cs in pages(built_site).items() if any(not c.skip for c in cs)}
    own_tests = {"uebungen/", "ci/"}
    assert with_commands - own_tests <= set(RUN_PAGES), with_commands - set(RUN_PAGES)


def test_exercises_are_solved_by_their_solutions_as_written(built_site: BuiltSite, tmp_path: Path) -> None:
    commands = pages(built_site)["uebungen/"]
    assert not [c for c in commands if c.skip], [c.text for c in commands if c.skip]
    shell = terminal(tmp_path)
    log = shell.run(commands, prepare=False)
    failed = [f"$ {c.text}\n{c.output}(Exit-Code {c.returncode})" for c in commands if c.returncode != 0]
    assert not failed, "\n".join(failed) + f"\n--- Protokoll ---\n{log[-4000:]}"
    checks = [c for c in commands if c.text.startswith("runbook run troubleshoot-")]
    assert len(checks) == 2 * 6  # per exercise: find the cause, then check the fix
    for found, fixed in zip(checks[::2], checks[1::2], strict=True):
        assert "Befund:     ✗" in found.output or "Befund:     ⚠" in found.output, found.output
        assert "Befund:     ✔ Keine Probleme gefunden." in fixed.output, fixed.output
