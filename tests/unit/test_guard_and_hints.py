"""The wrong-cluster guard (pure parts), and every `runbook run …` command and `-p NAME` the product
prints works as printed: it names an existing runbook and parameters, and its values pass validation."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from runbook_lib.cli import _build_parser
from runbook_lib.cluster import KubeTarget
from runbook_lib.errors import UsageError
from runbook_lib.guard import check_expected_context, check_target, is_sandbox
from runbook_lib.params import validate
from runbook_lib.runner import discover, find

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("context", "server", "sandbox"),
    [
        ("runbook-sandbox", "http://127.0.0.1:40000", True),
        ("runbook-sandbox", "http://localhost:40000", True),
        ("runbook-sandbox", "https://[::1]:6443", True),
        ("runbook-sandbox", "https://k8s.example.com", False),
        ("orbstack", "https://127.0.0.1:26443", False),
    ],
)
def test_only_the_sandbox_context_on_loopback_is_the_sandbox(
    context: str, server: str, sandbox: bool
) -> None:
    assert is_sandbox(context, server) is sandbox


def test_a_change_outside_the_sandbox_needs_the_context_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBOOK_EXPECTED_CONTEXT", raising=False)
    with pytest.raises(UsageError) as info:
        check_expected_context("prod-eu", "https://prod:6443", None, acting=True)
    assert "Außerhalb der Sandbox muss der Kontext vorher bestätigt werden" in info.value.message
    assert "`-p expected_context prod-eu`" in (info.value.hint or "")
    assert check_expected_context("prod-eu", "https://prod:6443", "prod-eu", acting=True) == "prod-eu"
    assert check_expected_context("prod-eu", "https://prod:6443", None, acting=False) is None


def test_a_mismatch_is_refused_even_in_the_sandbox_and_for_a_preview() -> None:
    with pytest.raises(UsageError, match="Falscher Cluster: erwartet ist der Kontext 'prod-eu'"):
        check_expected_context("runbook-sandbox", "http://127.0.0.1:1", "prod-eu", acting=False)


def test_runbook_run_checks_a_given_expected_context_against_the_kubeconfig() -> None:
    target = KubeTarget("staging", "https://staging:6443", "/k")
    with pytest.raises(UsageError, match="verbunden ist Kontext 'staging'"):
        check_target(target, "prod-eu")
    check_target(target, "staging")


def test_the_setting_stands_in_for_the_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook_lib import guard
    from runbook_lib.settings import Settings

    monkeypatch.setattr(guard, "settings", lambda: Settings(expected_context="prod-eu"))
    assert check_expected_context("prod-eu", "https://prod:6443", None, acting=True) == "prod-eu"
    with pytest.raises(UsageError, match="Falscher Cluster"):
        check_expected_context("staging", "https://staging:6443", None, acting=True)


# --- hints work as printed -----------------------------------------------------------------------------

#: sample values for the placeholders of f-string hints (a new placeholder needs a sample here)
SAMPLES = {
    "short": "kite",
    "name": "kite",
    "ns": "kube-system",
    "namespace": "kube-system",
    "kind": "hr",
    "flag": " -p namespace kube-system",
    "first": " -p name apps -p namespace flux-system",
    "ks.name": "apps",
    "ks.namespace": "flux-system",
    "repo": "~/gitops",
    "path": "clusters/orbstack/apps/kite/helmrelease.yaml",
    "change": """'{"spec.values.replicaCount": 2}'""",
    "text": "'kite: zwei Replikate für mehr Ausfallsicherheit'",
    "branch": "test/kite-replikate",
}
#: commands that stand for any runbook (a syntax line, not a hint)
GENERIC = re.compile(r"runbook run (NAME|…|\{|--)")
COMMAND = re.compile(r"runbook run [a-z][a-z-]*(?:[^`\n\\]|\\\n)*")


def texts(path: Path) -> list[str]:
    """What a file can print: the string literals of a module (f-string fields as ``{expr}``), the cells
    of a notebook."""
    if path.suffix == ".ipynb":
        return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            found.append(
                "".join(
                    str(v.value) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"  # type: ignore[attr-defined]
                    for v in node.values
                )
            )
    return found


SOURCES = [
    *sorted((ROOT / "runbook_lib").rglob("*.py")),
    *sorted((ROOT / "flux_sandbox").rglob("*.py")),
    *sorted((ROOT / "notebooks").glob("*.ipynb")),
]


def printed_commands() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        for text in texts(path):
            for match in COMMAND.finditer(text):
                command = match.group(0).rstrip(" .,;:)")
                if not GENERIC.match(command) and "{runbook" not in command and "{book" not in command:
                    found.append((path.relative_to(ROOT).as_posix(), command))
    return found


def fill(command: str) -> str:
    def sample(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in SAMPLES, f"Platzhalter {{{key}}} ohne Beispielwert in SAMPLES"
        return SAMPLES[key]

    filled = re.sub(r"\{([^}]*)\}", sample, command).replace("~/gitops", "/tmp/gitops")
    return re.sub(r"<[a-z-]+>", "kite", filled)  # a placeholder the user fills in, e.g. <name>


def test_the_product_prints_runbook_commands() -> None:
    assert len(printed_commands()) >= 10


@pytest.mark.parametrize(("where", "command"), printed_commands(), ids=lambda v: str(v)[:60])
def test_every_printed_runbook_command_is_valid(where: str, command: str) -> None:
    argv = shlex.split(fill(command).replace("…", ""))[1:]
    args = _build_parser().parse_args(argv)
    book = find(args.name)
    given = [tuple(p) for p in args.parameter]
    validate(book.parameters, given, book.name)  # raises UsageError naming the problem


def mentioned_parameters() -> list[tuple[str, str]]:
    """``-p NAME`` in hints of the library (the mainline hint once named a parameter that did not exist)."""
    found = []
    for path in sorted((ROOT / "runbook_lib").rglob("*.py")):
        for match in re.finditer(r"-p ([a-z_]+) [^\s`]", path.read_text(encoding="utf-8")):
            found.append((path.relative_to(ROOT).as_posix(), match.group(1)))
    return found


def test_every_parameter_a_hint_mentions_exists() -> None:
    declared = {p.name for book in discover() for p in book.parameters}
    missing = [(where, name) for where, name in mentioned_parameters() if name not in declared]
    assert not missing
    assert ("runbook_lib/gitops/history.py", "mainline") in mentioned_parameters()
