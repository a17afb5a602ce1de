"""Reports for CI: verdicts carried in the display data, steps and verdicts read back from an executed
notebook, the JUnit XML and the JSON summary; papermill's parameter inspection of our notebooks."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.formatters import DisplayFormatter

from runbook_lib.check import interpret_check
from runbook_lib.cluster import KubeTarget
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Diagnosis, Finding
from runbook_lib.junit import junit_xml
from runbook_lib.report import VERDICTS_MIME, Verdict, color_style
from runbook_lib.reports import RunReport, shown_parameters, steps, verdicts
from runbook_lib.runner import RunRecord
from runbook_lib.status import interpret, summarize

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def finding(severity: int, title: str, cause: str = "weil") -> Finding:
    return Finding(
        severity=severity,
        title=title,
        cause=cause,
        evidence="Ready=False (UpgradeFailed)",
        next_step="im Git beheben",
        command="flux get hr kite -n kube-system",
        subject="HelmRelease kube-system/kite",
    )


def flux_object(kind: str, name: str, ready: str, message: str, suspend: bool = False) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {"suspend": suspend},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": ready, "reason": "R", "message": message}],
        },
    }


# --- verdicts of the results --------------------------------------------------------------------------


def test_diagnosis_verdicts_one_per_finding_with_the_cause() -> None:
    diagnosis = Diagnosis("HelmRelease schlägt fehl", (finding(INFO, "Hinweis"), finding(ERROR, "Upgrade")))
    got = diagnosis.verdicts()
    assert [(v.name, v.outcome) for v in got] == [
        ("HelmRelease kube-system/kite: Upgrade", "error"),
        ("HelmRelease kube-system/kite: Hinweis", "info"),
    ]
    assert got[0].message == "weil"
    assert "Nächster Schritt: im Git beheben" in got[0].details


def test_healthy_diagnosis_is_one_passed_verdict_named_after_it() -> None:
    diagnosis = Diagnosis("Zertifikats-Probleme", checked=("Certificate kube-system/kite-tls",))
    assert diagnosis.verdicts() == (
        Verdict(
            "Diagnose: Zertifikats-Probleme",
            "ok",
            "Keine Probleme gefunden.",
            "Geprüft: Certificate kube-system/kite-tls",
        ),
    )
    warned = Diagnosis("X", (finding(WARNING, "ausgesetzt"),))
    assert [v.outcome for v in warned.verdicts()] == ["warning"]


def test_status_summary_verdicts_name_the_object() -> None:
    summary = summarize(
        [
            interpret(flux_object("Kustomization", "apps", "True", "ok")),
            interpret(flux_object("HelmRelease", "kite", "False", "install retries exhausted")),
            interpret(flux_object("Kustomization", "infra", "True", "ok", suspend=True)),
        ]
    )
    got = summary.verdicts()
    assert [(v.name, v.outcome) for v in got] == [
        ("HelmRelease flux-system/kite", "error"),
        ("Kustomization flux-system/infra", "warning"),
    ]
    assert got[0].message == "fehlerhaft: install retries exhausted"
    healthy = summarize([interpret(flux_object("Kustomization", "apps", "True", "ok"))])
    assert [(v.name, v.outcome) for v in healthy.verdicts()] == [("Flux-Objekte in allen Namespaces", "ok")]


def test_flux_check_verdicts_per_controller() -> None:
    empty = interpret_check(kubernetes="v1.34.0", gitrepo_crd=None, deployments=[], crds=[])
    assert [(v.name, v.outcome) for v in empty.verdicts()] == [
        ("Kubernetes-Version", "ok"),
        ("Flux-Controller", "error"),
    ]


def test_displaying_a_verdict_result_adds_the_machine_readable_bundle() -> None:
    diagnosis = Diagnosis("HelmRelease schlägt fehl", (finding(ERROR, "Upgrade"),))
    data, _ = DisplayFormatter().format(diagnosis)
    assert {"text/plain", "text/html", VERDICTS_MIME} <= set(data)
    assert data[VERDICTS_MIME]["verdicts"][0]["name"] == "HelmRelease kube-system/kite: Upgrade"
    plain, _ = DisplayFormatter().format(finding(ERROR, "nur ein Befund"))
    assert VERDICTS_MIME not in plain  # a single finding is shown, the diagnosis is the verdict


def test_colours_keep_a_plain_fallback_and_adapt_to_the_theme() -> None:
    assert color_style("failure") == ("color:#c62828;color:color-mix(in srgb,#c62828 75%,currentColor)")
    html = Diagnosis("X", (finding(ERROR, "Upgrade"),))._repr_html_()
    assert "border-left-color:color-mix(in srgb,#c62828 75%,currentColor)" in html


# --- reading the executed notebook -------------------------------------------------------------------


def executed_notebook() -> dict[str, Any]:
    """An executed notebook as papermill writes it: a passed, a failed and a pending step."""

    def code(source: str, status: str, outputs: list[Any], tags: tuple[str, ...] = ()) -> Any:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.papermill = {"status": status, "duration": 0.25 if status != "pending" else None}
        cell.metadata.tags = list(tags)
        cell.outputs = outputs
        return cell

    bundle = {
        "text/plain": "…",
        VERDICTS_MIME: {
            "verdicts": [
                {"name": "HelmRelease kube-system/kite", "outcome": "error", "message": "kaputt"},
                {"name": "Flux-Controller helm-controller", "outcome": "ok", "message": "bereit"},
            ]
        },
    }
    error = nbformat.v4.new_output(
        "error",
        ename="ClusterUnreachable",
        evalue="Der Cluster ist nicht erreichbar.\n→ Läuft er?",
        traceback=["\x1b[31mTraceback\x1b[0m"],
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Titel\n\n## Wann verwenden\n…\n## Verbindung"),
        code("kubeconfig = None", "completed", [], ("parameters",)),
        code("kubeconfig = '/k'", "completed", [], ("injected-parameters",)),
        code("summary()", "completed", [nbformat.v4.new_output("display_data", data=bundle)]),
        code("summary()", "completed", [nbformat.v4.new_output("display_data", data=bundle)]),
        nbformat.v4.new_markdown_cell("## Prüfung"),
        code("check()", "failed", [error]),
        code("weiter()", "pending", []),
    ]
    return dict(json.loads(nbformat.writes(nb)))


def test_steps_are_named_by_heading_with_status_duration_and_german_error() -> None:
    got = steps(executed_notebook())
    assert [(s.index, s.title, s.status) for s in got] == [
        (1, "Verbindung", "passed"),
        (2, "Verbindung – summary()", "passed"),
        (3, "Prüfung", "failed"),
        (4, "Prüfung – weiter()", "skipped"),
    ]
    assert got[2].message == "Der Cluster ist nicht erreichbar.\n→ Läuft er?" and got[2].details == ""
    assert got[0].duration == 0.25 and got[3].duration is None
    assert "fehlgeschlagen" in got[3].message


def test_unexpected_errors_keep_their_traceback_without_colour_codes() -> None:
    nb = executed_notebook()
    nb["cells"][6]["outputs"][0]["ename"] = "KeyError"
    failed = steps(nb)[2]
    assert failed.message.startswith("KeyError: ") and failed.details == "Traceback"


def test_verdicts_are_read_once_each_in_order() -> None:
    assert [(v.name, v.outcome) for v in verdicts(executed_notebook())] == [
        ("HelmRelease kube-system/kite", "error"),
        ("Flux-Controller helm-controller", "ok"),
    ]


def test_secrets_in_verdicts_are_masked() -> None:
    nb = executed_notebook()
    bundle = nb["cells"][3]["outputs"][0]["data"][VERDICTS_MIME]
    bundle["verdicts"][0]["message"] = "clone https://git:geheim123@git.example/repo.git failed"
    assert "geheim123" not in verdicts(nb)[0].message


def test_secret_parameters_never_reach_a_report() -> None:
    shown = shown_parameters(
        {"git_token": "abc", "repo": "https://user:pw@git.example/x.git", "values": {"a": 1}, "n": 3}
    )
    assert shown["git_token"] == "****" and "pw" not in shown["repo"]
    assert shown["values"] == {"a": 1} and shown["n"] == 3


# --- JUnit and JSON ---------------------------------------------------------------------------------


def report(tmp_path: Path, *, status: str = "ok", extra: tuple[Verdict, ...] = ()) -> RunReport:
    nb = executed_notebook()
    record = RunRecord(
        runbook="status",
        parameters={"kubeconfig": "/k"},
        target=KubeTarget("runbook-sandbox", "http://127.0.0.1:1"),
        started=datetime(2026, 12, 1, tzinfo=UTC),
        duration=1.5,
        status=status,
        output=tmp_path / "status.ipynb",
        summary="✗ 2 Flux-Objekte: 1 fehlerhaft",
    )
    from runbook_lib.reports import from_record

    (tmp_path / "status.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    got = from_record(record)
    return RunReport(**{**got.__dict__, "verdicts": got.verdicts + extra})


def test_junit_has_steps_and_findings_with_the_cause_as_message(tmp_path: Path) -> None:
    warning = Verdict("Kustomization flux-system/infra", "warning", "ausgesetzt")
    root = ET.fromstring(junit_xml([report(tmp_path, extra=(warning,))], name="runbook smoke"))
    assert root.tag == "testsuites" and root.get("name") == "runbook smoke"
    suite = root.find("testsuite")
    assert suite is not None
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "7", "failures": "1", "errors": "1", "skipped": "1"}
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failure = cases[("status.Befunde", "HelmRelease kube-system/kite")].find("failure")
    assert failure is not None and failure.get("message") == "kaputt" and failure.get("type") == "Fehler"
    error = cases[("status.Schritte", "Schritt 03: Prüfung")].find("error")
    assert error is not None and error.get("message") == "Der Cluster ist nicht erreichbar.\n→ Läuft er?"
    passed_warning = cases[("status.Befunde", "Kustomization flux-system/infra")]
    assert passed_warning.find("failure") is None
    assert "Warnung: ausgesetzt" in str(passed_warning.findtext("system-out"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["cluster"] == "runbook-sandbox (http://127.0.0.1:1)"
    assert props["parameter.kubeconfig"] == "/k"


def test_junit_warnings_fail_on_request_and_text_is_valid_xml(tmp_path: Path) -> None:
    odd = Verdict("Pod x", "warning", "Farbe \x1b[31mrot\x1b[0m")
    root = ET.fromstring(junit_xml([report(tmp_path, extra=(odd,))], fail_on_warnings=True))
    failure = next(c for c in root.iter("testcase") if c.get("name") == "Pod x").find("failure")
    assert failure is not None and failure.get("message") == "Farbe [31mrot[0m"


def test_json_summary_fields(tmp_path: Path) -> None:
    data = report(tmp_path).as_json()
    assert data["schema"] == "flux-runbooks/run/1"
    assert (data["runbook"], data["verdict"], data["status"]) == ("status", "failed", "ok")
    assert data["cluster"] == {"context": "runbook-sandbox", "server": "http://127.0.0.1:1"}
    assert data["parameters"] == {"kubeconfig": "/k"}
    assert data["duration_s"] == 1.5
    assert [f["outcome"] for f in data["findings"]] == ["error", "ok"]
    assert [s["status"] for s in data["steps"]] == ["passed", "passed", "failed", "skipped"]


# --- papermill reads the parameters cell like `runbook show` --------------------------------------


def test_papermill_inspects_typed_parameters_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    """The translator papermill gets from our entry point (loading it registers the translator; the
    wheel test checks that papermill loads it by itself in a fresh installation)."""
    import papermill

    import runbook_lib.papermill_plugin  # noqa: F401

    caplog.set_level(logging.DEBUG, logger="papermill")
    found = papermill.inspect_notebook(str(NOTEBOOKS / "status.ipynb"))
    assert found["kubeconfig"]["inferred_type_name"] == "str | None"
    assert found["kubeconfig"]["default"] == "None"
    assert found["kubeconfig"]["help"].startswith("Pfad zur Kubeconfig (None = Standard")
    assert list(found) == ["kubeconfig", "kube_context", "namespace"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
