"""The RBAC manifests users apply (``rbac/*.yaml``) and the README's rights section, made from
:mod:`runbook_lib.rights` (pure text). ``python -m runbook_lib.rbac write [DIR]`` writes the files;
``tests/unit/test_rights.py`` fails when the checked-in files or the README differ.

Each file holds one ClusterRole and an example binding for the group ``flux-runbooks:<role>``, so
``kubectl apply -f rbac/flux-runbooks-read.yaml`` works as it is and a team edits only the subject.
The Helm-history role is bound per namespace (RoleBinding), never cluster-wide.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import yaml

from runbook_lib.rights import HELM_HISTORY, OPERATE, READ, ROLES, RUNBOOK_RIGHTS, role_rules

#: label on every shipped object, to find (and delete) them: ``kubectl get clusterroles -l …``
PART_OF = {"app.kubernetes.io/part-of": "flux-runbooks"}

_HEADERS = {
    READ: (
        "Nur lesen: was status, logs und die Runbooks troubleshoot-sync, troubleshoot-helmrelease und\n"
        "troubleshoot-certificates brauchen (Flux- und cert-manager-Objekte, Events, Pods, Logs der\n"
        "Flux-Controller, Deployments, CRDs). Keine Secrets, kein Schreibrecht."
    ),
    OPERATE: (
        "Bedienen: alle Rechte von flux-runbooks-read und dazu patch und watch auf die Flux-Objekte, die\n"
        "sync, change (Rollout) und rollback abgleichen sowie suspend/resume anhalten und fortsetzen.\n"
        "Keine Secrets; an den Workloads selbst ändert die Rolle nichts."
    ),
    HELM_HISTORY: (
        "Helm-Historie (optional): get und list auf Secrets. ACHTUNG: RBAC kann nicht nach dem Typ\n"
        "helm.sh/release.v1 filtern. Wer diese Rolle in einem Namespace hat, liest JEDES Secret dort:\n"
        "Passwörter, Tokens, TLS-Schlüssel, Git-Zugangsdaten. Deshalb nur per RoleBinding in den\n"
        "Namespaces der Releases binden (nie mit ClusterRoleBinding und nie in flux-system, dort liegen\n"
        "die Git-Zugangsdaten). Ohne diese Rolle zeigt troubleshoot-helmrelease die Helm-Historie als\n"
        "„nicht lesbar“ und diagnostiziert den Rest."
    ),
}


def _dump(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def manifest(role: str) -> str:
    """``rbac/<role>.yaml``: German header, the ClusterRole, an example binding."""
    role_doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": role, "labels": dict(PART_OF)},
        "rules": role_rules(role),
    }
    subject = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": role}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    if role == HELM_HISTORY:
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": "kube-system", "labels": dict(PART_OF)},
            "roleRef": ref,
            "subjects": subject,
        }
        how = "Beispiel-Bindung: je Namespace einer Release eine RoleBinding (hier kube-system)."
    else:
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": dict(PART_OF)},
            "roleRef": ref,
            "subjects": subject,
        }
        how = "Beispiel-Bindung: die Gruppe mit dem Namen der Rolle; eigene Benutzer oder Gruppen eintragen."
    header = "\n".join(f"# {line}" for line in _HEADERS[role].splitlines())
    generated = "# Erzeugt aus runbook_lib/rights.py: python -m runbook_lib.rbac write rbac"
    return f"{header}\n#\n# {how}\n{generated}\n---\n{_dump(role_doc)}---\n{_dump(binding)}"


def _rules_text(role: str) -> str:
    """``get, list`` auf `helmreleases` (helm.toolkit.fluxcd.io); …: a role's rules in one sentence."""
    parts = []
    for rule in role_rules(role):
        group = rule["apiGroups"][0]
        resources = ", ".join(f"`{r}`" for r in rule["resources"])
        parts.append(f"{'/'.join(rule['verbs'])} auf {resources}" + (f" ({group})" if group else ""))
    return "; ".join(parts)


def _runbooks(acting: bool) -> str:
    """The shipped runbooks that need the operate role (``acting``) or only read rights, as a list."""
    names = [n for n, rights in RUNBOOK_RIGHTS.items() if any(r.role == OPERATE for r in rights) == acting]
    quoted = [f"`{n}`" for n in names]
    return ", ".join(quoted[:-1]) + f" und {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)


def readme_section() -> str:
    """The README's "Benötigte Rechte" paragraph (between its markers), wrapped like the README."""
    paragraphs = [
        "Benötigte Rechte stehen als RBAC-Rollen in `rbac/` (`kubectl apply -f rbac/<datei>`, die "
        "Bindung am Ende jeder Datei anpassen). Jedes Runbook fragt vor dem ersten Schritt den API-Server, "
        "ob sie vorhanden sind, und nennt fehlende Rechte mit der Regel zum Ergänzen; `runbook show NAME` "
        "listet sie.",
        f"- `{READ}` (ClusterRole): {_runbooks(acting=False)}; nur lesen, keine Secrets. Regeln: "
        f"{_rules_text(READ)}.",
        f"- `{OPERATE}` (ClusterRole): alles aus `{READ}`, dazu für {_runbooks(acting=True)} sowie "
        "suspend/resume `patch` und `watch` auf die Flux-Objekte.",
        f"- `{HELM_HISTORY}` (optional, nur per RoleBinding je Release-Namespace): `get`/`list` auf "
        "Secrets für die Helm-Historie. RBAC kann nicht nach dem Typ `helm.sh/release.v1` filtern: die "
        "Rolle öffnet **jedes Secret** des Namespaces (Passwörter, Tokens, TLS-Schlüssel). Ohne sie ist "
        "die Helm-Historie in `troubleshoot-helmrelease` „nicht lesbar“, der Rest der Diagnose bleibt.",
    ]
    wrapped = [
        textwrap.fill(
            p, width=105, subsequent_indent="  " if p.startswith("- ") else "", break_on_hyphens=False
        )
        for p in paragraphs
    ]
    return wrapped[0] + "\n\n" + "\n".join(wrapped[1:]) + "\n"


#: the README's markers around :func:`readme_section`
README_BEGIN = "<!-- rechte: erzeugt aus runbook_lib/rbac.py -->"
README_END = "<!-- /rechte -->"


def write(folder: Path) -> list[Path]:
    """Write every ``<role>.yaml`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for role in ROLES:
        path = folder / f"{role}.yaml"
        path.write_text(manifest(role), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if argv[:1] != ["write"]:
        print("Aufruf: python -m runbook_lib.rbac write [ORDNER]   (Standard: rbac)", file=sys.stderr)
        return 2
    for path in write(Path(argv[1] if len(argv) > 1 else "rbac")):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
