"""The read path: a model's logged rows in ``[start, end)`` as a typed DataFrame, purge by age.

Shared by the SDK, the analysis pass, reports, explanations and pages; imports only
``storage`` and :mod:`monitors.errors` (window *boundaries* are :mod:`monitors.pipeline.windows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import pyarrow as pa

from monitors.errors import IngestError
from monitors.timeparse import parse_time
from storage import bulk
from storage import purge as storage_purge
from storage.bulk import cast_table
from storage.engine import get_engine, session_scope
from storage.logs import log_table, role_column
from storage.models import Model, QuarantinedRow, WindowSummaryRow
from storage.purge import PurgeOutcome
from storage.registry import get_model, model_schema
from storage.schema import DType, ModelSchema, Role

__all__ = [
    "PurgeOutcome",
    "arrow_to_frame",
    "load_window",
    "purge",
    "purge_model",
    "to_micros",
    "to_utc",
]

_EPOCH = pd.Timestamp(0, tz="UTC").as_unit("us")  # µs: any year from 1 to 9999 works

_ARROW_TYPES = {
    DType.FLOAT: pa.float64(),
    DType.INT: pa.int64(),
    DType.BOOL: pa.bool_(),
    DType.STRING: pa.string(),
    DType.TIMESTAMP: pa.int64(),
}


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def to_utc(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    """A timestamp as aware UTC (naive values are taken as UTC)."""
    ts = pd.Timestamp(parse_time(value) if isinstance(value, str) else value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def to_micros(value: datetime | str | pd.Timestamp) -> int:
    """Epoch microseconds of a timestamp (the log tables' storage form)."""
    return (to_utc(value).as_unit("us") - _EPOCH) // pd.Timedelta(1, "us")


def arrow_to_frame(data: pa.Table, model: Model, schema: ModelSchema) -> pd.DataFrame:
    """Physical Arrow columns → DataFrame with the user's names and the schema's dtypes.

    Types are fixed on the Arrow side (epoch µs → ``timestamp[us, UTC]``; SQLite's 0/1
    → bool) so that ``to_pandas`` builds each column once: float64, ``Int64``,
    ``boolean``, ``str`` and ``datetime64[us, UTC]``.
    """
    by_phys = {c.physical: c for c in model.columns}
    arrays, names = [], []
    for name in data.column_names:
        col = by_phys.get(name)
        if col is None:
            continue
        dtype = DType(col.dtype)
        array = data.column(name).cast(_ARROW_TYPES[dtype])
        if dtype is DType.TIMESTAMP:
            array = array.cast(pa.timestamp("us", tz="UTC"))
        arrays.append(array)
        names.append(col.name)
    table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(names))])
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get, split_blocks=True, self_destruct=True)
    frame.columns = pd.Index(names)
    return frame


def load_window(
    url: str | None,
    name: str,
    start: datetime | str | None,
    end: datetime | str | None,
    *,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Column-wise (Arrow) load of a model's rows in ``[start, end)``.

    Parameters
    ----------
    url
        SQLAlchemy URL; ``None`` for the default database.
    name
        The registered model.
    start, end
        Bounds of the window (naive times are UTC); ``None`` leaves that side open.
    columns
        Only these columns (the user's names); default all.

    Returns
    -------
    pandas.DataFrame
        One row per logged prediction, in the schema's dtypes (timestamps UTC).

    Raises
    ------
    UnknownModelError
        If the model is not registered; ``IngestError`` for an unknown column.
    """
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, name)
        schema = model_schema(model)
        table = log_table(model)
        ts_phys = role_column(model, Role.TIMESTAMP).physical
        physical = {c.name: c.physical for c in model.columns}
    if columns is not None:
        unknown = [c for c in columns if c not in physical]
        if unknown:
            raise IngestError(f"model {name!r} has no column(s) {unknown!r}")
        wanted = [physical[c] for c in columns]
    else:
        wanted = None
    with bulk.bulk_connection(url) as conn:
        data = bulk.read_rows(
            conn,
            table,
            ts_column=ts_phys,
            start_us=None if start is None else to_micros(parse_time(start, option="start")),
            end_us=None if end is None else to_micros(parse_time(end, option="end")),
            columns=wanted,
        )
    return arrow_to_frame(data, model, schema)


def purge(url: str | None, name: str, before: datetime | str, *, batch: int = 50_000) -> int:
    """Delete a model's logged and quarantined rows before a time; how many logged rows went.

    See :func:`purge_model`, which also says how many quarantined rows went.
    """
    return purge_model(url, name, before, batch=batch).rows


def purge_model(
    url: str | None,
    name: str,
    before: datetime | str,
    *,
    batch: int = 50_000,
    vacuum: bool = False,
) -> PurgeOutcome:
    """Delete a model's rows timed before ``before``: logged rows and quarantined rows.

    Their sensitive attributes go with them, out of the file too: on SQLite deleted
    content is zeroed (``secure_delete``) and the write-ahead log truncated afterwards;
    ``vacuum`` also rebuilds the file (SQLite ``VACUUM``) or the model's log and the
    quarantine tables (PostgreSQL ``VACUUM FULL``), which takes time and locks
    (docs/ingest.md, "Purge"). Stored metrics, reports and window summaries are kept, but
    the summaries' samples lose the purged rows (:func:`monitors.summaries.store.
    strip_samples`). Rows go in batches of ``batch``.
    """
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, name)
        table = log_table(model)
        ts_phys = role_column(model, Role.TIMESTAMP).physical
        id_phys = role_column(model, Role.ID).physical
    before_us = to_micros(parse_time(before, option="before"))
    from monitors.summaries.store import strip_samples

    # the stored summaries' samples are rows too (first: one SQLite library at a time)
    strip_samples(url, name, before_us=before_us)
    with bulk.bulk_connection(url) as conn:
        rows = storage_purge.purge_rows(
            conn,
            table,
            ts_column=ts_phys,
            id_column=id_phys,
            before_us=before_us,
            batch=batch,
            model_id=model.id,
        )
        quarantined = storage_purge.purge_quarantine(conn, model_id=model.id, before_us=before_us)
        if vacuum:
            tables = [table, cast_table(QuarantinedRow.__table__)]
            storage_purge.vacuum(conn, [*tables, cast_table(WindowSummaryRow.__table__)])
        # a checkpoint may wait for readers: only when something was deleted
        truncated = storage_purge.checkpoint(conn) if rows or quarantined or vacuum else True
    return PurgeOutcome(rows, quarantined, wal_truncated=truncated, vacuumed=vacuum)
