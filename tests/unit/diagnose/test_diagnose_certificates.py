"""troubleshoot-certificates: chain matching, Certificate and issuance rules, the whole diagnosis."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from diagnose_fixtures import (
    NOW,
    certificate,
    challenge,
    cond,
    owner,
    request,
    titles,
    ts,
)

from runbook_lib.diagnose import ERROR, INFO, WARNING
from runbook_lib.diagnose import certificates as certs
from runbook_lib.diagnose.common import Slot
from runbook_lib.diagnose.rules import certificates as dc
from runbook_lib.diagnose.rules import issuance as di


def test_request_matching_prefers_the_next_revision_then_the_newest() -> None:
    reqs = [request("kite-tls-1", 1), request("kite-tls-2", 2), request("other", 3)]
    reqs[2]["metadata"]["ownerReferences"] = owner("Certificate", "other")
    assert certs.find_request(certificate(revision=1), reqs)["metadata"]["name"] == "kite-tls-2"
    assert certs.find_request(certificate(revision=5), reqs)["metadata"]["name"] == "kite-tls-2"
    assert certs.find_request(certificate(revision=None), reqs)["metadata"]["name"] == "kite-tls-1"


def test_order_and_challenges_follow_owner_references() -> None:
    order = {
        "metadata": {
            "name": "kite-tls-2-1",
            "namespace": "kube-system",
            "ownerReferences": owner("CertificateRequest", "kite-tls-2"),
        },
        "status": {"state": "pending"},
    }
    assert certs.find_order(request("kite-tls-2", 2), [order]) == order
    assert certs.find_order(request("kite-tls-1", 1), [order]) is None
    assert certs.find_challenges(order, [challenge("pending", "")]) == [challenge("pending", "")]
    assert certs.find_challenges(None, [challenge("pending", "")]) == []
    assert certs.issuer_ref({"spec": {"issuerRef": {"name": "ca"}}}) == ("Issuer", "ca")


def test_failed_issuance_counts_attempts_and_offers_renew() -> None:
    cert = certificate(
        cond("Ready", "False", "SecretMismatch", "Existing issued Secret is not up to date"),
        cond("Issuing", "False", "Failed", "The certificate request has failed to complete"),
        failedIssuanceAttempts=2,
        lastFailureTime=ts(5),
    )
    found = dc.certificate_findings(cert, now=NOW)
    assert titles(found) == ["Ausstellung fehlgeschlagen"]
    # German plural, and when cert-manager tries again by itself: 2h after the last failure (1h, 2h, …)
    assert "bisher 2 fehlgeschlagene Versuche" in found[0].cause
    assert "frühestens 2026-11-26 13:55 UTC" in found[0].cause
    assert found[0].command.splitlines()[-2:] == [
        "cmctl renew kite-tls -n kube-system",
        "kubectl cert-manager renew kite-tls -n kube-system",
    ]
    assert "kubectl describe certificate kite-tls -n kube-system" in found[0].command
    # the kubectl-only way, and which deletion really starts an issuance
    assert "`kubectl delete secret kite-tls -n kube-system` löst eine Ausstellung aus" in found[0].next_step
    assert "fehlgeschlagene CertificateRequest zu löschen löst nichts aus" in found[0].next_step


def test_certificate_not_ready_while_issuing_is_a_warning_and_expired_an_error() -> None:
    issuing = certificate(
        cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
        cond("Issuing", "True", "DoesNotExist", "Issuing"),
    )
    assert [(f.severity, f.title) for f in dc.certificate_findings(issuing, now=NOW)] == [
        (WARNING, "Zertifikat nicht bereit (wird ausgestellt)")
    ]
    expired = certificate(cond("Ready", "False", "Expired", "Certificate expired"), notAfter=ts(60))
    assert [(f.severity, f.title) for f in dc.certificate_findings(expired, now=NOW)] == [
        (ERROR, "Zertifikat abgelaufen")
    ]
    assert dc.certificate_findings(certificate(), now=NOW) == []


def test_expiry_soon_expired_and_renewal_overdue() -> None:
    soon = dc.expiry_findings(certificate(notAfter=ts(-60 * 24 * 5)), now=NOW)
    assert titles(soon) == ["Zertifikat läuft in 5 Tagen ab"] and soon[0].severity == WARNING
    gone = dc.expiry_findings(certificate(notAfter=ts(60 * 3)), now=NOW)
    assert titles(gone) == ["Zertifikat abgelaufen"] and gone[0].severity == ERROR
    overdue = dc.expiry_findings(certificate(renewalTime=ts(60 * 5)), now=NOW)
    assert titles(overdue) == ["Erneuerung überfällig"]
    assert dc.expiry_findings(certificate(), now=NOW) == []


def test_missing_secret_of_a_ready_certificate() -> None:
    assert titles(dc.secret_finding(certificate(), False)) == ["Secret kite-tls fehlt"]
    assert dc.secret_finding(certificate(), True) == []
    assert dc.secret_finding(certificate(cond("Ready", "False", "DoesNotExist")), False) == []


def test_issuer_missing_or_not_ready() -> None:
    assert titles(di.issuer_findings(certificate(), None)) == ["ClusterIssuer letsencrypt fehlt"]
    issuer = {
        "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt"},
        "status": {
            "conditions": [
                cond("Ready", "False", "ErrRegisterACMEAccount", "Failed to register ACME account")
            ]
        },
    }
    found = di.issuer_findings(certificate(), issuer)
    assert titles(found) == ["ClusterIssuer letsencrypt nicht bereit"]
    assert found[0].command == "kubectl describe clusterissuer letsencrypt"
    issuer["status"]["conditions"] = [cond("Ready", "True", "ACMEAccountRegistered")]
    assert di.issuer_findings(certificate(), issuer) == []


@pytest.mark.parametrize(
    ("conditions", "title"),
    [
        (
            [cond("Denied", "True", "Denied", "policy"), cond("Ready", "False", "Denied")],
            "CertificateRequest abgelehnt",
        ),
        ([cond("InvalidRequest", "True", "x", "bad csr")], "CertificateRequest ungültig"),
        (
            [cond("Approved", "True"), cond("Ready", "False", "Failed", 'order is in "invalid" state')],
            "CertificateRequest fehlgeschlagen",
        ),
        ([cond("Ready", "False", "Pending", "Waiting for approval")], "CertificateRequest nicht genehmigt"),
    ],
)
def test_certificate_request_states(conditions: list[dict[str, Any]], title: str) -> None:
    assert titles(di.request_findings(request("kite-tls-2", 2, *conditions))) == [title]


def test_pending_approved_request_and_valid_order_give_nothing() -> None:
    pending = request(
        "kite-tls-2", 2, cond("Approved", "True"), cond("Ready", "False", "Pending", "Waiting on order")
    )
    assert di.request_findings(pending) == [] and di.request_findings(None) == []
    assert di.order_findings({"metadata": {"name": "o"}, "status": {"state": "pending"}}) == []
    invalid = di.order_findings(
        {"metadata": {"name": "o", "namespace": "n"}, "status": {"state": "invalid", "reason": "acme: 403"}}
    )
    assert titles(invalid) == ["ACME-Order invalid"] and "acme: 403" in invalid[0].evidence


def test_http01_propagation_names_ingress_and_dns() -> None:
    reason = (
        "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request "
        "'http://kite.beispiel-neu.de/.well-known/acme-challenge/tok': dial tcp: no such host"
    )
    found = di.challenge_findings([challenge("pending", reason)])
    assert titles(found) == ["HTTP-01-Challenge für kite.beispiel-neu.de schlägt fehl"]
    assert "DNS-Eintrag" in found[0].cause and "Ingress" in found[0].cause
    assert "curl -v http://kite.beispiel-neu.de/.well-known/acme-challenge/tok" in found[0].command


def test_final_challenge_failure_and_dns01() -> None:
    nx = "acme: authorization error for kite.beispiel-neu.de: DNS problem: NXDOMAIN looking up A"
    final = di.challenge_findings([challenge("invalid", f"Error accepting authorization: {nx}")])
    assert titles(final) == [
        "Kein DNS-Eintrag für kite.beispiel-neu.de (NXDOMAIN): HTTP-01-Challenge fehlgeschlagen"
    ]
    assert "keinen (richtigen) DNS-Eintrag" in final[0].cause
    assert "DNS-Eintrag für kite.beispiel-neu.de anlegen" in final[0].next_step
    assert "Port 80" in di.challenge_problem("connection refused", "x").cause
    dns = di.challenge_findings([challenge("pending", "Waiting for DNS-01 challenge propagation", "DNS-01")])
    assert titles(dns) == ["DNS-01-Challenge für kite.beispiel-neu.de schlägt fehl"]
    assert di.challenge_findings([challenge("valid", "Successfully authorized domain")]) == []
    assert di.challenge_findings([challenge("pending", "")]) == []


def test_certificates_diagnosis_with_unreadable_links_and_states() -> None:
    chain = certs.CertChain(
        cert=certificate(),
        secret=Slot(True),
        issuer=Slot(error="verboten"),
        request=Slot(None),
        order=Slot(None),
        challenges=Slot([]),
        events=Slot([]),
    )
    result = certs.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    assert titles(result.findings) == ["Issuer nicht lesbar"] and result.ok
    assert ("Issuer" in [r[0] for r in chain.rows()]) or ("ClusterIssuer" in [r[0] for r in chain.rows()])
    assert [r[2] for r in chain.rows() if r[0] == "ClusterIssuer"] == ["Fehler"]
    missing = certs.diagnose_certificates(certs.CertificatesState((), installed=False, now=NOW))
    assert titles(missing.findings) == ["cert-manager ist nicht installiert"]
    empty = certs.diagnose_certificates(certs.CertificatesState((), now=NOW))
    assert titles(empty.findings) == ["Keine Zertifikate gefunden"] and empty.ok


def settled_chain(*, issuing_generation: int = 2) -> certs.CertChain:
    """The Certificate after the fix commit: Ready for generation 3, the failed revision-2 chain left."""
    nx = (
        "acme: authorization error for kite.beispiel-neu.de: 400 urn:ietf:params:acme:error:dns: "
        "DNS problem: NXDOMAIN looking up A for kite.beispiel-neu.de"
    )
    issuing = cond("Issuing", "False", "Failed", f"The certificate request has failed to complete: {nx}")
    issuing["observedGeneration"] = issuing_generation
    ready = cond("Ready", "True", "Ready", "Certificate is up to date and has not expired")
    ready["observedGeneration"] = 3
    cert = certificate(ready, issuing, revision=1, failedIssuanceAttempts=1, lastFailureTime=ts(5))
    cert["metadata"]["generation"] = 3
    failed = request(
        "kite-tls-2", 2, cond("Approved", "True"), cond("Ready", "False", "Failed", f"order invalid: {nx}")
    )
    order = {
        "kind": "Order",
        "metadata": {
            "name": "kite-tls-2-1",
            "namespace": "kube-system",
            "ownerReferences": owner("CertificateRequest", "kite-tls-2"),
        },
        "status": {"state": "invalid", "reason": nx},
    }
    return certs.CertChain(
        cert=cert,
        secret=Slot(True),
        issuer=Slot({"kind": "ClusterIssuer", "status": {"conditions": [cond("Ready", "True", "x")]}}),
        request=Slot(failed),
        order=Slot(order),
        challenges=Slot([challenge("invalid", f"Error accepting authorization: {nx}")]),
        events=Slot([{"type": "Warning", "reason": "Failed", "message": nx, "lastTimestamp": ts(5)}]),
    )


def test_fixed_certificate_reports_the_earlier_failed_chain_as_one_hint() -> None:
    chain = settled_chain()
    assert dc.is_settled(chain.cert) and dc.issuing_is_stale(chain.cert)
    assert dc.is_earlier_attempt(chain.cert, chain.request.value)
    result = certs.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    assert [(f.severity, f.title) for f in result.findings] == [
        (INFO, "Frühere fehlgeschlagene Ausstellung, inzwischen behoben")
    ]
    assert result.ok and result.summary().headline() == "✔ Keine Probleme gefunden."
    hint = result.findings[0]
    assert "CertificateRequest kube-system/kite-tls-2: CertificateRequest fehlgeschlagen" in hint.evidence
    assert "veraltet: observedGeneration 2" in hint.evidence
    assert "`kubectl delete certificaterequest kite-tls-2 -n kube-system`" in hint.next_step
    # the chain table shows the old attempt as history, not as a failing link
    rows = chain.rows()
    assert [r[0] for r in rows][3:] == [
        "CertificateRequest (frühere Revision)",
        "Order (frühere Revision)",
        "Challenge (frühere Revision)",
    ]
    assert all(certs._row_mark(r) == "" for r in rows)


def test_failure_of_the_current_generation_still_counts_on_a_ready_certificate() -> None:
    """A renewal that fails while the old certificate is still valid: Ready=True, Issuing=False now."""
    chain = settled_chain(issuing_generation=3)
    assert not dc.is_settled(chain.cert)
    result = certs.diagnose_certificates(certs.CertificatesState((chain,), now=NOW))
    # one cause (the challenge), the links above it as its consequences
    assert titles(result.findings) == [
        "Kein DNS-Eintrag für kite.beispiel-neu.de (NXDOMAIN): HTTP-01-Challenge fehlgeschlagen"
    ]
    assert titles(result.findings[0].consequences) == [
        "ACME-Order invalid",
        "CertificateRequest fehlgeschlagen",
        "Ausstellung fehlgeschlagen",
    ]
    assert result.summary().headline() == "✗ Zertifikats-Probleme: 1 Fehler (dazu 3 Folgebefunde)"
    assert "frühere Revision" not in " ".join(r[0] for r in chain.rows())


def test_ready_but_not_yet_observed_generation_is_not_settled() -> None:
    cert = certificate()
    cert["metadata"]["generation"] = 4
    assert not dc.is_settled(cert)  # Ready observedGeneration 1 < 4: the new spec is not checked yet
    assert dc.is_settled(certificate())
    assert not dc.is_earlier_attempt(certificate(), None)
    assert not dc.is_earlier_attempt(certificate(revision=2), request("kite-tls-2", 2))


def test_the_deepest_failing_link_is_the_cause_and_says_how_the_certificate_gets_issued() -> None:
    """A failed challenge explains the order, the request and the Certificate: one cause, shown first,
    whose next step is the DNS fix plus cert-manager's retry and `cmctl renew` (not a renew paragraph)."""
    chain = settled_chain(issuing_generation=3)
    cert = dict(
        chain.cert,
        status=dict(
            chain.cert["status"],
            conditions=[
                cond("Ready", "False", "SecretMismatch", "Existing issued Secret is not up to date"),
                cond("Issuing", "False", "Failed", "The certificate request has failed to complete"),
            ],
        ),
    )
    found = certs.chain_findings(dataclasses.replace(chain, cert=cert), now=NOW)
    cause = found[0]
    assert cause.title.startswith("Kein DNS-Eintrag für kite.beispiel-neu.de")
    assert [f.subject.split()[0] for f in cause.consequences] == [
        "Order",
        "CertificateRequest",
        "Certificate",
    ]
    assert "nächste Versuch frühestens 2026-11-26 12:55 UTC" in cause.progress
    assert "`cmctl renew kite-tls -n kube-system`" in cause.next_step
    assert cause.command.splitlines()[-1] == "cmctl renew kite-tls -n kube-system"
    assert len(found) == 1
    text = str(certs.Diagnosis("Zertifikats-Probleme", tuple(found)))
    assert text.startswith("✗ Fehler: Kein DNS-Eintrag für kite.beispiel-neu.de (NXDOMAIN)")
    assert "\n  Stand:            cert-manager versucht es von selbst erneut (bisher 1 " in text
    assert "  Folgen dieser Ursache:\n    ✗ Fehler: ACME-Order invalid" in text


def test_a_broken_issuer_explains_the_request_and_the_certificate() -> None:
    cert = certificate(
        cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
        cond("Issuing", "True", "DoesNotExist", "Issuing"),
    )
    found = di.link_chain(
        cert,
        certificate=dc.certificate_findings(cert, now=NOW),
        issuer=di.issuer_findings(cert, None),
        request=di.request_findings(request("kite-tls-2", 2, cond("Ready", "False", "Pending", "wait"))),
        order=[],
        challenges=[],
        now=NOW,
    )
    assert titles(found) == ["ClusterIssuer letsencrypt fehlt"]
    assert titles(found[0].consequences) == [
        "CertificateRequest nicht genehmigt",
        "Zertifikat nicht bereit (wird ausgestellt)",
    ]
    # without a deeper cause the Certificate's own findings stay causes
    alone = di.link_chain(
        cert,
        certificate=dc.certificate_findings(cert, now=NOW),
        issuer=[],
        request=[],
        order=[],
        challenges=[],
        now=NOW,
    )
    assert titles(alone) == ["Zertifikat nicht bereit (wird ausgestellt)"] and not alone[0].consequences
