"""The three troubleshooting runbooks, executed by papermill against sandbox scenarios.

Finding a problem is success: the notebook runs to the end and names the cause in its last cell. Only
bad input (an unknown name) and an unreachable cluster make a run fail.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from papermill.exceptions import PapermillExecutionError
from runbook_support import cell_text, code_cells, run

from flux_sandbox.sim import Sandbox, scenarios

pytestmark = pytest.mark.runbook

SYNC, HELMRELEASE, CERTIFICATES = "troubleshoot-sync", "troubleshoot-helmrelease", "troubleshoot-certificates"


def summary(nb: dict[str, Any]) -> str:
    """The last cell: "Keine Probleme gefunden" or the findings ordered by severity."""
    return cell_text(code_cells(nb)[-1])


def diagnosis(nb: dict[str, Any]) -> str:
    """The "Befund" cell: every finding with cause, evidence, next step and command."""
    return next(cell_text(c) for c in code_cells(nb) if "diagnosis = " in "".join(c["source"]))


def html(nb: dict[str, Any]) -> str:
    return "\n".join(
        "".join(o.get("data", {}).get("text/html", "")) for c in code_cells(nb) for o in c.get("outputs", [])
    )


@pytest.mark.parametrize("name", [SYNC, HELMRELEASE, CERTIFICATES])
def test_healthy_cluster_has_no_problems(name: str, sandbox: Sandbox, tmp_path: Path) -> None:
    nb = run(name, tmp_path, kubeconfig=str(sandbox.kubeconfig))
    assert "Keine Probleme gefunden" in summary(nb)
    assert "Fehler" not in summary(nb).split("Geprüft")[0]
    assert 'class="runbook-finding"' not in html(nb)


def test_sync_names_the_authentication_cause(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("git-auth-failure")
    nb = run(SYNC, tmp_path, kubeconfig=str(sb.kubeconfig))
    found = diagnosis(nb)
    assert "Git-Authentifizierung fehlgeschlagen" in found
    assert "Secret 'flux-system/flux-system'" in found
    assert "authentication required" in found  # the evidence: the Ready condition
    assert "flux reconcile source git flux-system" in found
    # executable as written: kubectl replaces the Secret, the sync runbook fetches again
    assert (
        "kubectl create secret generic flux-system -n flux-system --from-literal=username=git "
        "--from-literal=password=<TOKEN> --dry-run=client -o yaml | kubectl apply -f -" in found
    )
    assert "--username=git --password=<TOKEN>" in found
    # on the sandbox (its context, its token file beside the kubeconfig) the finding names the token file
    assert f"In dieser Sandbox steht das gültige Token in `{sb.state_dir.resolve() / 'git-token'}`." in found
    assert "runbook run sync -p kind gitrepo -p name flux-system" in found
    assert "Git-Authentifizierung fehlgeschlagen" in summary(nb)
    assert "Keine Probleme gefunden" not in summary(nb)


def test_sync_names_the_build_failure_of_apps(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("kustomization-build-failed")
    nb = run(SYNC, tmp_path, kubeconfig=str(sb.kubeconfig))
    assert "kustomize build fehlgeschlagen" in summary(nb)
    assert "Kustomization flux-system/apps" in summary(nb)
    assert "`kubectl kustomize ./clusters/orbstack/apps`" in diagnosis(nb)


def test_sync_names_the_suspended_kustomization(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("suspended")
    nb = run(SYNC, tmp_path, kubeconfig=str(sb.kubeconfig))
    found = diagnosis(nb)
    assert "Kustomization ist ausgesetzt" in found
    assert "flux resume kustomization apps -n flux-system" in found
    assert (
        """kubectl patch kustomization apps -n flux-system --type merge -p '{"spec":{"suspend":false}}'"""
        in found
    )
    assert "(und suspend: true aus dem Git-Manifest entfernen)" not in found  # Git has no suspend here
    assert "lastAppliedRevision" in found  # behind the source


def test_helmrelease_names_image_tag_upgrade_failure_and_last_good_revision(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sb = make_sandbox("helmrelease-upgrade-failed")
    nb = run(HELMRELEASE, tmp_path, kubeconfig=str(sb.kubeconfig))
    found = diagnosis(nb)
    assert "Helm-Upgrade fehlgeschlagen, Flux hat zurückgerollt" in found
    assert "Die fehlgeschlagene Revision 6 sollte ghcr.io/zxh326/kite:v0.7.0 ausrollen" in found
    assert "Zuletzt gut: Revision" in found
    assert "Wiederholungen aufgebraucht" in found and "--reset" in found
    assert "runbook run sync -p kind hr -p name kite -p namespace kube-system -p force True" in found
    assert "force=True" not in found
    assert found.count("`helm rollback` würde") == 1
    # Flux rolled the last failure back too: the newest revision is the rollback, the old state runs
    assert "Flux hat die Release zurückgerollt" in found
    assert "Rollback to 5" in found and "Zuletzt gut: Revision 7" in found
    assert "context deadline exceeded: context deadline exceeded" not in found
    assert re.search(r"\d{2}:\d{2}:\d{2}\.\d", found) is None  # whole seconds in findings
    assert summary(nb).startswith("✗")


def test_helmrelease_names_the_missing_chart_version(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("chart-version-missing")
    nb = run(HELMRELEASE, tmp_path, kubeconfig=str(sb.kubeconfig))
    found = diagnosis(nb)
    assert "Chart-Version 0.6.9 nicht gefunden" in found
    assert "Bekannte Versionen: 0.6.3" in found


def test_certificates_name_the_failing_challenge(make_sandbox: Any, tmp_path: Path) -> None:
    sb = make_sandbox("certificate-challenge-failed")
    nb = run(CERTIFICATES, tmp_path, kubeconfig=str(sb.kubeconfig))
    found = diagnosis(nb)
    # the cause first, the links above the challenge as its consequences
    assert found.startswith("✗ Fehler: Kein DNS-Eintrag für kite.beispiel-neu.de (NXDOMAIN)")
    assert "keinen (richtigen) DNS-Eintrag" in found
    assert found.index("Folgen dieser Ursache:") < found.index("Ausstellung fehlgeschlagen")
    assert "1 Fehler (dazu 3 Folgebefunde)" in summary(nb)
    assert "Certificate kube-system/kite-tls" in summary(nb)


def test_certificates_after_the_fix_show_the_failed_attempt_only_as_history(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sb = make_sandbox("certificate-challenge-failed")
    certificate, values = sb.repo.read_file(scenarios.CERTIFICATE), sb.repo.read_file(scenarios.HELMRELEASE)
    old_host = "kite.beispiel.de"
    fix = {
        scenarios.CERTIFICATE: certificate.replace(scenarios.NEW_HOST, old_host),
        scenarios.HELMRELEASE: values.replace(scenarios.NEW_HOST, old_host),
    }
    assert fix[scenarios.CERTIFICATE] != certificate
    scenarios.push(sb, fix, "Move Kite back to its old host")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cert = scenarios.find(sb.store, "Certificate", "kube-system", "kite-tls") or {}
        ready = scenarios.condition(sb.store, "Certificate", "kube-system", "kite-tls")
        if (
            ready.get("status") == "True"
            and ready.get("observedGeneration") == cert["metadata"]["generation"]
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail("Certificate kite-tls wurde nach der Korrektur nicht bereit")
    nb = run(CERTIFICATES, tmp_path, kubeconfig=str(sb.kubeconfig))
    assert "Keine Probleme gefunden" in summary(nb)
    found = diagnosis(nb)
    assert "Frühere fehlgeschlagene Ausstellung, inzwischen behoben" in found
    assert "✗ Fehler" not in found and "⚠ Warnung" not in found


def test_certificates_of_one_namespace(sandbox: Sandbox, tmp_path: Path) -> None:
    nb = run(
        CERTIFICATES, tmp_path, kubeconfig=str(sandbox.kubeconfig), name="kite-tls", namespace="kube-system"
    )
    assert "Certificate kube-system/kite-tls" in summary(nb)
    assert "Keine Probleme gefunden" in summary(nb)


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        (HELMRELEASE, {"name": "kitte"}, "Meinten Sie: kube-system/kite?"),
        (SYNC, {"name": "flux-sistem"}, "Meinten Sie: flux-system/flux-system?"),
        (CERTIFICATES, {"name": "kite-tsl"}, "Meinten Sie: kube-system/kite-tls?"),
    ],
)
def test_unknown_name_fails_naming_the_closest(
    name: str, parameters: dict[str, str], expected: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    with pytest.raises(PapermillExecutionError) as info:
        run(name, tmp_path, kubeconfig=str(sandbox.kubeconfig), **parameters)
    assert info.value.ename == "NotFound"
    assert "wurde nicht gefunden" in info.value.evalue
    out = json.loads((tmp_path / f"{name}.out.ipynb").read_text(encoding="utf-8"))
    assert any(
        expected in "".join([*o.get("traceback", []), o.get("evalue", "")])
        for c in code_cells(out)
        for o in c.get("outputs", [])
    )


def test_unreachable_cluster_fails(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: weg\n"
        "clusters: [{name: weg, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: weg, user: {}}]\n"
        "contexts: [{name: weg, context: {cluster: weg, user: weg}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(PapermillExecutionError) as info:
        run(SYNC, tmp_path, kubeconfig=str(kubeconfig))
    assert info.value.ename == "ClusterUnreachable"
