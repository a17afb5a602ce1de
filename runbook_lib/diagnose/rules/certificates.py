"""Interpretation for "Zertifikats-Probleme": the Certificate itself (Ready, Issuing, expiry, Secret).

Pure functions from gathered objects (dicts, docs/flux-facts.md §10) to :class:`Finding` lists; the links
below the Certificate (Issuer, CertificateRequest, Order, Challenge) are in :mod:`.issuance`, and the
case module :mod:`runbook_lib.diagnose.certificates` applies both to each gathered chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from runbook_lib.diagnose.common import cond_text, event_text, ref, warning_events
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Finding
from runbook_lib.durations import german_age, parse_time
from runbook_lib.objects import condition, is_true, meta, spec, status

TITLE = "Zertifikats-Probleme"
#: warn this long before notAfter: two weeks leave time to fix an ACME problem before the outage
EXPIRY_WARNING = timedelta(days=14)
#: renewalTime may pass by this much before it counts as overdue (issuance takes a few minutes)
RENEWAL_GRACE = timedelta(hours=1)
#: the Certificate revision a CertificateRequest was made for (cert-manager sets it on every request)
REVISION_ANNOTATION = "cert-manager.io/certificate-revision"
#: cert-manager's back-off after a failed issuance: 1h, doubled per failed attempt, at most 32h
#: (docs/flux-facts.md §10)
BACKOFF_START = timedelta(hours=1)
BACKOFF_MAX = timedelta(hours=32)


def issuer_ref(cert: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, name) of the issuer; the kind defaults to Issuer as in cert-manager."""
    iref = spec(cert).get("issuerRef") or {}
    return str(iref.get("kind") or "Issuer"), str(iref.get("name") or "")


def cert_commands(cert: Mapping[str, Any]) -> str:
    """Where to look at one Certificate and its requests (kubectl and cmctl)."""
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    return (
        f"kubectl get certificates -A\nkubectl describe certificate {name} -n {ns}\n"
        f"kubectl get certificaterequests -A\ncmctl status certificate {name} -n {ns}"
    )


def renew_commands(cert: Mapping[str, Any]) -> str:
    """Trigger a re-issue now: cmctl, or the same as kubectl plugin (sets Issuing=True)."""
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    return f"cmctl renew {name} -n {ns}\nkubectl cert-manager renew {name} -n {ns}"


def renew_step(cert: Mapping[str, Any]) -> str:
    """What really starts a new issuance, and what does not (German)."""
    secret, ns = spec(cert).get("secretName"), meta(cert).get("namespace")
    return (
        "Sofort neu ausstellen lassen: `cmctl renew` oder ohne cmctl das kubectl-Plugin "
        "`kubectl cert-manager renew` (beide setzen Issuing=True). Nur mit kubectl: "
        f"`kubectl delete secret {secret} -n {ns}` löst eine Ausstellung aus (Secret fehlt, DoesNotExist), "
        "aber bis sie gelingt, fehlt das Zertifikat ganz, und nach einem Fehlschlag wartet cert-manager "
        "erst die Wartezeit ab. Eine fehlgeschlagene CertificateRequest zu löschen löst nichts aus. Ändert "
        "ein Commit das Certificate, stellt cert-manager ohnehin sofort neu aus."
    )


def failed_attempts(cert: Mapping[str, Any]) -> int:
    """``status.failedIssuanceAttempts`` (0 when absent or unreadable)."""
    try:
        return int(status(cert).get("failedIssuanceAttempts") or 0)
    except (TypeError, ValueError):
        return 0


def attempts_text(count: int) -> str:
    """``1 fehlgeschlagener Versuch`` / ``3 fehlgeschlagene Versuche``."""
    return f"{count} fehlgeschlagener Versuch" if count == 1 else f"{count} fehlgeschlagene Versuche"


