"""The preflight of every runbook: before it acts, ask the API server for each right it will use.

``check_rights("sync", kind=kind, namespace=namespace, dry_run=False, client=cluster)`` asks one
SelfSubjectAccessReview per right (:func:`runbook_lib.kube.can_i`) of the runbook's declaration
(:func:`runbook_lib.rights.rights_of`: the notebook's ``metadata.runbook.rights``, else the shipped
table). A missing required right stops the runbook (:class:`MissingRights`, German, with the exact
rule to add); missing optional rights are listed, and the runbook goes on and marks those parts
"nicht lesbar (fehlendes Recht: …)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from runbook_lib.cluster import Cluster, default_cluster
from runbook_lib.errors import Forbidden, UsageError
from runbook_lib.folders import located, search_path
from runbook_lib.kube import can_i, side_by_side
from runbook_lib.report import Rendered, color_style, html_table, text_table
from runbook_lib.rights import Check, Right, rights_of, rules_to_add, summarize
from runbook_lib.settings import settings


class MissingRights(Forbidden):
    """A runbook lacks rights it cannot work without; nothing was changed."""


@dataclass(frozen=True)
class RightsCheck(Rendered):
    """The answer of the preflight: every right asked, and whether the user has it. Its text carries no
    ✔/⚠ mark: the runbook's own verdict (the run record's "Befund") comes from what it found."""

    runbook: str
    checks: tuple[tuple[Check, bool], ...]

    @property
    def missing(self) -> tuple[Check, ...]:
        return tuple(c for c, ok in self.checks if not ok)

    @property
    def missing_optional(self) -> tuple[Check, ...]:
        return tuple(c for c in self.missing if c.optional)

    @property
    def verdict(self) -> str:
        if not self.checks:
            return f"Rechte: das Runbook {self.runbook} braucht keine Rechte im Cluster."
        if not self.missing:
            return f"Rechte: alle {len(self.checks)} vorhanden, die {self.runbook} braucht."
        parts = ", ".join(f"{c} ({c.purpose})" if c.purpose else str(c) for c in self.missing_optional)
        return f"Rechte: ohne diese sind Teile nicht lesbar, das Runbook läuft weiter: {parts}."

    def _rows(self) -> list[list[str]]:
        return [
            [str(c), c.purpose, "ja" if ok else ("fehlt (optional)" if c.optional else "FEHLT")]
            for c, ok in self.checks
        ]

    def __str__(self) -> str:
        if not self.missing:
            return self.verdict + "\n"
        return text_table(["RECHT", "WOFÜR", "VORHANDEN"], self._rows()) + "\n" + self.verdict + "\n"

    def _repr_html_(self) -> str:
        tone = "success" if not self.missing else "warning"
        verdict = f'<p style="{color_style(tone)}">{escape(self.verdict)}</p>'
        if not self.missing:
            return verdict
        classes = ["" if ok else "failing" for _, ok in self.checks]
        return html_table(["Recht", "Wofür", "Vorhanden"], self._rows(), row_classes=classes) + verdict


def declared_rights(runbook: str) -> tuple[Right, ...]:
    """The rights of ``runbook``: its notebook's declaration on the search path, else the shipped table."""
    settings: dict[str, Any] = {}
    found = located(search_path()).get(runbook)
    if found is not None:
        import json

        try:
            meta = json.loads(found[0].read_text(encoding="utf-8")).get("metadata") or {}
            settings = dict(meta.get("runbook") or {})
        except (OSError, ValueError):
            settings = {}
    rights = rights_of(runbook, settings)
    if rights is None:
        raise UsageError(
            f"Für das Runbook '{runbook}' sind keine Rechte deklariert.",
            'In den Metadaten des Notebooks unter "runbook": {"rights": [...]} angeben '
            "(Form: docs/development.md, „Rechte der Runbooks“).",
        )
    return rights


def _missing_error(runbook: str, missing: Sequence[Check]) -> MissingRights:
    names = summarize(missing)
    rules = rules_to_add(missing)
    roles = sorted({c.role for c in missing if c.role})
    apply = " ".join(f"rbac/{r}.yaml" for r in roles)
    error = MissingRights(
        f"Dem Benutzer fehlen Rechte, ohne die das Runbook {runbook} nicht arbeiten kann: {names}. "
        "Es hat nichts geändert.",
        f"Diese Regeln ergänzen:\n{rules}\noder die mitgelieferte Rolle binden (`kubectl apply -f {apply}`, "
        "Bindung in der Datei anpassen). Prüfen: `kubectl auth can-i VERB RESSOURCE -n NAMESPACE`.",
    )
    error.missing = str(missing[0])
    return error


def check_rights(runbook: str, *, client: Cluster | None = None, **params: Any) -> RightsCheck:
    """Ask the API server for every right ``runbook`` will use with these parameters (see module doc).

    Raises :class:`MissingRights` when a required right is missing; returns the :class:`RightsCheck`
    otherwise (optional rights that are missing listed in it).
    """
    cluster = default_cluster(client)
    params.setdefault("flux_namespace", settings().flux_namespace)
    checks = list(dict.fromkeys(c for r in declared_rights(runbook) for c in r.checks(params)))
    # a dozen round trips one after the other were most of a status run
    allowed = side_by_side(lambda c: can_i(cluster, c.verb, c.resource, c.group, c.namespace), checks)
    answers = tuple(zip(checks, allowed, strict=True))
    result = RightsCheck(runbook, answers)
    required = [c for c in result.missing if not c.optional]
    if required:
        raise _missing_error(runbook, required)
    return result
