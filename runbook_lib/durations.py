"""Go-style durations (``90s``, ``5m``, ``1h30m``) in and kubectl-style ages (``5s``, ``3m``, ``2h``) out.

Parsing goes through ``durationpy`` so the accepted syntax is exactly Go's ``time.ParseDuration``, the
one the flux CLI uses for ``--since`` and ``--timeout``. Bad input is a German :class:`UsageError` that
names the value and gives examples.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import durationpy

from runbook_lib.errors import UsageError

#: shown in every error message; the same forms `flux` accepts
EXAMPLES = "z. B. 90s, 5m, 1h30m"


def parse_duration(
    value: str | timedelta | None, *, what: str = "Dauer", allow_zero: bool = False
) -> timedelta | None:
    """``"1h30m"`` -> ``timedelta(hours=1, minutes=30)``; ``None`` stays ``None``.

    ``what`` names the parameter in the message (``since``, ``follow``). Negative durations are
    refused, and zero unless ``allow_zero``.
    """
    if value is None:
        return None
    parsed = value if isinstance(value, timedelta) else _parse_text(value, what)
    if parsed < timedelta(0) or (parsed == timedelta(0) and not allow_zero):
        raise UsageError(
            f"Die Dauer '{value}' für {what} muss größer als null sein.",
            f"Eine positive Dauer angeben, {EXAMPLES}.",
        )
    return parsed


def _parse_text(value: object, what: str) -> timedelta:
    text = str(value).strip()
    try:
        return durationpy.from_str(text)
    except (durationpy.DurationError, ValueError, TypeError) as exc:
        raise UsageError(
            f"Ungültige Dauer '{value}' für {what}.",
            f"Dauer mit Einheit angeben (ns, us, ms, s, m, h), {EXAMPLES}.",
        ) from exc


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp (API server or zap) as an aware datetime, naive ones taken as
    UTC; None when absent or unreadable (Kubernetes omits times that were never set)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: the fraction of a second in a timestamp (``00:52:37.313518000Z``; zap may write a comma)
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})[.,]\d+")


def whole_seconds(text: object) -> str:
    """Timestamps in ``text`` cut to whole seconds: ``00:52:37.313518000Z`` -> ``00:52:37Z``."""
    return _FRACTION.sub(r"\1", str(text or ""))


def format_duration(value: timedelta) -> str:
    """Go's ``Duration.String()`` form: ``timedelta(minutes=90)`` -> ``"1h30m0s"``."""
    return str(durationpy.to_str(value))


def human_duration(value: timedelta) -> str:
    """Age as kubectl prints it (k8s.io/apimachinery ``duration.HumanDuration``): 45s, 3m20s, 2h, 5d."""
    seconds = int(value.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    return _human_hours(seconds // 3600, minutes % 60)


def _human_hours(hours: int, minutes: int) -> str:
    if hours < 8:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def rounded(value: timedelta) -> str:
    """A distance in time as a Go duration, to the second and without sign: ``5m0s``, ``1h2m3s``."""
    return format_duration(timedelta(seconds=round(abs(value.total_seconds()))))


def german_age(value: timedelta) -> str:
    """German phrase for an age in findings: ``45 s``, ``3 Min.``, ``2 Std.``, ``4 Tagen`` (coarse on
    purpose: a finding says "seit 3 Min.", not "seit 3m12s")."""
    seconds = int(value.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} Min."
    if seconds < 2 * 86400:
        return f"{seconds // 3600} Std."
    return f"{seconds // 86400} Tagen"


def german_seconds(seconds: float) -> str:
    """How long a run took, for German text: ``0,35 s``, ``4,02 s``, ``83,10 s`` (decimal comma, to the
    hundredth). The one format of run durations: ``runbook run``, the run records and the runbook pages."""
    return f"{seconds:.2f}".replace(".", ",") + " s"
