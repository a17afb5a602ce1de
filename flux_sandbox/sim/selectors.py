"""Label and field selectors as the API server parses and checks them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, joined by
commas, parsed like apimachinery's ``labels.Parse`` (its lexer and its error texts; keys and values
are validated). Field selectors: ``path=value``, ``path==value``, ``path!=value``; only the field
labels the real server supports for the type (``metadata.name``/``metadata.namespace`` for every
type, custom resources included, plus the few each core type adds); others answer
``field label not supported: …`` (docs/flux-facts.md §14).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class SelectorError(ValueError):
    """The selector cannot be parsed (the server answers 400 with this text)."""


# -- label selectors --------------------------------------------------------------------------------

_SPECIAL = ("!=", "==", "!", "(", ")", ",", "=", ">", "<")
_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_HELP = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _lex(selector: str) -> list[str]:
    """Tokens as apimachinery's lexer cuts them: special symbols, identifiers (``in``/``notin`` too)."""
    tokens: list[str] = []
    i = 0
    while i < len(selector):
        ch = selector[i]
        if ch.isspace():
            i += 1
            continue
        special = next((s for s in _SPECIAL if selector.startswith(s, i)), None)
        if special:
            tokens.append(special)
            i += len(special)
            continue
        start = i
        while i < len(selector) and not selector[i].isspace() and selector[i] not in "!=(),<>":
            i += 1
        tokens.append(selector[start:i])
    return tokens


def _is_ident(token: str | None) -> bool:
    return token is not None and token not in _SPECIAL


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_RE.match(prefix)):
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": prefix part a lowercase RFC 1123 '
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and "
            "end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise SelectorError(f'unable to parse requirement: <nil>: Invalid value: "{key}": {_NAME_HELP}')


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(f'unable to parse requirement: <nil>: Invalid value: "{value}": {_VALUE_HELP}')


LabelTest = Callable[[dict[str, str]], bool]


class _LabelParser:
    def __init__(self, selector: str) -> None:
        self.tokens = _lex(selector)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    @staticmethod
    def shown(token: str | None) -> str:
        return "" if token is None else token

    def parse(self) -> list[LabelTest]:
        tests: list[LabelTest] = []
        while self.peek() is not None:
            tests.append(self.requirement())
            token = self.take()
            if token is None:
                break
            if token != ",":
                raise SelectorError(f"found '{token}', expected: ',' or 'end of string'")
            if self.peek() is None:
                raise SelectorError("found '', expected: identifier after ','")
        return tests

    def requirement(self) -> LabelTest:
        negate = self.peek() == "!"
        if negate:
            self.take()
        key = self.take()
        if not _is_ident(key) or key in ("in", "notin"):
            raise SelectorError(
                f"unable to parse requirement: found '{self.shown(key)}', expected: identifier"
            )
        assert key is not None
        _check_key(key)
        if negate or self.peek() in (None, ","):
            return (lambda lb: key not in lb) if negate else (lambda lb: key in lb)
        op = self.take()
        if op in ("in", "notin"):
            values = self.value_set()
            if op == "in":
                return lambda lb: lb.get(key) in values
            return lambda lb: lb.get(key) not in values
        if op in ("=", "==", "!="):
            value = "" if self.peek() in (None, ",") else self.take()
            if not _is_ident(value):
                raise SelectorError(
                    f"unable to parse requirement: found '{self.shown(value)}', expected: identifier"
                )
            assert value is not None
            _check_value(value)
            if op == "!=":
                return lambda lb: lb.get(key) != value
            return lambda lb: lb.get(key) == value
        if op in (">", "<"):
            bound = self.take()
            try:
                number = int(bound or "")
            except ValueError:
                raise SelectorError(
                    f'unable to parse requirement: <nil>: Invalid value: "{self.shown(bound)}": '
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                ) from None

            def compare(lb: dict[str, str]) -> bool:
                try:
                    have = int(lb.get(key, ""))
                except ValueError:
                    return False
                return have > number if op == ">" else have < number

            return compare
        raise SelectorError(
            f"unable to parse requirement: found '{self.shown(op)}', expected: in, notin, =, ==, !=, gt, lt"
        )

    def value_set(self) -> frozenset[str]:
        token = self.take()
        if token != "(":
            raise SelectorError(f"unable to parse requirement: found '{self.shown(token)}', expected: '('")
        values: set[str] = set()
        while True:
            token = self.take()
            if token == ")" and not values:
                return frozenset(values)
            if _is_ident(token):
                assert token is not None
                _check_value(token)
                values.add(token)
                token = self.take()
            elif token == ",":
                values.add("")
                self.pos -= 1
                token = self.take()
            if token == ")":
                return frozenset(values)
            if token != ",":
                raise SelectorError(
                    f"unable to parse requirement: found '{self.shown(token)}', expected: ',' or ')'"
                )


def parse_label_selector(selector: str | None) -> Predicate:
    if not selector or not selector.strip():
        return lambda _obj: True
    tests = _LabelParser(selector).parse()

    def pred(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return pred


# -- field selectors --------------------------------------------------------------------------------

#: field labels each core type supports besides metadata.name/metadata.namespace (pkg/registry/*)
_CORE_FIELDS: dict[str, frozenset[str]] = {
    "Pod": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        }
    ),
    "Event": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "Secret": frozenset({"type"}),
    "Namespace": frozenset({"status.phase"}),
    "Node": frozenset({"spec.unschedulable"}),
    "ReplicaSet": frozenset({"status.replicas"}),
}
_ALWAYS = frozenset({"metadata.name", "metadata.namespace"})


def supported_fields(kind: str) -> frozenset[str]:
    return _ALWAYS | _CORE_FIELDS.get(kind, frozenset())


def field_value(obj: dict[str, Any], path: str) -> str | None:
    if path == "source":  # Event: the reporting component
        return ((obj.get("source") or {}).get("component")) or obj.get("reportingComponent")
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def _split_terms(selector: str) -> list[str]:
    return [t.strip() for t in selector.split(",") if t.strip()]


def _field_test(term: str, allowed: frozenset[str] | None) -> Predicate:
    for op in ("!=", "==", "="):
        if op in term:
            path, value = (x.strip() for x in term.split(op, 1))
            break
    else:
        raise SelectorError(f"invalid selector: '{term}'; can't understand '{term}'")
    if allowed is not None and path not in allowed:
        raise SelectorError(f"field label not supported: {path}")
    if op == "!=":
        return lambda o: (field_value(o, path) or "") != value
    return lambda o: (field_value(o, path) or "") == value


def parse_field_selector(selector: str | None, kind: str | None = None) -> Predicate:
    """``kind``: check the field labels against what the real server supports for that kind."""
    if not selector:
        return lambda _obj: True
    allowed = supported_fields(kind) if kind else None
    tests = [_field_test(term, allowed) for term in _split_terms(selector)]
    return lambda obj: all(t(obj) for t in tests)
