"""Where in the GitOps checkout an object (and a field of it) is written: file and line.

- :func:`parse_field` reads a field path as kubectl's JSONPath users write it
  (``spec.template.spec.containers[0].image``, also ``containers.0.image``; a key with dots in
  brackets: ``metadata.labels[app.kubernetes.io/name]``).
- :func:`find_manifests` reads every YAML file of a folder with ruamel.yaml (which keeps the line of
  every key) and returns the documents that define ``kind``/``name``/``namespace``.
- :func:`locate` gives the line of a path in one document (or of the deepest part that exists).
- :func:`values_candidates` is the rule for Helm-managed objects: which ``values`` keys of a
  HelmRelease (or of the chart's defaults) set the asked-for field, by value and by name (pure).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from runbook_lib.errors import UsageError

Segment = str | int
#: folders never searched for manifests
SKIP_DIRS = frozenset({".git", "node_modules", ".venv"})
#: a YAML file larger than this is not a hand-written manifest (a vendored CRD bundle): skipped
MAX_FILE_BYTES = 2_000_000
_TOKEN = re.compile(r"\[(?P<bracket>[^\]]+)\]|(?P<plain>[^.\[\]]+)")
#: the shortest values string that counts as "part of" a longer field value (``v1`` in an image)
MIN_PART = 2


def parse_field(text: str) -> tuple[Segment, ...]:
    """``spec.template.spec.containers[0].image`` -> ``("spec", "template", "spec", "containers", 0,
    "image")``; a leading ``.`` or ``{.…}`` (kubectl JSONPath) is accepted (pure)."""
    raw = text.strip()
    if raw.startswith("{") and raw.endswith("}"):
        raw = raw[1:-1]
    raw = raw.lstrip(".")
    if not raw or re.search(r"\.\.|\[\s*\]|^\[|[*?@]", raw):
        raise UsageError(
            f"Der Feldpfad '{text}' ist ungültig.",
            "Punkt-Pfad wie in kubectl angeben, z. B. spec.template.spec.containers[0].image "
            "oder spec.replicas.",
        )
    out: list[Segment] = []
    for match in _TOKEN.finditer(raw):
        token = match.group("bracket") or match.group("plain")
        out.append(int(token) if token.isdigit() else token)
    return tuple(out)


def show_field(segments: Sequence[Segment]) -> str:
    """The path back as text: ``spec.template.spec.containers[0].image``."""
    out = ""
    for seg in segments:
        if isinstance(seg, int) or "." in seg or "/" in seg:
            out += f"[{seg}]"
        else:
            out += f".{seg}" if out else seg
    return out


def dotted(segments: Sequence[Segment]) -> str:
    """The path as ``set_values`` keys of ``change`` write it (``…containers.0.image``)."""
    return ".".join(f"[{s}]" if isinstance(s, str) and "." in s else str(s) for s in segments)


_MISSING = object()


def value_at(obj: Any, segments: Sequence[Segment]) -> Any:
    """The value at ``segments`` in plain data; ``None`` when a part is missing (pure)."""
    node = obj
    for seg in segments:
        in_list = isinstance(seg, int) and isinstance(node, list) and -len(node) <= seg < len(node)
        if in_list or (isinstance(seg, str) and isinstance(node, Mapping) and seg in node):
            node = node[seg]
        else:
            return None
    return node


@dataclass(frozen=True)
class Manifest:
    """One YAML document in the checkout that defines the object."""

    file: str  # relative to the checkout
    index: int  # document number in the file (0 = first)
    doc: Any  # the ruamel document (keeps line numbers)
    line: int  # 1-based line of its ``kind:`` key
    documents: int  # documents in the file (a selector is needed when > 1)


def _yaml_files(root: Path, folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        if path.suffix in (".yaml", ".yml") and path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
            yield path


def _documents(path: Path) -> list[Any]:
    yaml = YAML(typ="rt")
    try:
        return [d for d in yaml.load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (YAMLError, UnicodeDecodeError, OSError):
        return []  # not ours to judge here: the kustomize build reports broken files


def _group(api_version: object) -> str:
    text = str(api_version or "")
    return text.rpartition("/")[0]


def find_manifests(
    root: Path, folder: str, *, kind: str, name: str, namespace: str | None, group: str
) -> list[Manifest]:
    """The documents under ``root/folder`` (recursively) that define the object. A document without
    ``metadata.namespace`` matches any namespace (kustomize or Flux set it at build time)."""
    found = []
    base = (root / folder.lstrip("./")).resolve() if folder.strip("./") else root.resolve()
    for path in _yaml_files(root.resolve(), base):
        docs = _documents(path)
        for index, doc in enumerate(docs):
            if (
                not isinstance(doc, CommentedMap)
                or doc.get("kind") != kind
                or _group(doc.get("apiVersion")) != group
            ):
                continue
            meta = doc.get("metadata") or {}
            if meta.get("name") != name:
                continue
            if namespace and meta.get("namespace") not in (None, namespace):
                continue
            line = doc.lc.key("kind")[0] + 1 if "kind" in doc else doc.lc.line + 1
            rel = path.relative_to(root.resolve()).as_posix()
            found.append(Manifest(file=rel, index=index, doc=doc, line=line, documents=len(docs)))
    return found


def locate(doc: Any, segments: Sequence[Segment]) -> tuple[int, int, Any]:
    """(1-based line, segments found, value) of ``segments`` in a ruamel document: the line of the
    deepest key or list item that exists, and its value (``None`` when not all exist)."""
    node, line, reached = doc, doc.lc.line + 1, 0
    for seg in segments:
        if isinstance(node, CommentedMap) and isinstance(seg, str) and seg in node:
            line = node.lc.key(seg)[0] + 1
            node = node[seg]
        elif isinstance(node, CommentedSeq) and isinstance(seg, int) and 0 <= seg < len(node):
            line = node.lc.item(seg)[0] + 1
            node = node[seg]
        else:
            return line, reached, None
        reached += 1
    return line, reached, node


# --- values keys of a Helm chart that set a rendered field (pure) ----------------------------------


@dataclass(frozen=True)
class Candidate:
    """A values key that sets (part of) the field, with how sure the rule is."""

    key: tuple[Segment, ...]
    value: Any
    score: int
    whole: bool  # the value is the field's whole value, not a part of it


def flatten(values: Any, prefix: tuple[Segment, ...] = ()) -> Iterator[tuple[tuple[Segment, ...], Any]]:
    """Every scalar leaf of nested values with its path."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield from flatten(value, (*prefix, str(key)))
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from flatten(value, (*prefix, index))
    else:
        yield prefix, values


