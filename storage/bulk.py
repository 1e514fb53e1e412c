"""Arrow-native bulk load and unload of prediction logs through the ADBC drivers.

Writes stage a batch into a temporary table (``adbc_ingest``: Arrow into SQLite,
binary COPY into PostgreSQL), then run one ``INSERT … SELECT … ON CONFLICT DO
NOTHING … RETURNING`` into the log, so a re-sent batch never makes a second row and
the rows stored are the ones the insert says it inserted. Conflicting duplicates
(same id, different values) are found *after* the insert, by comparing the staged rows
with the stored ones in the same transaction; they are reported, never overwritten.
Every write transaction of a model first takes the model's write lock
(:meth:`BulkConnection.lock_model`), so a concurrent batch with the same ids is seen
whole, committed, or not at all. Everything of one batch — schema evolution, rows,
quarantine, batch record — is one transaction: an exception mid-batch leaves nothing
behind.

Every statement is built with SQLAlchemy constructs over generated names and
compiled for the backend; the only literals are integers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Insert,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement, ColumnElement

from storage.engine import BUSY_TIMEOUT_MS, SQLiteGate, database_url, sqlite_gate
from storage.errors import ConcurrentSchemaChangeError
from storage.locks import write_lock_key
from storage.logs import LABELED_AT, ROW

# In WAL mode NORMAL sync is durable across application crashes (as SQLAlchemy's
# connections). An in-memory staging table and a 64 MiB page cache were tried: no faster
# here, and they raised peak memory of a chunked file ingest by ~75 MB.
# secure_delete: deleted and overwritten rows are zeroed in the file (purge, docs/ingest.md).
SQLITE_BULK_PRAGMAS = ("PRAGMA synchronous = NORMAL", "PRAGMA secure_delete = ON")

_DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
}


class BulkConnection:
    """An ADBC DB-API connection plus the SQLAlchemy dialect to compile statements for it."""

    def __init__(self, url: str | None = None) -> None:
        parsed = make_url(database_url(url))
        self.backend = parsed.get_backend_name()
        self._gate: SQLiteGate | None = None
        if self.backend == "sqlite":
            import adbc_driver_sqlite.dbapi as driver

            path = parsed.database or ":memory:"
            self._gate = sqlite_gate(path) if path != ":memory:" else None
            if self._gate is not None:
                self._gate.acquire("adbc")
            try:
                self.conn = driver.connect(path, autocommit=True)
                self.execute_raw(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                for pragma in SQLITE_BULK_PRAGMAS:
                    self.execute_raw(pragma)
            except BaseException:
                if self._gate is not None:
                    self._gate.release()
                raise
        elif self.backend == "postgresql":
            import adbc_driver_postgresql.dbapi as pg_driver

            uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = pg_driver.connect(uri, autocommit=True)
        else:  # pragma: no cover - configuration error
            raise ValueError(f"unsupported database backend {self.backend!r}")
        self.dialect = _DIALECTS[self.backend]
        self.cursor = self.conn.cursor()

    def close(self) -> None:
        try:
            self.cursor.close()
            self.conn.close()
        finally:
            if self._gate is not None:
                self._gate.release()
                self._gate = None

    def sql(self, stmt: ClauseElement) -> str:
        """Compile a construct for this backend with inline (integer-only) literals."""
        return str(stmt.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    def execute_raw(self, text: str) -> None:
        """Run a fixed statement (pragmas, transaction control)."""
        cur = self.conn.cursor()
        try:
            cur.execute(text)
        finally:
            cur.close()

    def execute(self, stmt: ClauseElement) -> None:
        self.cursor.execute(self.sql(stmt))

    def execute_count(self, stmt: ClauseElement) -> int:
        """Run a write statement; how many rows it inserted, updated or deleted."""
        self.cursor.execute(self.sql(stmt))
        if self.backend == "sqlite":
            self.cursor.execute("SELECT changes()")
            row = self.cursor.fetchone()
            return int(row[0]) if row else 0
        return int(self.cursor.rowcount)

    def fetch_arrow(self, stmt: ClauseElement) -> pa.Table:
        cursor = self.conn.cursor()
        try:
            if self.backend == "sqlite":
                # bigger Arrow batches than the driver's 1,024-row default: ~10 % faster reads
                cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "65536"})
            cursor.execute(self.sql(stmt))
            return cursor.fetch_arrow_table()
        finally:
            cursor.close()

    def scalar(self, stmt: ClauseElement) -> Any:
        self.cursor.execute(self.sql(stmt))
        row = self.cursor.fetchone()
        return None if row is None else row[0]

    def ingest(
        self,
        name: str,
        data: pa.Table,
        *,
        temporary: bool,
        mode: Literal["append", "create"],
    ) -> None:
        self.cursor.adbc_ingest(name, data, mode=mode, temporary=temporary)

    def lock_model(self, model_id: int) -> None:
        """Take the model's write lock until the transaction ends (PostgreSQL; see locks)."""
        if self.backend == "postgresql":
            key = literal(write_lock_key(model_id), BigInteger)
            self.fetch_arrow(select(func.pg_advisory_xact_lock(key)))

    @contextmanager
    def transaction(self) -> Iterator[BulkConnection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        self.execute_raw("BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN")
        try:
            yield self
        except BaseException:
            self.execute_raw("ROLLBACK")
            raise
        self.execute_raw("COMMIT")


@contextmanager
def bulk_connection(url: str | None = None) -> Iterator[BulkConnection]:
    """Open an ADBC connection for ``url`` and close it afterwards."""
    bulk = BulkConnection(url)
    try:
        yield bulk
    finally:
        bulk.close()


def _stage_table(name: str, data: pa.Table, source: Table) -> Table:
    """A Core table describing the staged Arrow columns (types from the log table)."""
    cols: list[Column[Any]] = []
    for field in data.schema:
        if field.name == ROW:
            cols.append(Column(ROW, BigInteger))
        else:
            cols.append(Column(field.name, source.c[field.name].type))
    return Table(name, MetaData(), *cols)


def _differs(new: Column[Any], old: Column[Any], *, lenient: bool) -> ColumnElement[bool]:
    """``new`` differs from ``old``; ``lenient``: only when both are set (labels arrive later)."""
    if lenient:
        return and_(new.is_not(None), old.is_not(None), new != old)
    return new.is_distinct_from(old)


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What a bulk write did."""

    stored: int
    already_present: int  # not inserted: identical to the stored row, or a conflict
    conflicts: pa.Table  # m_row, id, and one int8 flag per compared column (1 = differs)
    inserted: pa.Array | None  # ids of the rows this write inserted (if asked for)


def _stage(bulk: BulkConnection, data: pa.Table, table: Table) -> Table:
    name = f"stage_{uuid.uuid4().hex[:12]}"
    bulk.ingest(name, data, temporary=True, mode="create")
    return _stage_table(name, data, table)


def _drop(bulk: BulkConnection, stage: Table) -> None:
    bulk.execute_raw(f"DROP TABLE {bulk.dialect.identifier_preparer.quote(stage.name)}")


def _insert_new(bulk: BulkConnection, table: Table, stage: Table, key: list[str]) -> Insert:
    """``INSERT INTO table SELECT * FROM stage ON CONFLICT (key) DO NOTHING``, compiled later."""
    names = [c.name for c in stage.columns if c.name != ROW]
    select_stage = select(*[stage.c[n] for n in names]).where(true())  # SQLite needs the WHERE
    dialect_insert = sqlite.insert if bulk.backend == "sqlite" else postgresql.insert
    return (
        dialect_insert(table)
        .from_select(names, select_stage)
        .on_conflict_do_nothing(index_elements=[table.c[k] for k in key])
    )


def store_rows(
    bulk: BulkConnection,
    table: Table,
    rows: pa.Table,
    *,
    id_column: str,
    label_column: str | None,
    return_ids: bool = False,
) -> StoreOutcome:
    """Insert ``rows`` (physical names plus ``m_row``) into ``table``; never a second row.

    The insert says how many rows it inserted (and which, with ``return_ids``); every
    other staged row met a stored row with its id (stored earlier, or by a batch that
    committed while this one waited for the write lock) and is compared with it
    afterwards: identical is "already present", anything else a conflict. Must run
    inside :meth:`BulkConnection.transaction`, after :meth:`BulkConnection.lock_model`.
    """
    if rows.num_rows == 0:
        empty = pa.table({ROW: pa.array([], pa.int64())})
        return StoreOutcome(0, 0, empty, pa.array([], pa.string()))
    stage = _stage(bulk, rows, table)
    try:
        insert = _insert_new(bulk, table, stage, [id_column])
        inserted: pa.Array | None = None
        if return_ids:  # RETURNING costs ~0.3 µs a row on SQLite: only when asked
            found = bulk.fetch_arrow(insert.returning(table.c[id_column]))
            inserted = found.column(0).combine_chunks().cast(pa.string())
            stored = len(inserted)
        else:
            stored = bulk.execute_count(insert)
        conflicts = pa.table({ROW: pa.array([], pa.int64())})
        compared = [c for c in stage.columns if c.name not in (ROW, id_column)]
        if stored < rows.num_rows and compared:
            differs = [
                _differs(c, table.c[c.name], lenient=c.name == label_column) for c in compared
            ]
            flags = [
                case((d, literal(1)), else_=literal(0)).label(c.name)
                for c, d in zip(compared, differs, strict=True)
            ]
            conflicts = bulk.fetch_arrow(
                select(stage.c[ROW], stage.c[id_column], *flags)
                .select_from(stage.join(table, stage.c[id_column] == table.c[id_column]))
                .where(or_(*differs))
            )
    finally:
        _drop(bulk, stage)
    return StoreOutcome(stored, rows.num_rows - stored, conflicts, inserted)


def insert_new_rows(
    bulk: BulkConnection, table: Table, data: dict[str, Any], *, key: list[str]
) -> int:
    """Append rows (column-wise, as :func:`append_rows`) unless their ``key`` is stored.

    ``key`` must be a unique constraint of ``table``; returns how many rows were new.
    """
    rows = _arrow_rows(bulk, table, data)
    if not rows.num_rows:
        return 0
    name = f"stage_{uuid.uuid4().hex[:12]}"
    bulk.ingest(name, rows, temporary=True, mode="create")
    stage = Table(name, MetaData(), *[Column(c.name, c.type) for c in table.c if c.name in data])
    try:
        return bulk.execute_count(_insert_new(bulk, table, stage, key))
    finally:
        _drop(bulk, stage)


def add_log_columns(
    bulk: BulkConnection,
    log: Table,
    columns: Sequence[Any],
    *,
    model_id: int,
    schema_json: str,
    expected_next: int,
) -> None:
    """Schema evolution inside a batch's transaction, so a rejected batch changes nothing.

    Adds each new column (``ModelColumn`` objects not yet stored) to the log table, its
    ``model_column`` row, and the model's new schema and column counter. Must run inside
    :meth:`BulkConnection.transaction`, after :meth:`BulkConnection.lock_model`.

    Raises
    ------
    ConcurrentSchemaChangeError
        If another writer changed the model's columns since they were read.
    """
    from sqlalchemy import JSON, cast
    from sqlalchemy.schema import CreateColumn

    from storage.logs import sql_type
    from storage.models import Model, ModelColumn

    model = cast_table(Model.__table__)
    current = bulk.scalar(select(model.c.next_column).where(model.c.id == literal(model_id)))
    if current != expected_next:
        raise ConcurrentSchemaChangeError(
            f"the columns of model id {model_id} changed while this batch was read"
        )
    quote = bulk.dialect.identifier_preparer.quote
    for col in columns:
        column = Column(col.physical, sql_type(col.dtype), nullable=True)
        ddl = CreateColumn(column).compile(dialect=bulk.dialect)
        bulk.execute_raw(f"ALTER TABLE {quote(log.name)} ADD COLUMN {ddl}")
    append_rows(
        bulk,
        cast_table(ModelColumn.__table__),
        {
            name: [getattr(c, name) for c in columns]
            for name in ("model_id", "position", "name", "physical", "role", "dtype")
        }
        | {"categorical": [bool(c.categorical) for c in columns]},
    )
    changes = {
        "schema": [schema_json],
        "next_column": [expected_next + len(columns)],
        "updated_at": [time.time_ns() // 1000],
    }
    stage = Table(
        f"stage_{uuid.uuid4().hex[:12]}", MetaData(), *[Column(n, model.c[n].type) for n in changes]
    )
    bulk.ingest(stage.name, _arrow_rows(bulk, model, changes), temporary=True, mode="create")
    try:
        values: dict[str, Any] = {n: select(stage.c[n]).scalar_subquery() for n in changes}
        if bulk.backend == "postgresql":
            values["schema"] = cast(values["schema"], JSON)
        bulk.execute(update(model).values(values).where(model.c.id == literal(model_id)))
    finally:
        _drop(bulk, stage)


def cast_table(table: Any) -> Table:
    """An ORM class's ``__table__`` as a Core :class:`~sqlalchemy.Table` (for typing)."""
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    """What a label backfill did."""

    updated: int
    already_set: int
    unknown: pa.Table  # m_row, id of labels whose prediction_id is not stored
    conflicts: pa.Table  # m_row, id of labels that differ from an already stored label


def store_labels(
    bulk: BulkConnection,
    table: Table,
    labels: pa.Table,
    *,
    id_column: str,
    label_column: str,
    labeled_at_us: int,
) -> LabelOutcome:
    """Backfill labels by prediction id; unknown ids and conflicting labels are returned."""
    stage = _stage(bulk, labels, table)
    try:
        sid, slab = stage.c[id_column], stage.c[label_column]
        tid, tlab = table.c[id_column], table.c[label_column]
        unknown = bulk.fetch_arrow(
            select(stage.c[ROW], sid)
            .select_from(stage.outerjoin(table, sid == tid))
            .where(tid.is_(None))
        )
        joined = stage.join(table, sid == tid)
        conflicts = bulk.fetch_arrow(
            select(stage.c[ROW], sid).select_from(joined).where(tlab.is_not(None), tlab != slab)
        )
        already = int(
            bulk.scalar(select(func.count()).select_from(joined).where(tlab == slab)) or 0
        )
        to_update = int(
            bulk.scalar(select(func.count()).select_from(joined).where(tlab.is_(None))) or 0
        )
        bulk.execute(
            update(table)
            .values({label_column: slab, LABELED_AT: literal(labeled_at_us, BigInteger)})
            .where(tid == sid, tlab.is_(None))
        )
    finally:
        _drop(bulk, stage)
    return LabelOutcome(to_update, already, unknown, conflicts)


def _arrow_type(bulk: BulkConnection, column: Column[Any]) -> pa.DataType:
    """Arrow type that ADBC ingests into ``column`` of an existing table on this backend."""
    from sqlalchemy import JSON, Boolean, Float, String

    from storage.models import UTCDateTime

    kind = column.type
    if isinstance(kind, UTCDateTime):
        return pa.string() if bulk.backend == "sqlite" else pa.timestamp("us", tz="UTC")
    if isinstance(kind, BigInteger):
        return pa.int64()
    if isinstance(kind, Integer):
        return pa.int32()
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, String | JSON):
        return pa.string()
    raise TypeError(f"no Arrow type for column {column.name!r} of type {kind!r}")


