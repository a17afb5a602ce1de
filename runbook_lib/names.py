"""Names and namespaces checked as the API server checks them, before any request (pure).

Kubernetes refuses a namespace that is not a DNS-1123 label and an object name that is not a DNS-1123
subdomain (see "Kubernetes API server and kubectl" in docs/flux-facts.md). A value it could never
accept (a space, a newline, unicode, 5,000 characters) would otherwise reach the API as a path or a
filter and come back as an empty list ("0 Flux-Objekte") or as a 404 that reads like "does not exist".
Here it is refused as bad input (exit code 2).
"""

from __future__ import annotations

import re

from runbook_lib.errors import UsageError

#: ``IsDNS1123Label``: at most 63 characters, lower-case alphanumerics and '-', alphanumeric at both ends
LABEL_MAX = 63
#: ``IsDNS1123Subdomain``: at most 253 characters, labels joined by '.'
SUBDOMAIN_MAX = 253
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
#: how much of a bad value a message shows (a 5,000-character value must not flood the terminal)
SHOWN = 60


def shown(value: object) -> str:
    """A bad value as a message quotes it: control characters escaped, long values cut (pure)."""
    text = str(value)
    cut = text[:SHOWN]
    quoted = repr(cut)[1:-1] if not cut.isprintable() else cut
    if len(text) > SHOWN:
        quoted += f"… ({len(text)} Zeichen)"
    return f"'{quoted}'"


def _problem(value: str, limit: int, *, dots: bool) -> str:
    """What is wrong with ``value`` in German, or "" when it is valid."""
    if not value:
        return "er ist leer"
    if len(value) > limit:
        return f"er ist {len(value)} Zeichen lang, erlaubt sind höchstens {limit}"
    pattern = _SUBDOMAIN if dots else _LABEL
    if pattern.fullmatch(value):
        return ""
    allowed = "Kleinbuchstaben, Ziffern, '-'" + (" und '.'" if dots else "")
    if value != value.lower() and pattern.fullmatch(value.lower()):
        return "er enthält Großbuchstaben"
    bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "-."))})
    if bad:
        chars = " ".join(repr(c)[1:-1] if c.isprintable() and c != " " else repr(c) for c in bad[:5])
        return f"er enthält unzulässige Zeichen ({chars}); erlaubt sind nur {allowed}"
    if not dots and "." in value:
        return "er enthält einen Punkt; ein Namespace ist ein einzelnes DNS-Label ohne '.'"
    return f"er muss mit einem Kleinbuchstaben oder einer Ziffer beginnen und enden; erlaubt sind {allowed}"


def check_namespace(value: str, what: str = "namespace") -> str:
    """``value`` if Kubernetes would accept it as a namespace (DNS-1123 label), else UsageError."""
    problem = _problem(value, LABEL_MAX, dots=False) if isinstance(value, str) else "er ist kein Text"
    if problem:
        raise UsageError(
            f"Ungültiger Namespace {shown(value)} für `{what}`: {problem}.",
            "Kubernetes-Namespaces sind DNS-Labels (z. B. `flux-system`, `kube-system`); vorhandene "
            "zeigt `kubectl get namespaces`.",
        )
    return value


def check_name(value: str, what: str = "name") -> str:
    """``value`` if Kubernetes would accept it as an object name (DNS-1123 subdomain), else UsageError."""
    problem = _problem(value, SUBDOMAIN_MAX, dots=True) if isinstance(value, str) else "er ist kein Text"
    if problem:
        raise UsageError(
            f"Ungültiger Name {shown(value)} für `{what}`: {problem}.",
            "Kubernetes-Objektnamen bestehen aus Kleinbuchstaben, Ziffern, '-' und '.' (z. B. `kite`, "
            "`flux-system`); vorhandene Flux-Objekte zeigt `runbook run status` bzw. `flux get all -A`.",
        )
    return value


def check_ref(value: str, what: str = "kustomization") -> str:
    """``name`` or ``namespace/name``, both parts checked; returns ``value``."""
    namespace, slash, name = value.rpartition("/") if isinstance(value, str) else ("", "", value)
    if slash:
        check_namespace(namespace, what)
    check_name(name, what)
    return value
