"""Interpretation for "Zertifikats-Probleme": the links below a Certificate (docs/flux-facts.md §10).

The Issuer or ClusterIssuer, the CertificateRequest, the ACME Order and its Challenges; pure functions
from gathered objects (dicts) to :class:`Finding` lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from runbook_lib.diagnose.common import cond_text, ref
from runbook_lib.diagnose.model import ERROR, WARNING, Finding, FindingText
from runbook_lib.diagnose.rules.certificates import issuer_ref, reissue_step, renew_commands, retry_text
from runbook_lib.objects import condition, is_true, meta, spec, status

#: ACME states an Order or a Challenge does not leave again
FAILED_STATES = ("invalid", "errored", "expired")


def issuer_findings(cert: Mapping[str, Any], issuer: Mapping[str, Any] | None) -> list[Finding]:
    """The referenced Issuer/ClusterIssuer is missing or not ready (pure)."""
    kind, name = issuer_ref(cert)
    ns = meta(cert).get("namespace")
    where = name if kind == "ClusterIssuer" else f"{ns}/{name}"
    describe = f"kubectl describe {kind.lower()} {name}" + ("" if kind == "ClusterIssuer" else f" -n {ns}")
    if issuer is None:
        return [
            Finding(
                severity=ERROR,
                title=f"{kind} {name} fehlt",
                cause=(
                    "Das Zertifikat verweist auf einen Issuer, den es nicht "
                    "gibt; cert-manager stellt nichts aus."
                ),
                evidence=f"spec.issuerRef: {kind}/{name}, nicht gefunden",
                next_step="Issuer anlegen (im Git) oder issuerRef korrigieren.",
                command=f"kubectl get {kind.lower()}s -A",
                subject=f"{kind} {where}",
            )
        ]
    ready = condition(issuer, "Ready")
    if ready.get("status") == "True":
        return []
    return [
        Finding(
            severity=ERROR,
            title=f"{kind} {name} nicht bereit",
            cause=(
                "Der Issuer kann nicht ausstellen (z. B. ACME-Konto "
                "nicht registriert, ungültige Konfiguration, CA-Secret fehlt)."
            ),
            evidence=cond_text(ready) or "keine Ready-Condition",
            next_step="Meldung lesen und die Issuer-Konfiguration im Git korrigieren.",
            command=describe,
            subject=f"{kind} {where}",
        )
    ]


#: what is wrong with a CertificateRequest, most decisive first (see :func:`_request_problem`)
_REQUEST_PROBLEMS: Mapping[str, FindingText] = MappingProxyType(
    {
        "Denied": FindingText(
            severity=ERROR,
            title="CertificateRequest abgelehnt",
            cause="Ein Approver (z. B. approver-policy) hat die Anfrage abgelehnt.",
            next_step="Richtlinie bzw. Zertifikatsangaben prüfen.",
        ),
        "InvalidRequest": FindingText(
            severity=ERROR,
            title="CertificateRequest ungültig",
            cause="Die Anfrage ist für den Issuer ungültig.",
            next_step="dnsNames/Issuer im Certificate prüfen.",
        ),
        "Failed": FindingText(
            severity=ERROR,
            title="CertificateRequest fehlgeschlagen",
            cause="Der Issuer hat die Ausstellung abgebrochen.",
            next_step="Meldung lesen; Order/Challenge bzw. Issuer prüfen.",
        ),
        "NotApproved": FindingText(
            severity=WARNING,
            title="CertificateRequest nicht genehmigt",
            cause="Niemand hat die Anfrage genehmigt (eingebauter Approver abgeschaltet, approver-policy "
            "ohne passende Regel).",
            next_step="Approver prüfen oder genehmigen: `cmctl approve {name} -n {namespace}`.",
        ),
    }
)


def _request_problem(cr: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key of :data:`_REQUEST_PROBLEMS`, evidence), or None for a request that is fine or waiting."""
    ready = condition(cr, "Ready")
    for ctype in ("Denied", "InvalidRequest"):
        if is_true(cr, ctype):
            return ctype, cond_text(condition(cr, ctype))
    if ready.get("status") == "False" and ready.get("reason") == "Failed":
        return "Failed", cond_text(ready)
    if not condition(cr, "Approved") and ready.get("status") != "True":
        return "NotApproved", cond_text(ready) or "keine Approved-Condition"
    return None


def request_findings(cr: Mapping[str, Any] | None) -> list[Finding]:
    """CertificateRequest denied, invalid, failed or not approved (pure)."""
    problem = _request_problem(cr) if cr is not None else None
    if problem is None:
        return []
    key, evidence = problem
    name, ns = meta(cr).get("name"), meta(cr).get("namespace")
    finding = _REQUEST_PROBLEMS[key].finding(
        evidence=evidence,
        command=f"kubectl get certificaterequests -n {ns}\n"
        f"kubectl describe certificaterequest {name} -n {ns}",
        subject=ref("CertificateRequest", cr),
        name=name,
        namespace=ns,
    )
    return [finding]


def order_findings(order: Mapping[str, Any] | None) -> list[Finding]:
    """An ACME Order that ended in invalid, errored or expired (pure)."""
    state = str(status(order).get("state", ""))
    if order is None or state not in FAILED_STATES:
        return []
    name, ns = meta(order).get("name"), meta(order).get("namespace")
    return [
        Finding(
            severity=ERROR,
            title=f"ACME-Order {state}",
            cause="Der ACME-Server hat die Bestellung verworfen (meist nach einer fehlgeschlagenen "
            "Challenge).",
            evidence=f"state: {state}; reason: {status(order).get('reason', '')}",
            next_step="Challenge-Ursache beheben; cert-manager legt danach eine neue Order an.",
            command=f"kubectl describe order {name} -n {ns}",
            subject=ref("Order", order),
        )
    ]


