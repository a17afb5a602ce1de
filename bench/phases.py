"""Where the time of one `runbook run NAME -p …` went, in this fresh process; prints one JSON line.

    python bench/phases.py status
    python bench/phases.py sync -p kind ks -p name apps

Phases: the imports before the first cell (the `runbook` command, runner, IPython), each code cell of
the runbook by its heading (papermill's per-cell durations in the record: the first cell holds the
library's imports and connect; the others API calls and rendering), and what follows the last cell
(writing the record, reading the verdict). For `status` the gather/render split of the listing is
measured once more afterwards in the same process (`overview` vs `str` + `_repr_html_`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

started = time.perf_counter()
from runbook_lib import runner  # noqa: E402
from runbook_lib.engine import InProcessShell  # noqa: E402, F401 (IPython, as `runbook run` loads it)


def main() -> None:
    name, rest = sys.argv[1], sys.argv[2:]
    given = [(rest[i + 1], rest[i + 2]) for i in range(0, len(rest), 3) if rest[i] == "-p"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.ipynb"
        imported = time.perf_counter()
        begin = time.time()
        record = runner.run(name, given, output=out)
        end = time.time()
        nb = json.loads(out.read_text(encoding="utf-8"))
    meta = nb["metadata"]["papermill"]
    first = datetime.fromisoformat(meta["start_time"]).timestamp()
    last = datetime.fromisoformat(meta["end_time"]).timestamp()
    phases = {"Importe (runbook, IPython)": imported - started, "Vorbereitung": first - begin}
    heading = "Zelle"
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            heading = next((ln.lstrip("# ") for ln in source.splitlines() if ln.startswith("#")), heading)
            continue
        if "parameters" in cell["metadata"].get("tags", []) or "injected-parameters" in cell["metadata"].get(
            "tags", []
        ):
            continue
        duration = cell["metadata"].get("papermill", {}).get("duration") or 0.0
        key = f"Zelle „{heading}“"
        phases[key] = phases.get(key, 0.0) + duration
    phases["Protokoll und Befund"] = end - last
    if record.status == "failed":
        phases["(fehlgeschlagen)"] = 0.0
    if name == "status":
        from runbook_lib import connect, overview

        cluster = connect()
        t0 = time.perf_counter()
        flux = overview(client=cluster)
        t1 = time.perf_counter()
        str(flux), flux._repr_html_()
        t2 = time.perf_counter()
        phases["davon: Auflisten (erneut gemessen)"] = t1 - t0
        phases["davon: Text+HTML (erneut gemessen)"] = t2 - t1
    print(json.dumps(phases))


if __name__ == "__main__":
    main()
