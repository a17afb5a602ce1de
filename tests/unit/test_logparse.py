"""Parsing, filtering, merging and rendering of canned Flux controller log lines (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook_lib.errors import UsageError
from runbook_lib.logs import parse as logparse
from runbook_lib.logs.parse import (
    LogFilter,
    filter_lines,
    format_line,
    level_counts,
    make_filter,
    merge,
    parse_line,
    split_lines,
    split_stamp,
)
from runbook_lib.logs.view import LogResult

# Current layout (controller-runtime >= 0.12): controllerKind, nested object, reconcileID.
HR_KITE = (
    b'{"level":"info","ts":"2024-05-01T12:34:56.789Z","msg":"release in-sync with desired state",'
    b'"controller":"helmrelease","controllerGroup":"helm.toolkit.fluxcd.io","controllerKind":"HelmRelease",'
    b'"helmRelease":{"name":"kite","namespace":"kube-system"},"namespace":"kube-system","name":"kite",'
    b'"reconcileID":"5c1e2f0a-8b7d-4f51-9d7e-0a6f3c2b1d11"}'
)
HR_KITE_ERROR = (
    b'{"level":"error","ts":"2024-05-01T12:35:01.002Z","msg":"Reconciler error","controller":"helmrelease",'
    b'"controllerGroup":"helm.toolkit.fluxcd.io","controllerKind":"HelmRelease",'
    b'"helmRelease":{"name":"kite","namespace":"kube-system"},"namespace":"kube-system","name":"kite",'
    b'"reconcileID":"7a0b","error":"install retries exhausted"}'
)
HR_OTHER_NS = HR_KITE.replace(b'"kube-system"', b'"apps"')
HR_PODINFO = HR_KITE.replace(b'"kite"', b'"podinfo"')
# Older layout (flux2 <= 0.33): "reconciler kind", logger, python-json-ish spaces are not used by zap.
GIT_OLD = (
    b'{"level":"info","ts":"2022-08-23T09:35:20.723+0300","logger":"controller.gitrepository",'
    b'"msg":"no changes since last reconcilation: observed revision \'main@sha1:0123abcd\'",'
    b'"reconciler group":"source.toolkit.fluxcd.io","reconciler kind":"GitRepository",'
    b'"name":"flux-system","namespace":"flux-system"}'
)
KS_DEBUG = (
    b'{"level":"debug","ts":"2024-05-01T12:34:57.100Z","msg":"Source is not ready, artifact not found",'
    b'"controller":"kustomization","controllerGroup":"kustomize.toolkit.fluxcd.io",'
    b'"controllerKind":"Kustomization","kustomization":{"name":"apps","namespace":"flux-system"},'
    b'"namespace":"flux-system","name":"apps","reconcileID":"11aa"}'
)
# Only the nested object names it (no top-level name/namespace).
HR_NESTED_ONLY = (
    b'{"level":"info","ts":"2024-05-01T12:36:00.000Z","msg":"nested only","controllerKind":"HelmRelease",'
    b'"helmRelease":{"name":"kite","namespace":"kube-system"}}'
)
STARTUP = (
    b'{"level":"info","ts":"2024-05-01T12:00:00.000Z","msg":"Starting workers",'
    b'"controller":"helmrelease","worker count":4}'
)
PANIC = b"panic: runtime error: invalid memory address or nil pointer dereference"
TRUNCATED = b'{"level":"info","ts":"2024-05-01T12:3'
EPOCH_TS = (
    b'{"level":"info","ts":1714566896.789,"msg":"epoch","controllerKind":"HelmRelease",'
    b'"name":"kite","namespace":"kube-system"}'
)
SECRET = (
    b'{"level":"error","ts":"2024-05-01T12:37:00.000Z","msg":"Reconciler error",'
    b'"controllerKind":"GitRepository","name":"fleet","namespace":"flux-system",'
    b'"error":"failed to clone https://deploy:hunter2secret@git.example.com/fleet.git"}'
)

ALL = [
    STARTUP,
    GIT_OLD,
    HR_KITE,
    KS_DEBUG,
    PANIC,
    HR_KITE_ERROR,
    HR_OTHER_NS,
    HR_PODINFO,
    TRUNCATED,
    HR_NESTED_ONLY,
    b"",
    SECRET,
]


def kept(lines: list[bytes], **filters: object) -> list[logparse.LogLine]:
    return list(filter_lines(lines, make_filter(**filters)))  # type: ignore[arg-type]


def test_current_layout_fields() -> None:
    line = parse_line(HR_KITE, controller="helm-controller")
    assert (line.ts, line.level, line.kind, line.name, line.namespace) == (
        "2024-05-01T12:34:56.789Z",
        "info",
        "HelmRelease",
        "kite",
        "kube-system",
    )
    assert line.msg == "release in-sync with desired state"
    assert line.controller == "helm-controller" and line.parsed and line.error == ""


def test_older_layout_uses_reconciler_kind() -> None:
    line = parse_line(GIT_OLD)
    assert (line.kind, line.name, line.namespace) == ("GitRepository", "flux-system", "flux-system")
    assert line.controller == "source-controller"  # derived from the kind when no pod names it
    assert line.time == datetime(2022, 8, 23, 6, 35, 20, 723000, tzinfo=UTC)


def test_nested_object_when_top_level_name_missing() -> None:
    line = parse_line(HR_NESTED_ONLY)
    assert (line.name, line.namespace) == ("kite", "kube-system")


def test_epoch_timestamp_becomes_iso() -> None:
    assert parse_line(EPOCH_TS).ts == "2024-05-01T12:34:56.789Z"


@pytest.mark.parametrize("raw", [PANIC, TRUNCATED, b"[1, 2]", b"plain text"])
def test_not_json_is_kept_and_marked(raw: bytes) -> None:
    line = parse_line(raw, controller="helm-controller")
    assert not line.parsed and line.msg == raw.decode()
    assert "(kein JSON) helm-controller:" in format_line(line)


def test_filter_kind_name_namespace_like_flux_logs() -> None:
    lines = kept(ALL, kind="hr", name="kite", namespace="kube-system")
    parsed = [line for line in lines if line.parsed]
    assert [line.msg for line in parsed] == [
        "release in-sync with desired state",
        "Reconciler error",
        "nested only",
    ]
    # the panic line stays visible; the truncated one cannot be about kite and is skipped by the needle
    assert [line.msg for line in lines if not line.parsed] == [PANIC.decode()]


def test_filter_is_case_insensitive_for_kind_and_name() -> None:
    lines = kept([HR_KITE, HR_PODINFO], kind="HELMRELEASE", name="Kite", namespace="Kube-System")
    assert [line.name for line in lines] == ["kite"]


def test_namespace_drops_lines_without_namespace_unless_all() -> None:
    only_ns = kept([STARTUP, GIT_OLD], namespace="flux-system")
    assert [line.msg for line in only_ns] == [parse_line(GIT_OLD).msg]
    every = kept([STARTUP, GIT_OLD], namespace="flux-system", all_namespaces=True)
    assert len(every) == 2
    assert len(kept([STARTUP, GIT_OLD])) == 2  # namespace=None means every namespace


def test_level_is_exact() -> None:
    lines = kept(ALL, level="error", all_namespaces=True)
    assert {line.level for line in lines if line.parsed} == {"error"}
    assert len([line for line in lines if line.parsed]) == 2


def test_since_time_drops_older_lines() -> None:
    lines = kept([GIT_OLD, HR_KITE, HR_KITE_ERROR], since_time="2024-05-01T12:35:00Z")
    assert [line.level for line in lines] == ["error"]


@pytest.mark.parametrize(
    ("filters", "hint"),
    [
        ({"kind": "helmrelase"}, "helmrelease"),
        ({"level": "warn"}, "debug, info, error"),
        ({"since_time": "gestern"}, "RFC 3339"),
    ],
)
def test_bad_filter_input_is_a_german_usage_error(filters: dict, hint: str) -> None:
    with pytest.raises(UsageError) as info:
        make_filter(**filters)
    assert info.value.exit_code == 2
    assert hint in str(info.value)
    assert "Unbekannt" in info.value.message or "Ungültig" in info.value.message


def test_needles_are_quoted_and_most_selective_first() -> None:
    assert LogFilter(kind="HelmRelease", name="kite", namespace="kube-system").needles() == (
        b'"kite"',
        b'"kube-system"',
        b'"HelmRelease"',
    )


def test_split_lines_across_small_chunks_equals_a_plain_split() -> None:
    data = b"\n".join(ALL * 3)  # no newline at the end
    chunks = [data[i : i + 64] for i in range(0, len(data), 64)]  # lines longer than a chunk, many edges
    assert list(split_lines(chunks)) == data.split(b"\n")
    assert list(split_lines(chunks, partial=False)) == data.split(b"\n")[:-1]  # a cut-off stream
    flt = make_filter(kind="HelmRelease", name="kite")
    assert list(filter_lines(split_lines(chunks), flt)) == list(filter_lines(data.split(b"\n"), flt))


def test_stamped_lines_take_the_api_time_when_not_json() -> None:
    stamp, rest = split_stamp(b"2024-05-01T12:00:00.123456789Z " + PANIC)
    assert stamp == "2024-05-01T12:00:00.123456789Z" and rest == PANIC
    assert split_stamp(PANIC) == ("", PANIC)
    lines = list(filter_lines([b"2024-05-01T12:00:00.5Z " + PANIC], make_filter(), stamped=True))
    assert lines[0].ts == "2024-05-01T12:00:00.5Z"


def test_merge_orders_by_time_and_keeps_untimed_lines_next_to_their_predecessor() -> None:
    helm = [
        parse_line(HR_KITE, "helm-controller"),
        parse_line(PANIC, "helm-controller"),
        parse_line(HR_KITE_ERROR, "helm-controller"),
    ]
    kustomize = [parse_line(KS_DEBUG, "kustomize-controller")]
    merged = merge([helm, kustomize])
    assert [line.msg for line in merged] == [helm[0].msg, PANIC.decode(), kustomize[0].msg, helm[2].msg]


def test_format_line_is_the_flux_logs_template() -> None:
    assert format_line(parse_line(HR_KITE)) == (
        "2024-05-01T12:34:56.789Z info HelmRelease/kite.kube-system - release in-sync with desired state "
    )
    assert format_line(parse_line(HR_KITE_ERROR)).endswith("- Reconciler error install retries exhausted")
    assert format_line(parse_line(STARTUP)) == "2024-05-01T12:00:00.000Z info  - Starting workers "


def test_rendering_masks_secrets_in_errors() -> None:
    result = LogResult(lines=(parse_line(SECRET),), description="GitRepository")
    assert "hunter2secret" not in str(result) and "deploy:****@" in str(result)
    assert "hunter2secret" not in repr(result)  # a notebook stores repr() as text/plain
    assert "hunter2secret" not in result._repr_html_()


def test_result_table_highlights_errors_and_counts_levels() -> None:
    lines = tuple(kept(ALL, all_namespaces=True))
    result = LogResult(lines=lines, description="alle", pods=("flux-system/helm-controller-1",))
    html = result._repr_html_()
    assert html.count('class="failing"') == 2  # the error lines of kite and of fleet
    assert "<th>Zeit</th>" in html and "<th>Fehler</th>" in html
    assert result.counts == level_counts(lines)
    assert result.counts["error"] == 2 and result.counts["kein JSON"] == 2
    assert "error: 2" in html


def test_empty_result_says_so_in_german() -> None:
    result = LogResult(lines=(), description="HelmRelease kube-system/kite")
    assert str(result) == "✗ Keine passenden Log-Zeilen (HelmRelease kube-system/kite)."


def test_summary_line_names_the_error_lines_and_their_objects() -> None:
    """With level=error over all objects, the verdict is the error lines found, not a side note."""
    lines = tuple(kept(ALL, all_namespaces=True, level="error"))
    result = LogResult(lines=lines, description="alle Arten */*, Level error", level="error")
    first = str(result).splitlines()[0]
    assert first.startswith("✗ 2 Fehlerzeilen (alle Arten */*, Level error) von ")
    assert "HelmRelease/kite.kube-system (1)" in first and "; zuletzt " in first
    assert "✗ 2 Fehlerzeilen" in result._repr_html_()
    none = LogResult(lines=(), description="alle Arten */*, Level error", level="error")
    assert str(none) == "✔ Keine Fehlerzeilen (alle Arten */*, Level error)."
    calm = LogResult(lines=(parse_line(HR_KITE),), description="HelmRelease kube-system/kite")
    assert str(calm).splitlines()[0] == "✔ 1 Zeile (HelmRelease kube-system/kite), keine Fehler."


def _mixed_log(seed: int) -> bytes:
    """Stamped controller lines of both layouts, with text lines, empty lines and odd stamps mixed in."""
    import random

    rng = random.Random(seed)
    lines = []
    for i in range(3000):
        stamp = f"2026-12-01T02:{i // 60 % 60:02d}:{i % 60:02d}.{rng.randint(0, 999999):06d}Z"
        name = rng.choice(["kite", "kite-2", "podinfo", "Kite"])
        kind = rng.choice(["HelmRelease", "Kustomization", "helmrelease"])
        pick = rng.random()
        if pick < 0.01:
            lines.append(f'{stamp} panic: kite {{"x"}} went away')  # text mentioning the name
        elif pick < 0.015:
            lines.append(f"{stamp} goroutine 1 [running]:")  # text without any needle
        elif pick < 0.017:
            lines.append("")
        elif pick < 0.02:
            lines.append('2026-12-01T02:00 {"name":"kite"}')  # a stamp too short to be one
        elif pick < 0.5:
            lines.append(
                f'{stamp} {{"level":"info","ts":"{stamp}","msg":"m {i}","controllerKind":"{kind}",'
                f'"name":"{name}","namespace":"kube-system"}}'
            )
        else:
            lines.append(
                f'{stamp} {{"level":"error","logger":"controller.helmrelease","msg":"x",'
                f'"reconciler kind":"{kind}","name":"{name}","namespace":"apps","error":"e {i}"}}'
            )
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "filters",
    [
        {"kind": "HelmRelease", "name": "kite"},
        {"kind": "HelmRelease", "name": "kite", "namespace": "kube-system", "level": "info"},
        {"name": "podinfo"},
        {},
    ],
)
def test_filter_chunks_equals_filter_lines_for_any_chunking(seed: int, filters: dict) -> None:
    """The block-wise fast path (issue 15) keeps exactly what the line-by-line filter keeps."""
    import random

    data = _mixed_log(seed)
    flt = logparse.make_filter(**filters)
    expected = list(logparse.filter_lines(data.split(b"\n"), flt, controller="hc", stamped=True))
    rng = random.Random(seed)
    for size in (7, 100, 4096, 1 << 16, rng.randint(50, 5000)):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        got = list(logparse.filter_chunks(chunks, flt, controller="hc", stamped=True))
        assert got == expected, size
    assert any(not line.parsed for line in expected) or not filters
    unstamped = b"\n".join(line.partition(b" ")[2] for line in data.split(b"\n"))
    plain = list(logparse.filter_lines(unstamped.split(b"\n"), flt))
    assert list(logparse.filter_chunks([unstamped[:999], unstamped[999:]], flt)) == plain


def test_filter_chunks_drops_a_cut_last_line_only_when_asked() -> None:
    flt = logparse.make_filter(name="kite")
    data = b'{"name":"kite","msg":"a"}\n{"name":"kite","msg":"b"}'
    assert [ln.msg for ln in logparse.filter_chunks([data], flt)] == ["a", "b"]
    assert [ln.msg for ln in logparse.filter_chunks([data], flt, partial=False)] == ["a"]
