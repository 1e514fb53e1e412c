"""Helpers shared by the benchmarks: JSON-lines output, peak-RSS sampling, PostgreSQL URL."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ENV_BENCH_POSTGRES_URL = "DRIFTWARDEN_BENCH_POSTGRES_URL"
PG_PORT = 55432


def emit(record: dict[str, Any]) -> None:
    """Print one measurement as a JSON line (floats rounded for reading)."""
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in record.items()}
    print(json.dumps(out), flush=True)


def rss_bytes() -> int:
    """Current resident set size of this process (Linux ``/proc``)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples RSS in a thread while a block runs; ``peak`` and ``peak - baseline`` in bytes."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.baseline = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def extra(self) -> int:
        return self.peak - self.baseline


def postgres_server_url() -> str:
    """``DRIFTWARDEN_BENCH_POSTGRES_URL``, else the test cluster (started if needed)."""
    url = os.environ.get(ENV_BENCH_POSTGRES_URL)
    if url:
        return url
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from scripts.pgcluster import start

    return start(REPO / ".pg", PG_PORT)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a plain ``postgresql://`` URI (psycopg, ADBC)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the server for one run, dropped afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"dw_bench_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from storage.engine import dispose_all

        dispose_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def child_json(script: str, args: list[str]) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a child Python; its last stdout line as JSON.

    A failed child gives ``{"status": "error", "stderr": <its last 2,000 characters>}``.
    """
    import subprocess
    import sys

    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        return {"status": "error", "stderr": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])
