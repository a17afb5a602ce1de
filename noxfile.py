"""Sessions of the project. `nox -l` lists them; `./dev demo` and `./dev test` are the quickstart.

Dependencies come from pyproject.toml (the project with its extras, and the `dev` dependency group).
Virtualenvs are reused between runs (`reuse_venv = "yes"`): a rerun costs seconds, not minutes.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEV = nox.project.dependency_groups(PYPROJECT, "dev")
PYTHON = ["3.12"] if os.environ.get("RUNBOOK_NOX_PYTHON") != "current" else False
ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONUTF8": "1"}


def _install(session: nox.Session, extras: str = "docs,lab") -> None:
    session.install("-e", f".[{extras}]" if extras else ".", *DEV)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite: unit, sandbox (client and kubectl), git, runbooks, the installed wheel,
    site and JupyterLab (Chromium).

    Arguments after `--` go to pytest, e.g. `./dev test -k status -x`.
    """
    _install(session)
    session.run("python", "-m", "pytest", *session.posargs, env=ENV)


@nox.session(python=PYTHON, default=False)
def unit(session: nox.Session) -> None:
    """Only the fast tiers: unit tests (no sockets) and git tests (temporary repositories), in seconds.

    Arguments after `--` go to pytest, e.g. `./dev -s unit -- -k masking`.
    """
    _install(session)
    session.run("python", "-m", "pytest", "tests/unit", "tests/git", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff, and that the tree is formatted (`ruff format`)."""
    session.install(*[d for d in DEV if d.startswith("ruff")])
    paths = ["runbook_lib", "flux_sandbox", "tests", "tools", "bench", "noxfile.py"]
    session.run("ruff", "check", *paths, *session.posargs)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the library and the engines with mypy, then check the import contracts
    (`.importlinter`: the library never imports the engines, layers, no import cycles)."""
    _install(session, extras="")
    session.run("mypy", *session.posargs)
    session.run("lint-imports", env={"PYTHONPATH": "tools"})


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """The main job: start the sandbox, execute every runbook against it, build the site and serve it.

    Arguments after `--` go to `tools/site.py demo` (e.g. `--port 8001`).
    """
    _install(session)
    session.run("python", "tools/site.py", "demo", *session.posargs, env=ENV)


@nox.session(python=PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """Build the site once (every runbook executed against a fresh sandbox) without serving it."""
    _install(session)
    session.run("python", "tools/site.py", "build", *session.posargs, env=ENV)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, printed as ratios measured in one run; never part of the default run.

    Each one measures the command a user types, as a whole process, interleaved with the real flux
    CLI/kubectl against the real engine (`flux_sandbox.real`, built first) and prints where the time
    went (bench/common.py). The runner benchmark builds a second environment with the full `jupyter`
    package for its papermill baseline (`.nox/bench-jupyter-baseline`, reused). Pass a benchmark name
    after `--` to run only that one (e.g. `-- logs`).
    """
    _install(session)
    wanted = set(session.posargs)
    for script in sorted(os.listdir("bench")):
        name = script.removeprefix("bench_").removesuffix(".py")
        if script.startswith("bench_") and script.endswith(".py") and (not wanted or name in wanted):
            session.log(f"== {name}")
            session.run("python", os.path.join("bench", script), env=ENV)


@nox.session(python=PYTHON, default=False)
def calibrate(session: nox.Session) -> None:
    """Record the calibration fixtures on the real engine (`tests/calibration/fixtures/`): every scenario
    the real engine supports, about 6 minutes. Rerun when the pinned Flux release is bumped; then run
    `./dev test tests/calibration` and fix the simulated controllers where it differs.

    Arguments after `--` are scenario names (default: all), e.g. `-- healthy suspended`.
    """
    _install(session, extras="")
    session.run("python", "-m", "flux_sandbox.real.build", env=ENV)
    session.run("python", "-m", "flux_sandbox.calibration", *session.posargs, env=ENV)
