"""Interpretation for "Zertifikats-Probleme": the cert-manager chain of each Certificate.

Pure functions from gathered plain dicts (reference section 10) to :class:`Finding` lists, and
:func:`diagnose_certificates` over a gathered :class:`runbook_lib.diagnose.certificates.CertificatesState`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from runbook_lib.diagnose.common import cond_text, event_text, ref, slot_finding, warning_events
from runbook_lib.diagnose.model import ERROR, INFO, WARNING, Diagnosis, Finding
from runbook_lib.durations import german_age, parse_time
from runbook_lib.objects import condition, is_true, meta, spec, status

if TYPE_CHECKING:
    from runbook_lib.diagnose.certificates import CertChain, CertificatesState

TITLE = "Zertifikats-Probleme"
#: warn this long before notAfter: two weeks leave time to fix an ACME problem before the outage
EXPIRY_WARNING = timedelta(days=14)
#: renewalTime may pass by this much before it counts as overdue (issuance takes a few minutes)
RENEWAL_GRACE = timedelta(hours=1)
FAILED_STATES = ("invalid", "errored", "expired")


def _cmds(cert: Mapping[str, Any]) -> str:
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
    """The ``cert-manager.io/certificate-revision`` annotation of a CertificateRequest."""
    raw = (meta(request).get("annotations") or {}).get("cert-manager.io/certificate-revision")
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
    cert: Mapping[str, Any], earlier: Iterable[Finding], *, events: Iterable[Mapping[str, Any]] = ()
) -> list[Finding]:
    """At most one hint for a settled Certificate: an earlier issuance failed and is fixed now (pure).

    ``earlier`` are the findings the rules gave for the chain of the earlier attempt.
    """
    if not is_settled(cert):
        return []
    earlier = list(earlier)
    st, issuing = status(cert), condition(cert, "Issuing")
    attempts = int(st.get("failedIssuanceAttempts") or 0)
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
    requests = sorted(
        {f.subject.split("/", 1)[1] for f in earlier if f.subject.startswith("CertificateRequest ")}
    )
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
            INFO,
            "Frühere fehlgeschlagene Ausstellung, inzwischen behoben",
            "Das Zertifikat ist bereit und passt zur aktuellen Fassung des Certificates; die "
            "Fehlschläge gehören zu einer früheren Fassung bzw. Revision.",
            "\n".join(lines),
            "Nichts zu tun." + cleanup,
            f"kubectl describe certificate {name} -n {ns}\nkubectl get certificaterequests -n {ns}",
            ref("Certificate", cert),
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
    attempts = int(st.get("failedIssuanceAttempts") or 0)
    warn = warning_events(events)
    extra = f"\nEvent: {event_text(warn[-1])}" if warn else ""
    if issuing.get("status") == "False" or attempts:
        out.append(
            Finding(
                ERROR,
                "Ausstellung fehlgeschlagen",
                f"cert-manager konnte das Zertifikat nicht ausstellen ({attempts} fehlgeschlagene "
                f"Versuch(e), letzter {st.get('lastFailureTime', '-')}); er versucht es mit wachsendem "
                "Abstand erneut.",
                "\n".join(x for x in (cond_text(issuing), cond_text(ready)) if x) + extra,
                "Ursache in CertificateRequest/Order/Challenge beheben (siehe unten). " + renew_step(cert),
                _cmds(cert) + "\n" + renew_commands(cert),
                subject,
            )
        )
    elif ready.get("status") == "False" and ready.get("reason") == "Expired":
        out.append(
            Finding(
                ERROR,
                "Zertifikat abgelaufen",
                "notAfter liegt in der Vergangenheit; die Erneuerung ist nicht gelungen.",
                cond_text(ready) + extra,
                "Kette prüfen. " + renew_step(cert),
                _cmds(cert) + "\n" + renew_commands(cert),
                subject,
            )
        )
    elif ready.get("status") != "True":
        issuing_now = issuing.get("status") == "True"
        out.append(
            Finding(
                WARNING,
                "Zertifikat nicht bereit" + (" (wird ausgestellt)" if issuing_now else ""),
                "Die Ausstellung läuft noch; hängt sie, liegt die Ursache weiter unten in der Kette."
                if issuing_now
                else f"cert-manager meldet {ready.get('reason') or 'keinen Ready-Status'}.",
                "\n".join(x for x in (cond_text(ready), cond_text(issuing)) if x) + extra
                or "keine Ready-Condition",
                "CertificateRequest, Order und Challenge prüfen.",
                _cmds(cert),
                subject,
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
                ERROR,
                "Zertifikat abgelaufen",
                f"Seit {german_age(now - not_after)} abgelaufen.",
                evidence,
                "Kette prüfen. " + renew_step(cert),
                renew_cmd,
                subject,
            )
        ]
    if not_after - now <= EXPIRY_WARNING:
        return [
            Finding(
                WARNING,
                f"Zertifikat läuft in {german_age(not_after - now)} ab",
                "Die Erneuerung hätte längst stattfinden sollen; bleibt sie aus, fällt TLS aus.",
                evidence,
                "Erneuerung prüfen bzw. mit `cmctl renew` oder `kubectl cert-manager renew` anstoßen.",
                renew_cmd,
                subject,
            )
        ]
    if renewal is not None and now - renewal > RENEWAL_GRACE and not is_true(cert, "Issuing"):
        return [
            Finding(
                WARNING,
                "Erneuerung überfällig",
                f"renewalTime ist seit {german_age(now - renewal)} vorbei, aber keine Ausstellung läuft.",
                evidence,
                "cert-manager-Logs prüfen; Erneuerung mit `cmctl renew` oder `kubectl cert-manager renew` "
                "anstoßen.",
                renew_cmd,
                subject,
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
            ERROR,
            f"Secret {secret} fehlt",
            "Das Zertifikat gilt als bereit, aber sein Secret existiert nicht (gelöscht).",
            f"kein Secret {ns}/{secret}",
            "Neu ausstellen lassen: das fehlende Secret löst die Ausstellung von selbst aus; sofort mit "
            "`cmctl renew` oder `kubectl cert-manager renew`.",
            f"kubectl get secret {secret} -n {ns}\n" + renew_commands(cert),
            ref("Certificate", cert),
        )
    ]


def issuer_findings(cert: Mapping[str, Any], issuer: Mapping[str, Any] | None) -> list[Finding]:
    """The referenced Issuer/ClusterIssuer is missing or not ready (pure)."""
    iref = spec(cert).get("issuerRef") or {}
    kind, name = str(iref.get("kind") or "Issuer"), str(iref.get("name") or "")
    ns = meta(cert).get("namespace")
    where = name if kind == "ClusterIssuer" else f"{ns}/{name}"
    describe = f"kubectl describe {kind.lower()} {name}" + ("" if kind == "ClusterIssuer" else f" -n {ns}")
    if issuer is None:
        return [
            Finding(
                ERROR,
                f"{kind} {name} fehlt",
                "Das Zertifikat verweist auf einen Issuer, den es nicht "
                "gibt; cert-manager stellt nichts aus.",
                f"spec.issuerRef: {kind}/{name}, nicht gefunden",
                "Issuer anlegen (im Git) oder issuerRef korrigieren.",
                f"kubectl get {kind.lower()}s -A",
                f"{kind} {where}",
            )
        ]
    ready = condition(issuer, "Ready")
    if ready.get("status") == "True":
        return []
    return [
        Finding(
            ERROR,
            f"{kind} {name} nicht bereit",
            "Der Issuer kann nicht ausstellen (z. B. ACME-Konto "
            "nicht registriert, ungültige Konfiguration, CA-Secret fehlt).",
            cond_text(ready) or "keine Ready-Condition",
            "Meldung lesen und die Issuer-Konfiguration im Git korrigieren.",
            describe,
            f"{kind} {where}",
        )
    ]


def request_findings(cr: Mapping[str, Any] | None) -> list[Finding]:
    """CertificateRequest denied, invalid, failed or not approved (pure)."""
    if cr is None:
        return []
    subject, name, ns = ref("CertificateRequest", cr), meta(cr).get("name"), meta(cr).get("namespace")
    cmd = f"kubectl get certificaterequests -n {ns}\nkubectl describe certificaterequest {name} -n {ns}"
    ready = condition(cr, "Ready")
    if is_true(cr, "Denied"):
        return [
            Finding(
                ERROR,
                "CertificateRequest abgelehnt",
                "Ein Approver (z. B. approver-policy) hat die Anfrage abgelehnt.",
                cond_text(condition(cr, "Denied")),
                "Richtlinie bzw. Zertifikatsangaben prüfen.",
                cmd,
                subject,
            )
        ]
    if is_true(cr, "InvalidRequest"):
        return [
            Finding(
                ERROR,
                "CertificateRequest ungültig",
                "Die Anfrage ist für den Issuer ungültig.",
                cond_text(condition(cr, "InvalidRequest")),
                "dnsNames/Issuer im Certificate prüfen.",
                cmd,
                subject,
            )
        ]
    if ready.get("status") == "False" and ready.get("reason") == "Failed":
        return [
            Finding(
                ERROR,
                "CertificateRequest fehlgeschlagen",
                "Der Issuer hat die Ausstellung abgebrochen.",
                cond_text(ready),
                "Meldung lesen; Order/Challenge bzw. Issuer prüfen.",
                cmd,
                subject,
            )
        ]
    if not condition(cr, "Approved") and ready.get("status") != "True":
        return [
            Finding(
                WARNING,
                "CertificateRequest nicht genehmigt",
                "Niemand hat die Anfrage genehmigt "
                "(eingebauter Approver abgeschaltet, approver-policy ohne passende Regel).",
                cond_text(ready) or "keine Approved-Condition",
                f"Approver prüfen oder genehmigen: `cmctl approve {name} -n {ns}`.",
                cmd,
                subject,
            )
        ]
    return []


def order_findings(order: Mapping[str, Any] | None) -> list[Finding]:
    """An ACME Order that ended in invalid, errored or expired (pure)."""
    state = str(status(order).get("state", ""))
    if order is None or state not in FAILED_STATES:
        return []
    name, ns = meta(order).get("name"), meta(order).get("namespace")
    return [
        Finding(
            ERROR,
            f"ACME-Order {state}",
            "Der ACME-Server hat die Bestellung verworfen (meist nach einer fehlgeschlagenen Challenge).",
            f"state: {state}; reason: {status(order).get('reason', '')}",
            "Challenge-Ursache beheben; cert-manager legt danach eine neue Order an.",
            f"kubectl describe order {name} -n {ns}",
            ref("Order", order),
        )
    ]


def challenge_cause(reason: str, domain: str) -> str:
    """German cause of a failed ACME validation, from the ACME error in the reason (pure)."""
    text = reason.lower()
    if "nxdomain" in text or "dns problem" in text or "no valid a records" in text:
        return f"Für {domain} gibt es keinen (richtigen) DNS-Eintrag: der ACME-Server findet den Host nicht."
    if "connection refused" in text or "timeout" in text or "connection reset" in text:
        return f"Der ACME-Server erreicht {domain} auf Port 80 nicht (Firewall, Load Balancer, Ingress)."
    if "404" in text or "unauthorized" in text or "invalid response" in text:
        return (
            f"Unter http://{domain}/.well-known/acme-challenge/ antwortet nicht der Solver von cert-manager "
            "(falscher Ingress, DNS zeigt auf einen anderen Server)."
        )
    return "Der ACME-Server konnte die Domain nicht validieren."


def challenge_findings(challenges: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Challenges that fail: HTTP-01 propagation (Ingress/DNS), DNS-01, or a final ACME verdict (pure)."""
    out = []
    for ch in challenges:
        st, sp = status(ch), spec(ch)
        state, reason = str(st.get("state", "")), str(st.get("reason", ""))
        ctype, domain = str(sp.get("type", "")).upper(), sp.get("dnsName", "")
        name, ns = meta(ch).get("name"), meta(ch).get("namespace")
        cmd = f"kubectl get challenges -n {ns}\nkubectl describe challenge {name} -n {ns}"
        evidence = f"state: {state or '-'}, presented: {st.get('presented', False)}; reason: {reason}"
        if state == "valid":
            continue
        if state in FAILED_STATES:
            out.append(
                Finding(
                    ERROR,
                    f"{ctype}-Challenge für {domain} endgültig fehlgeschlagen",
                    challenge_cause(reason, str(domain)),
                    evidence,
                    "Ursache (DNS, Ingress, Firewall) beheben; cert-manager versucht es mit einer neuen "
                    "Order erneut.",
                    cmd + f"\ndig +short {domain}",
                    ref("Challenge", ch),
                )
            )
        elif "HTTP-01" in reason or (ctype == "HTTP-01" and reason):
            token = sp.get("token", "<token>")
            out.append(
                Finding(
                    ERROR,
                    f"HTTP-01-Challenge für {domain} schlägt fehl",
                    f"cert-manager erreicht http://{domain}/.well-known/acme-challenge/… nicht: der "
                    "DNS-Eintrag zeigt nicht auf den Ingress-Controller, die Ingress-Klasse des Solvers "
                    "(nginx) fehlt, oder Port 80 ist von außen gesperrt.",
                    evidence,
                    f"DNS von {domain} und den Ingress-Controller prüfen; die Challenge läuft danach von "
                    "selbst weiter.",
                    cmd + f"\ndig +short {domain}\n"
                    f"curl -v http://{domain}/.well-known/acme-challenge/{token}",
                    ref("Challenge", ch),
                )
            )
        elif "DNS-01" in reason or (ctype == "DNS-01" and reason):
            out.append(
                Finding(
                    ERROR,
                    f"DNS-01-Challenge für {domain} schlägt fehl",
                    "Der TXT-Eintrag _acme-challenge wird nicht angelegt oder nicht sichtbar (Zugangsdaten "
                    "des DNS-Providers, falsche Zone, langsame Propagation).",
                    evidence,
                    "Zugangsdaten und Zone des DNS-Solvers prüfen.",
                    cmd + f"\ndig +short TXT _acme-challenge.{domain}",
                    ref("Challenge", ch),
                )
            )
    return out


