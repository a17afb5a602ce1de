"""troubleshoot-certificates: gather each Certificate's cert-manager chain, then interpret it.

The chain is Certificate -> CertificateRequest -> Order -> Challenge, plus Issuer and Secret, gathered
like ``cmctl status certificate`` does it (docs/flux-facts.md §10): every link has its own error slot,
so a link that cannot be read does not hide the others. ``state = gather_certificates(...)`` only
reads (a Secret's data is never kept, only whether it exists); the state shows each step
(``state.certificates()``, ``state.chain_tables()``, ``state.requests()``), and
``diagnose_certificates(state)`` is the pure interpretation. The matching functions
(:func:`find_request`, :func:`find_order`, :func:`find_challenges`) are pure as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.diagnose import gather
from runbook_lib.diagnose.common import AboutObject, Slot, attempt, cond_text, object_ref, slot_finding
from runbook_lib.diagnose.model import ERROR, INFO, Diagnosis, Evidence, EvidenceGroup, Finding, evidence
from runbook_lib.diagnose.rules.certificates import (
    TITLE,
    cert_commands,
    certificate_findings,
    history_finding,
    is_earlier_attempt,
    is_settled,
    issuer_ref,
    request_revision,
    secret_finding,
)
from runbook_lib.diagnose.rules.issuance import (
    challenge_findings,
    issuer_findings,
    link_chain,
    order_findings,
    request_findings,
)
from runbook_lib.kinds import ObjectRef, by_kind
from runbook_lib.kube import list_objects, not_found
from runbook_lib.objects import condition, meta, spec, status

Obj = dict[str, Any]
CERTIFICATE, REQUEST, ISSUER, CLUSTER_ISSUER, ORDER, CHALLENGE = (
    by_kind(k) for k in ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer", "Order", "Challenge")
)
#: the Certificate a CertificateRequest belongs to, when it has no ownerReference
NAME_ANNOTATION = "cert-manager.io/certificate-name"


# --- pure matching -----------------------------------------------------------------------------------


def owned_by(obj: Mapping[str, Any], kind: str, name: str) -> bool:
    """The object has an ownerReference to ``kind/name`` (same namespace by Kubernetes rules)."""
    return any(
        o.get("kind") == kind and o.get("name") == name for o in meta(obj).get("ownerReferences") or ()
    )


def _newest(items: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not items:
        return None
    return max(items, key=lambda o: (request_revision(o) or 0, str(meta(o).get("creationTimestamp", ""))))


def find_request(cert: Mapping[str, Any], requests: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The CertificateRequest of the next revision (as cmctl), else the newest one of this Certificate."""
    name, ns = meta(cert).get("name"), meta(cert).get("namespace")
    mine = [
        r
        for r in requests
        if meta(r).get("namespace") == ns
        and (
            owned_by(r, "Certificate", str(name))
            or (meta(r).get("annotations") or {}).get(NAME_ANNOTATION) == name
        )
    ]
    next_revision = int(status(cert).get("revision") or 0) + 1
    upcoming = [r for r in mine if request_revision(r) == next_revision]
    return _newest(upcoming) or _newest(mine)


