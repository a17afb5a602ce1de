"""The API boundary and the kubeconfig precedence, without a cluster (fake client methods, temp files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiException
from urllib3.exceptions import MaxRetryError, ProtocolError

from runbook_lib import kube
from runbook_lib.cluster import Cluster, connect, resolve_target
from runbook_lib.errors import ClusterUnreachable, Forbidden, NotFound, UsageError
from runbook_lib.settings import settings

CLUSTER = Cluster(api_client=None, context="weg", server="https://127.0.0.1:9")  # type: ignore[arg-type]


def test_request_passes_the_default_timeout_and_keeps_an_explicit_one() -> None:
    seen: list[Any] = []

    def method(*args: Any, **kwargs: Any) -> str:
        seen.append(kwargs["_request_timeout"])
        return "ok"

    assert kube.request(CLUSTER, "etwas", method, "a") == "ok"
    assert kube.request(CLUSTER, "etwas", method, _request_timeout=(1, 2)) == "ok"
    assert seen == [settings().request_timeout, (1, 2)]


@pytest.mark.parametrize(
    ("failure", "error", "text"),
    [
        (ApiException(status=404, reason="Not Found"), NotFound, "HelmRelease kube-system/kite wurde nicht"),
        (ApiException(status=403, reason="Forbidden"), Forbidden, "Keine Berechtigung"),
        (MaxRetryError(None, "/version"), ClusterUnreachable, "nicht erreichbar: Kontext 'weg' (https://"),
        (ConnectionRefusedError(111, "refused"), ClusterUnreachable, "Kontext 'weg'"),
        (ApiException(status=0, reason="SSLError"), ClusterUnreachable, "(https://127.0.0.1:9) (SSLError)."),
    ],
)
def test_request_converts_every_failure_at_the_boundary(
    failure: Exception, error: type[Exception], text: str
) -> None:
    def method(*args: Any, **kwargs: Any) -> None:
        raise failure

    with pytest.raises(error) as info:
        kube.request(CLUSTER, "HelmRelease kube-system/kite", method)
    assert text in str(info.value)
    assert info.value.__cause__ is failure


class FakeResponse:
    def __init__(self, chunks: list[bytes], failure: Exception | None = None) -> None:
        self.chunks, self.failure, self.released = list(chunks), failure, False

    def read1(self, size: int) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        if self.failure:
            raise self.failure
        return b""

    def release_conn(self) -> None:
        self.released = True


def test_read_chunks_converts_a_broken_stream_unless_tolerant() -> None:
    broken = FakeResponse([b"a\nb"], ProtocolError("Connection broken"))
    with pytest.raises(ClusterUnreachable):
        list(kube.read_chunks(CLUSTER, "Logs", broken))
    assert broken.released
    cut = FakeResponse([b"a\nb"], ProtocolError("Connection broken"))
    assert list(kube.read_chunks(CLUSTER, "Logs", cut, tolerant=True)) == [b"a\nb"]
    assert cut.released


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "clusters": [{"name": n, "cluster": {"server": s}} for n, s in contexts.items()],
                "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in contexts],
                "users": [{"name": n, "user": {}} for n in contexts],
            }
        )
    )
    return path


def test_the_environment_is_read_when_resolving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://a:6443", "b": "https://b:6443"}, "a")
    monkeypatch.setenv("RUNBOOK_KUBECONFIG", str(kc))
    monkeypatch.setenv("RUNBOOK_CONTEXT", "b")
    target = resolve_target()
    assert (target.context, target.server, target.kubeconfig) == ("b", "https://b:6443", str(kc))
    assert resolve_target(context="a").server == "https://a:6443"  # the argument wins


def test_connect_refuses_a_bad_kubeconfig_with_the_same_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="existiert nicht"):
        connect(str(tmp_path / "nope"))
    kc = write_kubeconfig(tmp_path / "kc", {"runbook-sandbox": "http://127.0.0.1:1234"}, "runbook-sandbox")
    with pytest.raises(UsageError) as info:
        connect(str(kc), "runbook-sandbx")
    assert "Meinten Sie 'runbook-sandbox'?" in (info.value.hint or "")
    cluster = connect(str(kc))
    assert cluster.describe() == "Kontext 'runbook-sandbox' (http://127.0.0.1:1234)"
