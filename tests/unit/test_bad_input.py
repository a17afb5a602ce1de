"""Bad input is refused in German before anything runs: parameter values (size, depth, YAML aliases,
NUL, types), repeated parameters, names Kubernetes could never accept, broken kubeconfigs, and run
records that cannot be written or would overwrite each other."""

from __future__ import annotations

import os
import resource
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbook_lib import names
from runbook_lib.cluster import connect, resolve_target
from runbook_lib.errors import UsageError
from runbook_lib.params import MAX_DEPTH, MAX_VALUE, Parameter, validate
from runbook_lib.records import default_name, reserve_output

DECLARED = [
    Parameter("set_values", "dict", "{}", "Werte"),
    Parameter("items", "list", "[]", "Liste"),
    Parameter("namespace", "str | None", "None", "Namespace"),
    Parameter("name", "str", "'kite'", "Name"),
    Parameter("kustomization", "str | None", "None", "Kustomization"),
    Parameter("kind", "str", "'hr'", "Art"),
    Parameter("dry_run", "bool", "True", "Nur anzeigen"),
    Parameter("file", "str", "'a.yaml'", "Datei"),
    Parameter("timeout", "str", "'5m'", "Dauer"),
    Parameter("replicas", "int", "1", "Replikate"),
    Parameter("ratio", "float", "1.0", "Anteil"),
]

#: 330 bytes, 5 levels of aliases: expanded, 9**5 * 9 strings (the outside test's bomb took 23 GB)
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
)


def refused(name: str, raw: str) -> UsageError:
    with pytest.raises(UsageError) as info:
        validate(DECLARED, [(name, raw)], "test")
    return info.value


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = refused("set_values", ALIAS_BOMB)
    assert "YAML-Aliase (`*a`) sind in Parametern nicht erlaubt" in error.message
    assert "Es wurde nichts ausgeführt" in (error.hint or "")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000, "the bomb must be refused before anything is built from it"


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a: " * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_refused_not_a_recursion_error(nested: str) -> None:
    error = refused("set_values" if nested.startswith("{") else "items", nested)
    assert f"tiefer als {MAX_DEPTH} Ebenen verschachtelt" in error.message


def test_nesting_up_to_the_limit_is_accepted() -> None:
    value = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
    assert validate(DECLARED, [("items", value)], "test")["items"] is not None


def test_an_oversized_value_is_refused_before_parsing() -> None:
    error = refused("set_values", "{a: '" + "x" * MAX_VALUE + "'}")
    assert f"erlaubt sind höchstens {MAX_VALUE}" in error.message


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("{a: 2025-01-01}", "wird als date gelesen"),
        ("{a: .nan}", "keine endliche Zahl"),
        ("{a: !!binary aGVsbG8=}", "wird als bytes gelesen"),
        ("{a: !!python/object:os.system x}", "erwartet eine Zuordnung"),
    ],
)
def test_values_papermill_cannot_write_back_are_refused(raw: str, text: str) -> None:
    assert text in refused("set_values", raw).message


def test_a_plain_mapping_still_works() -> None:
    values = validate(DECLARED, [("set_values", '{"spec.values.x": 1, b: [true, null, "2025"]}')], "t")
    assert values["set_values"] == {"spec.values.x": 1, "b": [True, None, "2025"]}


@pytest.mark.parametrize("raw", ["a\x00b", "clusters/\x00/x.yaml"])
def test_a_nul_byte_is_refused(raw: str) -> None:
    assert "NUL-Zeichen" in refused("file", raw).message


def test_text_that_is_not_utf8_is_refused() -> None:
    raw = b"caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of Latin-1 argv bytes
    assert "kein gültiger UTF-8-Text" in refused("file", raw).message


@pytest.mark.parametrize(("name", "raw"), [("replicas", "9" * 5000), ("ratio", "1e999")])
def test_numbers_out_of_range_are_refused(name: str, raw: str) -> None:
    error = refused(name, raw)
    assert "Zahl" in error.message and ("…" in error.message or "endliche" in error.message)


def test_a_repeated_parameter_is_refused_not_the_last_one_taken() -> None:
    with pytest.raises(UsageError) as info:
        validate(DECLARED, [("dry_run", "true"), ("dry_run", "false")], "change")
    assert info.value.message == "Parameter 'dry_run' ist mehrfach angegeben ('true' und 'false')."
    assert "nur einmal" in (info.value.hint or "")


@pytest.mark.parametrize(
    "value",
    [
        "a b",
        "kube system",
        "Kube-System",
        "prod\n",
        "dev;rm -rf /",
        "$(id)",
        "`id`",
        "ns|x",
        "über",
        "-leading",
        "trailing-",
        "x" * 64,
        "x" * 5000,
        "a.b",
    ],
)
def test_namespaces_kubernetes_would_refuse_are_refused(value: str) -> None:
    error = refused("namespace", value)
    assert error.message.startswith("Ungültiger Namespace")
    assert "DNS-Labels" in (error.hint or "")
    assert "\n" not in error.message and "\x00" not in error.message
    assert len(error.message) < 300, "a 5,000-character value must not flood the terminal"


@pytest.mark.parametrize("value", ["kite", "flux-system", "a.b-c", "x" * 253, "0abc"])
def test_valid_object_names_pass(value: str) -> None:
    assert validate(DECLARED, [("name", value)], "t")["name"] == value


@pytest.mark.parametrize(
    "value", ["", "Kite", "kite ", "x" * 254, "a..b", "kite/../../secrets", "kite?watch=1"]
)
def test_object_names_kubernetes_would_refuse_are_refused(value: str) -> None:
    assert refused("name", value).message.startswith("Ungültiger Name")


