"""Commit message policy from the guide's best practice "Beschreibende Commit-Messages"."""

from __future__ import annotations

import re

from runbook_lib.errors import UsageError

#: shorter messages cannot say what changed and why; ten characters is "kite: v0.5" at the least
MIN_MESSAGE_LENGTH = 10

#: words that say nothing about the change on their own; a message made only of them is refused
GENERIC_WORDS = frozenset(
    {
        "update",
        "updates",
        "updated",
        "fix",
        "fixes",
        "fixed",
        "change",
        "changes",
        "changed",
        "wip",
        "test",
        "tests",
        "testing",
        "tmp",
        "temp",
        "misc",
        "stuff",
        "commit",
        "minor",
        "edit",
        "edits",
        "config",
        "configuration",
        "cleanup",
        "small",
        "some",
        "more",
        "again",
        "the",
        "a",
        "an",
        "and",
        "änderung",
        "änderungen",
        "anpassung",
        "anpassungen",
        "kleinigkeiten",
        "aktualisierung",
        "asdf",
    }
)

GOOD_EXAMPLE = "kite: Image-Tag auf v0.5.0 anheben (behebt Login-Fehler)"


def check_message(message: str) -> str:
    """Return the stripped message, or raise UsageError (German, with a good example)."""
    text = message.strip()
    example = f'Beispiel: "{GOOD_EXAMPLE}" – was ändert sich, an welchem Objekt, und warum.'
    if not text:
        raise UsageError("Die Commit-Message ist leer.", example)
    if len(text) < MIN_MESSAGE_LENGTH:
        raise UsageError(
            f"Die Commit-Message „{text}“ ist zu kurz (mindestens {MIN_MESSAGE_LENGTH} Zeichen).", example
        )
    words = re.findall(r"\w+", text.lower())
    if all(word in GENERIC_WORDS for word in words):
        raise UsageError(
            f"Die Commit-Message „{text}“ ist zu allgemein; später weiß niemand, was geändert wurde.", example
        )
    return text
