"""The sandbox's GitOps repository: a bare ``remote.git`` (branch main) and a user's ``checkout``.

The content mirrors the guide's cluster ``clusters/orbstack/`` (files in ``repo_template/``) and is
committed as a short, realistic history. Existing repositories are reused as they are, so a user's
commits survive a sandbox restart. Every git call here uses an isolated configuration (no global or
system config: a user's ``commit.gpgsign`` or hooks must not break the sandbox).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from runbook_lib.errors import GitError

BRANCH = "main"
AUTHOR = ("Plattform-Team", "plattform@beispiel.de")
#: the checkout's local identity (a user's working copy)
USER = ("Sandbox-Benutzer", "benutzer@beispiel.de")
URL_PLACEHOLDER = "__REMOTE_URL__"
HELMRELEASE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def git_env(author: tuple[str, str] = AUTHOR) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=author[0],
        GIT_AUTHOR_EMAIL=author[1],
        GIT_COMMITTER_NAME=author[0],
        GIT_COMMITTER_EMAIL=author[1],
    )
    return env


def git(*args: str, cwd: Path | str, author: tuple[str, str] = AUTHOR, data: bytes | None = None) -> str:
    """Run git; raise GitError with git's own message on failure."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(author), input=data, capture_output=True, check=False
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise GitError(
            f"git {' '.join(args[:2])} in {cwd} ist fehlgeschlagen: {err}",
            "Zustand des Repositorys mit `git status` prüfen.",
        )
    return proc.stdout.decode(errors="replace")