@pytest.mark.parametrize(("value", "ok"), [("apps", True), ("flux-system/apps", True), ("a b/apps", False)])
def test_kustomization_reference_checks_both_parts(value: str, ok: bool) -> None:
    if ok:
        assert validate(DECLARED, [("kustomization", value)], "t")["kustomization"] == value
    else:
        assert refused("kustomization", value).message.startswith("Ungültiger Namespace")


def test_an_optional_namespace_may_be_none() -> None:
    assert validate(DECLARED, [("namespace", "None")], "t") == {"namespace": None}


@pytest.mark.parametrize(
    ("name", "raw", "text"),
    [("kind", "helmreleasez", "Unbekannte Art"), ("timeout", "5 min", "Ungültige Dauer")],
)
def test_kinds_and_durations_are_checked_before_the_run(name: str, raw: str, text: str) -> None:
    assert text in refused(name, raw).message


def test_shown_escapes_control_characters_and_cuts_long_values() -> None:
    assert names.shown("a\nb") == "'a\\nb'"
    assert names.shown("y" * 100).endswith("… (100 Zeichen)'")


# --- kubeconfig ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("- a\n- b\n", "der Inhalt ist eine Liste"),
        ("just text\n", "der Inhalt ist ein Text"),
        ("clusters: 5\n", "`clusters` ist eine Zahl"),
        ("contexts: [1]\n", "ein Eintrag in `contexts` hat keinen Namen"),
        ("contexts: [{name: a, context: [1]}]\n", "`context` von 'a' ist keine Zuordnung"),
        ("a: [\n", "ist nicht lesbar (kein gültiges YAML)"),
        (b"\xff\xfe\x00", "kein UTF-8-Text"),
    ],
)
def test_a_broken_kubeconfig_is_a_german_usage_error(tmp_path: Path, content: str | bytes, text: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for attempt in (lambda: resolve_target(str(path)), lambda: connect(str(path))):
        with pytest.raises(UsageError) as info:
            attempt()
        assert text in info.value.message
        assert "--kubeconfig" in (info.value.hint or "")


def test_a_directory_as_kubeconfig_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="ist ein Verzeichnis"):
        resolve_target(str(tmp_path))


def test_a_broken_kubeconfig_from_the_environment_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config"
    path.write_text("- nur\n- eine\n- Liste\n")
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("RUNBOOK_KUBECONFIG", raising=False)
    with pytest.raises(UsageError, match="keine gültige Kubeconfig"):
        connect()


# --- run records -----------------------------------------------------------------------------------


def test_default_names_have_milliseconds_and_a_counter() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    assert default_name("status", moment) == "status-20250102T030405.678Z.ipynb"
    assert default_name("status", moment, 3) == "status-20250102T030405.678Z-3.ipynb"


def test_twenty_records_reserved_at_the_same_moment_never_share_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    paths: list[Path] = []
    barrier = threading.Barrier(20)

    def reserve() -> None:
        barrier.wait()
        paths.append(reserve_output("status", None, moment))

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 20
    assert len(list((tmp_path / "runs").iterdir())) == 20


@pytest.mark.parametrize(
    ("target", "text"),
    [
        ("/proc/x.ipynb", "kann nicht nach /proc/x.ipynb geschrieben werden: Datei oder Verzeichnis nicht"),
        ("DIR", "das ist ein Verzeichnis"),
        ("FILE/x.ipynb", "ist kein Verzeichnis"),
        ("missing/x.ipynb", "das Verzeichnis"),
        ("a\x00b.ipynb", "NUL-Zeichen"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, target: str, text: str
) -> None:
    (tmp_path / "FILE").write_text("x")
    path = target.replace("DIR", str(tmp_path)).replace("FILE", str(tmp_path / "FILE"))
    if target.startswith("missing"):
        path = str(tmp_path / target)
    with pytest.raises(UsageError) as info:
        reserve_output("change", path)
    assert text in info.value.message
    assert "Es wurde nichts ausgeführt" in (info.value.hint or "")


def test_checking_a_new_output_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "neu.ipynb"
    assert reserve_output("status", str(target)) == target
    assert not target.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="keine Berechtigung"):
            reserve_output("status", str(folder / "x.ipynb"))
    finally:
        folder.chmod(0o700)


# --- the last line of defence ------------------------------------------------------------------------


def test_an_unexpected_error_is_one_german_line_and_the_traceback_only_on_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runbook_lib import cli

    def broken(args: object) -> int:
        raise ValueError("kaputt")

    monkeypatch.setitem(cli._COMMANDS, "list", broken)
    monkeypatch.delenv("RUNBOOK_DEBUG", raising=False)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("✗ Unerwarteter Fehler: ValueError: kaputt") and "Traceback" not in err
    assert "RUNBOOK_DEBUG=1" in err
    monkeypatch.setenv("RUNBOOK_DEBUG", "1")
    assert cli.main(["list"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("RETRIES", "drei"),
        ("RETRIES", "-1"),
        ("REQUEST_TIMEOUT", "0"),
        ("RETRY_BACKOFF", "nan"),
        ("NETWORK_TIMEOUT", "x"),
    ],
)
def test_a_bad_setting_in_the_environment_is_a_german_usage_error(name: str, raw: str) -> None:
    from runbook_lib.settings import Settings

    with pytest.raises(UsageError) as info:
        Settings.from_env({f"RUNBOOK_{name}": raw})
    assert info.value.message.startswith(f"Die Umgebungsvariable RUNBOOK_{name}={raw!r} ist ungültig")
