"""Every component of the real engine, pinned in one place, and the cache key derived from the pins.

Each component is built on its own (its own Go build list): the components pin different ``k8s.io/*``
versions, and one build list would force one version on all of them. How a component is built:

- ``install``: ``go install <package>@<version>``; only for modules without ``replace`` lines.
- ``module``: ``go build`` in a writable copy of the module's own source tree, with its own
  ``go.mod``; for the flux CLI, whose ``cmd/flux/manifests/*.yaml`` (embedded) the release makes
  with kustomize and has to be generated first.
- ``gomod``: a small build module committed under ``flux_sandbox/real/go/<name>/`` (``go.mod``,
  ``go.sum``, maybe a ``main.go``) that carries the ``replace`` lines the component needs: the
  Flux controllers replace their ``api`` module with ``./api``, a nested module that is not part of
  their module zip, so neither ``go install …@version`` nor a build in their own tree works.

Stdlib only: ``python -m flux_sandbox.real.build`` runs before any dependency is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: the Go release every component is built with (``go`` line of the newest module below: 1.26.0);
#: Flux 2.10 (source-controller v1.10) needs Go 1.27, so Flux stays on 2.9 until the toolchain moves
GO_VERSION = "go1.26"

#: folder of the committed build modules (``gomod`` components)
GO_DIR = Path(__file__).resolve().parent / "go"


@dataclass(frozen=True)
class Component:
    #: short name, used in progress lines and as the build folder name
    name: str
    module: str
    version: str
    #: how it is built: "install", "module" or "gomod" (see the module docstring)
    method: str
    #: binary name -> Go package (a full import path, or "./cmd/x"/"." inside the module for "module")
    binaries: dict[str, str]
    #: why this version (kept next to the pin)
    why: str
    #: extra ``-ldflags`` (version stamps)
    ldflags: str = ""
    #: folders inside the module whose ``*.yaml`` files are copied to ``<cache>/manifests/<name>/``
    manifests: tuple[str, ...] = field(default_factory=tuple)


KUBERNETES_VERSION = "v1.36.3"
#: the staging modules (k8s.io/api, k8s.io/client-go, ...) of the same release
KUBERNETES_STAGING = "v0.36.3"
#: bumping it means recording the calibration fixtures again: `./dev -s calibrate` (docs/development.md)
FLUX_VERSION = "v2.9.5"


def _kube_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    stamps = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
    }
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.{key}={value}" for key, value in stamps.items()]
    return " ".join(flags)


COMPONENTS: tuple[Component, ...] = (
    Component(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version="v3.6.16",
        method="gomod",
        binaries={"etcd": "."},
        why="newest etcd 3.6 patch release; Kubernetes 1.36 is tested against etcd 3.6",
    ),
    Component(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        method="gomod",
        binaries={
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
        },
        why="newest 1.36 patch release: Flux 2.9 and kwok 0.8 are built with the k8s.io 0.36 libraries "
        "(go line 1.26.0, so it builds with Go 1.26); the staging modules are replaced with v0.36.3",
        ldflags=_kube_ldflags(KUBERNETES_VERSION),
    ),
    Component(
        name="kwok",
        module="sigs.k8s.io/kwok",
        version="v0.8.0",
        method="install",
        binaries={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
        why="newest kwok release (k8s.io 0.36 libraries, Go 1.26); has no replace lines",
        manifests=(
            "kustomize/kwok",
            "kustomize/crd/bases",
            "kustomize/stage/pod/fast",
            "kustomize/stage/node/fast",
            "kustomize/stage/node/heartbeat-with-lease",
        ),
    ),
    Component(
        name="source-controller",
        module="github.com/fluxcd/source-controller",
        version="v1.9.5",
        method="gomod",
        binaries={"source-controller": "github.com/fluxcd/source-controller"},
        why="the source-controller of Flux v2.9.5, the newest Flux whose controllers build with Go 1.26 "
        "(source-controller v1.10 needs Go 1.27)",
        manifests=("config/crd/bases", "config/manager"),
    ),
    Component(
        name="kustomize-controller",
        module="github.com/fluxcd/kustomize-controller",
        version="v1.9.5",
        method="gomod",
        binaries={"kustomize-controller": "github.com/fluxcd/kustomize-controller"},
        why="the kustomize-controller of Flux v2.9.5",
        manifests=("config/crd/bases", "config/manager"),
    ),
    Component(
        name="helm-controller",
        module="github.com/fluxcd/helm-controller",
        version="v1.6.4",
        method="gomod",
        binaries={"helm-controller": "github.com/fluxcd/helm-controller"},
        why="the helm-controller of Flux v2.9.5",
        manifests=("config/crd/bases", "config/manager"),
    ),
    Component(
        name="flux",
        module="github.com/fluxcd/flux2/v2",
        version=FLUX_VERSION,
        method="module",
        binaries={"flux": "./cmd/flux"},
        why="the flux CLI of the same release, a reference client for tests and benchmarks",
        ldflags=f"-X main.VERSION={FLUX_VERSION.lstrip('v')}",
        manifests=(
            "manifests/install",
            "manifests/rbac",
            "manifests/bases/source-controller",
            "manifests/bases/kustomize-controller",
            "manifests/bases/helm-controller",
            "manifests/policies",
        ),
    ),
    Component(
        name="cert-manager",
        module="github.com/cert-manager/cert-manager",
        version="v1.21.1",
        method="module",
        binaries={},
        why="the version of the cert-manager HelmRelease in the GitOps repository; only its CRDs are "
        "used: its controller's main package is a module of its own that the Go proxy does not serve",
        manifests=("deploy/crds",),
    ),
)

#: the Flux controllers the engine runs (in start order)
FLUX_CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")


def component(name: str) -> Component:
    for comp in COMPONENTS:
        if comp.name == name:
            return comp
    raise KeyError(name)


def _go_dir_digest() -> str:
    """Hash of the committed build modules (a changed go.mod or main.go means a new build)."""
    digest = hashlib.sha256()
    if GO_DIR.is_dir():
        for path in sorted(GO_DIR.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(GO_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key() -> str:
    """A short, readable key: the Kubernetes and Flux versions plus a hash of every pin."""
    # what the binaries depend on; the copied manifests carry their own marker (build.copy_manifests)
    pins = [{k: v for k, v in asdict(c).items() if k not in ("why", "manifests")} for c in COMPONENTS]
    payload = json.dumps(
        {"go": GO_VERSION, "components": pins, "go_dir": _go_dir_digest()},
        sort_keys=True,
    )
    short = hashlib.sha256(payload.encode()).hexdigest()[:12]
    return f"k8s-{KUBERNETES_VERSION}_flux-{FLUX_VERSION}_{short}"


def cache_root() -> Path:
    """``$RUNBOOK_REAL_CACHE`` or ``~/.cache/flux-runbooks/real`` (outside the checkout)."""
    env = os.environ.get("RUNBOOK_REAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "flux-runbooks" / "real"


def cache_dir() -> Path:
    return cache_root() / cache_key()
