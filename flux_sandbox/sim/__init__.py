"""The sandbox: a local Kubernetes API server with simulated Flux, Helm and cert-manager controllers
and a real GitOps repository, put into one of the :data:`~.scenarios.SCENARIOS`.

    with Sandbox(tmp_dir, scenario="helmrelease-upgrade-failed") as sb:
        cluster = runbook_lib.cluster.connect(str(sb.kubeconfig))

``start()`` reuses ``DIR/remote.git`` and ``DIR/checkout`` when they exist (a user's commits are never
destroyed) and refuses a second sandbox on the same DIR. On a reused repository it waits only until the
controllers have handled its HEAD (:func:`settle`), then decides within seconds: the healthy state, a
German note (HEAD cannot be applied, or already shows the scenario), or a RunbookError saying how to get
a clean scenario. ``serve()`` is what ``runbook sandbox up`` runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from flux_sandbox.sim.controllers import Controllers, Env, Timing, flux_install
from flux_sandbox.sim.controllers import start as start_controllers
from flux_sandbox.sim.controllers.catalog import image_available
from flux_sandbox.sim.controllers.workload import rollout
from flux_sandbox.sim.gitrepo import GitOpsRepo
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.scenarios import SCENARIOS, fingerprint, healthy, not_ready, settled
from flux_sandbox.sim.server.apiserver import ApiServer, write_kubeconfig
from flux_sandbox.sim.store import Store
from flux_sandbox.statedir import StateLock
from runbook_lib.errors import RunbookError, UsageError, os_reason

__all__ = ["SCENARIOS", "Sandbox", "Timing", "serve"]

CONTEXT = "runbook-sandbox"
#: seconds start() waits for the healthy state and then for the scenario's state; generous because a
#: loaded CI machine is slow, and a fast start never waits that long
READY_TIMEOUT = 60.0


def settle(store: Store, done: Callable[[Store], bool], quiet: float, timeout: float) -> bool:
    """Wait until ``done`` (True) or until the controllers have handled everything there is to handle:
    :func:`~.scenarios.settled` holds and nothing moved for ``quiet`` seconds (False). ``timeout``
    bounds endless retries. Used on a reused repository, whose HEAD may never give the wanted state."""
    deadline = time.monotonic() + timeout
    last: object = None
    since = time.monotonic()
    while not done(store):
        now = time.monotonic()
        mark = fingerprint(store) if settled(store) else None
        if mark is None or mark != last:
            last, since = mark, now
        elif now - since >= quiet:
            return False
        if now >= deadline or store.closed:
            return False
        store.wait_for_changes(store.resource_version, min(0.05, max(deadline - now, 0.0)))
    return True


def _wait(store: Store, predicate: Callable[[Store], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    rv = store.resource_version
    while not predicate(store):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        changes = store.wait_for_changes(rv, min(remaining, 0.5))
        if changes:
            rv = changes[-1].rv
    return True


class Sandbox:
    """One sandbox cluster on one state directory (see the module docstring)."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        scenario: str = "healthy",
        port: int = 0,
        timing: Timing | None = None,
        *,
        token: str | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        """``token``: require this bearer token on the API. Off by default because kubectl sends
        bearer tokens only over TLS; the server binds to 127.0.0.1 only."""
        if scenario not in SCENARIOS:
            raise UsageError(
                f"Unbekanntes Szenario '{scenario}'.",
                f"Verfügbar: {', '.join(SCENARIOS)} (`runbook sandbox scenarios`).",
            )
        check_port(port)
        self.state_dir = Path(state_dir).resolve()
        self.scenario = SCENARIOS[scenario]
        self.port = port
        self.timing = timing or Timing.fast()
        self.token = token
        self.ready_timeout = ready_timeout
        self.repo = GitOpsRepo.at(self.state_dir)
        #: German remarks for the user (e.g. a reused repository that does not reach the healthy state)
        self.notes: list[str] = []
        self._store: Store | None = None
        self._controllers: Controllers | None = None
        self._api: ApiServer | None = None
        self._lock: StateLock | None = None

    # -- properties ----------------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def remote(self) -> Path:
        return self.repo.remote

    @property
    def checkout(self) -> Path:
        return self.repo.checkout

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RunbookError("Die Sandbox läuft nicht.", "Zuerst `start()` aufrufen.")
        return self._store

    @property
    def url(self) -> str:
        if self._api is None:
            raise RunbookError("Die Sandbox läuft nicht.", "Zuerst `start()` aufrufen.")
        return str(self._api.url)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start on the state directory; a failure leaves the directory as it was found (what this
        start created is removed again, a user's repository never)."""
        existed = self._check_state_dir()
        try:
            self._listen()  # a port in use fails here, before anything is written
            self._make_state_dir()
            self._acquire()
        except BaseException:
            self.stop()
            raise
        try:
            self._start()
        except BaseException:
            self.stop()
            self._remove_created(existed)
            raise
        return self

    def _check_state_dir(self) -> set[str] | None:
        """The names already in the state directory (None: it does not exist yet); UsageError when it
        cannot be one."""
        path = self.state_dir
        if path.exists() and not path.is_dir():
            raise UsageError(
                f"--state {path} ist eine Datei, kein Verzeichnis.",
                "Ein neues oder leeres Verzeichnis angeben, z. B. `--state ~/flux-sandbox`; ein früheres "
                "Sandbox-Verzeichnis wird weiterverwendet.",
            )
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise UsageError(
                        f"--state {path} liegt unter {parent}, und das ist eine Datei.",
                        "Einen Pfad in einem Verzeichnis angeben, z. B. `--state ~/flux-sandbox`.",
                    )
                break
        return set(os.listdir(path)) if path.is_dir() else None

    def _make_state_dir(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"Das Verzeichnis {self.state_dir} lässt sich nicht anlegen: {os_reason(exc)}.",
                "Einen Pfad angeben, in dem Sie schreiben dürfen, z. B. `--state ~/flux-sandbox`.",
            ) from exc

    def _listen(self) -> None:
        store = self._store = Store()
        try:
            self._api = ApiServer(store, port=self.port, token=self.token).start()
        except OSError as exc:
            raise port_error(self.port, exc) from exc

    def _remove_created(self, existed: set[str] | None) -> None:
        """Remove what this start created in the state directory (all of it if it created the directory)."""
        if existed is None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            return
        with contextlib.suppress(OSError):
            for name in set(os.listdir(self.state_dir)) - existed:
                target = self.state_dir / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)

    def _acquire(self) -> None:
        self._lock = StateLock.acquire(self.state_dir, self.kubeconfig, RunbookError)

    def _start(self) -> None:
        fresh = self.repo.ensure()
        store = self.store
        git_token = secrets.token_urlsafe(24)
        self._write_git_token(git_token)
        flux_install.install(store)
        flux_install.bootstrap(store, self.repo, git_token)
        self._controllers = start_controllers(Env(store, self.timing, git_token=git_token))
        assert self._api is not None  # listening since _listen()
        write_kubeconfig(self.kubeconfig, self._api.url, self.token, context=CONTEXT)
        if fresh:
            self._start_fresh(store)
        else:
            self._start_reused(store)

    def _start_fresh(self, store: Store) -> None:
        if not _wait(store, healthy, self.ready_timeout):
            raise RunbookError(
                f"Die Sandbox in {self.state_dir} wurde nicht rechtzeitig bereit.",
                "Erneut starten; bleibt es so, den Fehler mit `flux get all -A` ansehen.",
            )
        if self.scenario.setup is not None:
            self.scenario.setup(self)
            if not _wait(store, self.scenario.reached, self.ready_timeout):
                raise RunbookError(
                    f"Das Szenario '{self.scenario.name}' hat seinen Zustand nicht erreicht.",
                    f"Mit einem leeren Verzeichnis statt {self.state_dir} starten.",
                )

    @property
    def quiet(self) -> float:
        """Seconds without progress after which a reused repository's state counts as final: longer
        than the controllers' short requeues (retry, dependency), so a pause between two steps of a
        healthy start is not taken for the end."""
        t = self.timing
        return max(0.5, 2 * max(t.step, t.retry, t.dependency_requeue) + t.poll)

    def _start_reused(self, store: Store) -> None:
        """``remote.git`` existed: its HEAD (maybe with a user's or an earlier scenario's commits)
        decides the state. Wait only until the controllers have handled it, then decide; the
        repository is never reset or rewritten."""
        scenario = self.scenario
        clean = f"runbook sandbox up --state NEUES_VERZEICHNIS --scenario {scenario.name}"
        keep = f"runbook sandbox up --state {self.state_dir}"
        untouched = f"Das Repository {self.remote} bleibt unverändert, Ihre Commits bleiben erhalten."
        head = self.repo.head()
        if not settle(store, healthy, self.quiet, self.ready_timeout):
            problems = "; ".join(not_ready(store)) or "Flux-Objekte noch nicht bereit"
            if scenario.setup is None:
                self.notes.append(
                    f"Nicht alle Flux-Objekte sind bereit: der Stand des vorhandenen Repositorys "
                    f"{self.remote} (HEAD {head[:7]} „{self.repo.subject(head)}“) lässt sich nicht "
                    f"fehlerfrei anwenden ({problems}). Die Sandbox läuft mit diesem Stand weiter: den "
                    f"Fehler mit einem Commit im Checkout {self.checkout} beheben, oder für einen gesunden "
                    f"Cluster ein leeres Verzeichnis mit --state wählen."
                )
                return
            if scenario.reached(store):
                self.notes.append(
                    f"Das vorhandene Repository {self.remote} (HEAD {head[:7]} „{self.repo.subject(head)}“) "
                    f"ergibt bereits den Zustand des Szenarios '{scenario.name}'; es wurde nichts geändert."
                )
                return
            raise RunbookError(
                f"Das Szenario '{scenario.name}' wurde nicht angewendet: das vorhandene Repository "
                f"{self.remote} (HEAD {head[:7]} „{self.repo.subject(head)}“, von einem früheren Lauf) "
                f"ergibt keinen gesunden Cluster, auf dem das Szenario aufsetzen kann ({problems}).",
                f"Für ein sauberes Szenario ein leeres Verzeichnis angeben (`{clean}`), oder mit dem "
                f"jetzigen Stand weiterarbeiten (`{keep}`, ohne --scenario). {untouched}",
            )
        if scenario.setup is None:
            return
        scenario.setup(self)
        if settle(store, scenario.reached, self.quiet, self.ready_timeout):
            return
        after = self.repo.head()
        why = (
            "der Commit des Szenarios änderte nichts, das Repository enthält diese Änderung schon"
            if after == head and scenario.name != "git-auth-failure"
            else "; ".join(not_ready(store)) or "alle Flux-Objekte sind bereit"
        )
        untouched = (
            untouched
            if after == head
            else f"Der Commit des Szenarios ({after[:7]}) liegt in {self.remote}; nichts wurde gelöscht."
        )
        raise RunbookError(
            f"Das Szenario '{scenario.name}' hat seinen Zustand auf dem vorhandenen Repository "
            f"{self.remote} (HEAD vorher {head[:7]} „{self.repo.subject(head)}“) nicht erreicht: {why}.",
            f"Für ein sauberes Szenario ein leeres Verzeichnis angeben (`{clean}`), oder mit dem jetzigen "
            f"Stand weiterarbeiten (`{keep}`, ohne --scenario). {untouched}",
        )

    # -- faults --------------------------------------------------------------------------------------

    def stop_controller(self, name: str) -> None:
        """``kubectl scale deployment NAME --replicas=0``: the controller (``source-controller``, …)
        stops handling objects, its Deployment has no ready replica and its Pods are gone."""
        self._scale(name, 0)

    def start_controller(self, name: str) -> None:
        """Scale the controller back to one replica; it handles every object once, as after a restart."""
        self._scale(name, 1)

    def _scale(self, name: str, replicas: int) -> None:
        if self._controllers is None:
            raise RunbookError("Die Sandbox läuft nicht.", "Zuerst `start()` aufrufen.")
        ctrl = self._controllers.get(name)
        if replicas == 0:
            ctrl.pause()
        deployment = by_kind("Deployment")
        self.store.patch(deployment, ctrl.namespace, name, {"spec": {"replicas": replicas}})
        current = self.store.find(deployment, ctrl.namespace, name)
        assert current is not None
        rollout(self.store, current, image_available)
        if replicas:
            ctrl.resume()

    @property
    def git_token(self) -> Path:
        """``DIR/git-token``: the token the simulated Git server accepts (mode 0600), the "new deploy
        token" with which the ``git-auth-failure`` exercise is fixed."""
        return self.state_dir / "git-token"

    def _write_git_token(self, token: str) -> None:
        fd = os.open(self.git_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token)  # no newline: `base64 -w0 git-token` is the Secret value

    def stop(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._controllers is not None:
            self._controllers.stop()
            self._controllers = None
        if self._store is not None:
            self._store.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def check_port(port: object) -> int:
    """A TCP port number (0: any free one), else UsageError."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise UsageError(
            f"Ungültiger Port {port!r}: erlaubt sind 1 bis 65535.",
            "Einen freien Port angeben oder --port weglassen (dann wählt die Sandbox einen freien).",
        )
    return port


def port_error(port: int, exc: OSError) -> UsageError:
    """The German error for a port the API server cannot listen on."""
    if exc.errno == errno.EADDRINUSE:
        why = "ist bereits belegt"
    elif exc.errno == errno.EACCES:
        why = "darf nicht verwendet werden (Ports unter 1024 brauchen Administratorrechte)"
    else:
        why = f"lässt sich nicht öffnen ({os_reason(exc)})"
    return UsageError(
        f"Port {port} auf 127.0.0.1 {why}.",
        f"Einen anderen Port mit --port wählen oder --port weglassen (dann wählt die Sandbox einen freien); "
        f"wer den Port belegt, zeigt `ss -ltnp 'sport = :{port}'`. Es wurde nichts angelegt.",
    )


def timing_from_env() -> Timing:
    """``RUNBOOK_SANDBOX_TIMING=fast|demo`` (default demo: a person watching sees the states change)."""
    return Timing.fast() if os.environ.get("RUNBOOK_SANDBOX_TIMING", "demo") == "fast" else Timing.demo()


def serve(
    state_dir: str | os.PathLike[str], scenario: str = "healthy", port: int = 0, timing: Timing | None = None
) -> int:
    """Run a sandbox until SIGINT/SIGTERM: print one ``ready:`` line, then block. Returns the exit code."""
    stop = threading.Event()
    sandbox = Sandbox(state_dir, scenario, port, timing or timing_from_env())
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        if (sandbox.remote / "HEAD").exists():
            print(
                f"◎ Vorhandenes Repository {sandbox.remote} wird weiterverwendet; warte, bis Flux "
                "seinen Stand angewendet hat …",
                file=sys.stderr,
                flush=True,
            )
        try:
            sandbox.start()
        except RunbookError as exc:
            print(f"✗ {exc}", file=sys.stderr, flush=True)
            return exc.exit_code
        for note in sandbox.notes:
            print(f"⚠ {note}", file=sys.stderr, flush=True)
        print(
            f"ready: Sandbox läuft auf {sandbox.url} (Szenario {scenario}), Kubeconfig {sandbox.kubeconfig}, "
            f"GitOps-Checkout {sandbox.checkout} — export KUBECONFIG={sandbox.kubeconfig}",
            flush=True,
        )
        # with a timeout: a signal the kernel delivers to another thread sets `stop` from the
        # main thread's next bytecode, which a wait without timeout (a lock) never reaches
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
