"""The real engine: a real control plane with the real Flux controllers, as local processes.

Start order (each step waits for the one before): etcd → kube-apiserver (HTTPS on 127.0.0.1, RBAC) →
kube-controller-manager, kube-scheduler, kwok (one node ``orbstack``; pods Running/Ready, pod logs
from files) → ``flux install`` layout → the Git server and the Helm chart repositories →
source-controller, kustomize-controller, helm-controller (each with its ServiceAccount's token, its log
in the CRI format in the file its pod's log is served from) → bootstrap (Secret ``flux-system`` and
``gotk-sync.yaml``, as ``flux bootstrap`` does) → the healthy state → the scenario's real cause.

Everything lives in ``DIR/real/``; etcd's data is new on every start (like the simulated engine's
in-memory store), the GitOps repository ``DIR/remote.git`` is kept.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import secrets
import shutil
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..statedir import StateLock
from . import build, install, roles
from ._shared import SCENARIOS, UsageError
from .charts import MISSING_IMAGES, cert_manager_chart, kite_charts, write_repository
from .errors import EngineError
from .pki import Pki
from .procs import Proc, Supervisor, free_port, wait_port
from .repo import GOTK_SYNC, RealGitOpsRepo
from .servers import GIT_USER, GitServer, StaticServer
from .versions import FLUX_CONTROLLERS, cache_dir

CONTEXT = "runbook-sandbox"
NODE = "orbstack"
FLUX_NS = "flux-system"
#: seconds to wait for the healthy state and then for the scenario's state: helmrelease-upgrade-failed
#: takes about 2 min 15 s on a quiet 2-core machine (three 20 s upgrade timeouts and two rollbacks) and
#: more than twice that when other test runs share the cores
READY_TIMEOUT = 600.0
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"

Obj = dict[str, Any]


def _human(seconds: float) -> str:
    return build.human(seconds)


def _pdeathsig() -> None:  # pragma: no cover (runs in the child)
    """Children get SIGTERM when the engine process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Engine:
    """One real sandbox cluster on one state directory."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        scenario: str = "healthy",
        port: int = 0,
        *,
        cache: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise UsageError(
                f"Unbekanntes Szenario '{scenario}'.",
                f"Verfügbar: {', '.join(SCENARIOS)} (`runbook sandbox scenarios`).",
            )
        from .scenarios import REAL_SCENARIOS

        if scenario not in REAL_SCENARIOS:
            raise UsageError(
                f"Das Szenario '{scenario}' gibt es in der echten Engine noch nicht: es braucht einen "
                "laufenden cert-manager, der hier nicht läuft.",
                "Mit der simulierten Engine starten (`--engine sim`).",
            )
        self.state_dir = Path(state_dir).resolve()
        self.scenario = scenario
        self.port = port
        self.cache = cache or cache_dir()
        self.ready_timeout = ready_timeout
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.work = self.state_dir / "real"
        self.pki = Pki(self.work / "pki")
        self.supervisor = Supervisor(self.work / "logs")
        self.notes: list[str] = []
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}
        self.repo: RealGitOpsRepo | None = None
        self.git_server: GitServer | None = None
        self.chart_server: StaticServer | None = None
        self.api: Any = None  # kubernetes.client.ApiClient
        self._dyn: Any = None
        self._lock: StateLock | None = None
        self._stop = threading.Event()
        self._log_thread: threading.Thread | None = None
        self.started_at = 0.0
        self.ready_seconds = 0.0

    # -- paths -----------------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def git_token(self) -> Path:
        return self.state_dir / "git-token"

    @property
    def remote(self) -> Path:
        return self.state_dir / "remote.git"

    @property
    def checkout(self) -> Path:
        return self.state_dir / "checkout"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def bin(self, name: str) -> str:
        return str(self.cache / "bin" / name)

    def pod_log(self, controller: str) -> Path:
        return self.work / "logs" / "pods" / f"{FLUX_NS}_{controller}.log"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Engine:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _acquire(self) -> None:
        self._lock = StateLock.acquire(self.state_dir, self.kubeconfig, EngineError)

    def _step(self, what: str, action: Callable[[], Any]) -> Any:
        if self._stop.is_set():
            raise EngineError("Der Start wurde abgebrochen.")
        t0 = time.monotonic()
        self.progress(f"► {what} …")
        result = action()
        self.progress(f"✔ {what} ({_human(time.monotonic() - t0)})")
        return result

    def _start(self) -> None:
        self.started_at = time.monotonic()
        if not build.is_built(self.cache):
            raise EngineError(
                f"Die echte Engine ist noch nicht gebaut (erwartet in {self.cache}).",
                "Zuerst `python -m flux_sandbox.real.build` ausführen (kalt etwa eine Stunde).",
            )
        self.work.mkdir(parents=True, exist_ok=True)
        for stale in ("etcd", "logs", "kubeconfigs", "controllers", "charts", "discovery.json", "pids"):
            target = self.work / stale
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        self._choose_ports()
        self._step("Zertifikate", self.pki.ensure)
        self._step("starte etcd", self._start_etcd)
        self._step("starte kube-apiserver", self._start_apiserver)
        self._step("starte kube-controller-manager, kube-scheduler und kwok", self._start_node_side)
        self._step("installiere Flux (flux install)", self._install_flux)
        self._step("Rollen der Runbooks (rbac/) und eine Kubeconfig je Rolle", lambda: roles.install(self))
        self._step("starte Git-Server und Helm-Repositories", self._start_sources)
        self._step("starte die Flux-Controller", self._start_controllers)
        fresh = self._step("bootstrap (Secret und gotk-sync.yaml)", self._bootstrap)
        from . import scenarios

        if fresh:
            self._step("warte, bis Flux alles angewendet hat", lambda: self._wait_healthy())
            if self.scenario != "healthy":
                self._step(f"Szenario {self.scenario}", lambda: scenarios.apply(self, self.scenario))
        else:
            self._step("warte, bis Flux den Stand des vorhandenen Repositorys angewendet hat",
                       lambda: scenarios.start_reused(self, self.scenario))  # fmt: skip
        self.ready_seconds = time.monotonic() - self.started_at

    def stop(self) -> None:
        self._stop.set()
        if self._log_thread is not None:
            self._log_thread.join(5)
            self._log_thread = None
        self.supervisor.stop_all()
        for server in (self.git_server, self.chart_server):
            if server is not None:
                server.stop()
        self.git_server = self.chart_server = None
        if self.api is not None:
            with contextlib.suppress(Exception):
                self.api.close()
            self.api = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- ports -----------------------------------------------------------------------------------

    def _choose_ports(self) -> None:
        """Fresh ports for every process; the Git and chart server keep theirs for a DIR (their
        URLs are committed in the GitOps repository)."""
        saved_path = self.work / "ports.json"
        saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
        for name in ("git", "charts"):
            self.ports[name] = int(saved.get(name) or free_port())
        saved_path.write_text(json.dumps({"git": self.ports["git"], "charts": self.ports["charts"]}) + "\n")
        names = ["etcd", "etcd-peer", "kwok", "kcm", "scheduler"]
        for ctrl in FLUX_CONTROLLERS:
            names += [f"{ctrl}-metrics", f"{ctrl}-health"]
        names.append("source-controller-storage")
        taken = {self.ports["git"], self.ports["charts"]}
        self.ports["apiserver"] = self.port or free_port()
        taken.add(self.ports["apiserver"])
        for name in names:
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.ports[name] = port

    # -- control plane ---------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], **kwargs: Any) -> Proc:
        proc = self.supervisor.start(name, argv, preexec=_pdeathsig, **kwargs)
        self.procs[name] = proc
        # for diagnostics and tests: which child processes this engine started
        with (self.work / "pids").open("a", encoding="utf-8") as handle:
            handle.write(f"{proc.pid} {argv[0]}\n")
        return proc

    def _failed(self, proc: Proc, what: str) -> EngineError:
        return EngineError(
            f"{what} ist nicht gestartet. Letzte Zeilen aus {proc.log}:\n{proc.tail()}",
            "Das Protokoll prüfen; häufige Ursachen sind ein belegter Port oder ein unvollständiger Build.",
        )

    def _start_etcd(self) -> None:
        proc = self._spawn("etcd", [
            self.bin("etcd"),
            f"--data-dir={self.work / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{self.ports['etcd']}",
            f"--listen-peer-urls=http://127.0.0.1:{self.ports['etcd-peer']}",
        ])  # fmt: skip
        if not wait_port(self.ports["etcd"], 30, proc):
            raise self._failed(proc, "etcd")

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        ctx.load_cert_chain(str(self.pki.cert("admin")), str(self.pki.key("admin")))
        return ctx

    def _get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(
                self.url + path, context=self._ssl_context(), timeout=timeout
            ) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _start_apiserver(self) -> None:
        pki = self.pki
        proc = self._spawn("kube-apiserver", [
            self.bin("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--tls-cert-file={pki.cert('apiserver')}",
            f"--tls-private-key-file={pki.key('apiserver')}",
            f"--client-ca-file={pki.ca}",
            f"--kubelet-client-certificate={pki.cert('admin')}",
            f"--kubelet-client-key={pki.key('admin')}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-account-key-file={pki.path('sa.pub')}",
            f"--service-account-signing-key-file={pki.key('sa')}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            # the advertise address is a loopback address, which an Endpoints object may not hold
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            f"--cert-dir={self.work / 'apiserver-certs'}",
        ])  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not proc.alive():
                raise self._failed(proc, "kube-apiserver")
            with contextlib.suppress(OSError):
                status, _ = self._get("/readyz", timeout=2)
                if status == 200:
                    break
            time.sleep(0.2)
        else:
            raise self._failed(proc, "kube-apiserver (nach 90 s nicht bereit)")
        self.write_kubeconfig(self.kubeconfig, cert="admin", user="kubernetes-admin")
        from kubernetes import config as kconfig

        self.api = kconfig.new_client_from_config(config_file=str(self.kubeconfig), context=CONTEXT)

    def write_kubeconfig(self, path: Path, *, cert: str | None = None, token: str | None = None,
                         user: str = "admin") -> None:  # fmt: skip
        user_entry: Obj = {}
        if cert is not None:
            user_entry = {
                "client-certificate-data": self.pki.b64(self.pki.cert(cert)),
                "client-key-data": self.pki.b64(self.pki.key(cert)),
            }
        if token is not None:
            user_entry = {"token": token}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": {
                "server": self.url, "certificate-authority-data": self.pki.b64(self.pki.ca)}}],
            "users": [{"name": user, "user": user_entry}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
            "current-context": CONTEXT,
            "preferences": {},
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)

    @property
    def dyn(self) -> Any:
        if self._dyn is None:
            from kubernetes.dynamic import DynamicClient

            self._dyn = DynamicClient(self.api, cache_file=str(self.work / "discovery.json"))
        return self._dyn

    def apply(self, objs: list[Obj], manager: str = "flux", timeout: float = 60) -> None:
        """Server-side apply ``objs`` in order; waits for kinds that a CRD applied just before adds."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        for obj in objs:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    res = self.dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
                    break
                except ResourceNotFoundError:
                    if time.monotonic() > deadline:
                        raise EngineError(
                            f"Der Typ {obj['kind']} ({obj['apiVersion']}) ist nicht verfügbar."
                        ) from None
                    time.sleep(0.3)
                    self.dyn.resources.invalidate_cache()
            meta = obj["metadata"]
            res.server_side_apply(
                body=obj, name=meta["name"], namespace=meta.get("namespace"),
                field_manager=manager, force_conflicts=True,
            )  # fmt: skip

    def _start_node_side(self) -> None:
        kubeconfigs = self.work / "kubeconfigs"
        for comp, cert in (
            ("kube-controller-manager", "kube-controller-manager"),
            ("kube-scheduler", "kube-scheduler"),
        ):
            self.write_kubeconfig(kubeconfigs / f"{comp}.kubeconfig", cert=cert, user=f"system:{comp}")
        kcm_cfg = kubeconfigs / "kube-controller-manager.kubeconfig"
        self._spawn("kube-controller-manager", [
            self.bin("kube-controller-manager"),
            f"--kubeconfig={kcm_cfg}",
            f"--authentication-kubeconfig={kcm_cfg}",
            f"--authorization-kubeconfig={kcm_cfg}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['kcm']}",
            f"--cert-dir={self.work / 'kcm-certs'}",
            "--leader-elect=false",
            f"--service-account-private-key-file={self.pki.key('sa')}",
            f"--root-ca-file={self.pki.ca}",
            "--use-service-account-credentials=true",
            "--cluster-name=runbook-sandbox",
            "--controllers=*",
        ])  # fmt: skip
        sched_cfg = kubeconfigs / "kube-scheduler.kubeconfig"
        self._spawn("kube-scheduler", [
            self.bin("kube-scheduler"),
            f"--kubeconfig={sched_cfg}",
            f"--authentication-kubeconfig={sched_cfg}",
            f"--authorization-kubeconfig={sched_cfg}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['scheduler']}",
            f"--cert-dir={self.work / 'scheduler-certs'}",
            "--leader-elect=false",
        ])  # fmt: skip
        manifests = self.cache / "manifests"
        self.apply(install.kwok_objects(manifests), manager="kwokctl")
        kwok_cfg = self.work / "kwok.yaml"
        kwok_cfg.write_text(
            yaml.safe_dump_all(install.kwok_config(manifests, MISSING_IMAGES)), encoding="utf-8"
        )
        self._spawn("kwok", [
            self.bin("kwok"),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={kwok_cfg}",
            "--manage-all-nodes=true",
            "--node-ip=127.0.0.1",
            "--node-name=localhost",
            f"--node-port={self.ports['kwok']}",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
            f"--tls-cert-file={self.pki.cert('kwok')}",
            f"--tls-private-key-file={self.pki.key('kwok')}",
        ], env={**os.environ, "HOME": str(self.work / "home" / "kwok")})  # fmt: skip
        self.apply([install.node(NODE)], manager="kwokctl")
        self._wait(self._node_ready, 60, "Der Knoten orbstack wurde nicht bereit (kwok).")
        self._wait(self._default_sa, 60, "Der kube-controller-manager hat keine ServiceAccounts angelegt.")

    def _node_ready(self) -> bool:
        from kubernetes import client

        node = client.CoreV1Api(self.api).read_node(NODE)
        conditions = (node.status.conditions if node.status else None) or []
        return any(c.type == "Ready" and c.status == "True" for c in conditions)

    def _default_sa(self) -> bool:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            client.CoreV1Api(self.api).read_namespaced_service_account("default", "default")
        except ApiException:
            return False
        return True

    def _wait(self, predicate: Callable[[], bool], timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                if predicate():
                    return
            dead = [p for p in self.procs.values() if not p.alive()]
            if dead:
                raise self._failed(dead[0], dead[0].name)
            if time.monotonic() > deadline:
                raise EngineError(message, f"Protokolle in {self.work / 'logs'} prüfen.")
            time.sleep(0.2)
        raise EngineError("Der Start wurde abgebrochen.")

    # -- Flux --------------------------------------------------------------------------------------

    def _install_flux(self) -> None:
        manifests = self.cache / "manifests"
        self.apply(install.flux_objects(manifests))
        # cert-manager's CRDs come with the cluster (as on the guide's cluster, where cert-manager was
        # set up before Flux took it over): the Kustomization infrastructure applies the cert-manager
        # HelmRelease and the ClusterIssuer together, and its dry-run needs the ClusterIssuer kind
        self.apply(install.cert_manager_crds(manifests), manager="kubectl")

    def _start_sources(self) -> None:
        token = secrets.token_urlsafe(24)
        fd = os.open(self.git_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token)  # no newline: `base64 -w0 git-token` is the Secret value
        self._token = token
        self.git_server = GitServer(self.state_dir, lambda: self._token, self.ports["git"]).start()
        charts = self.work / "charts"
        charts_url = f"http://127.0.0.1:{self.ports['charts']}"
        write_repository(charts / "kite", f"{charts_url}/kite", kite_charts())
        crds = self.cache / "manifests" / "cert-manager" / "deploy" / "crds"
        write_repository(charts / "jetstack", f"{charts_url}/jetstack", [cert_manager_chart(crds)])
        self.chart_server = StaticServer(charts, self.ports["charts"]).start()
        self.repo = RealGitOpsRepo.for_engine(
            self.state_dir, f"http://127.0.0.1:{self.ports['git']}/remote.git", charts_url
        )

    def _token_for(self, service_account: str) -> str:
        from kubernetes import client

        body = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["https://kubernetes.default.svc.cluster.local"],
                                           expiration_seconds=7 * 24 * 3600)
        )  # fmt: skip
        result = client.CoreV1Api(self.api).create_namespaced_service_account_token(
            service_account, FLUX_NS, body
        )
        assert result.status is not None
        return str(result.status.token)

    def controller_args(self, name: str) -> list[str]:
        """The controller's arguments: those of its Deployment (``flux install``), with the listen
        addresses on 127.0.0.1 and the storage in ``DIR/real/controllers``; without
        ``--enable-leader-election``: controller-runtime takes the lease's namespace from the
        in-cluster service account files, which a local process does not have (one replica each)."""
        args = [
            "--watch-all-namespaces",
            "--log-level=info",
            "--log-encoding=json",
            f"--metrics-addr=127.0.0.1:{self.ports[f'{name}-metrics']}",
            f"--health-addr=127.0.0.1:{self.ports[f'{name}-health']}",
        ]
        if name == "source-controller":
            storage = self.ports["source-controller-storage"]
            args += [
                f"--storage-path={self.work / 'controllers' / name / 'data'}",
                f"--storage-addr=127.0.0.1:{storage}",
                f"--storage-adv-addr=127.0.0.1:{storage}",
            ]
        if name == "kustomize-controller":
            # production default 30s: apps waits for infrastructure; 2s keeps the start short
            args.append("--requeue-dependency=2s")
        return args

    def _start_controllers(self) -> None:
        self._wait(lambda: all(self._sa_exists(c) for c in FLUX_CONTROLLERS), 30,
                   "Die ServiceAccounts der Flux-Controller fehlen.")  # fmt: skip
        for name in FLUX_CONTROLLERS:
            kubeconfig = self.work / "kubeconfigs" / f"{name}.kubeconfig"
            self.write_kubeconfig(
                kubeconfig, token=self._token_for(name), user=f"system:serviceaccount:{FLUX_NS}:{name}"
            )
            home = self.work / "controllers" / name
            for sub in ("tmp", "data"):
                (home / sub).mkdir(parents=True, exist_ok=True)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "GIT_", "HELM_"))},
                "KUBECONFIG": str(kubeconfig),
                "RUNTIME_NAMESPACE": FLUX_NS,
                "HOME": str(home),
                "TMPDIR": str(home / "tmp"),
            }
            self._spawn(
                name, [self.bin(name), *self.controller_args(name)], env=env, cri_log=self.pod_log(name)
            )
        self._log_thread = threading.Thread(target=self._map_pod_logs, name="pod-logs", daemon=True)
        self._log_thread.start()
        for name in FLUX_CONTROLLERS:
            port = self.ports[f"{name}-health"]
            self._wait(functools.partial(self._healthy, port), 60, f"{name} wurde nicht bereit.")

    def _sa_exists(self, name: str) -> bool:
        from kubernetes import client

        client.CoreV1Api(self.api).read_namespaced_service_account(name, FLUX_NS)
        return True

    @staticmethod
    def _healthy(port: int) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return bool(resp.status == 200)

    def _map_pod_logs(self) -> None:
        """kwok serves a pod's log from the file a ``Logs`` object (named like the pod) names: for each
        Flux controller pod, the file its controller process writes."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        core, custom = client.CoreV1Api(self.api), client.CustomObjectsApi(self.api)
        done: set[str] = set()
        while not self._stop.wait(0.5):
            try:
                pods = core.list_namespaced_pod(FLUX_NS).items
                listed: Any = custom.list_namespaced_custom_object(
                    "kwok.x-k8s.io", "v1alpha1", FLUX_NS, "logs"
                )
                existing = {o["metadata"]["name"] for o in listed["items"]}
                for pod in pods:
                    if pod.metadata is None or not pod.metadata.name:
                        continue
                    app = (pod.metadata.labels or {}).get("app")
                    name = str(pod.metadata.name)
                    if app not in FLUX_CONTROLLERS or name in existing or name in done:
                        continue
                    body = {
                        "apiVersion": "kwok.x-k8s.io/v1alpha1",
                        "kind": "Logs",
                        "metadata": {"name": name, "namespace": FLUX_NS, "labels": {"app": app}},
                        "spec": {"logs": [{"containers": ["manager"], "logsFile": str(self.pod_log(app)),
                                           "follow": True}]},
                    }  # fmt: skip
                    with contextlib.suppress(ApiException):
                        custom.create_namespaced_custom_object(
                            "kwok.x-k8s.io", "v1alpha1", FLUX_NS, "logs", body
                        )
                    done.add(name)
            except Exception:
                continue

    def _bootstrap(self) -> bool:
        """What ``flux bootstrap`` leaves in a cluster: the Secret with the Git credentials and the
        objects of ``gotk-sync.yaml`` from the repository. Returns True for a new repository."""
        assert self.repo is not None
        fresh = self.repo.ensure()
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "type": "Opaque",
            "stringData": {"username": GIT_USER, "password": self._token},
        }
        self.apply([secret])
        sync = [d for d in yaml.safe_load_all(self.repo.read_file(GOTK_SYNC)) if d]
        self.apply(sync)
        return fresh

    # -- state -------------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """An object as a dict (None when it does not exist)."""
        from kubernetes.dynamic.exceptions import NotFoundError

        api_version = {
            "GitRepository": "source.toolkit.fluxcd.io/v1",
            "HelmRepository": "source.toolkit.fluxcd.io/v1",
            "HelmChart": "source.toolkit.fluxcd.io/v1",
            "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
            "HelmRelease": "helm.toolkit.fluxcd.io/v2",
        }.get(kind, "v1")
        res = self.dyn.resources.get(api_version=api_version, kind=kind)
        try:
            return dict(res.get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None

    def patch(self, kind: str, namespace: str | None, name: str, body: Obj) -> None:
        api_version = {
            "GitRepository": "source.toolkit.fluxcd.io/v1",
            "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
            "HelmRelease": "helm.toolkit.fluxcd.io/v2",
        }.get(kind, "v1")
        res = self.dyn.resources.get(api_version=api_version, kind=kind)
        res.patch(body=body, name=name, namespace=namespace, content_type="application/merge-patch+json")

    def request_reconcile(self, kind: str, namespace: str, name: str) -> None:
        """What ``flux reconcile`` does: a new ``reconcile.fluxcd.io/requestedAt`` value."""
        stamp = datetime.now(UTC).isoformat()
        self.patch(kind, namespace, name, {"metadata": {"annotations": {REQUESTED_AT: stamp}}})

    def _wait_healthy(self) -> None:
        from .scenarios import healthy, not_ready

        deadline = time.monotonic() + self.ready_timeout
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                if healthy(self):
                    return
            dead = [p for p in self.procs.values() if not p.alive()]
            if dead:
                raise self._failed(dead[0], dead[0].name)
            if time.monotonic() > deadline:
                problems = "; ".join(not_ready(self)) or "Flux-Objekte noch nicht bereit"
                raise EngineError(
                    f"Die Sandbox in {self.state_dir} wurde nicht rechtzeitig bereit: {problems}.",
                    f"Die Controller-Protokolle in {self.work / 'logs'} ansehen (oder `flux get all -A`).",
                )
            time.sleep(0.5)
        raise EngineError("Der Start wurde abgebrochen.")

    def dead_processes(self) -> list[Proc]:
        return [p for p in self.procs.values() if not p.alive()]


class _Interrupted(BaseException):
    """SIGINT/SIGTERM during the start."""


def serve(state_dir: str | os.PathLike[str], scenario: str = "healthy", port: int = 0) -> int:
    """Run the real engine until SIGINT/SIGTERM: print one ``ready:`` line, then block; every child
    process is ended on the way out. Returns the exit code."""
    stop = threading.Event()
    engine = Engine(state_dir, scenario, port)
    starting = True
    previous = {}

    def handler(signum: int, frame: object) -> None:
        stop.set()
        if starting:
            raise _Interrupted

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        if (engine.remote / "HEAD").exists():
            engine.progress(
                f"◎ Vorhandenes Repository {engine.remote} wird weiterverwendet; warte, bis Flux "
                "seinen Stand angewendet hat …"
            )
        try:
            engine.start()
        except _Interrupted:
            print("✗ Start abgebrochen; alle Prozesse sind beendet.", file=sys.stderr, flush=True)
            return 130
        except EngineError as exc:
            print(f"✗ {exc}", file=sys.stderr, flush=True)
            return exc.exit_code
        starting = False
        for note in engine.notes:
            print(f"⚠ {note}", file=sys.stderr, flush=True)
        users = ", ".join(str(roles.kubeconfig_path(engine, r)) for r in roles.ROLES)
        print(
            f"Kubeconfigs je Rolle aus rbac/ (ein Benutzer mit genau dieser Rolle): {users}", file=sys.stderr
        )
        print(
            f"ready: Sandbox (echte Engine: kube-apiserver und Flux) läuft auf {engine.url} (Szenario "
            f"{scenario}, bereit nach {_human(engine.ready_seconds)}), Kubeconfig {engine.kubeconfig}, "
            f"GitOps-Checkout {engine.checkout} — export KUBECONFIG={engine.kubeconfig}",
            flush=True,
        )
        while not stop.wait(1.0):
            dead = engine.dead_processes()
            if dead:
                print(f"✗ {dead[0].name} ist unerwartet beendet; Protokoll: {dead[0].log}\n{dead[0].tail()}",
                      file=sys.stderr, flush=True)  # fmt: skip
                return 1
        return 0
    finally:
        starting = False
        engine.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
