"""Where a run's record (the executed notebook) goes, checked and reserved before anything runs.

``runbook run --output PFAD`` once pushed a change and only then found that it could not write the
record. :func:`reserve_output` therefore opens the file for writing *before* the first cell: a
directory, a missing parent folder, a path below a regular file or a folder without write access is a
:class:`UsageError` (exit code 2) and nothing has run.

Default names (``runs/<runbook>-<UTC time to the millisecond>Z.ipynb``) are created exclusively
(``O_EXCL``): twenty runs started in the same millisecond in one folder still get twenty files
(``…Z-2.ipynb``, ``…Z-3.ipynb``); a record never overwrites another.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from runbook_lib.errors import UsageError, os_reason

#: the folder of default records, relative to the working directory
RUNS = Path("runs")
#: attempts at a free default name before giving up (only reached when the folder is full of the
#: same millisecond, i.e. never in practice)
_ATTEMPTS = 1000


def default_name(name: str, started: datetime, attempt: int = 1) -> str:
    """``status-20250101T120000.123Z.ipynb``; a later attempt gets ``-N`` before the suffix (pure)."""
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f".{started.microsecond // 1000:03d}Z"
    return f"{name}-{stamp}" + (f"-{attempt}" if attempt > 1 else "") + ".ipynb"


def _unwritable(path: Path, why: str, hint: str) -> UsageError:
    return UsageError(
        f"Das Protokoll kann nicht nach {path} geschrieben werden: {why}.",
        f"{hint} Es wurde nichts ausgeführt.",
    )


def _check_folder(folder: Path, path: Path) -> None:
    if not folder.exists():
        raise _unwritable(
            path,
            f"das Verzeichnis {folder} gibt es nicht",
            f"Verzeichnis anlegen (`mkdir -p {folder}`) oder einen anderen Pfad mit --output angeben.",
        )
    if not folder.is_dir():
        raise _unwritable(
            path,
            f"{folder} ist kein Verzeichnis",
            "Einen Pfad in einem Verzeichnis angeben, z. B. `--output runs/lauf.ipynb`.",
        )


def _explicit(path: Path) -> Path:
    if path.is_dir():
        raise _unwritable(
            path,
            "das ist ein Verzeichnis",
            f"Einen Dateinamen angeben, z. B. `--output {path / 'lauf.ipynb'}`.",
        )
    _check_folder(path.parent, path)
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):  # append: an existing file keeps its content until the run
            pass
    except ValueError as exc:  # a NUL byte in the path
        raise _unwritable(
            path, "der Pfad enthält ein NUL-Zeichen", "Den Pfad ohne Steuerzeichen angeben."
        ) from exc
    except OSError as exc:
        raise _unwritable(
            path,
            os_reason(exc),
            "Schreibrechte prüfen (`ls -ld` des Verzeichnisses) oder mit --output einen anderen Pfad wählen.",
        ) from exc
    if not existed and path.stat().st_size == 0:
        path.unlink()  # the check leaves nothing behind; the run writes the file itself
    return path


def _default(name: str, started: datetime) -> Path:
    if RUNS.exists() and not RUNS.is_dir():
        raise _unwritable(
            RUNS / default_name(name, started),
            f"{RUNS.resolve()} ist eine Datei, kein Verzeichnis",
            "Die Datei umbenennen oder mit --output einen anderen Pfad angeben.",
        )
    try:
        RUNS.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(
            RUNS,
            os_reason(exc),
            "Im Arbeitsverzeichnis fehlen Schreibrechte: in ein anderes Verzeichnis wechseln oder "
            "--output angeben.",
        ) from exc
    for attempt in range(1, _ATTEMPTS + 1):
        path = RUNS / default_name(name, started, attempt)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unwritable(
                path,
                os_reason(exc),
                "Schreibrechte von runs/ prüfen oder --output angeben.",
            ) from exc
        os.close(fd)  # reserved: the run overwrites the empty file
        return path
    raise _unwritable(RUNS, "kein freier Dateiname", "Alte Protokolle aus runs/ entfernen.")


def reserve_output(name: str, output: str | os.PathLike[str] | None, started: datetime | None = None) -> Path:
    """The path the record of runbook ``name`` will be written to, checked to be writable.

    ``output`` given: that file (an existing file is overwritten by the run; a new file is not left
    behind by the check). Else a new file under ``runs/`` that no other run can take.
    """
    if output is not None and str(output) != "":
        return _explicit(Path(output).expanduser())
    return _default(name, started or datetime.now(UTC))
