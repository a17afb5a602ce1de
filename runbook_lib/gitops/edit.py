"""Set values in a YAML file by dotted path, keeping comments, key order, quoting and indentation.

Path syntax (``set_values`` keys):

- dotted keys: ``spec.values.image.tag``; a number indexes a list: ``spec.values.extraEnvs.0.value``;
- a key that contains dots goes in brackets: ``metadata.annotations[fluxcd.io/automated]``;
- multi-document files: the first document in which the path's parent exists is edited; a prefix
  ``Kind/name:`` picks the document explicitly: ``HelmRelease/kite:spec.values.image.tag``.

The parent of the leaf must exist; a new key under an existing mapping is allowed. Values keep their
YAML type: a new value replacing a string is written as a string in the same quoting style, and a
string such as ``"3"`` replacing an int (float, bool) is converted to that type.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import ScalarString

from runbook_lib.errors import UsageError

Segment = str | int

_SELECTOR = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z0-9]*)/(?P<name>[^:/\s]+):(?P<path>.+)$")
_TOKEN = re.compile(r"\[(?P<bracket>[^\]]+)\]|(?P<plain>[^.\[\]]+)")
_KEY_ONLY = re.compile(r"^(?P<indent> *)(?!- )[^#\s][^#]*:\s*(#.*)?$")


@dataclass(frozen=True, kw_only=True)
class FieldEdit:
    """One value set in the file: ``old`` is None when the key is new (``created``)."""

    path: str
    document: int
    old: Any
    new: Any
    created: bool


@dataclass(frozen=True)
class YamlEdit:
    """The file before and after; ``diff(file)`` renders it as ``git diff`` does."""

    original: str
    updated: str
    edits: tuple[FieldEdit, ...]
    reformatted: bool  # ruamel.yaml would change lines other than the edited ones

    def diff(self, file: str) -> str:
        return unified_diff(self.original, self.updated, file)


def unified_diff(old: str, new: str, file: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{file}", tofile=f"b/{file}"
    )
    body = "".join(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines)
    return f"diff --git a/{file} b/{file}\n{body}" if body else ""


def parse_key(key: str) -> tuple[tuple[str, str] | None, list[str]]:
    """``"HelmRelease/kite:spec.x[a.b].0"`` -> (("HelmRelease", "kite"), ["spec", "x", "a.b", "0"])."""
    selector = None
    match = _SELECTOR.match(key)
    if match:
        selector = (match["kind"], match["name"])
        key = match["path"]
    segments: list[str] = []
    pos = 0
    for token in _TOKEN.finditer(key):
        gap = key[pos : token.start()]
        if gap not in ("", "."):
            raise _bad_key(key)
        segments.append(token["bracket"] if token["bracket"] is not None else token["plain"])
        pos = token.end()
    if not segments or key[pos:] or key.startswith(".") or ".." in key:
        raise _bad_key(key)
    return selector, segments


def _bad_key(key: str) -> UsageError:
    return UsageError(
        f"Ungültiger Pfad `{key}`.",
        "Schreibweise: Schlüssel mit Punkten getrennt, Listenindex als Zahl, Schlüssel mit Punkt in "
        "eckigen Klammern, z. B. `spec.values.image.tag`, `spec.values.extraEnvs.0.value`, "
        "`metadata.annotations[fluxcd.io/automated]`.",
    )


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as ruamel.yaml's ``YAML.indent`` expects them."""
    mapping, offset = None, None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "---", "..."))]
    for line, following in itertools.pairwise(lines):
        head = _KEY_ONLY.match(line)
        if not head:
            continue
        depth = len(head["indent"])
        next_depth = len(following) - len(following.lstrip(" "))
        if following.lstrip().startswith("- "):
            offset = next_depth - depth if offset is None else offset
        elif next_depth > depth:
            mapping = next_depth - depth if mapping is None else min(mapping, next_depth - depth)
    mapping = mapping or 2
    offset = max(offset or 0, 0)
    return mapping, max(offset + 2, mapping), offset


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines the author wrote on one line
    mapping, sequence, offset = guess_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = text.lstrip().startswith("---")
    return yaml


