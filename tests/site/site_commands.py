"""The shell commands of the built site, as a reader copies them, and a terminal that runs them.

Every bash block of a page is read from the built HTML (the text the copy button copies), split into
command lines, and each line is either run as written or skipped for a stated reason:

- not installed in this environment (the flux CLI, helm, cmctl, kubectl plugins): the line is an
  alternative to a runbook and is skipped, the block goes on;
- a placeholder (``<commit>``, ``<TOKEN>``), the reader's own cluster or repository (``--context
  orbstack``, ``~/.kube/config``, ``~/gitops``), an editor, an installation, a command that never ends
  (``-w``): the rest of the block is skipped too, it may depend on that step; so are ``git add``/
  ``commit``/``push`` blocks after an edit that was skipped.

``runbook sandbox up …`` is what the reader starts in a first terminal: it runs in the background until
its ``ready:`` line, and is ended (Ctrl+C) before the next one and at the end. A page without such a line
runs after the preparation the site gives in "Erste Schritte": a sandbox in ``.sandbox`` and
``export KUBECONFIG=$PWD/.sandbox/kubeconfig``; when the page has Git commands, they are typed in the
GitOps checkout (``cd .sandbox/checkout``), and a commit message editor is closed unchanged
(``GIT_EDITOR=true``).
"""

from __future__ import annotations

import html
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: blocks of these languages hold shell commands
SHELL = ("bash", "sh", "shell", "console")
_BLOCK = re.compile(
    r'<div class="language-(\w+) highlight">(?:<span class="filename">[^<]*</span>)?'
    r"<pre[^>]*>(?:<span></span>)?<code[^>]*>(.*?)</code></pre>",
    re.S,
)
#: tools a reader of the site may have, but this environment does not ship; their lines are alternatives
NOT_INSTALLED = {"flux": "flux-CLI", "helm": "helm", "cmctl": "cmctl"}
_KUBECTL_PLUGIN = re.compile(r"^kubectl (cert-manager|krew)\b")
_PLACEHOLDER = re.compile(r"<[^\s<>-][^<>]*>")
_OWN = ("~/.kube/config", "--context orbstack", "kube_context orbstack", "~/gitops")
_EDITORS = ("vim", "vi", "nano", "emacs")
_SETUP = ("pip install", "git clone", "python3.12 -m venv", ". .venv/bin/activate", "./dev", "jupyter lab")
_ENDLESS = re.compile(r"(^|\s)(-w|--watch|-f|--follow)(\s|$)")
_GIT_AFTER_EDIT = re.compile(r"^git (add|commit|push)\b")
_SANDBOX_UP = re.compile(r"^runbook sandbox up\b")


def shell_blocks(page_html: str) -> list[str]:
    """The text of every shell block of a page, as copied (tags gone, entities decoded)."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", body))
        for lang, body in _BLOCK.findall(page_html)
        if lang in SHELL
    ]


def command_lines(block: str) -> list[str]:
    """The command lines of a block: continuation lines joined, blank and comment-only lines dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


@dataclass
class Command:
    page: str
    text: str
    #: why it is not run ("" when it is); ``stops`` when the rest of its block is skipped too
    skip: str = ""
    stops: bool = False
    #: filled by :func:`run_page`
    returncode: int | None = None
    output: str = ""

    @property
    def sandbox(self) -> bool:
        return bool(_SANDBOX_UP.match(self.text))


def _reason(line: str, edited: bool) -> tuple[str, bool]:
    words = shlex.split(line, comments=True) if line else []
    first = words[0] if words else ""
    if first in NOT_INSTALLED or _KUBECTL_PLUGIN.match(line):
        return f"{NOT_INSTALLED.get(first, 'kubectl-Plugin')} ist hier nicht installiert", False
    if _PLACEHOLDER.search(line):
        return "Platzhalter", True
    if any(own in line for own in _OWN):
        return "eigener Cluster bzw. eigenes Repository", True
    if first in _EDITORS:
        return "Editor", True
    if any(line.startswith(s) for s in _SETUP):
        return "Installation", True
    if _ENDLESS.search(line):
        return "endet nicht von selbst", True
    if edited and _GIT_AFTER_EDIT.match(line):
        return "folgt auf eine Bearbeitung im Editor", True
    return "", False


def plan(page: str, blocks: list[str]) -> list[Command]:
    """Every command line of the page in order, each marked to run or with its reason to skip."""
    commands, edited = [], False
    for block in blocks:
        stopped = ""
        for line in command_lines(block):
            if stopped:
                commands.append(Command(page, line, f"folgt auf einen übersprungenen Schritt ({stopped})"))
                continue
            reason, stops = _reason(line, edited)
            edited = edited or reason == "Editor"
            commands.append(Command(page, line, reason, stops))
            if stops:
                stopped = reason
    return commands


@dataclass
class Terminal:
    """A bash session in ``workdir`` that runs a page's commands and reports each one's exit code."""

    workdir: Path
    env: dict[str, str]
    timeout: float = 900
    log: list[str] = field(default_factory=list)

    def script(self, commands: list[Command], *, prepare: bool, checkout: bool = False) -> str:
        lines = [
            "exec 2>&1",
            "sbx_pid=",
            "stop_sandbox() {",
            '  if [ -n "$sbx_pid" ]; then kill -INT "$sbx_pid"; wait "$sbx_pid"; fi; sbx_pid=',
            "}",
            "trap stop_sandbox EXIT",
        ]
        if prepare:  # "Erste Schritte": the sandbox in a first terminal, KUBECONFIG in the second
            lines += self._sandbox("runbook sandbox up --state .sandbox", "prep")
            lines.append("export KUBECONFIG=$PWD/.sandbox/kubeconfig")
            if checkout:
                lines.append("cd .sandbox/checkout")
        for index, command in enumerate(commands):
            if command.skip:
                continue
            if command.sandbox:
                lines += self._sandbox(command.text, str(index))
            else:
                # the marker on a line of its own, also after output without a final newline
                lines += [f"echo '::begin {index}'", command.text, f"printf '\\n::rc %s {index}\\n' \"$?\""]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _sandbox(text: str, key: str) -> list[str]:
        log = f".sandbox-up-{key}.log"
        return [
            "stop_sandbox",
            f"echo '::begin {key}'",
            f"{text} > {log} 2>&1 &",
            "sbx_pid=$!",
            f"for _ in $(seq 1 1500); do grep -q '^ready:' {log} && break; "
            'kill -0 "$sbx_pid" 2>/dev/null || break; sleep 0.2; done',
            f"cat {log}; grep -q '^ready:' {log}",
            f"printf '\\n::rc %s {key}\\n' \"$?\"",
        ]

    def run(self, commands: list[Command], *, prepare: bool) -> str:
        """Run the page's commands; ``prepare``: after the preparation of "Erste Schritte" (a sandbox, its
        KUBECONFIG, and the GitOps checkout as working directory when the page has Git commands)."""
        checkout = any(c.text.startswith("git ") for c in commands if not c.skip)
        script = self.script(commands, prepare=prepare, checkout=checkout)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc"],
            input=script,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        for index, command in enumerate(commands):
            found = re.search(rf"^::begin {index}\n(.*?)^::rc (\d+) {index}$", output, re.S | re.M)
            if found:
                command.output, command.returncode = found.group(1), int(found.group(2))
        return output
