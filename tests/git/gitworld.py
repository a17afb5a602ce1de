"""Real repositories for the git tests: a bare remote and clones of it.

Test helpers call the ``git`` binary directly (argument lists, never a shell string) so that they do
not depend on the code under test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

AUTHOR = ("Test Runner", "runner@example.com")

GLOBAL_CONFIG = """\
[init]
\tdefaultBranch = main
[commit]
\tgpgsign = false
[tag]
\tgpgsign = false
[advice]
\tdetachedHead = false
"""

KITE = """\
---
# Kite dashboard, see https://github.com/zxh326/kite
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: kite
  namespace: kube-system
spec:
  interval: 5m
  chart:
    spec:
      chart: kite
      version: "0.4.1"   # pinned chart version
      sourceRef:
        kind: HelmRepository
        name: kite
  values:
    image:
      tag: 'v0.4.1'  # keep in sync with the chart
    replicas: 1
    extraEnvs:
    - name: KITE_LOG_LEVEL
      value: info
"""

FILES = {
    "clusters/orbstack/flux-system/gotk-sync.yaml": """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  ref:
    branch: main
  url: ssh://git@example.com/team/gitops
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/orbstack
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "clusters/orbstack/infrastructure.yaml": """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infrastructure
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/orbstack/infrastructure
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "clusters/orbstack/apps.yaml": """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  dependsOn:
    - name: infrastructure
  interval: 10m
  path: ./clusters/orbstack/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "clusters/orbstack/infrastructure/cert-manager.yaml": """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 1h
  chart:
    spec:
      chart: cert-manager
      version: v1.16.2
""",
    "clusters/orbstack/apps/kite/helmrelease.yaml": KITE,
    "clusters/orbstack/apps/kite/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - helmrelease.yaml
""",
    "README.md": "GitOps repository\n",
}

KITE_FILE = "clusters/orbstack/apps/kite/helmrelease.yaml"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` and return stripped stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr}")
    return proc.stdout.strip()


class World:
    """A bare remote ``remote.git`` with the sandbox layout on ``main``, and clones of it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.remote = root / "remote.git"
        self.repos: list[Path] = [self.remote]
        git(root, "init", "--bare", "-q", "-b", "main", str(self.remote))
        seed = self.clone("seed")
        for name, text in FILES.items():
            self.write(seed, name, text)
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "Initial layout of the orbstack cluster")
        git(seed, "push", "-q", "origin", "main")

    def clone(self, name: str) -> Path:
        path = self.root / name
        git(self.root, "clone", "-q", str(self.remote), str(path))
        self.repos.append(path)
        return path

    @staticmethod
    def write(clone: Path, name: str, text: str) -> None:
        path = clone / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, clone: Path, name: str, text: str, message: str, *, push: bool = False) -> str:
        self.write(clone, name, text)
        git(clone, "add", name)
        git(clone, "commit", "-q", "-m", message)
        if push:
            git(clone, "push", "-q", "origin", "HEAD")
        return self.head(clone)

    def set_tag(self, clone: Path, tag: str, *, push: bool = True, message: str | None = None) -> str:
        """Commit a change of the kite image tag."""
        text = (clone / KITE_FILE).read_text()
        current = next(ln for ln in text.splitlines() if "tag: '" in ln)
        new = current.split("'")[0] + f"'{tag}'" + current.split("'", 2)[2]
        return self.commit(
            clone, KITE_FILE, text.replace(current, new), message or f"kite: image tag {tag}", push=push
        )

    @staticmethod
    def head(repo: Path, ref: str = "HEAD") -> str:
        return git(repo, "rev-parse", ref)

    def remote_head(self) -> str:
        return git(self.remote, "rev-parse", "refs/heads/main")

    def remote_file(self, name: str) -> str:
        return git(self.remote, "show", f"main:{name}")

    def reachable(self) -> set[str]:
        """Every commit reachable from any ref (branches, tags, remote-tracking) of any repository."""
        shas: set[str] = set()
        for repo in self.repos:
            if git(repo, "for-each-ref", "--format=%(refname)"):
                shas.update(git(repo, "rev-list", "--all").split())
        return shas

    @contextmanager
    def keeps_all_commits(self) -> Iterator[None]:
        """Invariant: no commit that existed before is lost (unreachable from every ref) after."""
        before = self.reachable()
        yield
        lost = before - self.reachable()
        assert not lost, f"commits lost: {sorted(lost)}"

    def install_hook(self, script: str) -> None:
        hook = self.remote / "hooks" / "pre-receive"
        hook.write_text(script)
        hook.chmod(0o755)

    def break_remote(self, clone: Path) -> None:
        git(clone, "remote", "set-url", "origin", str(self.root / "missing.git"))

    def repair_remote(self, clone: Path) -> None:
        git(clone, "remote", "set-url", "origin", str(self.remote))

    @staticmethod
    def status(clone: Path) -> str:
        return git(clone, "status", "--porcelain")


REJECT_MAIN_HOOK = """\
#!/bin/sh
while read old new ref; do
  if [ "$ref" = "refs/heads/main" ]; then
    echo "main is frozen for the release" >&2
    exit 1
  fi
done
exit 0
"""
