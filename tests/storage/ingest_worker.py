"""Worker for ``test_concurrent_ingest.py``: one real process that ingests files on command.

Started as ``python ingest_worker.py DATABASE_URL DIR``. It imports everything and opens the
database once, prints ``ready``, then for each line ``go MODEL FILE`` on stdin waits until
``DIR/go-MODEL`` exists (so that every worker starts the same ingest at the same moment),
runs :func:`monitors.collectors.files.ingest_file` — what ``driftwarden ingest MODEL FILE``
runs — and prints one JSON line: the result's counts and batch id, or the error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from monitors.collectors.files import ingest_file
from storage.engine import get_engine

WAIT_SECONDS = 120


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.002)


def main() -> None:
    url, folder = sys.argv[1], Path(sys.argv[2])
    get_engine(url)  # migrated and connected before the race starts
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if len(words) != 3 or words[0] != "go":
            break
        model, file = words[1], words[2]
        _wait_for(folder / f"go-{model}")
        try:
            result = ingest_file(url, model, file)
            out = {
                "batch_id": result.batch_id,
                "rows": result.rows,
                "stored": result.stored,
                "already_present": result.already_present,
                "conflicts": result.conflicts,
                "quarantined": result.quarantined,
                "already_quarantined": getattr(result, "already_quarantined", 0),
            }
        except Exception as exc:  # reported; the test fails on it
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
