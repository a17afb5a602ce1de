"""Flux controller log lines: parse, filter, merge and render (pure; no cluster access).

The controllers write zap JSON (docs/flux-facts.md §6). Two key layouts exist: the current one with
``controllerKind``/``controllerGroup``/``controller`` and the older controller-runtime one with
``"reconciler kind"``/``"reconciler group"``/``logger``. Filters follow ``flux logs``: kind is compared
case-insensitively with ``controllerKind`` or ``reconciler kind``, name with ``name``, namespace must
match unless every namespace is wanted (then lines without a namespace are kept too), level exactly.
Unlike ``flux logs``, a line that is not JSON is kept and marked instead of being dropped.

The fast path works on ``bytes``: a line is only decoded with ``json.loads`` when it contains every
needle of the filter (``"kite"``, ``"HelmRelease"``, … in quotes), so most lines of a large log are
rejected by a substring search. Kubernetes object names and Flux kinds are case-exact in the JSON,
which makes the quoted needles safe; a JSON-looking line without them cannot be about the object.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from runbook_lib.durations import parse_time
from runbook_lib.errors import UsageError
from runbook_lib.kinds import FLUX_KINDS, resolve
from runbook_lib.masking import mask

#: the levels ``flux logs --level`` accepts
LEVELS = ("debug", "info", "error")
#: how a line that is not JSON is marked (German, user-facing)
NOT_JSON = "kein JSON"


#: kind -> controller Deployment, for lines read from a file (no pod to name the controller)
KIND_CONTROLLER = MappingProxyType({k.kind: k.controller for k in FLUX_KINDS})


@dataclass(frozen=True, slots=True)
class LogLine:
    """One controller log line; ``parsed`` is False for lines that are not JSON (``msg`` holds the text)."""

    ts: str
    level: str
    controller: str
    kind: str
    name: str
    namespace: str
    msg: str
    error: str = ""
    parsed: bool = True

    @property
    def object(self) -> str:
        """``Kind/name.namespace`` as ``flux logs`` prints it (``Kind`` alone for startup lines)."""
        if self.name:
            return f"{self.kind}/{self.name}.{self.namespace}"
        return self.kind

    @property
    def time(self) -> datetime | None:
        return parse_time(self.ts)


@dataclass(frozen=True)
class LogFilter:
    """What to keep. ``name``/``namespace`` are lower-case; ``namespace=None`` means every namespace."""

    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    level: str | None = None
    since_time: datetime | None = None

    def needles(self) -> tuple[bytes, ...]:
        """Quoted values every matching JSON line must contain (the cheap pre-check)."""
        values = (self.name, self.namespace, self.kind)  # most selective first
        return tuple(f'"{v}"'.encode() for v in values if v)

    def describe(self) -> str:
        """German one-line summary, e.g. ``HelmRelease kube-system/kite, Level error``."""
        parts = [self.kind or "alle Arten"]
        where = f"{self.namespace or '*'}/{self.name or '*'}"
        parts[0] += f" {where}"
        if self.level:
            parts.append(f"Level {self.level}")
        if self.since_time:
            parts.append(f"seit {self.since_time.isoformat(timespec='seconds')}")
        return ", ".join(parts)


def make_filter(
    *,
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    all_namespaces: bool = False,
    level: str | None = None,
    since_time: datetime | str | None = None,
) -> LogFilter:
    """Validate user input into a :class:`LogFilter`; German :class:`UsageError` on bad values.

    ``kind`` goes through :func:`runbook_lib.kinds.resolve` (``hr``, ``ks``, ``helmrelease``).
    ``namespace=None`` or ``all_namespaces=True`` means every namespace (``flux logs -A``).
    """
    canonical = resolve(kind).kind if kind else None
    if level is not None and level.lower() not in LEVELS:
        raise UsageError(f"Ungültiges Level '{level}'.", f"Erlaubt sind: {', '.join(LEVELS)}.")
    return LogFilter(
        kind=canonical,
        name=name.strip().lower() if name else None,
        namespace=None if all_namespaces or not namespace else namespace.strip().lower(),
        level=level.lower() if level else None,
        since_time=_since_time(since_time),
    )


def _since_time(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_time(value)
    if parsed is None:
        raise UsageError(
            f"Ungültiger Zeitpunkt '{value}' für since_time.",
            "Zeitpunkt nach RFC 3339 angeben, z. B. 2024-05-01T12:00:00Z.",
        )
    return parsed


def _ts_text(value: object) -> str:
    """zap writes ISO 8601 strings; the old production encoder wrote epoch seconds as a float."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value) if value is not None else ""


