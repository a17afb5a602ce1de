"""Go-style durations in, kubectl-style ages out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runbook_lib.durations import format_duration, human_duration, parse_duration
from runbook_lib.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        (" 2h ", timedelta(hours=2)),
    ],
)
def test_parse_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_none_and_timedelta_pass_through() -> None:
    assert parse_duration(None) is None
    assert parse_duration(timedelta(seconds=3)) == timedelta(seconds=3)


@pytest.mark.parametrize("text", ["5", "abc", "", "5 minutes", "1x"])
def test_bad_duration_is_a_german_usage_error_naming_value_and_examples(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(text, what="since")
    assert info.value.message == f"Ungültige Dauer '{text}' für since."
    assert "90s, 5m, 1h30m" in (info.value.hint or "")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text", ["-5m", "0s"])
def test_negative_or_zero_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="größer als null"):
        parse_duration(text, what="follow")


def test_zero_allowed_when_asked() -> None:
    assert parse_duration("0s", allow_zero=True) == timedelta(0)


def test_format_duration_is_go_string() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(seconds=30)) == "30s"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (200, "3m20s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 120, "3h2m"),
        (8 * 3600 + 120, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 3600, "2d1h"),
        (10 * 86400, "10d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_like_kubectl(seconds: float, expected: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == expected
