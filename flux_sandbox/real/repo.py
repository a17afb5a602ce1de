"""The GitOps repository of the real engine: the simulator's template, changed in ONE place here.

:func:`real_files` takes the template (same files, same history) and

- points the GitRepository at the local Git server (``http://127.0.0.1:<port>/remote.git``) and the two
  HelmRepositories at the local chart server (``/kite``, ``/jetstack``),
- sets short ``timeout``/``retryInterval`` values so that a scenario settles in seconds instead of
  minutes, each with a German comment saying what production uses (see :data:`SANDBOX_VALUES`).

The ClusterIssuer keeps Let's Encrypt's URL: cert-manager does not run in this engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flux_sandbox.sim.gitrepo import push_test_branch

from ._shared import BRANCH, HELMRELEASE, GitOpsRepo, edit_yaml, git, history, template_files

GOTK_SYNC = "clusters/orbstack/flux-system/gotk-sync.yaml"
KITE_REPOSITORY = "clusters/orbstack/apps/kite/helmrepository.yaml"
JETSTACK_REPOSITORY = "clusters/orbstack/infrastructure/cert-manager/helmrepository.yaml"
APPS = "clusters/orbstack/apps.yaml"
INFRASTRUCTURE = "clusters/orbstack/infrastructure.yaml"

#: (file, what, sandbox value, production value, why) for the README and the comments
SANDBOX_VALUES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        HELMRELEASE,
        "spec.timeout",
        "20s",
        "5m (Standard)",
        "ein Upgrade mit einem fehlenden Image scheitert nach 20 s statt nach 5 min",
    ),
    (
        APPS,
        "spec.retryInterval",
        "10s",
        "= interval (10m)",
        "ein fehlgeschlagener Build wird nach 10 s erneut versucht, nicht erst nach 10 min",
    ),
    (
        INFRASTRUCTURE,
        "spec.retryInterval",
        "10s",
        "= interval (10m)",
        "wie bei apps",
    ),
)


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise ValueError(f"{old!r} not found in the template")
    return text.replace(old, new)


def real_files(files: dict[str, str], charts_url: str) -> dict[str, str]:
    """The template's files (GitRepository URL already filled in) changed for the real engine."""
    out = dict(files)
    out[KITE_REPOSITORY] = _replace(
        _replace(out[KITE_REPOSITORY], "url: https://zxh326.github.io/kite", f"url: {charts_url}/kite"),
        "# Helm-Repository des Kite-Dashboards (helm repo add kite https://zxh326.github.io/kite)",
        "# Helm-Repository des Kite-Dashboards (Sandbox: lokaler Nachbau von https://zxh326.github.io/kite)",
    )
    out[JETSTACK_REPOSITORY] = _replace(
        _replace(out[JETSTACK_REPOSITORY], "url: https://charts.jetstack.io", f"url: {charts_url}/jetstack"),
        "# Helm-Repository von Jetstack (cert-manager)",
        "# Helm-Repository von Jetstack (cert-manager; Sandbox: lokaler Nachbau von https://charts.jetstack.io)",
    )

    def timeout(doc: Any) -> None:
        spec = doc["spec"]
        spec.insert(list(spec).index("interval") + 1, "timeout", "20s")
        spec.yaml_add_eol_comment(
            "Sandbox: kurz (Standard 5m), damit ein fehlgeschlagenes Upgrade schnell sichtbar wird", "timeout"
        )

    out[HELMRELEASE] = edit_yaml(out[HELMRELEASE], timeout)

    def retry(doc: Any) -> None:
        spec = doc["spec"]
        spec.insert(list(spec).index("interval") + 1, "retryInterval", "10s")
        spec.yaml_add_eol_comment(
            "Sandbox: kurz (Standard = interval), damit Fehler schnell erneut versucht werden",
            "retryInterval",
        )

    out[APPS] = edit_yaml(out[APPS], retry)
    out[INFRASTRUCTURE] = edit_yaml(out[INFRASTRUCTURE], retry)
    out["README.md"] = out["README.md"] + README_NOTE
    return out


README_NOTE = """
## Sandbox-Werte

Dieses Repository gehört zur Sandbox mit echtem Flux. Gegenüber einem Produktions-Repository
weichen nur diese Werte ab, damit Fehler in Sekunden statt Minuten sichtbar werden:

- `apps/kite/helmrelease.yaml`: `timeout: 20s` (Standard: 5m) – ein Upgrade, dessen Pods nicht bereit
  werden, gilt nach 20 s als fehlgeschlagen.
- `apps.yaml` und `infrastructure.yaml`: `retryInterval: 10s` (Standard: gleich `interval`, hier 10m) –
  ein fehlgeschlagener Build wird nach 10 s erneut versucht.
- Die Helm-Repositories zeigen auf einen lokalen Nachbau (`http://127.0.0.1:…/kite`, `…/jetstack`), das
  GitRepository auf einen lokalen Git-Server (`http://127.0.0.1:…/remote.git`).
"""


class RealGitOpsRepo(GitOpsRepo):
    """``DIR/remote.git`` and ``DIR/checkout`` with the real engine's content. ``url`` is the Git
    server's URL (the one in the GitRepository), not the folder; clones and pushes of the checkout
    still use the folder."""

    git_url: str
    charts_url: str

    @classmethod
    def for_engine(cls, state_dir: Path, git_url: str, charts_url: str) -> RealGitOpsRepo:
        state = Path(state_dir).resolve()
        repo = cls(state / "remote.git", state / "checkout")
        object.__setattr__(repo, "git_url", git_url)
        object.__setattr__(repo, "charts_url", charts_url)
        return repo

    @property
    def url(self) -> str:
        return self.git_url

    def _create_remote(self) -> None:
        import tempfile

        self.remote.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", cwd=self.remote)
        with tempfile.TemporaryDirectory(prefix="sandbox-git-") as tmp:
            work = Path(tmp)
            git("init", "--quiet", f"--initial-branch={BRANCH}", cwd=work)
            files = real_files(template_files(self.git_url), self.charts_url)
            for message, tree in history(files):
                for old in [p for p in work.rglob("*") if p.is_file() and ".git" not in p.parts]:
                    old.unlink()
                for path, content in tree.items():
                    target = work / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(content, encoding="utf-8")
                git("add", "--all", cwd=work)
                git("commit", "--quiet", "--no-verify", "-m", message, cwd=work)
            git("push", "--quiet", str(self.remote), f"{BRANCH}:{BRANCH}", cwd=work)
            push_test_branch(work, self.remote)