def _words(segments: Iterable[Segment]) -> set[str]:
    """Lower-case words of a path, camelCase split: ``replicaCount`` -> replica, count."""
    out = set()
    for seg in segments:
        if isinstance(seg, str):
            out |= {_stem(w.lower()) for w in re.findall(r"[a-z0-9]+|[A-Z][a-z0-9]*", seg)}
    return out - {"spec", "template", "metadata"}


def _stem(word: str) -> str:
    """``replicas`` and ``replica``, ``containers`` and ``container`` are the same word here."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def values_candidates(
    values: Mapping[str, Any], field: Sequence[Segment], field_value: Any
) -> tuple[Candidate, ...]:
    """The keys of ``values`` that probably set ``field`` (whose rendered value is ``field_value``),
    best first.

    A key counts only if its value is the field's value or a part of it (an image tag in
    ``repo:tag``); among those, a key whose path ends like the field's (``resources.limits.memory``)
    or shares words with it (``replicaCount`` for ``replicas``, ``image.tag`` for ``image``) ranks
    higher. For a mapping field (``resources``) the keys below a values mapping with the same leaves
    count. Without a value relation nothing is guessed.
    """
    wanted = _scalar(field_value)
    field_words = _words(field)
    leaf = field[-1] if field else ""
    out = []
    for key, value in flatten(values):
        text = _scalar(value)
        if text is None or text == "" or wanted is None:
            continue
        whole = text == wanted
        part = not whole and len(text) >= MIN_PART and text in wanted and not text.isdigit()
        if not (whole or part):
            continue
        key_words = _words(key)
        score = (4 if whole else 2) + 2 * len(field_words & key_words)
        suffix = 0
        while suffix < min(len(key), len(field)) and key[-1 - suffix] == field[-1 - suffix]:
            suffix += 1
        score += 3 * suffix
        if isinstance(leaf, str) and key_words & _words([leaf]):
            score += 1
        if whole and not (field_words & key_words) and suffix == 0:
            score -= 3  # the same value by chance (a "1", a "true") without a name relation
        if score > 2:
            out.append(Candidate(key=key, value=value, score=score, whole=whole))
    return tuple(sorted(out, key=lambda c: (-c.score, len(c.key))))
