"""YAML edits keep comments, order, quoting and indentation; bad paths name the closest keys."""

from __future__ import annotations

import pytest

from runbook_lib.errors import UsageError
from runbook_lib.gitops.edit import coerce, edit_yaml, guess_indent, parse_key

HELMRELEASE = """\
---
# Kite dashboard
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: kite
  namespace: kube-system
  annotations:
    fluxcd.io/automated: "false"
spec:
  interval: 5m   # how often helm-controller checks
  chart:
    spec:
      chart: kite
      version: "0.4.1"  # pinned
  values:
    image:
      tag: 'v0.4.1'  # keep in sync
    replicas: 1
    debug: false
    ratio: 0.5
    extraEnvs:
    - name: KITE_LOG_LEVEL
      value: info   # default level
"""

MULTI = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kite
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: kite
spec:
  values:
    replicas: 1
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: other
spec:
  values:
    replicas: 1
"""


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), "line count changed"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_only_the_edited_line_changes_and_comments_and_quotes_stay() -> None:
    edit = edit_yaml(HELMRELEASE, {"spec.values.image.tag": "v0.5.0"})
    assert changed_lines(HELMRELEASE, edit.updated) == [
        ("      tag: 'v0.4.1'  # keep in sync", "      tag: 'v0.5.0'  # keep in sync")
    ]
    assert not edit.reformatted


def test_double_quoted_string_stays_double_quoted_even_when_given_a_number() -> None:
    edit = edit_yaml(HELMRELEASE, {"spec.chart.spec.version": "0.5.0"})
    assert '      version: "0.5.0"  # pinned' in edit.updated
    assert edit.edits[0].old == "0.4.1" and edit.edits[0].new == "0.5.0"


def test_int_stays_int_and_string_input_is_converted() -> None:
    edit = edit_yaml(
        HELMRELEASE, {"spec.values.replicas": "3", "spec.values.debug": "true", "spec.values.ratio": 0.75}
    )
    assert "    replicas: 3\n" in edit.updated and "    debug: true\n" in edit.updated
    assert "    ratio: 0.75\n" in edit.updated
    assert edit.edits[0].new == 3 and isinstance(edit.edits[0].new, int)


def test_number_replacing_a_plain_string_is_written_as_a_string() -> None:
    text = "image:\n  tag: latest\n"
    updated = edit_yaml(text, {"image.tag": 1.10}).updated
    assert updated == "image:\n  tag: '1.1'\n"


def test_list_index_keeps_the_comment_in_its_column() -> None:
    edit = edit_yaml(HELMRELEASE, {"spec.values.extraEnvs.0.value": "debug"})
    assert changed_lines(HELMRELEASE, edit.updated) == [
        ("      value: info   # default level", "      value: debug  # default level")
    ]


def test_new_key_under_existing_mapping_is_added_in_place() -> None:
    edit = edit_yaml(HELMRELEASE, {"spec.values.image.pullPolicy": "Always"})
    assert "      tag: 'v0.4.1'  # keep in sync\n      pullPolicy: Always\n    replicas: 1" in edit.updated
    assert edit.edits[0].created and edit.edits[0].old is None


def test_key_with_dots_in_brackets() -> None:
    edit = edit_yaml(HELMRELEASE, {"metadata.annotations[fluxcd.io/automated]": "true"})
    assert '    fluxcd.io/automated: "true"' in edit.updated


def test_unknown_key_names_the_closest_existing_keys() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml(HELMRELEASE, {"spec.values.imag.tag": "v1"}, file="hr.yaml")
    assert "unter `spec.values` fehlt `imag`" in err.value.message and "hr.yaml" in err.value.message
    assert "`image`" in (err.value.hint or "")


def test_unknown_key_without_close_match_lists_the_keys() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml(HELMRELEASE, {"spec.zzz.x": 1})
    assert "interval" in (err.value.hint or "") and "chart" in (err.value.hint or "")


def test_list_index_out_of_range_is_refused() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml(HELMRELEASE, {"spec.values.extraEnvs.3.value": "x"})
    assert "Liste mit 1 Einträgen" in err.value.message


def test_path_below_a_scalar_is_refused() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml(HELMRELEASE, {"spec.interval.seconds": 5})
    assert "einfacher Wert" in err.value.message


def test_nothing_to_set_is_refused() -> None:
    with pytest.raises(UsageError):
        edit_yaml(HELMRELEASE, {})


@pytest.mark.parametrize("key", ["", ".spec", "spec..values", "spec.[x"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_key(key)
    assert "Ungültiger Pfad" in err.value.message


def test_parse_key_with_selector_and_brackets() -> None:
    assert parse_key("HelmRelease/kite:spec.values[a.b].0") == (
        ("HelmRelease", "kite"),
        ["spec", "values", "a.b", "0"],
    )


def test_multi_document_first_document_with_the_parent_is_edited() -> None:
    edit = edit_yaml(MULTI, {"spec.values.replicas": 2})
    assert edit.edits[0].document == 1
    assert edit.updated.count("replicas: 2") == 1 and edit.updated.index("replicas: 2") < edit.updated.index(
        "other"
    )
    assert edit.updated.count("---") == 2


def test_multi_document_selector_picks_the_named_object() -> None:
    edit = edit_yaml(MULTI, {"HelmRelease/other:spec.values.replicas": 2})
    assert edit.edits[0].document == 2
    assert edit.updated.index("replicas: 2") > edit.updated.index("other")


def test_selector_for_missing_object_lists_documents() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml(MULTI, {"HelmRelease/nope:spec.values.replicas": 2})
    assert "HelmRelease/kite" in (err.value.hint or "") and "Namespace/kite" in (err.value.hint or "")


FOUR_SPACES_INDENTED_LISTS = """\
spec:
    values:
        envs:
            - name: A
              value: "1"
        tag: v1
