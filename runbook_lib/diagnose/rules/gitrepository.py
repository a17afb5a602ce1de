"""Interpretation for "Flux synchronisiert nicht": GitRepository, Kustomizations, controllers, logs.

Pure functions from gathered plain dicts to :class:`Finding` lists (reference sections 2 and 4). The
guide's commands are ``flux get sources git``, ``kubectl logs -n flux-system -l app=source-controller``
and ``flux reconcile source git flux-system``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from runbook_lib.diagnose.common import (
    Obj,
    cond_text,
    log_error_lines,
    log_line_text,
    parse_interval,
    ref,
    resume_commands,
    resume_step,
)
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding
from runbook_lib.durations import german_age, parse_time
from runbook_lib.objects import condition, is_true, meta, spec, status

TITLE = "Flux synchronisiert nicht"
#: findings whose fix is a new Secret (their commands replace it with kubectl)
CREDENTIAL_TITLES = ("Git-Zugangsdaten fehlen", "Git-Authentifizierung fehlgeschlagen")
#: an artifact older than this many intervals counts as stale (one missed fetch can be a slow clone)
STALE_INTERVALS = 2

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


def _git_cmds(name: str, namespace: str) -> str:
    ns = f" -n {namespace}" if namespace != "flux-system" else ""
    return (
        f"flux get sources git{ns}\nkubectl logs -n flux-system -l app=source-controller\n"
        f"{_sync_cmd(name, namespace)}\nflux reconcile source git {name}{ns}"
    )


def _sync_cmd(name: str, namespace: str) -> str:
    """The `sync` runbook for a GitRepository (works without the flux CLI)."""
    flag = "" if namespace == "flux-system" else f" -p namespace {namespace}"
    return f"runbook run sync -p kind gitrepo -p name {name}{flag}"


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or (bool(re.match(r"^[\w.-]+@[\w.-]+:", url)) and "://" not in url)


def secret_commands(repo: Obj) -> str:
    """Replace the Git credentials Secret with kubectl (works everywhere), then sync the source."""
    secret = (spec(repo).get("secretRef") or {}).get("name") or "flux-system"
    name, ns = str(meta(repo).get("name", "")), str(meta(repo).get("namespace", "flux-system"))
    if _is_ssh(str(spec(repo).get("url", ""))):
        data = "--from-file=identity=<PRIVATE_KEY_FILE> --from-file=known_hosts=<KNOWN_HOSTS_FILE>"
    else:
        data = "--from-literal=username=git --from-literal=password=<TOKEN>"
    return (
        f"kubectl create secret generic {secret} -n {ns} {data} "
        "--dry-run=client -o yaml | kubectl apply -f -\n"
        f"{_sync_cmd(name, ns)}\n"
        f"flux reconcile source git {name}" + ("" if ns == "flux-system" else f" -n {ns}")
    )


def _secret_step(repo: Obj) -> str:
    """How to renew the credentials: complete flux and kubectl forms, then sync (German)."""
    secret = (spec(repo).get("secretRef") or {}).get("name") or "flux-system"
    name, ns = str(meta(repo).get("name", "")), str(meta(repo).get("namespace", "flux-system"))
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
        f"`{_sync_cmd(name, ns)}` (oder `flux reconcile source git {name}`). In der Sandbox steht das "
        "gültige Token in `DIR/git-token` (DIR: Verzeichnis der Sandbox)."
    )


def classify_git_failure(repo: Obj) -> tuple[str, str, str]:
    """(title, cause, next step) for a GitRepository whose Ready condition is False (pure)."""
    cond = condition(repo, "Ready")
    reason, message = str(cond.get("reason", "")), str(cond.get("message", ""))
    secret = (spec(repo).get("secretRef") or {}).get("name")
    ns = meta(repo).get("namespace", "flux-system")
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


def _last_seen(repo: Obj, log_records: Sequence[Obj]) -> datetime | None:
    """The latest sign of life: artifact update, Ready transition or a log line for this object."""
    times = [
        parse_time((status(repo).get("artifact") or {}).get("lastUpdateTime")),
        parse_time(condition(repo, "Ready").get("lastTransitionTime")),
    ]
    times += [parse_time(r.get("ts")) for r in log_records]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def git_repository_findings(
    repo: Obj,
    *,
    now: datetime,
    log_records: Sequence[Obj] = (),
    logs_read: bool = False,
    controller_ready: bool = True,
) -> list[Finding]:
    """Suspended, failing, stalled or stale GitRepository (pure)."""
    subject = ref("GitRepository", repo)
    name, ns = meta(repo).get("name", ""), meta(repo).get("namespace", "")
    ready = condition(repo, "Ready")
    out: list[Finding] = []
    if spec(repo).get("suspend"):
        out.append(
            Finding(
                WARNING,
                "GitRepository ist ausgesetzt",
                "spec.suspend ist true: der source-controller holt keine neuen Commits.",
                "spec.suspend: true",
                resume_step("GitRepository"),
                resume_commands("gitrepository", name, ns),
                subject,
            )
        )
    if ready.get("status") == "False":
        title, cause, step = classify_git_failure(repo)
        errors = log_error_lines(log_records)
        evidence = cond_text(ready) + (f"\nLog: {log_line_text(errors[-1])}" if errors else "")
        cmds = secret_commands(repo) if title in CREDENTIAL_TITLES else _git_cmds(name, ns)
        out.append(Finding(ERROR, title, cause, evidence, step, cmds, subject))
    if is_true(repo, "Stalled"):
        out.append(
            Finding(
                ERROR,
                "GitRepository hängt endgültig (Stalled)",
                "Der Controller versucht es nicht mehr von selbst (z. B. ungültige Konfiguration).",
                cond_text(condition(repo, "Stalled")),
                "Manifest im Git korrigieren und committen.",
                _git_cmds(name, ns),
                subject,
            )
        )
    stale = stale_finding(
        repo, now=now, log_records=log_records, logs_read=logs_read, controller_ready=controller_ready
    )
    return out + ([stale] if stale else [])


def stale_finding(
    repo: Obj,
    *,
    now: datetime,
    log_records: Sequence[Obj] = (),
    logs_read: bool = False,
    controller_ready: bool = True,
) -> Finding | None:
    """The artifact and every other sign of life are older than ``STALE_INTERVALS`` intervals (pure).

    An unchanged artifact alone is normal when nobody committed; only with the controller's log (or
    a controller that is down) is "no fetch for a long time" a real finding.
    """
    interval = parse_interval(spec(repo).get("interval"))
    seen = _last_seen(repo, log_records)
    if interval is None or seen is None or spec(repo).get("suspend"):
        return None
    age = now - seen
    if age <= interval * STALE_INTERVALS:
        return None
    name, ns = meta(repo).get("name", ""), meta(repo).get("namespace", "")
    art = status(repo).get("artifact") or {}
    evidence = (
        f"artifact.lastUpdateTime {art.get('lastUpdateTime', '-')} (vor {german_age(age)}), Intervall "
        f"{spec(repo).get('interval')}, Revision {art.get('revision', '-')}"
    )
    if not controller_ready:
        return Finding(
            WARNING,
            "Quelle wird nicht mehr abgeholt",
            "Der source-controller läuft nicht; seit dem letzten Abruf ist mehr als das Doppelte "
            "des Intervalls vergangen.",
            evidence,
            "Zuerst den source-controller wieder zum Laufen bringen (siehe Befund zum Controller).",
            "kubectl get deploy,pods -n flux-system -l app=source-controller",
            ref("GitRepository", repo),
        )
    if logs_read:
        return Finding(
            WARNING,
            "Quelle wird nicht mehr abgeholt",
            "Weder Artefakt noch Controller-Log zeigen einen Abruf in den letzten zwei Intervallen: "
            "der source-controller verarbeitet dieses Objekt nicht (hängt, überlastet oder "
            "beobachtet den Namespace nicht).",
            evidence + "; keine Log-Zeile in dieser Zeit",
            "Controller-Logs prüfen und einen Abgleich anstoßen.",
            _git_cmds(name, ns),
            ref("GitRepository", repo),
        )
    return Finding(
        INFO,
        "Artefakt länger nicht erneuert",
        "Ohne neue Commits ist das normal; gab es Commits, holt der source-controller nicht ab.",
        evidence + "; Controller-Log nicht lesbar",
        "Mit dem letzten Commit im Git vergleichen.",
        _git_cmds(name, ns),
        ref("GitRepository", repo),
    )


def log_findings(repo: Obj, log_records: Sequence[Obj]) -> list[Finding]:
    """Error lines for a GitRepository that is Ready now: still failing now and then, or fixed (pure)."""
    errors = log_error_lines(log_records)
    if not errors or condition(repo, "Ready").get("status") == "False":
        return []  # a failing repo carries the newest error line in its own finding
    since = parse_time(condition(repo, "Ready").get("lastTransitionTime"))
    newest = parse_time(errors[-1].get("ts"))
    name, ns = meta(repo).get("name", ""), meta(repo).get("namespace", "")
    cmd = (
        "kubectl logs -n flux-system -l app=source-controller\n"
        f"flux logs --kind=GitRepository --name={name} -n {ns}"
    )
    evidence = f"{len(errors)} Fehlerzeile(n), zuletzt: {log_line_text(errors[-1])}"
    if since and newest and newest <= since:
        return [
            Finding(
                INFO,
                "Frühere Fehler im Log des source-controllers",
                "Der Abruf schlug früher fehl und ist seitdem wieder erfolgreich.",
                evidence,
                "Nichts zu tun, solange der Fehler nicht wiederkehrt.",
                cmd,
                ref("GitRepository", repo),
            )
        ]
    return [
        Finding(
            WARNING,
            "Fehler im Log des source-controllers",
            "Die Quelle ist bereit, aber Abrufe schlagen zeitweise fehl (z. B. instabiles Netz).",
            evidence,
            "Log-Zeilen lesen; tritt der Fehler wiederholt auf, Ursache wie bei einem Abruffehler suchen.",
            cmd,
            ref("GitRepository", repo),
        )
    ]
