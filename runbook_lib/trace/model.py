"""The result of ``trace``: the chain from an object to its Flux object, source and Git line."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from runbook_lib.report import Rendered, color_style, html_table, text_table

#: how the traced object is managed
MANAGED_BY = {
    "kustomization": "von Flux (Kustomization)",
    "helmrelease": "von Flux (HelmRelease)",
    "helm": "von Helm ohne Flux",
    "none": "nicht von Flux",
    "unknown": "von einem Besitzer, der im Cluster fehlt,",
}
_MARKS = {True: "✔", False: "✗", None: "ℹ"}
_TONES = {True: "success", False: "failure", None: "info"}


@dataclass(frozen=True)
class Link:
    """One step of the chain: a Kubernetes object and what it says about the traced object."""

    role: str  # "Objekt", "Besitzer", "verwaltet von", "Chart", "Quelle"
    ref: str  # "HelmRelease kube-system/kite"
    detail: str  # "bereit · Chart kite@0.6.3"
    ok: bool | None = None  # ✔/✗, None: neutral


@dataclass(frozen=True)
class Location:
    """A place in the checkout: file and line, the key there and its value."""

    file: str
    line: int
    key: str
    value: str
    note: str = ""  # "Standardwert des Charts", "nicht in der Datei gesetzt"
    primary: bool = True

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Trace(Rendered):
    """``flux trace`` plus the file and line in Git, and the ``change`` command to edit it there."""

    target: str  # "Deployment kube-system/kite"
    managed: str  # a key of MANAGED_BY
    field: str = ""
    field_value: str = ""
    chain: tuple[Link, ...] = ()
    #: the applied revision is the source's current one (None: unknown or not from a source)
    current: bool | None = None
    current_note: str = ""
    locations: tuple[Location, ...] = ()
    checkout: str = ""  # the checkout searched ("" when none)
    notes: tuple[str, ...] = ()  # what a reader must know: an old checkout, valuesFrom, no file found
    change_command: str = ""
    managers: tuple[str, ...] = ()  # field managers of an object Flux does not manage

    @property
    def headline(self) -> str:
        return f"{self.target} wird {MANAGED_BY.get(self.managed, self.managed)} verwaltet."

    @property
    def primary(self) -> Location | None:
        return next((loc for loc in self.locations if loc.primary), None)

    def _chain_rows(self) -> list[list[str]]:
        return [[_MARKS[link.ok], link.role, link.ref, link.detail] for link in self.chain]

    def _location_lines(self) -> list[str]:
        out = []
        for loc in self.locations:
            mark = "►" if loc.primary else "ℹ"
            value = f": {loc.value}" if loc.value else ""
            note = f"  ({loc.note})" if loc.note else ""
            out.append(f"  {mark} {loc.where()}  {loc.key}{value}{note}")
        return out

    def __str__(self) -> str:
        mark = "✔" if self.managed in ("kustomization", "helmrelease") else "⚠"
        lines = [f"{mark} {self.headline}"]
        if self.field:
            lines.append(f"  Feld:             {self.field} = {self.field_value or '(nicht gesetzt)'}")
        if self.managers:
            lines.append(f"  Geändert von:     {', '.join(self.managers)} (Feld-Manager)")
        if self.chain:
            lines += ["", text_table(["", "ROLLE", "OBJEKT", "STAND"], self._chain_rows())]
        if self.current_note:
            lines += ["", f"{_MARKS[self.current]} {self.current_note}"]
        if self.locations:
            lines += ["", f"In Git ({self.checkout}):", *self._location_lines()]
        for note in self.notes:
            lines.append(f"⚠ {note}")
        if self.change_command:
            lines += [
                "",
                "  Nächster Schritt: Hier ändern, dann `change` ausführen (erst Probelauf, dann mit "
                "-p dry_run False):",
                f"  Befehl:           {self.change_command}",
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        good = self.managed in ("kustomization", "helmrelease")
        parts = [
            f'<p><b style="{color_style("success" if good else "warning")}">{escape(self.headline)}</b></p>'
        ]
        if self.field:
            value = escape(self.field_value or "(nicht gesetzt)")
            parts.append(f"<p>Feld <code>{escape(self.field)}</code> = <code>{value}</code></p>")
        if self.managers:
            parts.append(f"<p>Geändert von (Feld-Manager): {escape(', '.join(self.managers))}</p>")
        if self.chain:
            parts.append(html_table(["", "Rolle", "Objekt", "Stand"], self._chain_rows()))
        if self.current_note:
            style = color_style(_TONES[self.current])
            parts.append(
                f'<p><span style="{style}">{_MARKS[self.current]}</span> {escape(self.current_note)}</p>'
            )
        if self.locations:
            rows = [
                [loc.where(), loc.key, loc.value, loc.note or ("hier ändern" if loc.primary else "")]
                for loc in self.locations
            ]
            parts.append(f"<p><b>In Git</b> (<code>{escape(self.checkout)}</code>):</p>")
            parts.append(html_table(["Datei:Zeile", "Schlüssel", "Wert", "Hinweis"], rows))
        parts += [f'<p><span style="{color_style("warning")}">⚠</span> {escape(n)}</p>' for n in self.notes]
        if self.change_command:
            parts.append(
                "<p><b>Nächster Schritt:</b> hier ändern, dann <code>change</code> ausführen "
                "(erst Probelauf, dann mit <code>-p dry_run False</code>):</p>"
                f"<pre><code>{escape(self.change_command)}</code></pre>"
            )
        return "".join(parts)