"""


def test_indentation_is_detected_and_kept() -> None:
    assert guess_indent(FOUR_SPACES_INDENTED_LISTS) == (4, 6, 4)
    edit = edit_yaml(FOUR_SPACES_INDENTED_LISTS, {"spec.values.tag": "v2"})
    assert changed_lines(FOUR_SPACES_INDENTED_LISTS, edit.updated) == [("        tag: v1", "        tag: v2")]
    assert guess_indent(HELMRELEASE) == (2, 2, 0)


def test_comment_before_the_document_start_marker_is_kept() -> None:
    text = "# generated by flux bootstrap\n\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: '1'\n"
    edit = edit_yaml(text, {"data.a": "2"})
    assert edit.updated == text.replace("a: '1'", "a: '2'")
    assert not edit.reformatted


def test_diff_is_git_style() -> None:
    diff = edit_yaml(HELMRELEASE, {"spec.values.replicas": 2}).diff("hr.yaml")
    assert diff.startswith("diff --git a/hr.yaml b/hr.yaml\n--- a/hr.yaml\n+++ b/hr.yaml\n@@ ")
    assert "\n-    replicas: 1\n+    replicas: 2\n" in diff


def test_invalid_yaml_is_refused() -> None:
    with pytest.raises(UsageError) as err:
        edit_yaml("a: [1, 2\n", {"a": 1}, file="bad.yaml")
    assert "kein gültiges YAML" in err.value.message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [(1, "2", 2), (True, "false", False), (0.5, "1.5", 1.5), ("x", 3, "3"), (1, "abc", "abc"), (1, 2, 2)],
)
def test_coerce_keeps_the_yaml_type(old: object, new: object, expected: object) -> None:
    result = coerce(old, new)
    assert result == expected and type(result) is type(expected)


def test_a_new_key_one_typo_away_from_an_existing_one_is_refused() -> None:
    text = "spec:\n  chart:\n    spec:\n      chart: kite\n      version: 0.6.3\n"
    with pytest.raises(UsageError) as err:
        edit_yaml(text, {"spec.chart.spec.verison": "0.6.2"})
    assert "`version`" in err.value.message and "nichts geändert" in (err.value.hint or "")
    grown = edit_yaml("values:\n  host: a.example\n", {"values.hosts": ["b.example"]})
    assert grown.edits[0].created