def find_order(
    request: Mapping[str, Any] | None, orders: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    if request is None:
        return None
    ns, name = meta(request).get("namespace"), str(meta(request).get("name"))
    return _newest(
        [o for o in orders if meta(o).get("namespace") == ns and owned_by(o, "CertificateRequest", name)]
    )


def find_challenges(order: Mapping[str, Any] | None, challenges: Iterable[Mapping[str, Any]]) -> list[Obj]:
    if order is None:
        return []
    ns, name = meta(order).get("namespace"), str(meta(order).get("name"))
    return [dict(c) for c in challenges if meta(c).get("namespace") == ns and owned_by(c, "Order", name)]


# --- state -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertChain(AboutObject):
    """One Certificate and its chain; each link is a :class:`Slot` (value or error)."""

    cert: Obj
    secret: Slot = field(default_factory=Slot)
    issuer: Slot = field(default_factory=Slot)
    request: Slot = field(default_factory=Slot)
    order: Slot = field(default_factory=Slot)
    challenges: Slot = field(default_factory=Slot)
    events: Slot = field(default_factory=Slot)

    @property
    def ref(self) -> ObjectRef:
        return object_ref(CERTIFICATE, self.cert)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(link, name, state, message) per link, like the sections of ``cmctl status certificate``."""
        ikind, iname = issuer_ref(self.cert)
        secret = spec(self.cert).get("secretName", "")
        ready = (_state(self.cert, "Ready"), _message(self.cert, "Ready"))
        rows = [
            ("Certificate", f"{self.namespace}/{self.name}", *ready),
            _link(self.issuer, ikind, iname, lambda o: (_state(o, "Ready"), _message(o, "Ready"))),
            (
                "Secret",
                str(secret),
                "Fehler" if self.secret.error else ("vorhanden" if self.secret.value else "fehlt"),
                self.secret.error,
            ),
        ]
        # a settled Certificate's failed attempt of another revision is history, not the current chain
        past = " (frühere Revision)" if is_earlier_attempt(self.cert, self.request.value) else ""
        rows.append(_link(self.request, "CertificateRequest" + past, "-", _request_state))
        rows.append(
            _link(
                self.order,
                "Order" + past,
                "-",
                lambda o: (str(status(o).get("state", "")), str(status(o).get("reason", ""))),
            )
        )
        if self.challenges.error:
            rows.append(("Challenge", "-", "Fehler", self.challenges.error))
        for ch in self.challenges.value or []:
            rows.append(
                (
                    "Challenge" + past,
                    f"{meta(ch).get('name')} ({spec(ch).get('type', '')} {spec(ch).get('dnsName', '')})",
                    str(status(ch).get("state", "")),
                    str(status(ch).get("reason", "")),
                )
            )
        return rows


def _state(obj: Mapping[str, Any], ctype: str) -> str:
    cond = condition(obj, ctype)
    return f"{ctype}={cond.get('status')} ({cond.get('reason', '')})" if cond else f"{ctype}: -"


def _message(obj: Mapping[str, Any], ctype: str) -> str:
    return str(condition(obj, ctype).get("message", ""))


def _request_state(cr: Mapping[str, Any]) -> tuple[str, str]:
    parts = [
        f"{t}={condition(cr, t).get('status')}" for t in ("Approved", "Denied", "Ready") if condition(cr, t)
    ]
    return ", ".join(parts) or "-", cond_text(condition(cr, "Ready"))


def _link(
    slot: Slot, kind: str, name: str, describe: Callable[[Mapping[str, Any]], tuple[str, str]]
) -> tuple[str, str, str, str]:
    """One row of the chain table: the link's error, "nicht gefunden", or its (state, message)."""
    if slot.error:
        return (kind, name, "Fehler", slot.error)
    if slot.value is None:
        return (kind, name, "nicht gefunden", "")
    obj = slot.value
    ns = meta(obj).get("namespace")
    label = f"{ns}/{meta(obj).get('name')}" if ns else str(meta(obj).get("name"))
    state, message = describe(obj)
    return (kind, label, state, message)


@dataclass(frozen=True)
class CertificatesState:
    """Every gathered chain (``name=None``: all Certificates in scope)."""

    chains: tuple[CertChain, ...]
    namespace: str | None = None
    name: str | None = None
    #: False when the cert-manager CRDs are not installed
    installed: bool = True
    requests_all: Slot = field(default_factory=Slot)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def _scope(self) -> str:
        return "-A" if self.namespace is None else f"-n {self.namespace}"

    def certificates(self) -> Evidence:
        """``kubectl get certificates -A``: READY, SECRET, ISSUER, STATUS."""
        rows, marks = [], []
        for c in self.chains:
            cond = condition(c.cert, "Ready")
            rows.append(
                (
                    meta(c.cert).get("namespace"),
                    meta(c.cert).get("name"),
                    cond.get("status", ""),
                    spec(c.cert).get("secretName", ""),
                    issuer_ref(c.cert)[1],
                    cond.get("message", ""),
                    status(c.cert).get("notAfter", "-"),
                )
            )
            marks.append("" if cond.get("status") == "True" else "failing")
        return evidence(
            "Zertifikate",
            ("NAMESPACE", "NAME", "READY", "SECRET", "ISSUER", "STATUS", "GÜLTIG BIS"),
            rows,
            command=f"kubectl get certificates {self._scope()}",
            marks=marks,
            error="" if self.installed else "cert-manager-CRDs sind nicht installiert.",
            empty="Keine Zertifikate gefunden.",
        )

    def requests(self) -> Evidence:
        """``kubectl get certificaterequests -A``: APPROVED, DENIED, READY, ISSUER."""
        rows, marks = [], []
        for r in self.requests_all.value or []:
            rows.append(
                (
                    meta(r).get("namespace"),
                    meta(r).get("name"),
                    *(condition(r, t).get("status", "") for t in ("Approved", "Denied", "Ready")),
                    (spec(r).get("issuerRef") or {}).get("name", ""),
                    _message(r, "Ready"),
                )
            )
            marks.append("" if rows[-1][4] == "True" else "failing")
        return evidence(
            "CertificateRequests",
            ("NAMESPACE", "NAME", "APPROVED", "DENIED", "READY", "ISSUER", "STATUS"),
            rows,
            command=f"kubectl get certificaterequests {self._scope()}",
            error=self.requests_all.error,
            marks=marks,
            empty="Keine CertificateRequests gefunden.",
        )

    def chain_tables(self) -> EvidenceGroup:
        """Per Certificate the whole chain (``cmctl status certificate NAME -n NS``)."""
        return EvidenceGroup(
            tuple(
                evidence(
                    f"Kette von {c.ref}",
                    ("GLIED", "NAME", "ZUSTAND", "MELDUNG"),
                    c.rows(),
                    command=f"cmctl status certificate {c.name} -n {c.namespace}",
                    marks=[_row_mark(r) for r in c.rows()],
                )
                for c in self.chains
            )
        )


def _row_mark(row: tuple[str, str, str, str]) -> str:
    if row[0].endswith("(frühere Revision)"):
        return ""
    bad = ("False", "Fehler", "fehlt", "nicht gefunden", "invalid", "errored", "expired")
    return "failing" if any(b in row[2] for b in bad) or (row[0] == "Challenge" and row[3]) else ""


# --- interpret ---------------------------------------------------------------------------------------


def chain_findings(chain: CertChain, *, now: datetime) -> list[Finding]:
    """Every rule over one gathered chain, cause first, plus a hint per link that could not be read (pure).

    The deepest failing link is the cause and the links above it its consequences
    (:func:`~runbook_lib.diagnose.rules.issuance.link_chain`). For a settled Certificate whose request
    belongs to an earlier revision, the findings of that chain become one hint
    (:func:`~runbook_lib.diagnose.rules.certificates.history_finding`).
    """
    cert, request = chain.cert, chain.request.value
    request_links = request_findings(request)
    order_links, challenge_links = (
        order_findings(chain.order.value),
        challenge_findings(chain.challenges.value or []),
    )
    earlier = is_earlier_attempt(cert, request)
    findings = link_chain(
        cert,
        certificate=certificate_findings(cert, now=now, events=chain.events.value or []),
        issuer=issuer_findings(cert, chain.issuer.value) if chain.issuer.ok else [],
        request=[] if earlier else request_links,
        order=[] if earlier else order_links,
        challenges=[] if earlier else challenge_links,
        now=now,
    )
    findings += secret_finding(cert, chain.secret.value if chain.secret.ok else None)
    if is_settled(cert):  # only the current revision's chain counts
        findings += history_finding(
            cert,
            [*request_links, *order_links, *challenge_links] if earlier else [],
            failed_requests=[request] if earlier and request_links else [],
            events=chain.events.value or [],
        )
    for what, slot in (
        ("Secret", chain.secret),
        ("Issuer", chain.issuer),
        ("CertificateRequest", chain.request),
        ("Order", chain.order),
        ("Challenges", chain.challenges),
        ("Events", chain.events),
    ):
        findings += slot_finding(what, slot, cert_commands(cert), str(chain.ref))
    return findings


_NOT_INSTALLED = Finding(
    severity=ERROR,
    title="cert-manager ist nicht installiert",
    cause="Die CRDs von cert-manager fehlen im Cluster.",
    evidence="API-Gruppe cert-manager.io/v1 unbekannt",
    next_step="cert-manager installieren (im Git, z. B. als HelmRelease) und den Abgleich prüfen.",
    command="kubectl get crds | grep cert-manager",
)
_NO_CERTIFICATES = Finding(
    severity=INFO,
    title="Keine Zertifikate gefunden",
    cause="In diesem Bereich gibt es keine Certificate-Objekte.",
    evidence="kubectl get certificates liefert nichts",
    next_step="Namespace prüfen.",
    command="kubectl get certificates -A",
)


def diagnose_certificates(state: CertificatesState) -> Diagnosis:
    """Interpret a gathered :class:`CertificatesState` (pure): the findings, most severe first."""
    if not state.installed:
        return Diagnosis(title=TITLE, findings=(_NOT_INSTALLED,), checked=("cert-manager-CRDs",))
    if not state.chains:
        return Diagnosis(title=TITLE, findings=(_NO_CERTIFICATES,), checked=("Certificates",))
    findings = tuple(f for chain in state.chains for f in chain_findings(chain, now=state.now))
    return Diagnosis(title=TITLE, findings=findings, checked=tuple(str(c.ref) for c in state.chains))


# --- gather ------------------------------------------------------------------------------------------


def _issuer(cluster: Cluster, cert: Obj) -> Obj | None:
    kind, name = issuer_ref(cert)
    if kind == "ClusterIssuer":
        return gather.get_object(cluster, CLUSTER_ISSUER, None, name)
    return gather.get_object(cluster, ISSUER, meta(cert).get("namespace"), name)


def _chain(cluster: Cluster, cert: Obj, requests: Slot, orders: Slot, challenges: Slot) -> CertChain:
    ns, secret = meta(cert).get("namespace", ""), spec(cert).get("secretName", "")
    request = Slot(find_request(cert, requests.value or []), requests.error)
    order = Slot(find_order(request.value, orders.value or []), orders.error)
    return CertChain(
        cert=cert,
        secret=attempt(lambda: gather.secret_exists(cluster, ns, secret) if secret else False),
        issuer=attempt(lambda: _issuer(cluster, cert)),
        request=request,
        order=order,
        challenges=Slot(find_challenges(order.value, challenges.value or []), challenges.error),
        events=attempt(lambda: gather.events_for(cluster, object_ref(CERTIFICATE, cert))),
    )


def gather_certificates(
    name: str | None = None,
    *,
    namespace: str | None = None,
    client: Cluster | None = None,
    now: datetime | None = None,
) -> CertificatesState:
    """Read the Certificates (``name=None``: all in ``namespace``; ``namespace=None``: all namespaces) and
    their chains. An unknown ``name`` raises NotFound naming the closest Certificates (read-only)."""
    cluster = default_cluster(client)
    certs = list_objects(cluster, CERTIFICATE, namespace=namespace)
    if certs is None:
        return CertificatesState(
            chains=(), namespace=namespace, name=name, installed=False, now=now or datetime.now(UTC)
        )
    if name:
        every = certs if namespace is None else gather.list_kind(cluster, CERTIFICATE)
        certs = [c for c in certs if meta(c).get("name") == name]
        if not certs:
            raise not_found(
                "Certificate",
                name,
                namespace,
                [f"{meta(c).get('namespace')}/{meta(c).get('name')}" for c in every],
                "kubectl get certificates -A",
            )
    requests = attempt(lambda: gather.list_kind(cluster, REQUEST, namespace))
    orders = attempt(lambda: gather.list_kind(cluster, ORDER, namespace))
    challenges = attempt(lambda: gather.list_kind(cluster, CHALLENGE, namespace))
    ordered = sorted(certs, key=lambda c: (meta(c).get("namespace", ""), meta(c).get("name", "")))
    chains = tuple(_chain(cluster, c, requests, orders, challenges) for c in ordered)
    return CertificatesState(
        chains=chains, namespace=namespace, name=name, requests_all=requests, now=now or datetime.now(UTC)
    )