def parse_record(record: dict, controller: str = "", stamp: str = "") -> LogLine:
    """Build a :class:`LogLine` from one decoded JSON line, either key layout."""
    kind = str(record.get("controllerKind") or record.get("reconciler kind") or "")
    name, namespace = record.get("name"), record.get("namespace")
    if not name and kind:
        nested = record.get(kind[:1].lower() + kind[1:])
        if isinstance(nested, dict):
            name, namespace = nested.get("name"), nested.get("namespace")
    return LogLine(
        ts=_ts_text(record.get("ts")) or stamp,
        level=str(record.get("level", "")),
        controller=controller or KIND_CONTROLLER.get(kind, ""),
        kind=kind,
        name=str(name or ""),
        namespace=str(namespace or ""),
        msg=str(record.get("msg", "")),
        error=str(record.get("error", "") or ""),
    )


def unparsed(text: str, controller: str = "", stamp: str = "") -> LogLine:
    """A line that is not a JSON object, kept visible."""
    return LogLine(
        ts=stamp, level="", controller=controller, kind="", name="", namespace="", msg=text, parsed=False
    )


def parse_line(raw: bytes | str, controller: str = "", stamp: str = "") -> LogLine:
    """Parse one line (no filtering); never raises."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    if text.lstrip().startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            return parse_record(record, controller, stamp)
    return unparsed(text, controller, stamp)


def _split_stamp(raw: bytes) -> tuple[bytes, bytes]:
    head, sep, rest = raw.partition(b" ")
    if sep and len(head) >= 20 and head[4:5] == b"-" and head[10:11] == b"T":
        return head, rest
    return b"", raw


def split_stamp(raw: bytes) -> tuple[str, bytes]:
    """Split the API server's ``timestamps=true`` prefix (``2024-05-01T12:00:00.1Z <line>``)."""
    head, rest = _split_stamp(raw)
    return head.decode("ascii", "replace"), rest


def matches(line: LogLine, flt: LogFilter) -> bool:
    """``flux logs`` semantics; lines that are not JSON only answer to ``since_time``."""
    if line.parsed:
        if flt.level and line.level != flt.level:
            return False
        if flt.kind and line.kind.lower() != flt.kind.lower():
            return False
        if flt.name and line.name.lower() != flt.name:
            return False
        if flt.namespace is not None and line.namespace.lower() != flt.namespace:
            return False
    if flt.since_time is not None:
        when = line.time
        if when is not None and when < flt.since_time:
            return False
    return True


def filter_lines(
    raw_lines: Iterable[bytes], flt: LogFilter, *, controller: str = "", stamped: bool = False
) -> Iterator[LogLine]:
    """Stream the matching lines of ``raw_lines`` (bytes, as read from a file or the API).

    ``stamped``: every line starts with the API server's timestamp (``timestamps=true``). A JSON line
    is rejected by the needles before anything is decoded, the timestamp included.
    """
    needles = flt.needles()
    first, others = (needles[0], needles[1:]) if needles else (None, ())
    loads = json.loads
    for raw in raw_lines:
        head = b""
        if stamped:
            head, raw = _split_stamp(raw)
        if raw[:1] == b"{":
            if first is not None and (first not in raw or not all(n in raw for n in others)):
                continue
            stamp = head.decode("ascii", "replace")
            try:
                record = loads(raw)
            except ValueError:
                record = None
            line = (
                parse_record(record, controller, stamp)
                if isinstance(record, dict)
                else unparsed(raw.decode("utf-8", "replace").rstrip("\r\n"), controller, stamp)
            )
        elif raw.strip():
            line = parse_line(raw, controller, head.decode("ascii", "replace"))
        else:
            continue
        if matches(line, flt):
            yield line


