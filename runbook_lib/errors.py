"""One small error hierarchy for everything a user can run into.

Every error carries a German ``message`` (what happened, naming the object) and a German ``hint``
(the next step). ``ApiException`` from the kubernetes client is converted by
:func:`from_api_exception`, and a cluster that does not answer is :func:`unreachable`; both are called
at one boundary only, :mod:`runbook_lib.kube`, and chained with ``from``. The CLI maps errors to exit
codes through ``exit_code``: 2 for usage and parameter errors, 1 for everything else.
"""

from __future__ import annotations

import json
import re
from typing import Any


class RunbookError(Exception):
    """Base class: an expected failure with a German message and a next step."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n→ {self.hint}"
        return self.message

    def _render_traceback_(self) -> list[str]:
        """What IPython (JupyterLab, papermill's executed notebook) shows when a cell raises this: the
        German message in red and the next step, not a traceback through the library; the error's
        name and value stay as they are, and ``%tb`` still prints the full traceback."""
        lines = [f"\x1b[1;31m✗ {self.message}\x1b[0m"]
        if self.hint:
            lines.append(f"→ {self.hint}")
        return lines

    def _repr_html_(self) -> str:
        from html import escape

        hint = f"<br><b>Nächster Schritt:</b> {escape(self.hint)}" if self.hint else ""
        return (
            '<div class="runbook-error" style="border-left:4px solid #c62828;'
            'border-left-color:color-mix(in srgb,#c62828 75%,currentColor);padding:.4em .8em">'
            f"<b>✗ {escape(self.message)}</b>{hint}</div>"
        )


class UsageError(RunbookError):
    """Bad parameters or arguments: nothing was started (exit code 2)."""

    exit_code = 2


class ConfigError(RunbookError):
    """Kubeconfig, context or settings are unusable."""


class ClusterUnreachable(RunbookError):
    """The API server did not answer."""


class NotFound(RunbookError):
    """An object does not exist."""


class Forbidden(RunbookError):
    """The credentials lack a permission; ``missing`` names it when the API server said which
    (``list pods in kube-system``, see :func:`missing_right`)."""

    missing: str = ""


#: the API server's 403 message: ``pods is forbidden: User "u" cannot list resource "pods" in API group
#: "" in the namespace "kube-system"`` (or ``at the cluster scope``; k8s.io/apiserver's authorization
#: filter, ``forbiddenMessage``)
_FORBIDDEN = re.compile(
    r'cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?'
)


def missing_right(detail: str) -> str:
    """The right a 403 message names, as the runbooks write it: ``list pods in kube-system``,
    ``get customresourcedefinitions.apiextensions.k8s.io (clusterweit)``; "" when it names none."""
    found = _FORBIDDEN.search(detail)
    if not found:
        return ""
    resource, group = found["resource"], found["group"] or ""
    if group:
        base, _, sub = resource.partition("/")
        resource = f"{base}.{group}" + (f"/{sub}" if sub else "")
    scope = f"in {found['namespace']}" if found["namespace"] else "(clusterweit)"
    return f"{found['verb']} {resource} {scope}"


class Conflict(RunbookError):
    """The object changed meanwhile or already exists."""


class ApiError(RunbookError):
    """Any other answer of the API server that is not a success."""


class ReconcileFailed(RunbookError):
    """The controller handled the request and reported a failure."""


class WaitTimeout(RunbookError):
    """Waiting for a controller ran out of time."""


class Suspended(RunbookError):
    """The object is suspended; Flux will not act on it."""


class Interrupted(RunbookError):
    """Stopped with Ctrl+C; the message names the state things were left in and how to go on (exit 130,
    as a shell reports SIGINT)."""

    exit_code = 130


class GitError(RunbookError):
    """A git operation failed; the repository is left consistent."""


class PreflightError(GitError):
    """The checkout is not in a state where the change may start."""


def _status_message(body: str | bytes | None) -> str:
    if not body:
        return ""
    try:
        data: Any = json.loads(body)
    except (ValueError, TypeError):
        return str(body)[:200]
    if isinstance(data, dict):
        return str(data.get("message", ""))
    return ""


#: the operating system's reasons a user meets when writing files, in German (strerror is English)
_OS_REASONS = {
    "ENOENT": "Datei oder Verzeichnis nicht vorhanden",
    "EACCES": "keine Berechtigung",
    "EPERM": "nicht erlaubt",
    "EROFS": "nur lesbares Dateisystem",
    "ENOSPC": "kein Platz mehr auf dem Datenträger",
    "EISDIR": "ist ein Verzeichnis",
    "ENOTDIR": "ein Teil des Pfads ist kein Verzeichnis",
    "ENAMETOOLONG": "Pfad zu lang",
    "EEXIST": "existiert bereits",
}


def os_reason(exc: OSError) -> str:
    """Why an OS call failed, in German when the reason is a common one."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return _OS_REASONS.get(name) or exc.strerror or str(exc)


def unreachable(where: str, detail: str = "") -> ClusterUnreachable:
    """The error for a cluster that does not answer; ``where`` names it (``Kontext 'x' (https://…)``)."""
    return ClusterUnreachable(
        f"Der Cluster ist nicht erreichbar: {where}" + (f" ({detail})" if detail else "") + ".",
        "Läuft der Cluster bzw. die Sandbox (`runbook sandbox up --state DIR`)? "
        "Kubeconfig und Kontext prüfen (`kubectl config get-contexts`).",
    )


def from_api_exception(exc: Exception, what: str, *, where: str = "") -> RunbookError:
    """Convert a kubernetes ``ApiException`` about ``what`` (e.g. ``HelmRelease kube-system/kite``).

    ``where`` names the cluster for an answer that never came (status 0, e.g. a TLS failure). The
    caller raises the result ``from exc``.
    """
    status = getattr(exc, "status", None)
    detail = _status_message(getattr(exc, "body", None)) or str(getattr(exc, "reason", "") or exc)
    if status == 404:
        return NotFound(
            f"{what} wurde nicht gefunden.",
            "Namen und Namespace prüfen, z. B. mit `runbook run status` oder `flux get all -A`.",
        )
    if status == 401:
        return Forbidden(
            f"Anmeldung am Cluster abgelehnt ({what}): {detail}",
            "Die Zugangsdaten der Kubeconfig sind abgelaufen oder ungültig: neu anmelden bzw. das Token "
            "erneuern (z. B. `kubectl config view --minify` prüfen) und erneut ausführen.",
        )
    if status == 403:
        missing = missing_right(detail)
        error = Forbidden(
            f"Keine Berechtigung für {what}"
            + (f" (fehlendes Recht: {missing})." if missing else f": {detail}"),
            f"Dem Benutzer fehlt ein RBAC-Recht für {what}; prüfen mit "
            "`kubectl auth can-i --list`. Die Rollen mit allen Rechten der Runbooks liegen in `rbac/` "
            "(siehe README, „Benötigte Rechte“).",
        )
        error.missing = missing
        return error
    if status == 409:
        return Conflict(f"Konflikt bei {what}: {detail}", "Den Vorgang erneut ausführen.")
    if status is None or status == 0:
        return unreachable(where or what, detail)
    return ApiError(
        f"Der API-Server lehnte die Anfrage zu {what} ab ({status}): {detail}",
        "Die Meldung des API-Servers oben beschreibt die Ursache; bei 429 oder 5xx kurz warten und "
        "erneut ausführen.",
    )


class NotPushed(GitError):
    """A push did not land on the remote; the local commit ``kept_commit`` is kept and named.

    ``cause`` classifies git's refusal (``moved``, ``hook``, ``lease``, ``unreachable``, ``other``;
    :func:`runbook_lib.gitops.push.classify_push_error`). ``result`` is the caller's result for the
    kept state ("nicht gepusht": a ``ChangeResult`` or ``RollbackResult``), or None.
    """

    def __init__(
        self, message: str, hint: str, *, kept_commit: str, cause: str, result: object | None = None
    ) -> None:
        super().__init__(message, hint)
        self.kept_commit = kept_commit
        self.cause = cause
        self.result = result


class PushRejected(NotPushed):
    """The remote answered and refused the push (it moved on meanwhile, a hook declined, the lease did
    not hold): the kept commit has to be integrated or the change adapted before pushing again."""


class PushFailed(NotPushed):
    """The push did not reach the remote (unreachable) or failed for another reason: the same push can
    be retried once the cause is fixed."""
