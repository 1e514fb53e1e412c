"""Per-model analysis locks, so two runners never analyse the same window twice.

PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on a dedicated
connection. SQLite: an exclusive ``flock`` on ``<database file>.lock-<model id>``.
Both are released by the operating system or server when a runner dies, even by
SIGKILL, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

LOCK_NAMESPACE = 0x6477  # "dw": keeps driftwarden's advisory keys apart from others
WRITE_LOCK_NAMESPACE = 0x6469  # "di": a model's log writes (ingest, labels, purge)


def write_lock_key(model_id: int) -> int:
    """PostgreSQL advisory key of a model's write lock (held for one write transaction).

    Ingest, label backfill and purge of one model take it (``pg_advisory_xact_lock``) so
    that each sees the others' committed rows: under READ COMMITTED a batch that ran
    beside another with the same ids used to count rows as stored that the other had
    inserted. SQLite needs none: ``BEGIN IMMEDIATE`` already serialises writers.
    """
    return (WRITE_LOCK_NAMESPACE << 32) | model_id


@contextmanager
def model_lock(engine: Engine, model_id: int) -> Iterator[None]:
    """Hold the analysis lock of one model (blocking until it is free)."""
    if engine.dialect.name == "postgresql":
        key = (LOCK_NAMESPACE << 32) | model_id
        with engine.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(key)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.lock-{model_id}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
