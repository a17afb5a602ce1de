"""source-controller: GitRepository (reads the real bare repository), HelmRepository, HelmChart.

Messages, reasons and revision formats follow docs/flux-facts.md §2: ``main@sha1:<40 hex>``,
``stored artifact for revision '…'``, ``stored artifact: revision 'sha256:…'``,
``pulled 'kite' chart with version '0.6.3'``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable
from pathlib import Path

from flux_sandbox.sim.controllers import catalog
from flux_sandbox.sim.controllers.base import (
    Controller,
    Key,
    Obj,
    Reconcile,
    delete_condition,
    finalize_status,
    now_iso,
    set_condition,
)
from flux_sandbox.sim.gitrepo import GitOpsRepo
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Change
from runbook_lib.errors import GitError

STORAGE = "http://source-controller.flux-system.svc.cluster.local."
SECRET = by_kind("Secret")


class SourceError(Exception):
    """A failed fetch or build: condition reason, message and the failure condition type."""

    def __init__(
        self, reason: str, message: str, condition: str = "FetchFailed", *, stalling: bool = False
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.condition = condition
        #: retrying cannot help (an invalid chart reference): Stalled=True, no requeue until a change
        self.stalling = stalling


def artifact(path: str, revision: str, payload: bytes) -> Obj:
    return {
        "path": path,
        "url": f"{STORAGE}/{path}",
        "revision": revision,
        "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
        "lastUpdateTime": now_iso(),
        "size": len(payload),
    }


class SourceController(Controller):
    name = "source-controller"
    kinds = ("GitRepository", "HelmRepository", "HelmChart")

    def related(self, change: Change) -> Iterable[Key]:
        if not self.source_changed(change, ("HelmRepository",)):
            return []
        meta = change.obj["metadata"]
        charts, _ = self.store.list(by_kind("HelmChart"), meta["namespace"])
        return [
            ("HelmChart", c["metadata"]["namespace"], c["metadata"]["name"])
            for c in charts
            if (c["spec"].get("sourceRef") or {}).get("name") == meta["name"]
            and (c["spec"].get("sourceRef") or {}).get("kind", "HelmRepository") == "HelmRepository"
        ]

    def reconcile(self, rc: Reconcile) -> float | None:
        status = copy.deepcopy(rc.obj.get("status") or {})
        handler = {"GitRepository": self._git, "HelmRepository": self._helm_repo, "HelmChart": self._chart}[
            rc.obj["kind"]
        ]
        try:
            revision, message, event_reason, event_msg, art = handler(rc, status)
        except SourceError as exc:
            return self._fail(rc, status, exc)
        new = (status.get("artifact") or {}).get("revision") != revision
        if new:
            status["artifact"] = art
            rc.event("Normal", event_reason, event_msg, revision)
            rc.log(event_msg, revision=revision)
        else:
            rc.log(f"no changes since last reconcilation: observed revision '{revision}'")
        for cond in ("FetchFailed", "BuildFailed", "StorageOperationFailed", "Stalled"):
            delete_condition(status, cond)
        set_condition(status, "ArtifactInStorage", "True", "Succeeded", message, rc.gen)
        set_condition(status, "Ready", "True", "Succeeded", message, rc.gen)
        if rc.obj["kind"] == "HelmChart":
            status["observedChartName"] = rc.obj["spec"].get("chart")
            status["observedSourceArtifactRevision"] = self._source_revision(rc.obj)
        status["url"] = status["artifact"]["url"]
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        return None

    def _fail(self, rc: Reconcile, status: Obj, exc: SourceError) -> float | None:
        set_condition(status, exc.condition, "True", exc.reason, exc.message, rc.gen)
        set_condition(status, "Ready", "False", exc.reason, exc.message, rc.gen)
        if exc.stalling:
            set_condition(status, "Stalled", "True", exc.reason, exc.message, rc.gen)
        else:
            set_condition(
                status, "Reconciling", "True", "ProgressingWithRetry", "reconciliation in progress", rc.gen
            )
        rc.event("Warning", exc.reason, exc.message)
        rc.log("Reconciler error", level="error", error=exc.message)
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        return None if exc.stalling else self.backoff(rc)

    def _start(self, rc: Reconcile, status: Obj, message: str) -> None:
        if rc.gen != status.get("observedGeneration") or not status.get("artifact"):
            self.progress(rc, status, message)
        self.sleep()

    # -- GitRepository ----------------------------------------------------------------------------------

    def _check_auth(self, rc: Reconcile, url: str) -> None:
        ref = (rc.obj["spec"].get("secretRef") or {}).get("name")
        ns = rc.obj["metadata"]["namespace"]
        if not ref:
            return
        secret = self.store.find(SECRET, ns, ref)
        if secret is None:
            raise SourceError(
                "AuthenticationFailed", f"failed to get secret '{ns}/{ref}': secrets \"{ref}\" not found"
            )
        password = base64.b64decode((secret.get("data") or {}).get("password", "")).decode(errors="replace")
        if self.env.git_token and password != self.env.git_token:
            raise SourceError(
                "GitOperationFailed",
                f"failed to checkout and determine revision: unable to clone "
                f"'{url}': authentication required: Invalid username or token",
            )

    def _git(self, rc: Reconcile, status: Obj) -> tuple[str, str, str, str, Obj]:
        spec = rc.obj["spec"]
        url = spec.get("url", "")
        branch = (spec.get("ref") or {}).get("branch") or "master"
        self._start(rc, status, "reconciliation in progress")
        self._check_auth(rc, url)
        repo = GitOpsRepo(GitOpsRepo.local_remote(url) or Path("/nonexistent"), Path("/nonexistent"))
        if not (repo.remote / "HEAD").exists():
            raise SourceError(
                "GitOperationFailed",
                f"failed to checkout and determine revision: unable to clone '{url}': repository not found",
            )
        try:
            sha = repo.head(branch)
        except GitError:
            raise SourceError(
                "GitOperationFailed",
                f"failed to checkout and determine revision: unable to "
                f"clone '{url}': couldn't find remote ref \"refs/heads/{branch}\"",
            ) from None
        revision = f"{branch}@sha1:{sha}"
        meta = rc.obj["metadata"]
        path = f"gitrepository/{meta['namespace']}/{meta['name']}/{sha}.tar.gz"
        if (status.get("artifact") or {}).get("revision") == revision and self.env.artifacts.get(path):
            return revision, f"stored artifact for revision '{revision}'", "", "", status["artifact"]
        self.progress(rc, status, f"building artifact: new upstream revision '{revision}'")
        files = repo.read_tree(sha)
        self.sleep()
        self.env.artifacts.put(path, files)
        payload = b"".join(k.encode() + v for k, v in sorted(files.items()))
        msg = f"stored artifact for commit '{repo.subject(sha)}'"
        return (
            revision,
            f"stored artifact for revision '{revision}'",
            "NewArtifact",
            msg,
            artifact(path, revision, payload),
        )

    # -- HelmRepository ---------------------------------------------------------------------------------

    def _helm_repo(self, rc: Reconcile, status: Obj) -> tuple[str, str, str, str, Obj]:
        url = rc.obj["spec"].get("url", "")
        self._start(rc, status, "reconciliation in progress")
        repo = catalog.find_repo(url)
        if repo is None:
            raise SourceError(
                "IndexationFailed",
                f"failed to fetch Helm repository index: failed to cache index to temporary file: "
                f"failed to fetch {url.rstrip('/')}/index.yaml : 404 Not Found",
            )
        index = catalog.index_yaml(repo)
        digest = catalog.index_digest(repo)
        revision = f"sha256:{digest}"
        meta = rc.obj["metadata"]
        path = f"helmrepository/{meta['namespace']}/{meta['name']}/index-{digest}.yaml"
        self.env.artifacts.put(path, repo)
        msg = f"stored fetched index of size {len(index) / 1000:.1f}kB from '{url}'"
        return (
            revision,
            f"stored artifact: revision '{revision}'",
            "NewArtifact",
            msg,
            artifact(path, revision, index.encode()),
        )

    # -- HelmChart --------------------------------------------------------------------------------------

    def _source_revision(self, chart: Obj) -> str:
        src = self._chart_source(chart)
        return ((src or {}).get("status", {}).get("artifact") or {}).get("revision", "")

    def _chart_source(self, chart: Obj) -> Obj | None:
        ref = chart["spec"].get("sourceRef") or {}
        return self.store.find(
            by_kind(ref.get("kind", "HelmRepository")), chart["metadata"]["namespace"], ref.get("name", "")
        )

    def _chart(self, rc: Reconcile, status: Obj) -> tuple[str, str, str, str, Obj]:
        spec = rc.obj["spec"]
        name, want = spec.get("chart", ""), spec.get("version") or "*"
        self._start(rc, status, "reconciliation in progress")
        ref = spec.get("sourceRef") or {}
        source = self._chart_source(rc.obj)
        if source is None:
            raise SourceError(
                "SourceUnavailable",
                f"failed to get source: {ref.get('kind')}.source.toolkit."
                f'fluxcd.io "{ref.get("name")}" not found',
            )
        art = (source.get("status") or {}).get("artifact")
        repo = self.env.artifacts.get(art["path"]) if art else None
        if repo is None:
            raise SourceError(
                "SourceUnavailable",
                f"failed to get source: no artifact available for "
                f"{ref.get('kind')} source '{ref.get('name')}'",
            )
        found = catalog.resolve_version(repo, name, want)
        if found is None:
            raise SourceError(
                "InvalidChartReference",
                f"invalid chart reference: failed to get chart version for "
                f"remote reference: no '{name}' chart with version matching '{want}' found",
                "BuildFailed",
                stalling=True,
            )
        meta = rc.obj["metadata"]
        path = f"helmchart/{meta['namespace']}/{meta['name']}/{found.name}-{found.version}.tgz"
        self.env.artifacts.put(path, found)
        msg = f"pulled '{found.name}' chart with version '{found.version}'"
        return (
            found.version,
            msg,
            "ChartPullSucceeded",
            msg,
            artifact(path, found.version, f"{found.name}-{found.version}".encode()),
        )
