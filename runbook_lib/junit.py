"""JUnit XML for CI (GitLab's test report, GitHub through a JUnit action, Jenkins): one ``testsuite``
per run, one ``testcase`` per step and per verdict.

* classname ``<runbook>.Schritte``: each code cell, named by its heading; a failed cell is an
  ``<error>`` with the German message, cells that did not run are ``<skipped>``;
* classname ``<runbook>.Befunde``: each verdict (finding, failing object, controller); an error is a
  ``<failure>`` whose message is the cause and whose text is the whole finding (evidence, next step,
  command); a warning is a ``<failure>`` with ``fail_on_warnings``, else passed with its text in
  ``<system-out>`` like hints and passed checks.

The run's cluster, parameters, notebook and verdict line are ``<properties>`` of its suite. Built with
the standard library's ``xml.etree`` (the format is five elements; the ``junit-xml`` package is
unmaintained since 2020): text is cleaned of characters XML 1.0 forbids (terminal colour codes).
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from runbook_lib.report import Verdict
from runbook_lib.reports import RunReport, Step

#: characters XML 1.0 does not allow (control characters such as ESC of colour codes)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_OUTCOME_WORDS = {"error": "Fehler", "warning": "Warnung", "info": "Hinweis", "ok": "in Ordnung"}


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _case(parent: ET.Element, classname: str, name: str, seconds: float | None = None) -> ET.Element:
    attrs = {"classname": _text(classname), "name": _text(name), "time": f"{seconds or 0:.3f}"}
    return ET.SubElement(parent, "testcase", attrs)


def _step(suite: ET.Element, runbook: str, step: Step) -> str:
    case = _case(suite, f"{runbook}.Schritte", f"Schritt {step.index:02d}: {step.title}", step.duration)
    if step.status == "failed":
        error = ET.SubElement(
            case, "error", {"message": _text(step.message), "type": "Schritt fehlgeschlagen"}
        )
        error.text = _text(step.details or step.message)
        return "error"
    if step.status == "skipped":
        ET.SubElement(case, "skipped", {"message": _text(step.message)})
        return "skipped"
    if step.status == "stopped":
        ET.SubElement(case, "system-out").text = _text(step.message)
    return "passed"


def _verdict(suite: ET.Element, runbook: str, verdict: Verdict, fail_on_warnings: bool) -> str:
    case = _case(suite, f"{runbook}.Befunde", verdict.name)
    word = _OUTCOME_WORDS[verdict.outcome]
    if verdict.outcome == "error" or (verdict.outcome == "warning" and fail_on_warnings):
        failure = ET.SubElement(case, "failure", {"message": _text(verdict.message), "type": word})
        failure.text = _text(verdict.details or verdict.message)
        return "failure"
    text = f"{word}: {verdict.message}" + (f"\n\n{verdict.details}" if verdict.details else "")
    ET.SubElement(case, "system-out").text = _text(text)
    return "passed"


def _suite(report: RunReport, fail_on_warnings: bool) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        {
            "name": _text(report.runbook),
            "timestamp": report.started.replace(microsecond=0).isoformat(),
            "hostname": _text(socket.gethostname()),
            "time": f"{report.duration:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    shown = {
        "titel": report.title,
        "cluster": f"{report.context} ({report.server})" if report.context else "unbekannt",
        "ergebnis": report.summary,
        "protokoll": str(report.notebook),
        **{f"parameter.{k}": v for k, v in report.parameters.items()},
    }
    for name, value in shown.items():
        ET.SubElement(props, "property", {"name": _text(name), "value": _text(value)})
    tally = {"error": 0, "failure": 0, "skipped": 0, "passed": 0}
    for step in report.steps:
        tally[_step(suite, report.runbook, step)] += 1
    if report.status == "failed" and not any(s.status == "failed" for s in report.steps):
        # the run failed before any step (e.g. the notebook could not be written): say so as a case
        case = _case(suite, f"{report.runbook}.Schritte", "Ausführung")
        ET.SubElement(case, "error", {"message": _text(report.error), "type": "Ausführung"})
        tally["error"] += 1
    for verdict in report.verdicts:
        tally[_verdict(suite, report.runbook, verdict, fail_on_warnings)] += 1
    suite.set("tests", str(sum(tally.values())))
    suite.set("failures", str(tally["failure"]))
    suite.set("errors", str(tally["error"]))
    suite.set("skipped", str(tally["skipped"]))
    if report.summary or report.error:
        ET.SubElement(suite, "system-out").text = _text(
            "\n".join(filter(None, (report.summary, report.error)))
        )
    return suite


def junit_xml(
    reports: Sequence[RunReport], *, name: str = "runbook", fail_on_warnings: bool = False
) -> bytes:
    """The JUnit XML document for one or more runs (UTF-8, with XML declaration)."""
    root = ET.Element("testsuites", {"name": _text(name)})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for report in reports:
        suite = _suite(report, fail_on_warnings)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        seconds += report.duration
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(
    path: str | Path, reports: Sequence[RunReport], *, name: str = "runbook", fail_on_warnings: bool = False
) -> Path:
    """Write :func:`junit_xml` to ``path``, creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(junit_xml(reports, name=name, fail_on_warnings=fail_on_warnings))
    return out
