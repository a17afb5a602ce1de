"""The exercises page: one exercise per sandbox scenario (start it, find the cause, fix it)."""

from __future__ import annotations

from typing import Any

from . import link
from .notebooks import Runbook

# Exercises: which runbook finds the cause of a scenario, and how to fix it: the cause in prose, what to
# do on a real cluster, and the commands that fix the sandbox. The commands are run by a test exactly as
# they stand on the page (tests/site/test_site_commands.py), from the directory in which `.sandbox` lies,
# after the page's preparation (KUBECONFIG exported); they end with the runbook that finds no problem
# any more. A Scenario object may carry `runbook` and `fix` itself; these entries fill in where it does not.
SANDBOX = "--kubeconfig .sandbox/kubeconfig"
ROLLBACK = (
    f'runbook run rollback -p repo_path .sandbox/checkout -p reason "{{reason}}" -p dry_run False {SANDBOX}'
)
EXERCISES: dict[str, dict[str, Any]] = {
    "git-auth-failure": {
        "runbook": "troubleshoot-sync",
        "cause": (
            "Das Token im Secret `flux-system` (Namespace `flux-system`) ist abgelaufen; der "
            "source-controller "
            "meldet `authentication required`."
        ),
        "real": (
            "Im echten Cluster erzeugen Sie beim Git-Anbieter ein neues Token und ersetzen das "
            "Secret, z. B. mit "
            "`flux create secret git flux-system --url=<Repository-URL> --username=git --password=<neues "
            "Token>`. In der Sandbox liegt das gültige Token in `.sandbox/git-token`: Tragen Sie es "
            "ins Secret "
            "ein, holen Sie sofort neu und prüfen Sie nach:"
        ),
        "commands": (
            "kubectl -n flux-system patch secret flux-system --type merge "
            '-p "{\\"data\\":{\\"password\\":\\"$(base64 -w0 .sandbox/git-token)\\"}}"',
            f"runbook run sync -p kind gitrepo -p name flux-system {SANDBOX}",
            f"runbook run troubleshoot-sync {SANDBOX}",
        ),
    },
    "kustomization-build-failed": {
        "runbook": "troubleshoot-sync",
        "cause": (
            "Der letzte Commit hat `podAnnotations: {}` in "
            "`clusters/orbstack/apps/kite/helmrelease.yaml` mit "
            "drei statt vier Leerzeichen eingerückt, `kustomize build` scheitert."
        ),
        "real": (
            "Korrigieren Sie die Einrückung in einem neuen Commit oder nehmen Sie den Commit zurück. Das "
            "Runbook `rollback` macht den Revert, pusht, lässt Flux sofort abgleichen und prüft das Ergebnis:"
        ),
        "commands": (
            ROLLBACK.format(reason="Kaputte Einrückung in helmrelease.yaml"),
            f"runbook run troubleshoot-sync {SANDBOX}",
        ),
    },
    "helmrelease-upgrade-failed": {
        "runbook": "troubleshoot-helmrelease",
        "cause": (
            "Das Image-Tag `v0.7.0` gibt es nicht, die Pods starten nicht, das Upgrade scheitert, und nach "
            "den Wiederholungen gibt Flux auf (`Stalled`, `RetriesExceeded`)."
        ),
        "real": (
            "Nehmen Sie den Commit zurück: Die geänderte HelmRelease lässt den helm-controller von vorn "
            "beginnen, `--reset` oder `--force` sind dann nicht nötig. Ein `helm rollback` von Hand "
            "ist keine "
            "Lösung: Flux würde beim nächsten Abgleich wieder den Stand aus Git anwenden."
        ),
        "commands": (
            ROLLBACK.format(reason="Image-Tag v0.7.0 gibt es nicht"),
            f"runbook run troubleshoot-helmrelease {SANDBOX}",
        ),
    },
    "chart-version-missing": {
        "runbook": "troubleshoot-helmrelease",
        "cause": (
            "Die Chart-Version `0.6.9` gibt es im Helm-Repository nicht; das HelmChart "
            "`flux-system/kube-system-kite` meldet das, die HelmRelease wartet darauf."
        ),
        "real": (
            "Setzen Sie `spec.chart.spec.version` auf eine vorhandene Version (`0.6.3`) oder nehmen Sie den "
            "Commit zurück:"
        ),
        "commands": (
            ROLLBACK.format(reason="Chart-Version 0.6.9 gibt es nicht"),
            f"runbook run troubleshoot-helmrelease {SANDBOX}",
        ),
    },
    "certificate-challenge-failed": {
        "runbook": "troubleshoot-certificates",
        "cause": (
            "Für `kite.beispiel-neu.de` gibt es keinen DNS-Eintrag (NXDOMAIN), Let's Encrypt kann die "
            "HTTP-01-Challenge nicht prüfen."
        ),
        "real": (
            "Im echten Cluster legen Sie den DNS-Eintrag auf den Ingress an; cert-manager versucht es dann "
            "von selbst erneut, sofort mit `cmctl renew`. In der Sandbox gibt es keinen DNS-Server: "
            "Nehmen Sie "
            "den Umzug zurück. Weil der Commit das Certificate ändert, stellt cert-manager sofort neu aus:"
        ),
        "commands": (
            ROLLBACK.format(reason="Kein DNS-Eintrag für kite.beispiel-neu.de"),
            f"runbook run troubleshoot-certificates {SANDBOX}",
        ),
    },
    "suspended": {
        "runbook": "troubleshoot-sync",
        "cause": (
            "Die Kustomization `apps` ist ausgesetzt (`spec.suspend: true`): Die Quelle holt den "
            "neuen Commit, "
            "angewendet wird er nicht."
        ),
        "real": (
            "Setzen Sie den Abgleich fort (mit der flux-CLI: `flux resume kustomization apps`). "
            "Danach wendet "
            "Flux den wartenden Commit an:"
        ),
        "commands": (
            'kubectl patch kustomization apps -n flux-system --type merge -p \'{"spec":{"suspend":false}}\'',
            f"runbook run sync -p kind ks -p name apps {SANDBOX}",
            f"runbook run troubleshoot-sync {SANDBOX}",
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
        solution = _solution(fix, extra)
        out.append(
            f"## Übung {number}: `{name}`\n\n"
            f"{description}\n\n"
            "1. Starten Sie die Sandbox in diesem Szenario, im ersten Terminal:\n\n"
            "    ```bash\n"
            f"    runbook sandbox up --state .sandbox --scenario {name}\n"
            "    ```\n\n"
            "2. Finden Sie die Ursache, im zweiten Terminal:\n\n"
            "    ```bash\n"
            f"    runbook run {runbook} {SANDBOX}\n"
            "    ```\n\n"
            f"    {find}\n\n"
            "3. Beheben Sie den Fehler und prüfen Sie das Ergebnis. Danach beenden Sie die Sandbox im ersten "
            "Terminal mit ++ctrl+c++.\n\n"
            '    ??? success "Lösung"\n'
            f"{solution}"
        )
    return "\n".join(out) if out else "Die Sandbox kennt derzeit nur das Szenario `healthy`.\n"


def _solution(fix: str | None, extra: dict[str, Any]) -> str:
    """The folded solution of step 3: cause, the fix on a real cluster, the sandbox commands (8 spaces
    deep: inside the list item and the admonition)."""
    pad = " " * 8
    if fix:
        return f"{pad}{fix}\n"
    if not extra:
        return (
            f"{pad}Beheben Sie die Ursache dort, wo sie liegt – meist im GitOps-Repository "
            "(`.sandbox/checkout`: "
            "ändern, committen, pushen) –, und stoßen Sie dann mit `runbook run sync` einen Abgleich an.\n"
        )
    commands = "".join(f"{pad}{line}\n" for line in extra["commands"])
    return f"{pad}{extra['cause']} {extra['real']}\n\n{pad}```bash\n{commands}{pad}```\n"


def _runbook_by_keyword(scenario: str) -> str:
    return next(rb for key, rb in RUNBOOK_BY_KEYWORD if key in scenario)