def _dump(yaml: YAML, docs: list[Any]) -> str:
    buf = io.StringIO()
    yaml.dump_all(docs, buf)
    return buf.getvalue()


def split_preamble(text: str) -> tuple[str, str]:
    """Comment lines before a leading ``---`` (ruamel.yaml drops them), and the rest."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i += 1
    if i and i < len(lines) and lines[i].startswith("---"):
        return "".join(lines[:i]), "".join(lines[i:])
    return "", text


def edit_yaml(text: str, set_values: Mapping[str, Any], *, file: str = "") -> YamlEdit:
    """Apply ``set_values`` to the YAML ``text``; UsageError naming the closest keys on a bad path."""
    if not set_values:
        raise UsageError(
            "Keine Werte angegeben (`set_values` ist leer).", 'Beispiel: {"spec.values.image.tag": "v1.2.3"}'
        )
    preamble, body = split_preamble(text)
    yaml = _yaml(body)
    try:
        docs = list(yaml.load_all(body))
        reformatted = _dump(yaml, docs) != body
    except YAMLError as exc:
        raise UsageError(
            f"{file or 'Die Datei'} ist kein gültiges YAML: {exc}", "Datei reparieren und erneut versuchen."
        ) from exc
    edits = tuple(_apply(docs, key, value, file) for key, value in set_values.items())
    return YamlEdit(original=text, updated=preamble + _dump(yaml, docs), edits=edits, reformatted=reformatted)


def _apply(docs: list[Any], key: str, value: Any, file: str) -> FieldEdit:
    selector, segments = parse_key(key)
    candidates = [(i, d) for i, d in enumerate(docs) if _selected(d, selector)]
    if not candidates:
        kind, name = selector or ("", "")
        raise UsageError(
            f"In {file or 'der Datei'} gibt es kein Dokument {kind}/{name}.",
            f"Vorhandene Dokumente: {', '.join(_doc_label(d) for d in docs) or 'keine'}.",
        )
    best: tuple[int, Any, list[str]] | None = None
    for index, doc in candidates:
        parent, reached = _walk(doc, segments[:-1])
        if parent is not None and isinstance(parent, CommentedMap | CommentedSeq):
            return _set(index, parent, segments[-1], value, key)
        if best is None or reached > best[0]:
            best = (reached, doc, segments)
    assert best is not None
    raise _missing(key, best[1], segments, best[0], file)


def _selected(doc: Any, selector: tuple[str, str] | None) -> bool:
    if not isinstance(doc, CommentedMap):
        return False
    if selector is None:
        return True
    meta = doc.get("metadata")
    return doc.get("kind") == selector[0] and isinstance(meta, Mapping) and meta.get("name") == selector[1]


def _doc_label(doc: Any) -> str:
    if not isinstance(doc, Mapping):
        return "(kein Objekt)"
    meta: Mapping[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), Mapping) else {}
    return f"{doc.get('kind', '?')}/{meta.get('name', '?')}"


def _child(node: Any, segment: str) -> tuple[bool, Any]:
    if isinstance(node, CommentedMap):
        return (segment in node, node.get(segment))
    if isinstance(node, CommentedSeq) and segment.isdigit() and int(segment) < len(node):
        return True, node[int(segment)]
    return False, None


def _walk(doc: Any, segments: list[str]) -> tuple[Any, int]:
    """(node at ``segments`` or None, number of segments that resolved)."""
    node = doc
    for depth, segment in enumerate(segments):
        found, node = _child(node, segment)
        if not found:
            return None, depth
    return node, len(segments)


def _missing(key: str, doc: Any, segments: list[str], reached: int, file: str) -> UsageError:
    node, _ = _walk(doc, segments[:reached])
    where = ".".join(segments[:reached]) or "(oberste Ebene)"
    wanted = segments[reached]
    if isinstance(node, CommentedMap):
        keys = [str(k) for k in node]
        close = difflib.get_close_matches(wanted, keys, n=3, cutoff=0.5)
        suggestion = (
            f"Meinten Sie: {', '.join(f'`{c}`' for c in close)}?"
            if close
            else f"Vorhanden: {', '.join(keys[:12])}."
        )
        return UsageError(
            f"Pfad `{key}` gibt es in {file or 'der Datei'} nicht: unter `{where}` fehlt `{wanted}`.",
            f"{suggestion} Neue Schlüssel sind nur unter einer vorhandenen Ebene erlaubt.",
        )
    if isinstance(node, CommentedSeq):
        return UsageError(
            f"Pfad `{key}`: `{where}` ist eine Liste mit {len(node)} Einträgen, "
            f"`{wanted}` ist kein gültiger Index.",
            f"Index 0 bis {len(node) - 1} verwenden." if node else "Die Liste ist leer.",
        )
    return UsageError(
        f"Pfad `{key}`: `{where}` ist ein einfacher Wert ({node!r}), darunter gibt es keine Schlüssel.",
        f"Den Wert direkt setzen: `{where}`.",
    )


def _set(index: int, parent: Any, leaf: str, value: Any, key: str) -> FieldEdit:
    if isinstance(parent, CommentedSeq):
        if not leaf.isdigit() or int(leaf) >= len(parent):
            raise UsageError(
                f"Pfad `{key}`: Index `{leaf}` gibt es nicht (die Liste hat {len(parent)} Einträge).",
                "Nur vorhandene Listeneinträge können gesetzt werden.",
            )
        old = parent[int(leaf)]
        new = coerce(old, value)
        parent[int(leaf)] = new
        return FieldEdit(path=key, document=index, old=_plain(old), new=_plain(new), created=False)
    created = leaf not in parent
    if created:
        _refuse_typo(parent, leaf, key)
    old = None if created else parent[leaf]
    new = value if created else coerce(old, value)
    parent[leaf] = new
    return FieldEdit(path=key, document=index, old=_plain(old), new=_plain(new), created=created)


def _refuse_typo(parent: Any, leaf: str, key: str) -> None:
    """A new key that is one typo away from an existing sibling (``verison`` next to ``version``) is
    almost always a typo that Flux would silently ignore: refuse it and name the existing key. A key
    that only extends or shortens a sibling (``hosts`` next to ``host``) is a real new key."""
    keys = [str(k) for k in parent]
    close = difflib.get_close_matches(leaf, keys, n=1, cutoff=0.8)
    if close and not (close[0].startswith(leaf) or leaf.startswith(close[0])):
        where = key.rsplit(".", 1)[0]
        raise UsageError(
            f"Pfad `{key}`: `{leaf}` gibt es unter `{where}` nicht, wohl ein Tippfehler für `{close[0]}`.",
            f"Meinten Sie `{where}.{close[0]}`? Ein Tippfehler würde als neues Feld angelegt und von Flux "
            "ignoriert; es wurde nichts geändert.",
        )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, ScalarString) else value


def coerce(old: Any, new: Any) -> Any:
    """``new`` in the YAML type and quoting style of ``old`` where that is unambiguous."""
    if isinstance(old, str) and isinstance(new, int | float | str) and not isinstance(new, bool):
        text = str(new)
        return type(old)(text) if isinstance(old, ScalarString) else text
    if isinstance(new, str) and not isinstance(old, str):
        return _parse_like(old, new)
    return new


def _parse_like(old: Any, new: str) -> Any:
    if isinstance(old, bool):
        return {"true": True, "false": False}.get(new.strip().lower(), new)
    for kind in (int, float):
        if isinstance(old, kind):
            try:
                return kind(new)
            except ValueError:
                return new
    return new
