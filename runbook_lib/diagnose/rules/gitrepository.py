"""Interpretation for "Flux synchronisiert nicht": GitRepository, Kustomizations, controllers, logs.

Pure functions from gathered objects (dicts) and controller log lines
(:class:`runbook_lib.logs.parse.LogLine`) to :class:`Finding` lists (docs/flux-facts.md §2 and §4). The
guide's commands are ``flux get sources git``, ``kubectl logs -n flux-system -l app=source-controller``
and ``flux reconcile source git flux-system``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from runbook_lib.diagnose.common import (
    Obj,
    cond_text,
    log_error_lines,
    log_line_text,
    ns_flag,
    parse_interval,
    ref,
    resume_commands,
    resume_step,
    sync_command,
)
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding
from runbook_lib.durations import german_age, parse_time
from runbook_lib.logs.parse import LogLine
from runbook_lib.objects import condition, is_true, meta, spec, status
from runbook_lib.report import plural
from runbook_lib.settings import settings

TITLE = "Flux synchronisiert nicht"
#: findings whose fix is a new Secret (their commands replace it with kubectl)
CREDENTIAL_TITLES = ("Git-Zugangsdaten fehlen", "Git-Authentifizierung fehlgeschlagen")
#: an artifact older than this many intervals counts as stale (one missed fetch can be a slow clone)
STALE_INTERVALS = 2
#: the Git credentials Secret ``flux bootstrap`` creates; suggested when spec.secretRef names none
BOOTSTRAP_SECRET = "flux-system"

_AUTH = re.compile(
    r"authentication required|invalid username|permission denied|unauthori[sz]ed|\b40[13]\b"
    r"|bad credentials|could not read username|access denied",
    re.IGNORECASE,
)
_BRANCH = re.compile(r"couldn't find remote ref|reference not found|unable to resolve ref", re.IGNORECASE)
_URL = re.compile(
    r"repository not found|invalid url|not a git repository|\b404\b|does not appear to be a git",
    re.IGNORECASE,
)
_NETWORK = re.compile(
    r"no such host|connection refused|i/o timeout|timed? ?out|network is unreachable|"
    r"dial tcp|x509|tls|EOF",
    re.IGNORECASE,
)
_HOSTKEY = re.compile(r"knownhosts|known_hosts|host key", re.IGNORECASE)


def _logs_cmd() -> str:
    return f"kubectl logs -n {settings().flux_namespace} -l app=source-controller"


def _reconcile_cmds(name: str, namespace: str) -> str:
    """Fetch now: the ``sync`` runbook, or the flux CLI."""
    return f"{sync_command('gitrepo', name, namespace)}\nflux reconcile source git {name}{ns_flag(namespace)}"


def _git_cmds(name: str, namespace: str) -> str:
    return f"flux get sources git{ns_flag(namespace)}\n{_logs_cmd()}\n{_reconcile_cmds(name, namespace)}"


def _secret_and_names(repo: Obj) -> tuple[str, str, str]:
    """(Secret name, GitRepository name, namespace) for renewing the credentials."""
    secret = (spec(repo).get("secretRef") or {}).get("name") or BOOTSTRAP_SECRET
    ns = meta(repo).get("namespace") or settings().flux_namespace
    return str(secret), str(meta(repo).get("name", "")), str(ns)


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or (bool(re.match(r"^[\w.-]+@[\w.-]+:", url)) and "://" not in url)


def secret_commands(repo: Obj) -> str:
    """Replace the Git credentials Secret with kubectl (works everywhere), then sync the source."""
    secret, name, ns = _secret_and_names(repo)
    if _is_ssh(str(spec(repo).get("url", ""))):
        data = "--from-file=identity=<PRIVATE_KEY_FILE> --from-file=known_hosts=<KNOWN_HOSTS_FILE>"
    else:
        data = "--from-literal=username=git --from-literal=password=<TOKEN>"
    return (
        f"kubectl create secret generic {secret} -n {ns} {data} "
        "--dry-run=client -o yaml | kubectl apply -f -\n" + _reconcile_cmds(name, ns)
    )


def _secret_step(repo: Obj) -> str:
    """How to renew the credentials: complete flux and kubectl forms, then sync (German)."""
    secret, name, ns = _secret_and_names(repo)
    url = str(spec(repo).get("url", ""))
    if _is_ssh(url):
        flux = f"flux create secret git {secret} --url={url} --private-key-file=<PRIVATE_KEY_FILE> -n {ns}"
        what = "Deploy-Key"
    else:
        flux = f"flux create secret git {secret} --url={url} --username=git --password=<TOKEN> -n {ns}"
        what = "Token (bzw. mit `--bearer-token=<TOKEN>` statt Benutzer und Passwort)"
    return (
        f"Neues {what} besorgen und das Secret '{ns}/{secret}' ersetzen: mit kubectl (erster Befehl unten, "
        f"geht überall) oder mit der flux-CLI `{flux}`. Danach die Quelle abgleichen: "
        f"`{sync_command('gitrepo', name, ns)}` (oder `flux reconcile source git {name}`)."
    )


def classify_git_failure(repo: Obj) -> tuple[str, str, str]:
    """(title, cause, next step) for a GitRepository whose Ready condition is False (pure)."""
    cond = condition(repo, "Ready")
    reason, message = str(cond.get("reason", "")), str(cond.get("message", ""))
    secret = (spec(repo).get("secretRef") or {}).get("name")
    ns = meta(repo).get("namespace") or settings().flux_namespace
    url = spec(repo).get("url", "")
    if secret and "secret" in message.lower() and "not found" in message.lower():
        return (
            "Git-Zugangsdaten fehlen",
            f"Das Secret '{ns}/{secret}' aus spec.secretRef existiert nicht; der source-controller kann sich "
            "nicht am Git-Server anmelden.",
            _secret_step(repo),
        )
    if reason == "AuthenticationFailed" or _AUTH.search(message):
        who = f"im Secret '{ns}/{secret}'" if secret else "(kein spec.secretRef gesetzt)"
        return (
            "Git-Authentifizierung fehlgeschlagen",
            f"Der Git-Server lehnt die Zugangsdaten {who} ab: Token/Passwort falsch, abgelaufen oder ohne "
            "Leserecht auf das Repository.",
            _secret_step(repo),
        )
    if _HOSTKEY.search(message):
        return (
            "SSH-Hostschlüssel unbekannt",
            "Der Schlüssel des Git-Servers steht nicht in known_hosts des Secrets.",
            "known_hosts im Secret erneuern (`flux create secret git … --url=ssh://…` liest ihn neu ein).",
        )
    if _BRANCH.search(message):
        branch = (spec(repo).get("ref") or {}).get("branch", "")
        return (
            "Git-Branch oder -Tag nicht gefunden",
            f"Die Referenz aus spec.ref (Branch '{branch}') existiert im Repository nicht (umbenannt, "
            "gelöscht oder noch nicht gepusht).",
            "spec.ref der GitRepository bzw. den Branch im Repository prüfen (`git ls-remote <url>`).",
        )
    if reason == "URLInvalid" or _URL.search(message):
        return (
            "Git-Repository nicht gefunden",
            f"Die URL '{url}' zeigt auf kein erreichbares Repository (Tippfehler, umbenannt, gelöscht).",
            "spec.url der GitRepository prüfen und im Git korrigieren (`git ls-remote <url>`).",
        )
    if _NETWORK.search(message):
        return (
            "Git-Server nicht erreichbar",
            "Netzwerk, DNS, Proxy oder TLS-Zertifikat verhindern die Verbindung zum Git-Server.",
            "Erreichbarkeit aus dem Cluster prüfen (DNS, Firewall, Proxy, CA-Zertifikat); danach abgleichen.",
        )
    return (
        "Git-Abruf fehlgeschlagen",
        f"Der source-controller meldet {reason or 'einen Fehler'} beim Abruf.",
        "Meldung und Controller-Logs lesen; nach der Korrektur die Quelle abgleichen.",
    )


def _last_seen(repo: Obj, log_lines: Sequence[LogLine]) -> datetime | None:
    """The latest sign of life: artifact update, Ready transition or a log line for this object."""
    times = [
        parse_time((status(repo).get("artifact") or {}).get("lastUpdateTime")),
        parse_time(condition(repo, "Ready").get("lastTransitionTime")),
        *(line.time for line in log_lines),
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def git_repository_findings(
    repo: Obj,
    *,
    now: datetime,
    log_lines: Sequence[LogLine] = (),
    logs_read: bool = False,
    controller_ready: bool = True,
) -> list[Finding]:
    """Suspended, failing, stalled or stale GitRepository (pure)."""
    subject = ref("GitRepository", repo)
    name, ns = str(meta(repo).get("name", "")), str(meta(repo).get("namespace", ""))
    ready = condition(repo, "Ready")
    out: list[Finding] = []
    if spec(repo).get("suspend"):
        out.append(
            Finding(
                severity=WARNING,
                title="GitRepository ist ausgesetzt",
                cause="spec.suspend ist true: der source-controller holt keine neuen Commits.",
                evidence="spec.suspend: true",
                next_step=resume_step("GitRepository"),
                command=resume_commands("gitrepository", name, ns),
                subject=subject,
            )
        )
    if ready.get("status") == "False":
        title, cause, step = classify_git_failure(repo)
        errors = log_error_lines(log_lines)
        out.append(
            Finding(
                severity=ERROR,
                title=title,
                cause=cause,
                evidence=cond_text(ready) + (f"\nLog: {log_line_text(errors[-1])}" if errors else ""),
                next_step=step,
                command=secret_commands(repo) if title in CREDENTIAL_TITLES else _git_cmds(name, ns),
                subject=subject,
            )
        )
    if is_true(repo, "Stalled"):
        out.append(
            Finding(
                severity=ERROR,
                title="GitRepository hängt endgültig (Stalled)",
                cause="Der Controller versucht es nicht mehr von selbst (z. B. ungültige Konfiguration).",
                evidence=cond_text(condition(repo, "Stalled")),
                next_step="Manifest im Git korrigieren und committen.",
                command=_git_cmds(name, ns),
                subject=subject,
            )
        )
    stale = stale_finding(
        repo, now=now, log_lines=log_lines, logs_read=logs_read, controller_ready=controller_ready
    )
    return out + ([stale] if stale else [])


def stale_finding(
    repo: Obj,
    *,
    now: datetime,
    log_lines: Sequence[LogLine] = (),
    logs_read: bool = False,
    controller_ready: bool = True,
) -> Finding | None:
    """The artifact and every other sign of life are older than ``STALE_INTERVALS`` intervals (pure).

    An unchanged artifact alone is normal when nobody committed; only with the controller's log (or
    a controller that is down) is "no fetch for a long time" a real finding.
    """
    interval = parse_interval(spec(repo).get("interval"))
    seen = _last_seen(repo, log_lines)
    if interval is None or seen is None or spec(repo).get("suspend"):
        return None
    age = now - seen
    if age <= interval * STALE_INTERVALS:
        return None
    name, ns = str(meta(repo).get("name", "")), str(meta(repo).get("namespace", ""))
    art = status(repo).get("artifact") or {}
    evidence = (
        f"artifact.lastUpdateTime {art.get('lastUpdateTime', '-')} (vor {german_age(age)}), Intervall "
        f"{spec(repo).get('interval')}, Revision {art.get('revision', '-')}"
    )
    if not controller_ready:
        return Finding(
            severity=WARNING,
            title="Quelle wird nicht mehr abgeholt",
            cause="Der source-controller läuft nicht; seit dem letzten Abruf ist mehr als das Doppelte "
            "des Intervalls vergangen.",
            evidence=evidence,
            next_step="Zuerst den source-controller wieder zum Laufen bringen (siehe Befund zum Controller).",
            command=f"kubectl get deploy,pods -n {settings().flux_namespace} -l app=source-controller",
            subject=ref("GitRepository", repo),
        )
    if logs_read:
        return Finding(
            severity=WARNING,
            title="Quelle wird nicht mehr abgeholt",
            cause="Weder Artefakt noch Controller-Log zeigen einen Abruf in den letzten zwei Intervallen: "
            "der source-controller verarbeitet dieses Objekt nicht (hängt, überlastet oder beobachtet den "
            "Namespace nicht).",
            evidence=evidence + "; keine Log-Zeile in dieser Zeit",
            next_step="Controller-Logs prüfen und einen Abgleich anstoßen.",
            command=_git_cmds(name, ns),
            subject=ref("GitRepository", repo),
        )
    return Finding(
        severity=INFO,
        title="Artefakt länger nicht erneuert",
        cause="Ohne neue Commits ist das normal; gab es Commits, holt der source-controller nicht ab.",
        evidence=evidence + "; Controller-Log nicht lesbar",
        next_step="Mit dem letzten Commit im Git vergleichen.",
        command=_git_cmds(name, ns),
        subject=ref("GitRepository", repo),
    )


def log_findings(repo: Obj, log_lines: Sequence[LogLine]) -> list[Finding]:
    """Error lines for a GitRepository that is Ready now: still failing now and then, or fixed (pure)."""
    errors = log_error_lines(log_lines)
    if not errors or condition(repo, "Ready").get("status") == "False":
        return []  # a failing repo carries the newest error line in its own finding
    since = parse_time(condition(repo, "Ready").get("lastTransitionTime"))
    newest = errors[-1].time
    name, ns = meta(repo).get("name", ""), meta(repo).get("namespace", "")
    command = f"{_logs_cmd()}\nflux logs --kind=GitRepository --name={name} -n {ns}"
    evidence = f"{plural(len(errors), 'Fehlerzeile', 'Fehlerzeilen')}, zuletzt: {log_line_text(errors[-1])}"
    # a condition's lastTransitionTime has whole seconds, a log line fractions of one: an error in the same
    # second as the transition to Ready came before it (every failed fetch sets Ready=False)
    if since and newest and newest.replace(microsecond=0) <= since:
        return [
            Finding(
                severity=INFO,
                title="Frühere Fehler im Log des source-controllers",
                cause="Der Abruf schlug früher fehl und ist seitdem wieder erfolgreich.",
                evidence=evidence,
                next_step="Nichts zu tun, solange der Fehler nicht wiederkehrt.",
                command=command,
                subject=ref("GitRepository", repo),
            )
        ]
    return [
        Finding(
            severity=WARNING,
            title="Fehler im Log des source-controllers",
            cause="Die Quelle ist bereit, aber Abrufe schlagen zeitweise fehl (z. B. instabiles Netz).",
            evidence=evidence,
            next_step="Log-Zeilen lesen; tritt der Fehler wiederholt auf, Ursache wie bei einem Abruffehler "
            "suchen.",
            command=command,
            subject=ref("GitRepository", repo),
        )
    ]


def with_sandbox_token(findings: list[Finding], token_file: str) -> list[Finding]:
    """On the sandbox (``token_file`` found beside its kubeconfig), the credential findings also say where
    the valid token is; on any other cluster they are unchanged (pure)."""
    if not token_file:
        return findings
    note = f" In dieser Sandbox steht das gültige Token in `{token_file}`."
    return [replace(f, next_step=f.next_step + note) if f.title in CREDENTIAL_TITLES else f for f in findings]
