"""The API boundary under faults, without a cluster: which failures are retried (and how often), which
are not, how watches end and resume; and when a reconcile request counts as handled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from kubernetes.client import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from runbook_lib import kube
from runbook_lib.cluster import Cluster
from runbook_lib.errors import ApiError, ClusterUnreachable, Conflict
from runbook_lib.reconcile.rules import handled, instant, progress
from runbook_lib.settings import Settings

CLUSTER = Cluster(api_client=None, context="weg", server="https://127.0.0.1:9")  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Settings with the default 3 retries, and sleeps recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(kube, "settings", lambda: Settings(request_timeout=2.0))
    monkeypatch.setattr(kube.time, "sleep", slept.append)
    return slept


def failing(*failures: BaseException, result: Any = "ok") -> Any:
    """A client method (named like a read) that raises ``failures`` one after the other, then answers."""
    calls: list[int] = []

    def get_namespaced_thing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return result

    get_namespaced_thing.calls = calls  # type: ignore[attr-defined]
    return get_namespaced_thing


def refused() -> MaxRetryError:
    return MaxRetryError(None, "/x", NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "failure",
    [
        ApiException(status=503, reason="Service Unavailable"),
        ApiException(status=500, reason="Internal"),
        ApiException(status=502, reason="Bad Gateway"),
        ApiException(status=504, reason="Timeout"),
        ApiException(status=429, reason="Too Many Requests"),
        ProtocolError("Connection aborted", ConnectionResetError(104, "reset")),
        ConnectionResetError(104, "reset"),
    ],
)
def test_a_read_rides_out_three_transient_failures(
    failure: BaseException, quick_backoff: list[float]
) -> None:
    method = failing(failure, failure, failure)
    assert kube.request(CLUSTER, "etwas", method) == "ok"
    assert len(method.calls) == 4
    assert len(quick_backoff) == 3 and all(0 < s <= kube.MAX_BACKOFF for s in quick_backoff)


def test_the_fourth_failure_is_reported_with_the_number_of_attempts() -> None:
    failure = ApiException(status=503, reason="Service Unavailable")
    with pytest.raises(ApiError) as info:
        kube.request(CLUSTER, "die Kustomizations", failing(*[failure] * 4))
    assert "(503)" in info.value.message and "(nach 4 Versuchen)." in info.value.message


def test_a_429_waits_as_long_as_the_server_asks_up_to_a_limit(quick_backoff: list[float]) -> None:
    slow, slower = ApiException(status=429), ApiException(status=429)
    slow.headers, slower.headers = {"Retry-After": "2"}, {"Retry-After": "3600"}
    assert kube.request(CLUSTER, "x", failing(slow, slower)) == "ok"
    assert quick_backoff == [2.0, kube.MAX_RETRY_AFTER]


def test_a_timeout_is_not_retried_so_a_frozen_server_is_reported_at_once() -> None:
    method = failing(ReadTimeoutError(None, "/x", "Read timed out."))  # type: ignore[arg-type]
    with pytest.raises(ClusterUnreachable) as info:
        kube.request(CLUSTER, "x", method)
    assert len(method.calls) == 1
    assert "(keine Antwort innerhalb von 2 s)" in info.value.message


def test_a_refused_connection_is_retried_and_then_named() -> None:
    method = failing(*[refused() for _ in range(4)])
    with pytest.raises(ClusterUnreachable) as info:
        kube.request(CLUSTER, "x", method)
    assert len(method.calls) == 4
    assert "Verbindung abgelehnt" in info.value.message and "nach 4 Versuchen" in info.value.message


def test_a_write_is_not_repeated_after_a_server_error_but_after_a_refused_connection() -> None:
    def patch_namespaced_thing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        raise ApiException(status=500, reason="Internal")

    calls: list[int] = []
    with pytest.raises(ApiError):
        kube.request(CLUSTER, "x", patch_namespaced_thing)
    assert len(calls) == 1
    method = failing(refused(), result="patched")
    method.__name__ = "patch_namespaced_thing"
    assert kube.request(CLUSTER, "x", method) == "patched"


def test_client_errors_are_not_retried() -> None:
    method = failing(ApiException(status=409, reason="Conflict"))
    with pytest.raises(Conflict):
        kube.request(CLUSTER, "x", method)
    assert len(method.calls) == 1


class Body:
    def __init__(self, data: bytes | Exception) -> None:
        self._data = data

    @property
    def data(self) -> bytes:
        if isinstance(self._data, Exception):
            raise self._data
        return self._data


def test_request_json_reads_the_body_inside_the_boundary_and_retries_a_cut_body() -> None:
    answers = [Body(ProtocolError("Connection broken: IncompleteRead")), Body(b'{"items": [1]}')]

    def list_things(*args: Any, **kwargs: Any) -> Body:
        assert kwargs["_preload_content"] is False
        return answers.pop(0)

    assert kube.request_json(CLUSTER, "x", list_things) == {"items": [1]}


def test_request_json_names_an_answer_that_is_not_json() -> None:
    with pytest.raises(ApiError, match="ist kein JSON"):
        kube.request_json(CLUSTER, "die Events", lambda *a, **k: Body(b"<html>login</html>"))


# --- watches -----------------------------------------------------------------------------------------


class FakeWatch:
    """kubernetes.watch.Watch whose streams are scripted: each stream is a list of events and failures."""

    scripts: ClassVar[list[list[Any]]] = []

    def stream(self, fn: Any, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        script = self.scripts.pop(0)
        if script and isinstance(script[0], BaseException) and not isinstance(script[0], ProtocolError):
            raise script[0]  # the request itself failed: no response
        fn(*args, **kwargs)
        for item in script:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        return None


@pytest.fixture
def fake_watch(monkeypatch: pytest.MonkeyPatch) -> type[FakeWatch]:
    monkeypatch.setattr(kube.k8s_watch, "Watch", FakeWatch)
    return FakeWatch


def list_objects(*args: Any, **kwargs: Any) -> None:
    """Stands for a list method: the watch calls it to open the stream."""


def test_a_stream_cut_after_events_ends_quietly_for_the_caller_to_resume(fake_watch: type[FakeWatch]) -> None:
    fake_watch.scripts = [[{"type": "MODIFIED", "object": {}}, ProtocolError("Connection broken")]]
    events = list(kube.watch(CLUSTER, "x", list_objects, seconds=5))
    assert [e["type"] for e in events] == ["MODIFIED"]


def test_a_watch_that_cannot_start_is_retried(
    fake_watch: type[FakeWatch], quick_backoff: list[float]
) -> None:
    fake_watch.scripts = [[refused()], [ApiException(status=503)], [{"type": "ADDED", "object": {}}]]
    assert [e["type"] for e in kube.watch(CLUSTER, "x", list_objects, seconds=5)] == ["ADDED"]
    assert len(quick_backoff) == 2


def test_a_watch_on_a_frozen_server_fails_with_the_timeout(fake_watch: type[FakeWatch]) -> None:
    fake_watch.scripts = [[ReadTimeoutError(None, "/x", "Read timed out.")]]  # type: ignore[arg-type]
    with pytest.raises(ClusterUnreachable, match="keine Antwort innerhalb von 2 s"):
        list(kube.watch(CLUSTER, "x", list_objects, seconds=60))


def test_a_watch_past_the_history_is_expired(fake_watch: type[FakeWatch]) -> None:
    fake_watch.scripts = [[ApiException(status=410, reason="Expired")]]
    with pytest.raises(kube.WatchExpired):
        list(kube.watch(CLUSTER, "x", list_objects, seconds=5))


# --- concurrent requests --------------------------------------------------------------------------------

OURS = "2026-11-26T10:20:30.5+01:00"
LATER = "2026-11-26T09:20:31.000000001Z"  # one second and a nanosecond after OURS, written in UTC
EARLIER = "2026-11-26T10:20:29.999999999+01:00"


def test_instant_reads_rfc3339nano_with_offsets() -> None:
    assert instant(LATER) - instant(OURS) == 500_000_001  # type: ignore[operator]
    assert instant("not a time") is None


@pytest.mark.parametrize(
    ("last", "previous", "done"),
    [
        (OURS, None, True),
        (OURS, "x", True),
        (LATER, EARLIER, True),  # a later request was handled after ours was written
        (LATER, None, False),  # without the value before, only the exact token counts
        (LATER, LATER, False),  # handled before ours was written (a clock ahead): not ours
        (EARLIER, "", False),
        ("garbage", "", False),
    ],
)
def test_a_later_request_handled_since_counts_as_ours(last: str, previous: str | None, done: bool) -> None:
    assert handled(last, OURS, previous) is done


def test_progress_is_ready_when_the_controller_handled_a_newer_request() -> None:
    obj = {
        "metadata": {"generation": 1},
        "status": {
            "lastHandledReconcileAt": LATER,
            "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1, "message": "ok"}],
        },
    }
    assert progress(obj, OURS).state == "pending"
    assert progress(obj, OURS, previous=EARLIER).state == "ready"