def template_files(remote_url: str) -> dict[str, str]:
    """The final repository content, with the GitRepository URL filled in."""
    root = resources.files("flux_sandbox.sim") / "repo_template"
    out: dict[str, str] = {}

    def walk(node, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            elif not child.name.endswith((".pyc",)):
                out[rel] = child.read_text(encoding="utf-8").replace(URL_PLACEHOLDER, remote_url)

    walk(root, "")
    return out


def _kustomization(*resources_: str) -> str:
    lines = [
        "# Einstiegspunkt der Kustomization flux-system: nur diese Dateien werden direkt angewendet,",
        "# infrastructure/ und apps/ gehören den Kustomizations aus infrastructure.yaml und apps.yaml.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
    ]
    return "\n".join(lines + [f"  - {r}" for r in resources_]) + "\n"


#: the test branch every simulated sandbox's repository has, one commit ahead of main
TEST_BRANCH = "test/kite-replikate"
TEST_BRANCH_MESSAGE = "Kite: zwei Replikate testen, bevor sie nach main kommen"


def push_test_branch(work: Path, remote: Path) -> None:
    """Commit the test branch's change on top of ``work``'s main and push it as :data:`TEST_BRANCH`."""
    kite = work / HELMRELEASE
    kite.write_text(
        kite.read_text(encoding="utf-8").replace("replicaCount: 1", "replicaCount: 2"), encoding="utf-8"
    )
    git("commit", "--quiet", "--no-verify", "-am", TEST_BRANCH_MESSAGE, cwd=work)
    git("push", "--quiet", str(remote), f"{BRANCH}:refs/heads/{TEST_BRANCH}", cwd=work)


def history(files: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The commits of a fresh repository, oldest first: (message, complete tree)."""
    root = "clusters/orbstack/"
    base = {p: c for p, c in files.items() if p == "README.md" or p.startswith(root + "flux-system/")}
    base[root + "kustomization.yaml"] = _kustomization("flux-system")
    infra = {**base, **{p: c for p, c in files.items() if p.startswith(root + "infrastructure")}}
    infra[root + "kustomization.yaml"] = _kustomization("flux-system", "infrastructure.yaml")
    apps = dict(files)
    apps[HELMRELEASE] = files[HELMRELEASE].replace("0.6.3", "0.6.2")
    return [
        ("Bootstrap Flux for cluster orbstack", base),
        ("Add cert-manager with Let's Encrypt ClusterIssuer", infra),
        ("Deploy Kite dashboard 0.6.2 to kube-system", apps),
        ("Upgrade Kite to 0.6.3", dict(files)),
    ]


def _write_tree(work: Path, tree: Mapping[str, str]) -> None:
    for path, content in tree.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


@dataclass(frozen=True)
class GitOpsRepo:
    """The two repositories of one sandbox state directory."""

    remote: Path
    checkout: Path

    @staticmethod
    def local_remote(url: str) -> Path | None:
        """The bare repository a sandbox GitRepository URL names, None for any other URL."""
        parsed = urlsplit(url)
        if parsed.scheme != "https" or parsed.hostname != "localhost" or parsed.port:
            return None
        return Path(unquote(parsed.path))

    @classmethod
    def at(cls, state_dir: Path | str) -> GitOpsRepo:
        state = Path(state_dir).resolve()
        return cls(state / "remote.git", state / "checkout")

    @property
    def url(self) -> str:
        """The GitRepository URL of this repository: ``https://localhost/<path of remote.git>``. A
        GitRepository's ``spec.url`` must match ``^(http|https|ssh)://.*$`` (its CRD), so the sandbox
        cannot name the bare repository by a ``file://`` URL; the simulated source-controller reads
        ``https://localhost/<path>`` as the local path (:func:`local_remote`)."""
        return f"https://localhost{quote(str(self.remote))}"

    def ensure(self) -> bool:
        """Create what is missing; return True when ``remote.git`` was created now."""
        created = False
        if not (self.remote / "HEAD").exists():
            self._create_remote()
            created = True
        if not (self.checkout / ".git").exists():
            git(
                "clone",
                "--quiet",
                "--branch",
                BRANCH,
                str(self.remote),
                str(self.checkout),
                cwd=self.remote.parent,
            )
            git("config", "user.name", USER[0], cwd=self.checkout)
            git("config", "user.email", USER[1], cwd=self.checkout)
        return created

    def _create_remote(self) -> None:
        self.remote.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", cwd=self.remote)
        with tempfile.TemporaryDirectory(prefix="sandbox-git-") as tmp:
            work = Path(tmp)
            git("init", "--quiet", f"--initial-branch={BRANCH}", cwd=work)
            for message, tree in history(template_files(self.url)):
                for old in [p for p in work.rglob("*") if p.is_file() and ".git" not in p.parts]:
                    old.unlink()
                _write_tree(work, tree)
                git("add", "--all", cwd=work)
                git("commit", "--quiet", "--no-verify", "-m", message, cwd=work)
            git("push", "--quiet", str(self.remote), f"{BRANCH}:{BRANCH}", cwd=work)
            push_test_branch(work, self.remote)

    # -- reading (what source-controller does) -----------------------------------------------------

    def head(self, branch: str = BRANCH) -> str:
        """The commit sha of ``branch`` in the remote."""
        return git("rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}", cwd=self.remote).strip()

    def subject(self, sha: str) -> str:
        return git("log", "-1", "--format=%s", sha, cwd=self.remote).strip()

    def read_tree(self, sha: str) -> dict[str, bytes]:
        """All files of a commit (``git archive``), path -> content."""
        proc = subprocess.run(
            ["git", "archive", "--format=tar", sha],
            cwd=self.remote,
            env=git_env(),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git archive {sha} ist fehlgeschlagen: {proc.stderr.decode(errors='replace')}")
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[member.name] = handle.read()
        return files

    # -- writing (scenarios) -------------------------------------------------------------------------

    def commit(self, changes: Mapping[str, str | None], message: str) -> str | None:
        """Commit ``changes`` (path -> new text, None deletes) on top of remote main and push.

        Works in a temporary clone; afterwards the user's checkout is fast-forwarded when it can be.
        Returns the new sha, or None when the remote already had that content.
        """
        with tempfile.TemporaryDirectory(prefix="sandbox-commit-") as tmp:
            work = Path(tmp) / "work"
            git("clone", "--quiet", "--branch", BRANCH, str(self.remote), str(work), cwd=tmp)
            for path, text in changes.items():
                target = work / path
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
            git("add", "--all", cwd=work)
            if not git("status", "--porcelain", cwd=work).strip():
                return None
            git("commit", "--quiet", "--no-verify", "-m", message, cwd=work)
            git("push", "--quiet", "origin", BRANCH, cwd=work)
            sha = git("rev-parse", "HEAD", cwd=work).strip()
        self.fast_forward_checkout()
        return sha

    def read_file(self, path: str) -> str:
        return self.read_tree(self.head())[path].decode("utf-8")

    def fast_forward_checkout(self) -> bool:
        """``git pull --ff-only`` in the checkout; leaves it alone when that is not possible."""
        if not (self.checkout / ".git").exists():
            return False
        try:
            git("pull", "--quiet", "--ff-only", "origin", BRANCH, cwd=self.checkout)
        except GitError:
            return False
        return True

    def remove(self) -> None:
        shutil.rmtree(self.remote, ignore_errors=True)
        shutil.rmtree(self.checkout, ignore_errors=True)