#: a line that does not begin as a JSON object, after the API server's timestamp when ``stamped``
#: (the same test as :func:`_split_stamp`, narrower: a line it does not recognise takes the slow path)
_ODD_STAMPED = re.compile(rb"\n(?!\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \{)")
_ODD_PLAIN = re.compile(rb"\n(?!\{)")


def filter_chunks(
    chunks: Iterable[bytes],
    flt: LogFilter,
    *,
    controller: str = "",
    stamped: bool = False,
    partial: bool = True,
) -> Iterator[LogLine]:
    """:func:`filter_lines` over :func:`split_lines` of ``chunks``, without a Python step per line.

    The lines of a whole chunk are searched at once: when every line of it is a JSON object (after
    its timestamp), only the lines that contain the filter's first needle can match, and only those
    are cut out and go through :func:`filter_lines`. A chunk with any other line (text, an empty line,
    an unusual timestamp) goes through :func:`filter_lines` line by line, so the result is the same.
    """
    needles = flt.needles()
    odd = _ODD_STAMPED if stamped else _ODD_PLAIN
    rest = b""
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        if not needles or odd.search(block, 0, len(block) - 1) or odd.match(b"\n" + block[:40]):
            yield from filter_lines(block[:-1].split(b"\n"), flt, controller=controller, stamped=stamped)
            continue
        first, pos, found = needles[0], block.find(needles[0]), []
        while pos >= 0:
            start, end = block.rfind(b"\n", 0, pos) + 1, block.find(b"\n", pos)
            found.append(block[start:end])
            pos = block.find(first, end)
        if found:
            yield from filter_lines(found, flt, controller=controller, stamped=stamped)
    if rest and partial:
        yield from filter_lines((rest,), flt, controller=controller, stamped=stamped)


def split_lines(chunks: Iterable[bytes], *, partial: bool = True) -> Iterator[bytes]:
    """The lines of a byte stream read in chunks (as :func:`runbook_lib.kube.read_chunks` yields them).

    ``partial=False`` drops a last line without its newline: a stream cut off at a deadline.
    """
    rest = b""
    for chunk in chunks:
        *complete, rest = (rest + chunk).split(b"\n")
        yield from complete
    if rest and partial:
        yield rest


def merge(streams: Iterable[Iterable[LogLine]]) -> list[LogLine]:
    """Merge the lines of several controllers in time order (stable; a line without a time keeps
    the position after its predecessor in the same stream)."""
    keyed: list[tuple[datetime, int, LogLine]] = []
    floor = datetime.min.replace(tzinfo=UTC)
    for stream in streams:
        last = floor
        for line in stream:
            last = line.time or last
            keyed.append((last, len(keyed), line))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, line in keyed]


def format_line(line: LogLine) -> str:
    """The ``flux logs`` line (its trailing space when there is no error included); secrets masked."""
    if not line.parsed:
        return f"{line.ts} ({NOT_JSON}) {line.controller}: {mask(line.msg)}".lstrip()
    obj = f"/{line.name}.{line.namespace}" if line.name else ""
    return f"{line.ts} {line.level} {line.kind}{obj} - {mask(line.msg)} {mask(line.error)}"


def level_counts(lines: Iterable[LogLine]) -> dict[str, int]:
    """Lines per level, in the order debug, info, error, others, then lines that are not JSON."""
    counts = Counter(line.level if line.parsed else NOT_JSON for line in lines)
    order = [*LEVELS, *sorted(k for k in counts if k not in LEVELS and k != NOT_JSON), NOT_JSON]
    return {k: counts[k] for k in order if counts.get(k)}
