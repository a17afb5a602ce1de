"""The pure parts of ``trace``: field paths, lines in YAML files, the Helm values rule, repository URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.errors import UsageError
from runbook_lib.trace.checkout import same_repository
from runbook_lib.trace.ingit import change_command
from runbook_lib.trace.locate import (
    dotted,
    find_manifests,
    locate,
    parse_field,
    show_field,
    value_at,
    values_candidates,
)
from runbook_lib.trace.model import Link, Location, Trace

IMAGE = ("spec", "template", "spec", "containers", 0, "image")


@pytest.mark.parametrize(
    "text",
    [
        "spec.template.spec.containers[0].image",
        ".spec.template.spec.containers[0].image",
        "{.spec.template.spec.containers[0].image}",
        "spec.template.spec.containers.0.image",
    ],
)
def test_field_paths_as_kubectl_users_write_them(text: str) -> None:
    assert parse_field(text) == IMAGE
    assert show_field(IMAGE) == "spec.template.spec.containers[0].image"
    assert dotted(IMAGE) == "spec.template.spec.containers.0.image"


def test_a_key_with_dots_in_brackets() -> None:
    path = parse_field("metadata.labels[app.kubernetes.io/name]")
    assert path == ("metadata", "labels", "app.kubernetes.io/name")
    assert dotted(path) == "metadata.labels.[app.kubernetes.io/name]"
    assert value_at({"metadata": {"labels": {"app.kubernetes.io/name": "kite"}}}, path) == "kite"


@pytest.mark.parametrize("bad", ["", "spec..replicas", "spec.containers[*].image", "[0]"])
def test_bad_field_paths_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="Feldpfad"):
        parse_field(bad)


def test_value_at_missing_parts_is_none() -> None:
    obj = {"spec": {"template": {"spec": {"containers": [{"image": "a:1"}]}}}}
    assert value_at(obj, IMAGE) == "a:1"
    assert value_at(obj, ("spec", "template", "spec", "containers", 3, "image")) is None
    assert value_at(obj, ("spec", "replicas")) is None


KITE_VALUES = {
    "image": {"tag": "v0.6.3"},
    "replicaCount": 1,
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
    "host": "kite.beispiel.de",
    "ingress": {"enabled": True, "className": "nginx", "tls": True},
}


def test_image_tag_sets_part_of_the_image() -> None:
    found = values_candidates(KITE_VALUES, IMAGE, "ghcr.io/zxh326/kite:v0.6.3")
    assert found[0].key == ("image", "tag") and not found[0].whole
    assert all(c.key != ("replicaCount",) for c in found)


def test_replicas_come_from_replica_count_by_name_and_value() -> None:
    found = values_candidates(KITE_VALUES, ("spec", "replicas"), 1)
    assert [c.key for c in found][:1] == [("replicaCount",)]


def test_a_limit_is_found_by_its_path_not_the_request_of_the_same_size() -> None:
    values = {"resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}}}
    field = ("spec", "template", "spec", "containers", 0, "resources", "limits", "memory")
    found = values_candidates(values, field, "256Mi")
    assert found[0].key == ("resources", "limits", "memory")


def test_an_equal_value_without_a_name_relation_is_not_a_guess() -> None:
    assert values_candidates({"ingress": {"enabled": True}}, ("spec", "paused"), True) == ()
    assert values_candidates(KITE_VALUES, ("spec", "minReadySeconds"), 1) == ()


def test_repository_urls_compare_without_credentials_scheme_and_suffix() -> None:
    assert same_repository("https://git:tok@github.com/team/gitops.git", "https://github.com/team/gitops")
    assert same_repository("ssh://git@github.com/team/gitops", "git@github.com:team/gitops.git")
    assert not same_repository("https://github.com/team/gitops", "https://github.com/team/other")
    assert same_repository("/srv/mirror/gitops.git", "https://github.com/team/gitops")


MANIFESTS = """\
# Kite
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: kite
  namespace: kube-system
spec:
  values:
    image:
      # only known tags
      tag: v0.6.3
---
apiVersion: v1
kind: Service
metadata:
  name: kite
spec:
  ports:
    - port: 8080
"""


def test_manifests_and_lines_in_a_checkout(tmp_path: Path) -> None:
    (tmp_path / "apps" / "kite").mkdir(parents=True)
    (tmp_path / "apps" / "kite" / "release.yaml").write_text(MANIFESTS, encoding="utf-8")
    (tmp_path / "apps" / "broken.yaml").write_text("a: [", encoding="utf-8")
    hr = find_manifests(
        tmp_path,
        "./apps",
        kind="HelmRelease",
        name="kite",
        namespace="kube-system",
        group="helm.toolkit.fluxcd.io",
    )
    assert [(m.file, m.line, m.documents) for m in hr] == [("apps/kite/release.yaml", 3, 2)]
    assert locate(hr[0].doc, ("spec", "values", "image", "tag"))[:2] == (11, 4)
    # a document without a namespace matches any (kustomize sets it); the wrong group does not
    svc = find_manifests(tmp_path, "apps", kind="Service", name="kite", namespace="kube-system", group="")
    assert [m.index for m in svc] == [1]
    line, reached, value = locate(svc[0].doc, ("spec", "ports", 0, "port"))
    assert (line, reached, value) == (19, 4, 8080)
    # the deepest part that exists
    assert locate(svc[0].doc, ("spec", "selector", "app"))[:2] == (17, 1)
    assert find_manifests(tmp_path, "apps", kind="Service", name="kite", namespace=None, group="apps") == []


def test_change_command_is_quoted_for_a_shell() -> None:
    command = change_command(
        "~/my gitops", "apps/kite/helmrelease.yaml", "spec.values.image.tag", "v0.6.3", "kite"
    )
    assert command.startswith(
        "runbook run change -p repo_path '~/my gitops' -p file apps/kite/helmrelease.yaml"
    )
    assert """-p set_values '{"spec.values.image.tag": "v0.6.3"}'""" in command


def test_rendering_names_the_line_and_the_command() -> None:
    result = Trace(
        target="Deployment kube-system/kite",
        managed="helmrelease",
        field="spec.replicas",
        field_value="1",
        chain=(Link("verwaltet von", "HelmRelease kube-system/kite", "bereit", True),),
        current=False,
        current_note="Angewendet ist main@sha1:aaaaaaaa, die Quelle hat schon main@sha1:bbbbbbbb.",
        locations=(Location("apps/kite/helmrelease.yaml", 27, "spec.values.replicaCount", "1"),),
        checkout="~/gitops",
        change_command="runbook run change -p repo_path ~/gitops",
    )
    text = str(result)
    assert "✔ Deployment kube-system/kite wird von Flux (HelmRelease) verwaltet." in text
    assert "✗ Angewendet ist main@sha1:aaaaaaaa" in text
    assert "► apps/kite/helmrelease.yaml:27  spec.values.replicaCount: 1" in text
    assert "Befehl:           runbook run change" in text
    html = result._repr_html_()
    assert "apps/kite/helmrelease.yaml:27" in html and "<script" not in html
    unmanaged = Trace(target="ConfigMap default/x", managed="none", managers=("kubectl-create",))
    assert str(unmanaged).startswith("⚠ ConfigMap default/x wird nicht von Flux verwaltet.")
    assert "kubectl-create" in str(unmanaged)
