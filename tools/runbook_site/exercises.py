"""The exercises page: one exercise per sandbox scenario (start it, find the cause, fix it)."""

from __future__ import annotations

from typing import Any

from . import link
from .notebooks import Runbook

# Exercises: which runbook finds the cause of a scenario, and how to fix it. A Scenario object may
# carry `runbook` and `fix` itself; these entries fill in where it does not.
SYNC_HINT = (
    "Danach `runbook run sync` (bzw. `flux reconcile kustomization apps --with-source`) und zur Kontrolle "
    "`runbook run status`."
)
EXERCISES: dict[str, dict[str, str]] = {
    "git-auth-failure": {
        "runbook": "troubleshoot-sync",
        "fix": (
            "Das Token im Secret `flux-system` (Namespace `flux-system`) ist abgelaufen; der "
            "source-controller meldet `authentication required`. Im echten Cluster erzeugen Sie "
            "ein neues Token beim Git-Anbieter und ersetzen das Secret, z. B. mit `flux create "
            "secret git flux-system --url=<Repository-URL> --username=git --password=<neues "
            "Token>`. In der Sandbox liegt das gültige Token in `.sandbox/git-token`; tragen Sie "
            "es ins Secret ein: `kubectl -n flux-system patch secret flux-system --type merge -p "
            '"{\\"data\\":{\\"password\\":\\"$(base64 -w0 .sandbox/git-token)\\"}}"`. '
            "Danach holt `runbook run sync -p kind gitrepo -p name flux-system` (bzw. `flux "
            "reconcile source git flux-system`) sofort neu, und `runbook run troubleshoot-sync` "
            "meldet keine Probleme mehr."
        ),
    },
    "kustomization-build-failed": {
        "runbook": "troubleshoot-sync",
        "fix": (
            "Der letzte Commit hat `podAnnotations: {}` in "
            "`clusters/orbstack/apps/kite/helmrelease.yaml` mit drei statt vier Leerzeichen "
            "eingerückt, `kustomize build` scheitert. In `.sandbox/checkout`: `git pull`, die "
            "Zeile korrekt unter `values:` einrücken (oder `git revert HEAD`), committen, `git "
            "push`. " + SYNC_HINT
        ),
    },
    "helmrelease-upgrade-failed": {
        "runbook": "troubleshoot-helmrelease",
        "fix": (
            "Das Image-Tag `v0.7.0` gibt es nicht, die Pods starten nicht, das Upgrade scheitert, "
            "und nach den Wiederholungen steht das HelmRelease (`Stalled`, `RetriesExceeded`). "
            "Setzen Sie das Tag im Repository zurück (`git revert HEAD` in `.sandbox/checkout`, "
            "dann `git push`); die neue Spezifikation lässt den helm-controller erneut beginnen. "
            "Hängt es trotzdem, hilft `flux reconcile helmrelease kite -n kube-system --reset`. "
            "Ein `helm rollback` von Hand ist keine Lösung: Flux würde beim nächsten Abgleich "
            "wieder den Stand aus Git anwenden. " + SYNC_HINT
        ),
    },
    "chart-version-missing": {
        "runbook": "troubleshoot-helmrelease",
        "fix": (
            "Die Chart-Version `0.6.9` gibt es im Helm-Repository nicht; der HelmChart "
            "`flux-system/kube-system-kite` meldet das, das HelmRelease wartet darauf. Setzen Sie "
            "`spec.chart.spec.version` wieder auf eine vorhandene Version (`0.6.3`) oder nehmen "
            "Sie den Commit mit `git revert HEAD` zurück, dann `git push`. " + SYNC_HINT
        ),
    },
    "certificate-challenge-failed": {
        "runbook": "troubleshoot-certificates",
        "fix": (
            "Für `kite.beispiel-neu.de` gibt es keinen DNS-Eintrag, Let's Encrypt erreicht die "
            "HTTP-01-Challenge nicht. Im echten Cluster legen Sie den DNS-Eintrag auf den Ingress "
            "an und warten die nächste Challenge ab. In der Sandbox nehmen Sie den Umzug zurück: "
            "`git revert HEAD` in `.sandbox/checkout`, `git push`. " + SYNC_HINT
        ),
    },
    "suspended": {
        "runbook": "troubleshoot-sync",
        "fix": (
            "Die Kustomization `apps` ist pausiert (`spec.suspend: true`): Die Quelle holt den "
            "neuen Commit, angewendet wird er nicht. Nehmen Sie den Abgleich wieder auf: `flux "
            "resume kustomization apps` oder `kubectl patch kustomization apps -n flux-system "
            '--type merge -p \'{"spec":{"suspend":false}}\'`. Danach wird der wartende Commit '
            "angewendet; prüfen Sie es mit `runbook run status`."
        ),
    },
}
# Fallback by keyword in the scenario name, first match wins.
RUNBOOK_BY_KEYWORD = (
    ("cert", "troubleshoot-certificates"),
    ("issuer", "troubleshoot-certificates"),
    ("helm", "troubleshoot-helmrelease"),
    ("chart", "troubleshoot-helmrelease"),
    ("", "troubleshoot-sync"),
)