@dataclass(frozen=True)
class ChallengeProblem:
    """Why the ACME server could not validate a domain, in German: a short name for the title, the
    cause and the fix."""

    short: str
    cause: str
    fix: str


def challenge_problem(reason: str, domain: str) -> ChallengeProblem:
    """The cause of a failed ACME validation, read from the ACME error in the reason (pure)."""
    text = reason.lower()
    if "nxdomain" in text or "dns problem" in text or "no valid a records" in text:
        return ChallengeProblem(
            short=f"Kein DNS-Eintrag für {domain}" + (" (NXDOMAIN)" if "nxdomain" in text else ""),
            cause=f"Für {domain} gibt es keinen (richtigen) DNS-Eintrag: Der ACME-Server findet den Host "
            "nicht und kann die Challenge nicht prüfen.",
            fix=f"Einen DNS-Eintrag für {domain} anlegen (A/AAAA oder CNAME auf den Ingress-Controller); "
            "soll der Name nicht verwendet werden, die Änderung im Git zurücknehmen (Runbook `rollback`).",
        )
    if "connection refused" in text or "timeout" in text or "connection reset" in text:
        return ChallengeProblem(
            short=f"{domain} auf Port 80 nicht erreichbar",
            cause=f"Der ACME-Server erreicht {domain} auf Port 80 nicht (Firewall, Load Balancer, Ingress).",
            fix=f"Port 80 von {domain} von außen erreichbar machen (Firewall, Load Balancer, "
            "Ingress-Controller prüfen).",
        )
    if "404" in text or "unauthorized" in text or "invalid response" in text:
        return ChallengeProblem(
            short=f"Falsche Antwort von {domain}",
            cause=f"Unter http://{domain}/.well-known/acme-challenge/ antwortet nicht der Solver von "
            "cert-manager (falscher Ingress, DNS zeigt auf einen anderen Server).",
            fix=f"DNS-Ziel von {domain} und die Ingress-Klasse des Solvers prüfen.",
        )
    return ChallengeProblem(
        short=f"Validierung von {domain} fehlgeschlagen",
        cause="Der ACME-Server konnte die Domain nicht validieren.",
        fix="Meldung der Challenge lesen; DNS, Ingress und Firewall prüfen.",
    )


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
            problem = challenge_problem(reason, str(domain))
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"{problem.short}: {ctype}-Challenge fehlgeschlagen",
                    cause=problem.cause,
                    evidence=evidence,
                    next_step=f"{problem.fix} Danach legt cert-manager eine neue Order an.",
                    command=cmd + f"\ndig +short {domain}",
                    subject=ref("Challenge", ch),
                )
            )
        elif "HTTP-01" in reason or (ctype == "HTTP-01" and reason):
            token = sp.get("token", "<token>")
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"HTTP-01-Challenge für {domain} schlägt fehl",
                    cause=(
                        f"cert-manager erreicht http://{domain}/.well-known/acme-challenge/… nicht: der "
                        "DNS-Eintrag zeigt nicht auf den Ingress-Controller, die Ingress-Klasse des Solvers "
                        "(nginx) fehlt, oder Port 80 ist von außen gesperrt."
                    ),
                    evidence=evidence,
                    next_step=(
                        f"DNS von {domain} und den Ingress-Controller prüfen; die Challenge läuft danach von "
                        "selbst weiter."
                    ),
                    command=(
                        cmd + f"\ndig +short {domain}\n"
                        f"curl -v http://{domain}/.well-known/acme-challenge/{token}"
                    ),
                    subject=ref("Challenge", ch),
                )
            )
        elif "DNS-01" in reason or (ctype == "DNS-01" and reason):
            out.append(
                Finding(
                    severity=ERROR,
                    title=f"DNS-01-Challenge für {domain} schlägt fehl",
                    cause="Der TXT-Eintrag _acme-challenge wird nicht angelegt oder nicht sichtbar "
                    "(Zugangsdaten des DNS-Providers, falsche Zone, langsame Propagation).",
                    evidence=evidence,
                    next_step="Zugangsdaten und Zone des DNS-Solvers prüfen.",
                    command=cmd + f"\ndig +short TXT _acme-challenge.{domain}",
                    subject=ref("Challenge", ch),
                )
            )
    return out


def link_chain(
    cert: Mapping[str, Any],
    *,
    certificate: Sequence[Finding],
    issuer: Sequence[Finding],
    request: Sequence[Finding],
    order: Sequence[Finding],
    challenges: Sequence[Finding],
    now: datetime,
) -> list[Finding]:
    """The findings of one chain, cause first (pure).

    The deepest failing link explains the links above it: a failed Challenge the invalid Order, the
    failed CertificateRequest and the Certificate that is not ready or expires; a broken Issuer the
    request and the Certificate. The cause then says what cert-manager does next by itself
    (``progress``) and how the Certificate gets issued after the fix (``cmctl renew`` now).
    """
    upward = [("challenges", challenges), ("issuer", issuer), ("order", order), ("request", request)]
    found = next(((name, list(group)) for name, group in upward if group), None)
    if found is None:
        return list(certificate)
    name, (root, *siblings) = found
    effects = {
        "challenges": [*order, *request, *certificate],
        "issuer": [*request, *certificate],
        "order": [*request, *certificate],
        "request": [*certificate],
    }[name]
    if effects and certificate:
        root = replace(
            root,
            progress=retry_text(cert, now=now),
            next_step=f"{root.next_step} {reissue_step(cert)}",
            command=f"{root.command}\n{renew_commands(cert).splitlines()[0]}",
        )
    others = [f for group_name, group in upward if group_name != name for f in group if f not in effects]
    return [root.explains(*effects), *siblings, *others]
