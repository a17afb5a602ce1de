"""The ACME part of cert-manager: CertificateRequest -> Order -> Challenge (HTTP-01), step by step.

Objects, states, messages and events as cert-manager v1.21 writes them (docs/flux-facts.md §10).
A succeeded Challenge is deleted afterwards (cert-manager cleans them up); a failed one stays.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from flux_sandbox.sim.controllers.base import Obj, Reconcile, set_condition
from flux_sandbox.sim.resources import by_kind

CM = "cert-manager.io"
PUBLIC_ZONE = "beispiel.de"
ACME = "https://acme-v02.api.letsencrypt.org/acme"
CR = by_kind("CertificateRequest")
ORDER = by_kind("Order")
CHALLENGE = by_kind("Challenge")


def resolvable(host: str) -> bool:
    """The simulated public DNS: every name under beispiel.de resolves to the cluster's ingress."""
    return host == PUBLIC_ZONE or host.endswith("." + PUBLIC_ZONE)


def _hash(text: str) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:12], 16))[:10]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AcmeFlow:
    """One issuance for one Certificate revision."""

    def __init__(self, ctrl: Any, rc: Reconcile, cert: Obj, issuer: Obj, revision: int) -> None:
        self.ctrl, self.rc, self.cert, self.issuer, self.revision = ctrl, rc, cert, issuer, revision
        self.store = ctrl.store
        self.ns = cert["metadata"]["namespace"]
        self.names = list(cert["spec"].get("dnsNames") or [])

    def run(self) -> tuple[bool, str]:
        cr = self._request()
        order = self._order(cr)
        challenges = [self._challenge(order, name) for name in self.names]
        self.ctrl.sleep()
        failed = [err for err in (self._validate(ch) for ch in challenges) if err]
        if failed:
            return False, self._fail(cr, order, failed[0])
        self._complete(cr, order, challenges)
        return True, ""

    def _status(self, rt: Any, obj: Obj, status: Obj) -> Obj:
        obj = self.store.get(rt, self.ns, obj["metadata"]["name"])
        obj["status"] = status
        obj["metadata"].pop("resourceVersion", None)
        return self.store.replace(rt, obj, subresource="status")

    def _request(self) -> Obj:
        meta = self.cert["metadata"]
        name = f"{meta['name']}-{self.revision}"
        csr = base64.b64encode(
            f"-----BEGIN CERTIFICATE REQUEST-----\n{secrets.token_hex(32)}\n"
            "-----END CERTIFICATE REQUEST-----\n".encode()
        ).decode()
        body = {
            "metadata": {
                "name": name,
                "namespace": self.ns,
                "annotations": {
                    f"{CM}/certificate-name": meta["name"],
                    f"{CM}/certificate-revision": str(self.revision),
                    f"{CM}/private-key-secret-name": (self.cert.get("status") or {}).get(
                        "nextPrivateKeySecretName", ""
                    ),
                },
                "ownerReferences": [
                    {
                        "apiVersion": f"{CM}/v1",
                        "kind": "Certificate",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "issuerRef": self.cert["spec"].get("issuerRef"),
                "request": csr,
                "duration": "2160h0m0s",
                "usages": ["digital signature", "key encipherment"],
                "username": "system:serviceaccount:cert-manager:cert-manager",
                "groups": [
                    "system:serviceaccounts",
                    "system:serviceaccounts:cert-manager",
                    "system:authenticated",
                ],
            },
        }
        existing = self.store.find(CR, self.ns, name)
        if existing is not None:
            self.store.delete(CR, self.ns, name)
        cr = self.store.create(CR, body)
        self.ctrl.emit(
            "certificates-request-manager",
            self.cert,
            "Normal",
            "Requested",
            f'Created new CertificateRequest resource "{name}"',
        )
        status: Obj = {}
        approved = "Certificate request has been approved by cert-manager.io"
        set_condition(status, "Approved", "True", CM, approved, 0)
        self.ctrl.emit("certificaterequests-approver", cr, "Normal", CM, approved)
        return self._status(CR, cr, status)

    def _order(self, cr: Obj) -> Obj:
        name = f"{cr['metadata']['name']}-{_hash(cr['spec']['request'])}"
        url = f"{ACME}/order/{_hash(name)}/{_hash(name + 'o')}"
        order = self.store.create(
            ORDER,
            {
                "metadata": {
                    "name": name,
                    "namespace": self.ns,
                    "ownerReferences": [
                        {
                            "apiVersion": f"{CM}/v1",
                            "kind": "CertificateRequest",
                            "name": cr["metadata"]["name"],
                            "uid": cr["metadata"]["uid"],
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "request": cr["spec"]["request"],
                    "issuerRef": cr["spec"]["issuerRef"],
                    "commonName": self.names[0] if self.names else "",
                    "dnsNames": self.names,
                },
            },
        )
        self.ctrl.emit(
            "certificaterequests-issuer-acme",
            cr,
            "Normal",
            "OrderCreated",
            f"Created Order resource {self.ns}/{name}",
        )
        pending = f'Waiting on certificate issuance from order {self.ns}/{name}: "pending"'
        status = dict(cr["status"])
        set_condition(status, "Ready", "False", "Pending", pending, 0)
        self._status(CR, cr, status)
        self.ctrl.emit("certificaterequests-issuer-acme", cr, "Normal", "OrderPending", pending)
        auths = [
            {"url": f"{ACME}/authz/{_hash(n)}", "identifier": n, "initialState": "pending", "wildcard": False}
            for n in self.names
        ]
        return self._status(
            ORDER,
            order,
            {"state": "pending", "url": url, "finalizeURL": f"{url}/finalize", "authorizations": auths},
        )

    def _challenge(self, order: Obj, dns: str) -> Obj:
        name = f"{order['metadata']['name']}-{_hash(dns + order['metadata']['name'])}"
        token = secrets.token_urlsafe(32)
        solver = ((self.issuer.get("spec") or {}).get("acme") or {}).get("solvers", [{}])[0]
        ch = self.store.create(
            CHALLENGE,
            {
                "metadata": {
                    "name": name,
                    "namespace": self.ns,
                    "ownerReferences": [
                        {
                            "apiVersion": "acme.cert-manager.io/v1",
                            "kind": "Order",
                            "name": order["metadata"]["name"],
                            "uid": order["metadata"]["uid"],
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "dnsName": dns,
                    "type": "HTTP-01",
                    "token": token,
                    "key": f"{token}.{_hash(token)}",
                    "url": f"{ACME}/chall/{_hash(name)}",
                    "authorizationURL": f"{ACME}/authz/{_hash(dns)}",
                    "wildcard": False,
                    "issuerRef": order["spec"]["issuerRef"],
                    "solver": solver,
                },
            },
        )
        self.ctrl.emit(
            "orders", order, "Normal", "Created", f'Created Challenge resource "{name}" for domain "{dns}"'
        )
        self.ctrl.emit("challenges", ch, "Normal", "Started", "Challenge scheduled for processing")
        self.ctrl.sleep()
        self.ctrl.emit(
            "challenges", ch, "Normal", "Presented", "Presented challenge using HTTP-01 challenge mechanism"
        )
        return self._status(
            CHALLENGE,
            ch,
            {
                "processing": True,
                "presented": True,
                "state": "pending",
                "reason": f"Waiting for HTTP-01 challenge propagation: "
                f"failed to perform self check GET request "
                f"'http://{dns}/.well-known/acme-challenge/{token}'",
            },
        )

    def _validate(self, ch: Obj) -> str:
        dns = ch["spec"]["dnsName"]
        if resolvable(dns):
            self.ctrl.emit(
                "challenges",
                ch,
                "Normal",
                "DomainVerified",
                f'Domain "{dns}" verified with "HTTP-01" validation',
            )
            self._status(
                CHALLENGE,
                ch,
                {
                    "processing": False,
                    "presented": False,
                    "state": "valid",
                    "reason": "Successfully authorized domain",
                },
            )
            return ""
        err = (
            f"acme: authorization error for {dns}: 400 urn:ietf:params:acme:error:dns: DNS problem: NXDOMAIN "
            f"looking up A for {dns} - check that a DNS record exists for this domain"
        )
        self.ctrl.emit(
            "challenges", ch, "Warning", "Failed", f"Accepting challenge authorization failed: {err}"
        )
        self._status(
            CHALLENGE,
            ch,
            {
                "processing": False,
                "presented": False,
                "state": "invalid",
                "reason": f"Error accepting authorization: {err}",
            },
        )
        return err

    def _fail(self, cr: Obj, order: Obj, err: str) -> str:
        order = self._status(
            ORDER, order, {**order["status"], "state": "invalid", "reason": err, "failureTime": _now()}
        )
        msg = (
            f'Failed to wait for order resource "{order["metadata"]["name"]}" to become ready: '
            f'order is in "invalid" state: {err}'
        )
        cr = self.store.get(CR, self.ns, cr["metadata"]["name"])
        status = dict(cr.get("status") or {})
        set_condition(status, "Ready", "False", "Failed", msg, 0)
        status["failureTime"] = _now()
        self._status(CR, cr, status)
        self.ctrl.emit("certificaterequests-issuer-acme", cr, "Warning", "Failed", msg)
        return msg

    def _complete(self, cr: Obj, order: Obj, challenges: list[Obj]) -> None:
        cert_pem = base64.b64encode(
            b"-----BEGIN CERTIFICATE-----\n"
            + secrets.token_hex(48).encode()
            + b"\n-----END CERTIFICATE-----\n"
        ).decode()
        self._status(ORDER, order, {**order["status"], "state": "valid", "certificate": cert_pem})
        self.ctrl.emit("orders", order, "Normal", "Complete", "Order completed successfully")
        for ch in challenges:
            self.store.delete(CHALLENGE, self.ns, ch["metadata"]["name"])
        cr = self.store.get(CR, self.ns, cr["metadata"]["name"])
        status = dict(cr.get("status") or {})
        issued = "Certificate fetched from issuer successfully"
        set_condition(status, "Ready", "True", "Issued", issued, 0)
        status["certificate"] = cert_pem
        self._status(CR, cr, status)
        self.ctrl.emit("certificaterequests-issuer-acme", cr, "Normal", "CertificateIssued", issued)
