"""cert-manager: ClusterIssuer/Issuer readiness and the chain Certificate -> CertificateRequest ->
Order -> Challenge (HTTP-01) -> TLS Secret, with the reasons, messages and events of docs/flux-facts.md §10.

The simulated public DNS knows every host under ``beispiel.de`` (:mod:`.acme`); an HTTP-01 challenge
for any other name fails as Let's Encrypt reports an NXDOMAIN. cert-manager logs in klog's text format
(it is not a Flux controller), to container ``cert-manager-controller``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from flux_sandbox.sim.controllers.acme import AcmeFlow
from flux_sandbox.sim.controllers.base import (
    Controller,
    EventRecorder,
    Key,
    Obj,
    Reconcile,
    delete_condition,
    get_condition,
    is_ready,
    set_condition,
)
from flux_sandbox.sim.controllers.recording import redact
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Change, Store

CM = "cert-manager.io"
SECRET = by_kind("Secret")
ACME_URL = "https://acme-v02.api.letsencrypt.org"


def _ts(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: str) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))[:10]


class KlogLogger:
    """klog text lines (``I1126 00:10:12.345678       1 file.go:42] "msg" key="value"``)."""

    def __init__(
        self,
        store: Store,
        namespace: str = "cert-manager",
        app: str = "cert-manager",
        container: str = "cert-manager-controller",
    ) -> None:
        self.store, self.namespace, self.app, self.container = store, namespace, app, container

    def write(self, level: str, msg: str, fields: dict[str, Any] | None = None) -> None:
        items, _ = self.store.list(by_kind("Pod"), self.namespace, label_selector=f"app={self.app}")
        if not items:
            return
        now = time.time()
        dt = datetime.fromtimestamp(now, UTC)
        fields = fields or {}
        kv = {
            "logger": f"cert-manager.{fields.get('controller', 'controller')}",
            "resource_name": fields.get("name"),
            "resource_namespace": fields.get("namespace"),
            "resource_kind": fields.get("controllerKind"),
            "resource_version": "v1",
        }
        if fields.get("error"):
            kv["err"] = fields["error"]
        tail = " ".join(f'{k}="{redact(str(v))}"' for k, v in kv.items() if v)
        msg = redact(msg)
        prefix = "E" if level == "error" else "I"
        line = f'{prefix}{dt.strftime("%m%d %H:%M:%S.%f")}       1 controller.go:157] "{msg}" {tail}'
        self.store.append_log(self.namespace, items[0]["metadata"]["name"], self.container, line, now)


class CertManagerController(Controller):
    name = "cert-manager"
    namespace = "cert-manager"
    kinds = ("ClusterIssuer", "Issuer", "Certificate")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = KlogLogger(self.store)  # type: ignore[assignment]
        self._recorders: dict[str, EventRecorder] = {}

    def default_interval(self, obj: Obj) -> float:
        return 3600.0  # cert-manager re-checks certificates on informer resync, not on an interval

    def related(self, change: Change) -> Iterable[Key]:
        if not self.source_changed(change, ("ClusterIssuer", "Issuer")):
            return []
        name = change.obj["metadata"]["name"]
        certs, _ = self.store.list(by_kind("Certificate"))
        return [
            ("Certificate", c["metadata"]["namespace"], c["metadata"]["name"])
            for c in certs
            if (c["spec"].get("issuerRef") or {}).get("name") == name
        ]

    def emit(self, component: str, obj: Obj, type_: str, reason: str, message: str) -> None:
        rec = self._recorders.setdefault(component, EventRecorder(self.store, f"cert-manager-{component}"))
        rec.event(obj, type_, reason, message)

    def reconcile(self, rc: Reconcile) -> float | None:
        if rc.obj["kind"] in ("ClusterIssuer", "Issuer"):
            return self._issuer(rc)
        return self._certificate(rc)

    # -- issuers -------------------------------------------------------------------------------------------

    def _issuer(self, rc: Reconcile) -> float | None:
        spec, status = rc.obj["spec"], copy.deepcopy(rc.obj.get("status") or {})
        if "acme" in spec:
            email = spec["acme"].get("email", "")
            status["acme"] = {
                "uri": f"{ACME_URL}/acme/acct/{_short(email + rc.obj['metadata']['name'])}",
                "lastRegisteredEmail": email,
                "lastPrivateKeyHash": _short(email),
            }
            reason, msg = "ACMEAccountRegistered", "The ACME account was registered with the ACME server"
            self._account_key(spec["acme"])
        elif "ca" in spec:
            reason, msg = "KeyPairVerified", "Signing CA verified"
        else:
            reason, msg = "IsReady", ""
        set_condition(status, "Ready", "True", reason, msg, rc.gen)
        self.sleep()
        self.write_status(rc.obj, status)
        rc.log("successfully registered ACME account" if "acme" in spec else "issuer is ready")
        return None

    def _account_key(self, acme: Obj) -> None:
        name = (acme.get("privateKeySecretRef") or {}).get("name")
        if name and self.store.find(SECRET, "cert-manager", name) is None:
            self.store.create(
                SECRET,
                {
                    "metadata": {"name": name, "namespace": "cert-manager"},
                    "type": "Opaque",
                    "data": {"tls.key": _pem("PRIVATE KEY")},
                },
            )

    # -- certificates --------------------------------------------------------------------------------------

    def _certificate(self, rc: Reconcile) -> float | None:
        cert = rc.obj
        meta = cert["metadata"]
        status = copy.deepcopy(cert.get("status") or {})
        trigger = self._trigger(cert)
        if trigger is None:
            return self._up_to_date(cert, status, rc.gen)
        issuing = get_condition(status, "Issuing")
        if issuing and issuing["status"] == "False" and issuing.get("observedGeneration") == rc.gen:
            return None  # failed for this spec: cert-manager backs off (1h and more) before the next try
        issuer = self._issuer_of(cert)
        reason, msg = trigger
        set_condition(status, "Ready", "False", reason, msg, rc.gen)
        set_condition(status, "Issuing", "True", reason, msg, rc.gen)
        if not is_ready(issuer):
            self.write_status(cert, status)
            return self.timing.dependency_requeue
        self.emit("certificates-trigger", cert, "Normal", "Issuing", msg)
        key_secret = f"{meta['name']}-{secrets.token_hex(3)[:5]}"
        status["nextPrivateKeySecretName"] = key_secret
        self.write_status(cert, status)
        self.emit(
            "certificates-key-manager",
            cert,
            "Normal",
            "Generated",
            f'Stored new private key in temporary Secret resource "{key_secret}"',
        )
        self.sleep()
        revision = int(status.get("revision", 0)) + 1
        ok, cr_msg = self._issue(rc, cert, issuer, revision)
        if ok:
            return self._issued(rc, status, revision)
        status["failedIssuanceAttempts"] = int(status.get("failedIssuanceAttempts", 0)) + 1
        status["lastFailureTime"] = _ts()
        fail = f"The certificate request has failed to complete and will be retried: {cr_msg}"
        set_condition(status, "Issuing", "False", "Failed", fail, rc.gen)
        self.write_status(cert, status)
        self.emit("certificates-issuing", cert, "Warning", "Failed", fail)
        rc.log("certificate issuance failed", level="error", error=cr_msg)
        return None

    @staticmethod
    def _clear_issuance(status: Obj) -> None:
        """What cert-manager does once no issuance is pending (docs/flux-facts.md §10): the Issuing
        condition is removed, failedIssuanceAttempts and lastFailureTime are cleared, and the
        key manager deletes the next private key."""
        for key in ("failedIssuanceAttempts", "lastFailureTime", "nextPrivateKeySecretName"):
            status.pop(key, None)
        delete_condition(status, "Issuing")

    def _up_to_date(self, cert: Obj, status: Obj, gen: int) -> float | None:
        """The Secret matches the spec (e.g. a failed new host was changed back): Ready=True for this
        generation and no leftovers of the failed issuance."""
        before = copy.deepcopy(status)
        self._clear_issuance(status)
        set_condition(status, "Ready", "True", "Ready", "Certificate is up to date and has not expired", gen)
        if status != before:
            self.write_status(cert, status)
        return None

    def _trigger(self, cert: Obj) -> tuple[str, str] | None:
        secret = self.store.find(SECRET, cert["metadata"]["namespace"], cert["spec"].get("secretName", ""))
        if secret is None:
            return "DoesNotExist", "Issuing certificate as Secret does not exist"
        names = ",".join(cert["spec"].get("dnsNames") or [])
        if (secret["metadata"].get("annotations") or {}).get(f"{CM}/alt-names") != names:
            return "SecretMismatch", "Existing issued Secret is not up to date for spec: [spec.dnsNames]"
        return None

    def _issuer_of(self, cert: Obj) -> Obj | None:
        ref = cert["spec"].get("issuerRef") or {}
        if ref.get("kind", "Issuer") == "ClusterIssuer":
            return self.store.find(by_kind("ClusterIssuer"), None, ref.get("name", ""))
        return self.store.find(by_kind("Issuer"), cert["metadata"]["namespace"], ref.get("name", ""))

    def _issued(self, rc: Reconcile, status: Obj, revision: int) -> float | None:
        cert = rc.obj
        self._clear_issuance(status)
        status.update(
            revision=revision,
            notBefore=_ts(),
            notAfter=_ts(timedelta(days=90)),
            renewalTime=_ts(timedelta(days=60)),
        )
        set_condition(
            status, "Ready", "True", "Ready", "Certificate is up to date and has not expired", rc.gen
        )
        self._write_tls_secret(cert)
        self.write_status(cert, status)
        self.emit(
            "certificates-issuing", cert, "Normal", "Issuing", "The certificate has been successfully issued"
        )
        rc.log("certificate issued")
        return None

    def _write_tls_secret(self, cert: Obj) -> None:
        spec, ns = cert["spec"], cert["metadata"]["namespace"]
        ref = spec.get("issuerRef") or {}
        names = spec.get("dnsNames") or []
        body: Obj = {
            "metadata": {
                "name": spec["secretName"],
                "namespace": ns,
                "labels": {"controller.cert-manager.io/fao": "true"},
                "annotations": {
                    f"{CM}/alt-names": ",".join(names),
                    f"{CM}/certificate-name": cert["metadata"]["name"],
                    f"{CM}/common-name": names[0] if names else "",
                    f"{CM}/ip-sans": "",
                    f"{CM}/uri-sans": "",
                    f"{CM}/issuer-group": ref.get("group", CM),
                    f"{CM}/issuer-kind": ref.get("kind", "Issuer"),
                    f"{CM}/issuer-name": ref.get("name", ""),
                },
            },
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": _pem("CERTIFICATE"), "tls.key": _pem("PRIVATE KEY"), "ca.crt": ""},
        }
        live = self.store.find(SECRET, ns, spec["secretName"])
        if live is None:
            self.store.create(SECRET, body)
        else:
            body["metadata"] = {**live["metadata"], **body["metadata"]}
            body["metadata"].pop("resourceVersion", None)
            self.store.replace(SECRET, body)

    def _issue(self, rc: Reconcile, cert: Obj, issuer: Obj | None, revision: int) -> tuple[bool, str]:
        return AcmeFlow(self, rc, cert, issuer or {}, revision).run()


def _pem(label: str) -> str:
    body = base64.b64encode(secrets.token_bytes(48)).decode()
    return base64.b64encode(f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()).decode()
