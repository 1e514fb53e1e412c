"""Deleting a model's old rows so that their values leave the database file.

``purge`` deletes logged rows and quarantined rows older than a time, in batches, each
batch one transaction under the model's write lock. On SQLite every connection runs with
``secure_delete`` (deleted content is zeroed in the file), and the write-ahead log is
checkpointed and truncated afterwards so no older copy of a page survives there;
:func:`vacuum` rebuilds the file (SQLite ``VACUUM``) or the tables (PostgreSQL
``VACUUM FULL``) on request. docs/ingest.md ("Purge") states what each backend keeps
and what the options cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, Table, delete, func, literal, select

from storage.bulk import BulkConnection, cast_table
from storage.models import QuarantinedRow


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    """What one purge did."""

    rows: int  # logged rows deleted
    quarantined: int  # quarantined rows deleted
    wal_truncated: bool  # SQLite: the write-ahead log was emptied (always True elsewhere)
    vacuumed: bool


def purge_rows(
    bulk: BulkConnection,
    table: Table,
    *,
    ts_column: str,
    id_column: str,
    before_us: int,
    batch: int,
    model_id: int | None = None,
) -> int:
    """Delete rows older than ``before_us`` in batches of ``batch``; return how many went."""
    total = 0
    ts = table.c[ts_column]
    while True:
        ids = (
            select(table.c[id_column])
            .where(ts < literal(before_us, BigInteger))
            .limit(literal(batch, Integer))
        )
        with bulk.transaction():
            if model_id is not None:
                bulk.lock_model(model_id)
            n = int(
                bulk.scalar(
                    select(func.count()).select_from(
                        select(table.c[id_column])
                        .where(ts < literal(before_us, BigInteger))
                        .limit(batch)
                        .subquery()
                    )
                )
                or 0
            )
            if n:
                bulk.execute(delete(table).where(table.c[id_column].in_(ids)))
        total += n
        if n < batch:
            return total


def purge_quarantine(bulk: BulkConnection, *, model_id: int, before_us: int) -> int:
    """Delete a model's quarantined rows timed before ``before_us``; return how many went.

    A row's time is its parsed timestamp, or when it was received if it had none.
    """
    quarantine = cast_table(QuarantinedRow.__table__)
    when = func.coalesce(quarantine.c.ts, quarantine.c.received_at)
    where = (
        quarantine.c.model_id == literal(model_id, Integer),
        when < literal(before_us, BigInteger),
    )
    with bulk.transaction():
        bulk.lock_model(model_id)
        n = int(bulk.scalar(select(func.count()).select_from(quarantine).where(*where)) or 0)
        if n:
            bulk.execute(delete(quarantine).where(*where))
    return n


def checkpoint(bulk: BulkConnection) -> bool:
    """SQLite: copy the write-ahead log into the file and truncate it; ``True`` if it was.

    It is not when another connection is still reading an older snapshot after the busy
    timeout (the log is then emptied by a later checkpoint). Always ``True`` elsewhere.
    """
    if bulk.backend != "sqlite":
        return True
    cursor = bulk.conn.cursor()
    try:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row is None or int(row[0]) == 0


def vacuum(bulk: BulkConnection, tables: list[Table]) -> None:
    """Rebuild storage so that free space keeps no old values.

    SQLite: ``VACUUM`` rewrites the whole file (time and temporary space grow with the
    file). PostgreSQL: ``VACUUM FULL`` of ``tables`` rewrites them into new files and
    holds an exclusive lock on each meanwhile (reads and writes of it wait).
    """
    if bulk.backend == "sqlite":
        bulk.execute_raw("VACUUM")
        return
    quote = bulk.dialect.identifier_preparer.quote
    for table in tables:
        bulk.execute_raw(f"VACUUM FULL {quote(table.name)}")