def next_attempt(cert: Mapping[str, Any]) -> datetime | None:
    """When cert-manager tries again by itself: :data:`BACKOFF_START` doubled per failed attempt, at most
    :data:`BACKOFF_MAX`, after ``status.lastFailureTime`` (docs/flux-facts.md §10); None without a failure."""
    last, attempts = parse_time(status(cert).get("lastFailureTime")), failed_attempts(cert)
    if last is None:
        return None
    return last + min(BACKOFF_START * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def retry_text(cert: Mapping[str, Any], *, now: datetime) -> str:
    """What cert-manager does next by itself after failed issuances (German, one sentence)."""
    attempts, upcoming = failed_attempts(cert), next_attempt(cert)
    done = f"bisher {attempts_text(attempts)}" if attempts else "nach dem Fehlschlag"
    if upcoming is None:
        when = "mit wachsendem Abstand"
    elif upcoming <= now:
        when = "jetzt (die Wartezeit ist vorbei)"
    else:
        when = f"frühestens {upcoming:%Y-%m-%d %H:%M} UTC (in {german_age(upcoming - now)})"
    return f"cert-manager versucht es von selbst erneut ({done}), der nächste Versuch {when}."


def reissue_step(cert: Mapping[str, Any]) -> str:
    """After the fix: how the Certificate gets issued without waiting for the next attempt (German)."""
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    return (
        "Ändert der Commit das Certificate, stellt cert-manager sofort neu aus; sonst ohne Warten: "
        f"`cmctl renew {name} -n {ns}` (ohne cmctl: `kubectl cert-manager renew {name} -n {ns}`)."
    )


def _generation(obj: Mapping[str, Any] | None, field: str = "") -> int | None:
    raw = meta(obj).get("generation") if not field else (obj or {}).get(field)
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def issuing_is_stale(cert: Mapping[str, Any]) -> bool:
    """The Issuing condition was written for an older generation of the Certificate."""
    issuing, generation = condition(cert, "Issuing"), _generation(cert)
    observed = _generation(issuing, "observedGeneration")
    return bool(issuing) and generation is not None and observed is not None and observed < generation


def is_settled(cert: Mapping[str, Any]) -> bool:
    """Ready=True for the current generation and no issuance of the current generation running or
    failed: then failed requests, orders, challenges and an older Issuing condition are history."""
    ready, issuing = condition(cert, "Ready"), condition(cert, "Issuing")
    if ready.get("status") != "True":
        return False
    generation, observed = _generation(cert), _generation(ready, "observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return False
    return not issuing or (issuing_is_stale(cert) and issuing.get("status") != "True")


def request_revision(request: Mapping[str, Any] | None) -> int | None:
    """The :data:`REVISION_ANNOTATION` of a CertificateRequest; None when missing or unreadable."""
    raw = (meta(request).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def is_earlier_attempt(cert: Mapping[str, Any], request: Mapping[str, Any] | None) -> bool:
    """The request is not the one of the Certificate's current revision, and the Certificate is settled:
    it belongs to an earlier (given up) issuance."""
    if request is None or not is_settled(cert):
        return False
    revision = request_revision(request)
    current = status(cert).get("revision")
    return revision is None or current is None or revision != int(current)


def history_finding(
    cert: Mapping[str, Any],
    earlier: Iterable[Finding],
    *,
    failed_requests: Iterable[Mapping[str, Any]] = (),
    events: Iterable[Mapping[str, Any]] = (),
) -> list[Finding]:
    """At most one hint for a settled Certificate: an earlier issuance failed and is fixed now (pure).

    ``earlier`` are the findings the rules gave for the chain of the earlier attempt;
    ``failed_requests`` its CertificateRequests that failed (offered for an optional clean-up).
    """
    if not is_settled(cert):
        return []
    earlier = list(earlier)
    st, issuing = status(cert), condition(cert, "Issuing")
    attempts = failed_attempts(cert)
    stale = issuing if issuing and issuing.get("status") == "False" else {}
    if not (earlier or stale or attempts):
        return []
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    lines = [cond_text(condition(cert, "Ready")) + f" (Generation {_generation(cert) or '-'})"]
    if stale:
        lines.append(cond_text(stale) + f" (veraltet: observedGeneration {stale.get('observedGeneration')})")
    if attempts:
        lines.append(f"failedIssuanceAttempts {attempts}, lastFailureTime {st.get('lastFailureTime', '-')}")
    lines += [f"{f.subject}: {f.title}" for f in earlier]
    requests = sorted({str(meta(r).get("name")) for r in failed_requests})
    cleanup = (
        " Aufräumen ist optional: "
        + ", ".join(f"`kubectl delete certificaterequest {r} -n {ns}`" for r in requests)
        + " (Order und Challenge gehören zur Anfrage und werden mit gelöscht)."
        if requests
        else ""
    )
    warn = warning_events(events)
    if warn:
        lines.append(f"Event: {event_text(warn[-1])}")
    return [
        Finding(
            severity=INFO,
            title="Frühere fehlgeschlagene Ausstellung, inzwischen behoben",
            cause=(
                "Das Zertifikat ist bereit und passt zur aktuellen Fassung des Certificates; die "
                "Fehlschläge gehören zu einer früheren Fassung bzw. Revision."
            ),
            evidence="\n".join(lines),
            next_step="Nichts zu tun." + cleanup,
            command=f"kubectl describe certificate {name} -n {ns}\nkubectl get certificaterequests -n {ns}",
            subject=ref("Certificate", cert),
        )
    ]


def certificate_findings(
    cert: Mapping[str, Any], *, now: datetime, events: Iterable[Mapping[str, Any]] = ()
) -> list[Finding]:
    """Ready, Issuing, failed attempts, expiry and renewal of one Certificate (pure).

    A settled Certificate (:func:`is_settled`) has no Issuing problem: an older failure is history
    (:func:`history_finding`).
    """
    if is_settled(cert):
        return expiry_findings(cert, now=now)
    subject, out = ref("Certificate", cert), []
    ready, issuing = condition(cert, "Ready"), condition(cert, "Issuing")
    st = status(cert)
    attempts = failed_attempts(cert)
    warn = warning_events(events)
    extra = f"\nEvent: {event_text(warn[-1])}" if warn else ""
    if issuing.get("status") == "False" or attempts:
        out.append(
            Finding(
                severity=ERROR,
                title="Ausstellung fehlgeschlagen",
                cause=(
                    "cert-manager konnte das Zertifikat nicht ausstellen (zuletzt "
                    f"{st.get('lastFailureTime', '-')}). {retry_text(cert, now=now)}"
                ),
                evidence="\n".join(x for x in (cond_text(issuing), cond_text(ready)) if x) + extra,
                next_step="Ursache in CertificateRequest/Order/Challenge beheben (siehe unten). "
                + renew_step(cert),
                command=cert_commands(cert) + "\n" + renew_commands(cert),
                subject=subject,
            )
        )
    elif ready.get("status") == "False" and ready.get("reason") == "Expired":
        out.append(
            Finding(
                severity=ERROR,
                title="Zertifikat abgelaufen",
                cause="notAfter liegt in der Vergangenheit; die Erneuerung ist nicht gelungen.",
                evidence=cond_text(ready) + extra,
                next_step="Kette prüfen. " + renew_step(cert),
                command=cert_commands(cert) + "\n" + renew_commands(cert),
                subject=subject,
            )
        )
    elif ready.get("status") != "True":
        issuing_now = issuing.get("status") == "True"
        out.append(
            Finding(
                severity=WARNING,
                title="Zertifikat nicht bereit" + (" (wird ausgestellt)" if issuing_now else ""),
                cause=(
                    "Die Ausstellung läuft noch; hängt sie, liegt die Ursache weiter unten in der Kette."
                    if issuing_now
                    else f"cert-manager meldet {ready.get('reason') or 'keinen Ready-Status'}."
                ),
                evidence="\n".join(x for x in (cond_text(ready), cond_text(issuing)) if x) + extra
                or "keine Ready-Condition",
                next_step="CertificateRequest, Order und Challenge prüfen.",
                command=cert_commands(cert),
                subject=subject,
            )
        )
    return out + expiry_findings(cert, now=now)


def expiry_findings(cert: Mapping[str, Any], *, now: datetime) -> list[Finding]:
    """Expired, expiring within :data:`EXPIRY_WARNING`, or renewal overdue (pure)."""
    st, subject = status(cert), ref("Certificate", cert)
    not_after, renewal = parse_time(st.get("notAfter")), parse_time(st.get("renewalTime"))
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    renew_cmd = f"kubectl describe certificate {name} -n {ns}\n" + renew_commands(cert)
    if not_after is None:
        return []
    evidence = f"notAfter {st.get('notAfter')}, renewalTime {st.get('renewalTime', '-')}"
    if not_after <= now:
        if condition(cert, "Ready").get("reason") == "Expired":
            return []  # the Ready finding says it already
        return [
            Finding(
                severity=ERROR,
                title="Zertifikat abgelaufen",
                cause=f"Seit {german_age(now - not_after)} abgelaufen.",
                evidence=evidence,
                next_step="Kette prüfen. " + renew_step(cert),
                command=renew_cmd,
                subject=subject,
            )
        ]
    if not_after - now <= EXPIRY_WARNING:
        return [
            Finding(
                severity=WARNING,
                title=f"Zertifikat läuft in {german_age(not_after - now)} ab",
                cause="Die Erneuerung hätte längst stattfinden sollen; bleibt sie aus, fällt TLS aus.",
                evidence=evidence,
                next_step="Erneuerung prüfen bzw. mit `cmctl renew` oder `kubectl cert-manager renew` "
                "anstoßen.",
                command=renew_cmd,
                subject=subject,
            )
        ]
    if renewal is not None and now - renewal > RENEWAL_GRACE and not is_true(cert, "Issuing"):
        return [
            Finding(
                severity=WARNING,
                title="Erneuerung überfällig",
                cause=f"renewalTime ist seit {german_age(now - renewal)} vorbei, aber keine Ausstellung "
                "läuft.",
                evidence=evidence,
                next_step="cert-manager-Logs prüfen; Erneuerung mit `cmctl renew` oder "
                "`kubectl cert-manager renew` anstoßen.",
                command=renew_cmd,
                subject=subject,
            )
        ]
    return []


def secret_finding(cert: Mapping[str, Any], exists: bool | None) -> list[Finding]:
    """A Ready Certificate whose Secret is gone: TLS breaks until cert-manager re-issues (pure)."""
    if exists is not False or condition(cert, "Ready").get("status") != "True":
        return []
    secret, ns = spec(cert).get("secretName"), meta(cert).get("namespace")
    return [
        Finding(
            severity=ERROR,
            title=f"Secret {secret} fehlt",
            cause="Das Zertifikat gilt als bereit, aber sein Secret existiert nicht (gelöscht).",
            evidence=f"kein Secret {ns}/{secret}",
            next_step=(
                "Neu ausstellen lassen: das fehlende Secret löst die Ausstellung von selbst aus; sofort mit "
                "`cmctl renew` oder `kubectl cert-manager renew`."
            ),
            command=f"kubectl get secret {secret} -n {ns}\n" + renew_commands(cert),
            subject=ref("Certificate", cert),
        )
    ]
