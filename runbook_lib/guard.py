"""The wrong cluster at 3 a.m.: runbooks that change something say which cluster they change, and
outside the sandbox they change it only when the operator named that context beforehand.

``expected_context`` (the runbook parameter, else ``RUNBOOK_EXPECTED_CONTEXT``) must equal the context
the connection uses. The sandbox (context ``runbook-sandbox`` on a loopback server, what
``runbook sandbox up`` writes) needs no confirmation, so exercises and tests run unchanged; a given
``expected_context`` is checked there too. Checked by:

- :func:`confirm_target`, the first cell of ``change``, ``rollback`` and ``sync``: shows context, API
  server, Kubernetes and Flux version, and refuses before anything is changed;
- :func:`require_expected_context`, inside the library functions that change the cluster by
  themselves (``reconcile`` with ``force``/``reset``, ``suspend``, ``resume``);
- ``runbook run`` (:func:`check_expected_context` on the kubeconfig alone, no connection): a runbook
  with an ``expected_context`` parameter and a given value that does not match is refused with exit
  code 2 before its first cell.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from runbook_lib.cluster import Cluster, KubeTarget, default_cluster
from runbook_lib.errors import UsageError
from runbook_lib.kube import api_get
from runbook_lib.report import Rendered, html_table
from runbook_lib.settings import settings

#: the context ``runbook sandbox up`` writes into DIR/kubeconfig (both engines)
SANDBOX_CONTEXT = "runbook-sandbox"
#: the CRD whose labels name the installed Flux distribution (as ``flux check`` reads it)
_GITREPO_CRD = (
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gitrepositories.source.toolkit.fluxcd.io"
)


def is_sandbox(context: str, server: str) -> bool:
    """The sandbox: its context name on a loopback API server (pure)."""
    host = urlsplit(server).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return context == SANDBOX_CONTEXT and loopback


def _expected(expected_context: str | None) -> str | None:
    return expected_context or settings().expected_context or None


def check_expected_context(
    context: str, server: str, expected_context: str | None, *, acting: bool, what: str = "Dieses Runbook"
) -> str | None:
    """Refuse a mismatch, and a missing confirmation for a change outside the sandbox (pure).

    Returns the expected context in effect (None when none was given)."""
    expected = _expected(expected_context)
    where = f"Kontext '{context}' ({server})"
    if expected is not None and expected != context:
        raise UsageError(
            f"Falscher Cluster: erwartet ist der Kontext '{expected}', verbunden ist {where}. "
            "Es wurde nichts geändert.",
            f"Den richtigen Kontext wählen (`--context {expected}`, im Notebook kube_context) oder "
            "expected_context berichtigen; alle Kontexte zeigt `kubectl config get-contexts`.",
        )
    if expected is None and acting and not is_sandbox(context, server):
        raise UsageError(
            f"{what} ändert den Cluster {where}. Außerhalb der Sandbox muss der Kontext "
            "vorher bestätigt werden; es wurde nichts geändert.",
            f"Den Kontext bestätigen: `-p expected_context {context}` (im Notebook "
            f'`expected_context = "{context}"`) oder die Umgebungsvariable RUNBOOK_EXPECTED_CONTEXT setzen.',
        )
    return expected


def check_target(target: KubeTarget, expected_context: str | None) -> None:
    """``runbook run``: a given expected context against the kubeconfig's, before any cell runs."""
    if _expected(expected_context) is not None and target.context:
        check_expected_context(target.context, target.server, expected_context, acting=False)


def require_expected_context(cluster: Cluster, expected_context: str | None, *, what: str) -> None:
    """For library functions that change the cluster: the check of :func:`check_expected_context`
    (``what`` names the change: "Aussetzen (suspend)")."""
    check_expected_context(cluster.context, cluster.server, expected_context, acting=True, what=what)


@dataclass(frozen=True)
class ChangeTarget(Rendered):
    """The cluster a runbook is about to change, and whether the operator confirmed it."""

    context: str
    server: str
    kubernetes: str
    flux: str
    kubeconfig: str | None
    sandbox: bool
    #: the confirmed context (None: not confirmed, allowed only in the sandbox or without a change)
    expected: str | None
    acting: bool

    @property
    def verdict(self) -> str:
        if not self.acting:
            if self.expected or self.sandbox:
                return "✔ Nur Vorschau: nichts wird geändert."
            return (
                "⚠ Nur Vorschau: nichts wird geändert. Für die Ausführung außerhalb der Sandbox den Kontext "
                f"bestätigen: `-p expected_context {self.context}`."
            )
        if self.expected:
            return f"✔ Kontext '{self.expected}' bestätigt: dieser Cluster wird geändert."
        return "✔ Sandbox: dieser Cluster wird geändert (keine Bestätigung nötig)."

    def _rows(self) -> list[list[str]]:
        return [
            ["Kontext", self.context + (" (Sandbox)" if self.sandbox else "")],
            ["API-Server", self.server],
            ["Kubernetes", self.kubernetes],
            ["Flux", self.flux],
            ["Kubeconfig", self.kubeconfig or "Standard (KUBECONFIG bzw. ~/.kube/config)"],
        ]

    def __str__(self) -> str:
        return "\n".join([*(f"{k + ':':<12} {v}" for k, v in self._rows()), self.verdict]) + "\n"

    def _repr_html_(self) -> str:
        from html import escape

        return (
            html_table(["", ""], self._rows(), caption="Zu ändernder Cluster")
            + f"<p>{escape(self.verdict)}</p>"
        )


def flux_version(cluster: Cluster) -> str:
    """The Flux distribution the CRDs are labelled with (``flux-v2.7.0``), as ``flux check`` reads it."""
    crd = api_get(cluster, _GITREPO_CRD, "die GitRepository-CRD") or {}
    labels = (crd.get("metadata") or {}).get("labels") or {}
    version = labels.get("app.kubernetes.io/version")
    if not version:
        return "nicht gefunden (keine Flux-CRDs)" if not crd else "unbekannt"
    return f"{labels.get('app.kubernetes.io/part-of', 'flux')}-{version}"


def confirm_target(
    *, expected_context: str | None = None, acting: bool = True, client: Cluster | None = None
) -> ChangeTarget:
    """Show the cluster a runbook is about to change; refuse (UsageError, nothing changed) when it is not
    the expected one, or when a change outside the sandbox is not confirmed (module docstring).

    ``acting=False`` (a dry run, a sync without force/reset) only shows it; a given ``expected_context``
    is still checked.
    """
    cluster = default_cluster(client)
    expected = check_expected_context(cluster.context, cluster.server, expected_context, acting=acting)
    info = api_get(cluster, "/version", f"die Version des Clusters ({cluster.describe()})") or {}
    return ChangeTarget(
        context=cluster.context,
        server=cluster.server,
        kubernetes=str(info.get("gitVersion", "unbekannt")),
        flux=flux_version(cluster),
        kubeconfig=cluster.kubeconfig,
        sandbox=is_sandbox(cluster.context, cluster.server),
        expected=expected,
        acting=acting,
    )