def append_rows(bulk: BulkConnection, table: Table, data: dict[str, Any]) -> None:
    """Append rows given column-wise (lists or arrays) to an existing metadata table.

    ``UTCDateTime`` columns take epoch microseconds and are stored in the form the
    ORM reads back (ISO text on SQLite, ``timestamptz`` on PostgreSQL).
    """
    rows = _arrow_rows(bulk, table, data)
    if rows.num_rows:
        bulk.ingest(table.name, rows, temporary=False, mode="append")


def _arrow_rows(bulk: BulkConnection, table: Table, data: dict[str, Any]) -> pa.Table:
    """Column-wise values → an Arrow table typed for ``table`` on this backend."""
    from storage.models import UTCDateTime

    arrays, names = [], []
    for name, values in data.items():
        column = table.c[name]
        target = _arrow_type(bulk, column)
        if isinstance(column.type, UTCDateTime):
            ts = pa.array(values, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
            if bulk.backend == "sqlite":
                import pyarrow.compute as pc

                ts = pc.strftime(ts, format="%Y-%m-%d %H:%M:%S")  # %S has the µs
            arrays.append(ts)
        else:
            arrays.append(
                pa.array(values).cast(target)
                if not isinstance(values, pa.Array)
                else values.cast(target)
            )
        names.append(name)
    return pa.table(arrays, names=names)


def read_rows(
    bulk: BulkConnection,
    table: Table,
    *,
    ts_column: str,
    start_us: int | None,
    end_us: int | None,
    columns: list[str] | None = None,
) -> pa.Table:
    """Rows with ``start_us <= ts < end_us`` as an Arrow table (physical column names)."""
    cols = [table.c[c] for c in columns] if columns else list(table.columns)
    stmt = select(*cols)
    if start_us is not None:
        stmt = stmt.where(table.c[ts_column] >= literal(int(start_us), BigInteger))
    if end_us is not None:
        stmt = stmt.where(table.c[ts_column] < literal(int(end_us), BigInteger))
    return bulk.fetch_arrow(stmt)
