"""Where runbooks are found: the team's own folders first, then the runbooks shipped with the package.

The search path, first match of a name wins (a team may replace a shipped runbook with its own):

1. the folders given with ``--runbooks`` (in the order given),
2. the folders in ``RUNBOOK_NOTEBOOKS`` (``os.pathsep``-separated, see :mod:`.settings`),
3. the shipped runbooks: ``runbook_lib/notebooks/`` in an installed package (the wheel maps the
   checkout's top-level ``notebooks/`` there, see ``pyproject.toml``), else the checkout's
   ``notebooks/`` (a source checkout or an editable install).

So ``runbook list`` shows every runbook from whatever directory it runs in. A folder that does not
exist is a usage error: a typo in a CI variable must not silently fall back to the shipped runbooks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.errors import UsageError

#: the package's own folder; the wheel puts the runbooks in ``notebooks/`` under it
_PACKAGE = Path(__file__).resolve().parent


def shipped_folder() -> Path:
    """The runbooks that come with this installation (installed package or source checkout)."""
    packaged = _PACKAGE / "notebooks"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "notebooks"


@dataclass(frozen=True)
class Folder:
    """One folder of the search path."""

    path: Path
    #: the runbooks shipped with the package (not a team's own folder)
    shipped: bool = False

    def notebooks(self) -> list[Path]:
        """The ``*.ipynb`` files in the folder; hidden ones and Jupyter's checkpoints are not runbooks."""
        return sorted(p for p in self.path.glob("*.ipynb") if not p.name.startswith((".", "_")))


def search_path(extra: Iterable[str | os.PathLike[str]] = ()) -> tuple[Folder, ...]:
    """``--runbooks`` folders, then ``RUNBOOK_NOTEBOOKS``, then the shipped runbooks (see module doc)."""
    from runbook_lib.settings import Settings

    own = [*extra, *Settings.from_env().notebooks]
    folders: list[Folder] = []
    for raw in own:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise UsageError(
                f"Den Runbook-Ordner '{raw}' gibt es nicht.",
                "Pfad bei --runbooks bzw. in RUNBOOK_NOTEBOOKS prüfen (mehrere Ordner mit ':' trennen).",
            )
        folders.append(Folder(path.resolve()))
    folders.append(Folder(shipped_folder(), shipped=True))
    unique: dict[Path, Folder] = {}
    for folder in folders:
        unique.setdefault(folder.path, folder)
    return tuple(unique.values())


def located(folders: Sequence[Folder]) -> dict[str, tuple[Path, Folder]]:
    """Runbook name -> (file, folder), the first folder with that name winning; sorted by name."""
    found: dict[str, tuple[Path, Folder]] = {}
    for folder in folders:
        for path in folder.notebooks():
            found.setdefault(path.stem, (path, folder))
    return dict(sorted(found.items()))


def describe(folders: Sequence[Folder]) -> str:
    """The folders in German, for "nothing found" messages."""
    return ", ".join(str(f.path) for f in folders)
