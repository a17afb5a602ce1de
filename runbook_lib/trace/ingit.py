"""The Git part of a trace: the manifest, the line, the values key and the change command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from runbook_lib.objects import meta, spec, status
from runbook_lib.trace import checkout as gitcheck
from runbook_lib.trace.chain import MORE_CANDIDATES, HelmFacts, Obj, Walk, _group, _text, ref_of
from runbook_lib.trace.locate import (
    Candidate,
    dotted,
    find_manifests,
    locate,
    show_field,
    value_at,
    values_candidates,
)
from runbook_lib.trace.model import Location, Trace


def _with(result: Trace, w: Walk, **changes: Any) -> Trace:
    from dataclasses import replace

    return replace(result, notes=tuple(w.notes), **changes)


def _in_git(
    result: Trace,
    w: Walk,
    *,
    top: Obj,
    obj: Obj,
    segments: tuple,
    value: Any,
    helm: HelmFacts | None,
    repo_path: str,
) -> Trace:
    repo = gitcheck.open_checkout(repo_path, w.notes)
    if repo is None:
        return _with(result, w)
    root = Path(str(repo.working_tree_dir))
    applied = str(status(w.ks).get("lastAppliedRevision") or "") if w.ks else ""
    gitcheck.compare(repo, applied, w.source, w.notes)
    folder = str(spec(w.ks).get("path") or "") if w.ks else ""
    defined = helm.hr if helm is not None else top
    m = meta(defined)
    manifests = find_manifests(
        root,
        folder,
        kind=str(defined.get("kind")),
        name=str(m.get("name")),
        namespace=m.get("namespace"),
        group=_group(defined),
    ) or find_manifests(
        root,
        "",
        kind=str(defined.get("kind")),
        name=str(m.get("name")),
        namespace=m.get("namespace"),
        group=_group(defined),
    )
    if not manifests:
        w.notes.append(
            f"{ref_of(defined)} steht in keiner YAML-Datei unter {folder or 'der Arbeitskopie'} "
            "(anderes Repository, ein Generator, oder die Arbeitskopie ist nicht aktuell: git pull)."
        )
        return _with(result, w, checkout=repo_path)
    manifest = manifests[0]
    if helm is not None:
        locations, key, new = _helm_locations(manifest, segments, value, helm)
    else:
        locations, key, new = _manifest_locations(manifest, segments if defined is obj else (), value)
    command = change_command(repo_path, manifest.file, key, new, str(m.get("name"))) if key else ""
    return _with(result, w, checkout=repo_path, locations=tuple(locations), change_command=command)


def _manifest_locations(manifest: Any, segments: tuple, value: Any) -> tuple[list[Location], str, Any]:
    selector = (
        f"{manifest.doc.get('kind')}/{manifest.doc['metadata'].get('name')}:"
        if manifest.documents > 1
        else ""
    )
    if not segments:
        return (
            [
                Location(
                    manifest.file,
                    manifest.line,
                    f"{manifest.doc.get('kind')} {manifest.doc['metadata'].get('name')}",
                    "",
                )
            ],
            "",
            None,
        )
    line, reached, found = locate(manifest.doc, segments)
    if reached == len(segments):
        return (
            [Location(manifest.file, line, show_field(segments), _text(found))],
            selector + dotted(segments),
            found,
        )
    note = f"nicht in der Datei gesetzt; die Zeile zeigt {show_field(segments[:reached]) or 'das Objekt'}"
    return [Location(manifest.file, line, show_field(segments), "", note)], selector + dotted(segments), value


def _helm_locations(
    manifest: Any, segments: tuple, value: Any, helm: HelmFacts
) -> tuple[list[Location], str, Any]:
    values = dict(spec(helm.hr).get("values") or {})
    base = ("spec", "values")
    if not segments:
        line, _, _ = locate(manifest.doc, ())
        return (
            [Location(manifest.file, manifest.line, f"HelmRelease {meta(helm.hr).get('name')}", "")],
            "",
            None,
        )
    own = values_candidates(values, segments, value)
    chart = [c for c in values_candidates(helm.defaults, segments, value) if value_at(values, c.key) is None]
    out: list[Location] = []
    for i, cand in enumerate(own[: 1 + MORE_CANDIDATES]):
        line, reached, _ = locate(manifest.doc, (*base, *cand.key))
        note = "" if cand.whole else f"Teil von {_text(value)}"
        if reached < len(base) + len(cand.key):
            note = "Wert aus dem Cluster, nicht in der Datei (Arbeitskopie aktuell?)"
        out.append(
            Location(manifest.file, line, dotted((*base, *cand.key)), _text(cand.value), note, primary=i == 0)
        )
    for cand in chart[: 1 + MORE_CANDIDATES]:
        line, _, _ = locate(manifest.doc, base)
        out.append(
            Location(
                manifest.file,
                line,
                dotted((*base, *cand.key)),
                _text(cand.value),
                "Standardwert des Charts; hier unter spec.values setzen, um ihn zu ändern",
                primary=not out,
            )
        )
    if not out:
        line, _, _ = locate(manifest.doc, base)
        out.append(
            Location(manifest.file, line, "spec.values", "", "kein values-Schlüssel passt zum Wert des Felds")
        )
        return out, "", None
    best: Candidate = (own or chart)[0]
    return out, dotted((*base, *best.key)), best.value


def change_command(repo_path: str, file: str, key: str, value: Any, name: str) -> str:
    """``runbook run change …`` that sets ``key`` in ``file`` (the current value as placeholder)."""
    values = json.dumps({key: value}, ensure_ascii=False)
    message = f"{name}: {key.rpartition(':')[2]} auf NEUEN_WERT setzen (Grund angeben)"
    repo, path, change, text = (shlex.quote(v) for v in (repo_path, file, values, message))
    return f"runbook run change -p repo_path {repo} -p file {path} -p set_values {change} -p message {text}"