def chain_findings(chain: CertChain, *, now: datetime) -> list[Finding]:
    """Every rule over one gathered chain, plus a hint per link that could not be read (pure)."""
    cert = chain.cert
    findings = certificate_findings(cert, now=now, events=chain.events.value or [])
    findings += secret_finding(cert, chain.secret.value if chain.secret.ok else None)
    if chain.issuer.ok:
        findings += issuer_findings(cert, chain.issuer.value)
    links = request_findings(chain.request.value)
    links += order_findings(chain.order.value)
    links += challenge_findings(chain.challenges.value or [])
    if is_settled(cert):  # only the current revision's chain counts
        findings += history_finding(
            cert,
            links if is_earlier_attempt(cert, chain.request.value) else [],
            events=chain.events.value or [],
        )
    if not is_earlier_attempt(cert, chain.request.value):
        findings += links
    subject = ref("Certificate", cert)
    for what, slot in (
        ("Secret", chain.secret),
        ("Issuer", chain.issuer),
        ("CertificateRequest", chain.request),
        ("Order", chain.order),
        ("Challenges", chain.challenges),
        ("Events", chain.events),
    ):
        findings += slot_finding(what, slot, _cmds(cert), subject)
    return findings


def diagnose_certificates(state: CertificatesState) -> Diagnosis:
    """Interpret a gathered :class:`~runbook_lib.diagnose.certificates.CertificatesState` (pure)."""
    if not state.installed:
        finding = Finding(
            ERROR,
            "cert-manager ist nicht installiert",
            "Die CRDs von cert-manager fehlen im Cluster.",
            "API-Gruppe cert-manager.io/v1 unbekannt",
            "cert-manager installieren (im Git, z. B. als HelmRelease) und den Abgleich prüfen.",
            "kubectl get crds | grep cert-manager",
        )
        return Diagnosis(TITLE, (finding,), ("cert-manager-CRDs",))
    findings: list[Finding] = []
    for chain in state.chains:
        findings += chain_findings(chain, now=state.now)
    if not state.chains:
        findings.append(
            Finding(
                INFO,
                "Keine Zertifikate gefunden",
                "In diesem Bereich gibt es keine Certificate-Objekte.",
                "kubectl get certificates liefert nichts",
                "Namespace prüfen.",
                "kubectl get certificates -A",
            )
        )
    checked = tuple(f"Certificate {c.ref}" for c in state.chains) or ("Certificates",)
    return Diagnosis(TITLE, tuple(findings), checked)
