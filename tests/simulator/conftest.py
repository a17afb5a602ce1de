"""Fixtures for the sandbox API server tests: a bare store (no controllers) served over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.server.apiserver import ApiServer, write_kubeconfig
from flux_sandbox.sim.store import Store

#: namespaces every real cluster has, plus Flux's
BASE_NAMESPACES = ("default", "kube-system", "flux-system")


@dataclass(frozen=True)
class BareApi:
    """A running API server over a store without controllers, and a kubeconfig for it."""

    store: Store
    server: ApiServer
    kubeconfig: Path

    @property
    def url(self) -> str:
        return self.server.url

    def request(
        self, path: str, *, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """A raw HTTP request: (status, headers, body); error statuses are returned, not raised."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read()


ApiFactory = Callable[..., BareApi]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[ApiFactory]:
    """Start a Store (with the base namespaces) and an ApiServer; ``make_api(history=3, token="t")``."""
    started: list[BareApi] = []

    def make(*, history: int = 20000, token: str | None = None) -> BareApi:
        store = Store(history=history)
        for ns in BASE_NAMESPACES:
            store.create(by_kind("Namespace"), {"metadata": {"name": ns}})
        server = ApiServer(store, token=token).start()
        kubeconfig = write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}", server.url, token)
        started.append(BareApi(store, server, kubeconfig))
        return started[-1]

    yield make
    for api in started:
        api.server.stop()
        api.store.close()


@pytest.fixture
def bare_api(make_api: ApiFactory) -> BareApi:
    """``Store()`` + ``ApiServer`` on a free port, kubeconfig at ``tmp_path/kubeconfig-0`` (no token:
    kubectl sends bearer tokens over TLS only)."""
    return make_api()


@pytest.fixture
def api_client(bare_api: BareApi) -> Iterator[client.ApiClient]:
    """The official Python client, configured from the fixture's kubeconfig."""
    api = config.new_client_from_config(config_file=str(bare_api.kubeconfig))
    with api:
        yield api