def _scenarios() -> dict[str, Any] | None:
    try:
        from flux_sandbox.sim.scenarios import SCENARIOS
    except ImportError:
        return None
    return dict(SCENARIOS)


def exercises(runbooks: dict[str, Runbook], page: str) -> str:
    scenarios = _scenarios()
    if scenarios is None:
        return (
            '!!! note "Szenarien folgen"\n'
            "    Die Szenarien der Sandbox (`flux_sandbox.sim.scenarios`) sind noch nicht verfügbar.\n"
        )
    out = []
    number = 0
    for name, scenario in scenarios.items():
        if name == "healthy":
            continue
        number += 1
        extra = EXERCISES.get(name, {})
        runbook = getattr(scenario, "runbook", None) or extra.get("runbook") or _runbook_by_keyword(name)
        fix = getattr(scenario, "fix", None) or extra.get("fix")
        description = getattr(scenario, "description", "") or ""
        if runbook in runbooks:
            find = (
                f"Führen Sie das Runbook {link(runbooks[runbook].doc_path, page, runbooks[runbook].title)} "
                "aus und lesen Sie seine Befunde: Ursache, Beleg und nächster Schritt."
            )
        else:
            find = (
                f"Das passende Runbook `{runbook}` gibt es noch nicht. Gehen Sie mit den Befehlen aus dem "
                f"{link('leitfaden/troubleshooting/index.md', page, 'Troubleshooting')} vor."
            )
        fix_text = fix or (
            "Beheben Sie die Ursache dort, wo sie liegt – meist im GitOps-Repository "
            "(`.sandbox/checkout`: ändern, committen, pushen) –, und stoßen Sie dann mit "
            "`runbook run sync` einen Abgleich an. Prüfen Sie mit `runbook run status`, dass alles "
            "wieder `Ready` ist."
        )
        out.append(
            f"## Übung {number}: `{name}`\n\n"
            f"{description}\n\n"
            "1. Starten Sie die Sandbox in diesem Szenario:\n\n"
            "    ```bash\n"
            f"    runbook sandbox up --state .sandbox --scenario {name}\n"
            "    ```\n\n"
            "2. Finden Sie die Ursache, in einem zweiten Terminal:\n\n"
            "    ```bash\n"
            f"    runbook run {runbook} --kubeconfig .sandbox/kubeconfig\n"
            "    ```\n\n"
            f"    {find}\n\n"
            "3. Beheben Sie den Fehler und prüfen Sie das Ergebnis.\n\n"
            '    ??? success "Lösung"\n'
            f"        {fix_text}\n"
        )
    return "\n".join(out) if out else "Die Sandbox kennt derzeit nur das Szenario `healthy`.\n"


def _runbook_by_keyword(scenario: str) -> str:
    return next(rb for key, rb in RUNBOOK_BY_KEYWORD if key in scenario)
