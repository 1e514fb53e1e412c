"""Batch ingest of predictions and labels: validate, stage, insert, quarantine — one transaction.

Policy (DESIGN.md "Ingest policy"):

* a structural error (unknown model, unreadable file, missing required column)
  rejects the whole batch with one message;
* a bad row is kept in the ``quarantine`` table with its reason and original values;
  the good rows are stored; counts come back in :class:`IngestResult`;
* ``strict=True`` rejects the whole batch if any row is bad;
* the same ``prediction_id`` with identical values is "already present" (nothing
  stored twice); with different values it is a *conflicting duplicate*: reported,
  quarantined, never overwritten;
* all chunks of one batch (a file is one batch) are one transaction, so an
  exception mid-batch leaves nothing written.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Table

from monitors.collectors.validate import (
    ROW,
    NewColumns,
    Problem,
    ValidatedBatch,
    validate_labels,
    validate_predictions,
)
from monitors.errors import IngestError, ValidationError
from storage import bulk
from storage.engine import get_engine, session_scope
from storage.logs import LABELED_AT, log_table
from storage.logs import ROW as PHYS_ROW
from storage.models import IngestBatch, Model, QuarantinedRow
from storage.registry import add_columns, get_model, model_schema
from storage.schema import ColumnSpec, DType, ModelSchema, Role

MAX_PROBLEMS = 1000
STRICT_SHOWN = 5


@dataclass(frozen=True)
class IngestResult:
    """What one ``log``/``ingest`` call did."""

    model: str
    batch_id: str
    rows: int
    stored: int
    already_present: int
    conflicts: int
    quarantined: int
    problems: list[Problem] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: stored / already present / quarantined."""
        text = (
            f"{self.model}: {self.rows} rows: stored {self.stored}, already present "
            f"{self.already_present}, quarantined {self.quarantined}"
        )
        if self.conflicts:
            text += f" (of which {self.conflicts} conflicting duplicates)"
        if self.added_columns:
            text += f"; new columns added: {', '.join(self.added_columns)}"
        if self.missing_columns:
            text += (
                f"; columns missing from the data (stored empty): {', '.join(self.missing_columns)}"
            )
        return text


@dataclass(frozen=True)
class LabelResult:
    """What one label backfill did."""

    model: str
    batch_id: str
    rows: int
    updated: int
    already_set: int
    unknown_ids: list[str]
    conflicting_ids: list[str]
    quarantined: int
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.model}: {self.rows} labels: stored {self.updated}, already present "
            f"{self.already_set}, unknown prediction_id {len(self.unknown_ids)}, conflicting "
            f"{len(self.conflicting_ids)}, quarantined {self.quarantined}"
        )


def _write_batch(conn: bulk.BulkConnection, record: dict[str, object], received_us: int) -> None:
    bulk.append_rows(
        conn,
        cast(Table, IngestBatch.__table__),
        {**{k: [v] for k, v in record.items()}, "received_at": [received_us]},
    )


def _now_us() -> int:
    return time.time_ns() // 1000


def _arrow_column(series: pd.Series, dtype: DType) -> pa.Array:
    if dtype in (DType.INT, DType.TIMESTAMP):
        return pa.array(series, type=pa.int64(), from_pandas=True)
    if dtype is DType.FLOAT:
        return pa.array(series.to_numpy(dtype="float64"), type=pa.float64(), from_pandas=True)
    if dtype is DType.BOOL:
        return pa.array(series, type=pa.bool_(), from_pandas=True)
    return pa.array(series, type=pa.string(), from_pandas=True)


def _to_arrow(good: pd.DataFrame, model: Model) -> pa.Table:
    """Good rows with user names → Arrow with physical names (+ m_row)."""
    arrays, names = [], []
    for col in model.columns:
        if col.name in good.columns:
            arrays.append(_arrow_column(good[col.name], DType(col.dtype)))
            names.append(col.physical)
    arrays.append(pa.array(good[ROW].to_numpy(dtype=np.int64)))
    names.append(PHYS_ROW)
    return pa.table(arrays, names=names)


class _Quarantine:
    """Accumulates quarantine rows of one batch as Arrow columns."""

    def __init__(self, model_id: int, batch_id: str, received_us: int) -> None:
        self.model_id, self.batch_id, self.received_us = model_id, batch_id, received_us
        self.rows: list[int] = []
        self.ids: list[str | None] = []
        self.ts: list[int | None] = []
        self.columns: list[str | None] = []
        self.reasons: list[str] = []
        self.kinds: list[str] = []
        self.values: list[str] = []

    def add(
        self,
        *,
        rows: Sequence[int],
        ids: Sequence[str | None],
        ts: Sequence[int | None],
        columns: Sequence[str | None],
        reasons: Sequence[str],
        kind: str,
        values: Sequence[str],
    ) -> None:
        self.rows.extend(rows)
        self.ids.extend(ids)
        self.ts.extend(ts)
        self.columns.extend(columns)
        self.reasons.extend(reasons)
        self.kinds += [kind] * len(rows)
        self.values.extend(values)

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, conn: bulk.BulkConnection) -> None:
        n = len(self.rows)
        bulk.append_rows(
            conn,
            cast(Table, QuarantinedRow.__table__),
            {
                "model_id": [self.model_id] * n,
                "batch_id": [self.batch_id] * n,
                "row_number": pa.array(self.rows, pa.int64()),
                "prediction_id": pa.array(self.ids, pa.string()),
                "ts": pa.array(self.ts, pa.int64()),
                "column": pa.array(self.columns, pa.string()),
                "reason": pa.array(self.reasons, pa.string()),
                "kind": pa.array(self.kinds, pa.string()),
                "values": pa.array(self.values, pa.string()),
                "received_at": [self.received_us] * n,
            },
        )


def _json_rows(frame: pd.DataFrame) -> list[str]:
    """Original values of rows as JSON objects (NaN → null, timestamps ISO)."""
    out = []
    for record in frame.to_dict(orient="records"):
        clean = {str(k): _json_value(v) for k, v in record.items()}
        out.append(json.dumps(clean, ensure_ascii=False, allow_nan=False, default=str))
    return out


def _json_value(value: object) -> object:
    """A JSON-safe value that keeps numbers exact (NaN/NA → null, times → ISO)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _ts_of(series: pd.Series | None) -> list[int | None]:
    if series is None:
        return []
    parsed = (
        pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        if not pd.api.types.is_datetime64_any_dtype(series.dtype)
        else series
    )
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize("UTC")
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    out: list[int | None] = []
    for value in naive.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")):
        out.append(None if np.isnat(value) else int(value.view("int64")))
    return out


def _quarantine_invalid(
    q: _Quarantine,
    frame: pd.DataFrame,
    batch: ValidatedBatch,
    schema: ModelSchema,
    offset: int,
    id_name: str,
    ts_name: str | None,
) -> None:
    if not len(batch.bad_positions):
        return
    by_row: dict[int, list[Problem]] = {}
    for problem in batch.problems:
        by_row.setdefault(problem.row, []).append(problem)
    bad = frame.iloc[batch.bad_positions]
    rows = [int(p) + 1 + offset for p in batch.bad_positions]
    ids = (
        [None if pd.isna(v) else str(v) for v in bad[id_name]]
        if id_name in bad
        else [None] * len(rows)
    )
    ts = _ts_of(bad[ts_name]) if ts_name and ts_name in bad else [None] * len(rows)
    columns, reasons = [], []
    for row in rows:
        problems = by_row.get(row, [])
        cols = sorted({p.column for p in problems if p.column})
        columns.append(", ".join(cols) if cols else None)
        reasons.append("; ".join(str(p) for p in problems))
    q.add(
        rows=rows,
        ids=ids,
        ts=ts,
        columns=columns,
        reasons=reasons,
        kind="invalid",
        values=_json_rows(bad),
    )


def _infer_new_dtype(series: pd.Series, name: str) -> ColumnSpec:
    """Type of a new column; strings that all parse as numbers (CSV) become floats."""
    from storage.schema import dtype_of_series

    dtype = dtype_of_series(series, name=name)
    if dtype is DType.STRING:
        present = series.dropna()
        present = present[present.astype("string").str.strip() != ""]
        if len(present) and pd.to_numeric(present, errors="coerce").notna().all():
            dtype = DType.FLOAT
    if dtype is DType.TIMESTAMP:
        dtype = DType.STRING
    return ColumnSpec(name=name, role=Role.FEATURE, dtype=dtype)


def _evolve(
    url: str | None, model_name: str, first: pd.DataFrame, on_new_columns: NewColumns
) -> list[str]:
    """Add columns of the first chunk that the schema lacks (before the batch transaction)."""
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, model_name)
        schema = model_schema(model)
        unknown = [str(c) for c in first.columns if str(c) not in schema.names]
        if not unknown or on_new_columns != "add":
            return []
        add_columns(session, model, [_infer_new_dtype(first[c], c) for c in unknown])
        return unknown


def ingest_predictions(
    chunks: Iterable[pd.DataFrame],
    model_name: str,
    *,
    url: str | None = None,
    strict: bool = False,
    on_new_columns: NewColumns = "add",
    source: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestResult:
    """Validate and store a batch of predictions given as one or more chunks.

    Raises
    ------
    UnknownModelError
        If the model is not registered.
    IngestError
        On a structural error; :class:`ValidationError` in strict mode.
    """
    iterator = iter(chunks)
    try:
        first = next(iterator)
    except StopIteration:
        first = pd.DataFrame()
    added = _evolve(url, model_name, first, on_new_columns) if len(first.columns) else []
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, model_name)
        schema = model_schema(model)
        table = log_table(model)
        physical = {c.name: c.physical for c in model.columns}
    batch_id = uuid.uuid4().hex
    received = _now_us()
    q = _Quarantine(model.id, batch_id, received)
    totals = {"rows": 0, "stored": 0, "already": 0, "conflicts": 0}
    problems: list[Problem] = []
    missing: list[str] = []
    id_phys = physical[schema.id.name]
    label_phys = physical[schema.label.name] if schema.label is not None else None
    with bulk.bulk_connection(url) as conn, conn.transaction():
        offset = 0
        for frame in _chain(first, iterator):
            if frame.empty and not len(frame.columns):
                continue
            frame = frame.reset_index(drop=True)
            validated = validate_predictions(
                frame, schema, row_offset=offset, on_new_columns=on_new_columns
            )
            if strict and validated.problems:
                shown = "; ".join(str(p) for p in validated.problems[:STRICT_SHOWN])
                more = len(validated.problems) - STRICT_SHOWN
                raise ValidationError(
                    f"strict mode: the batch was rejected, nothing stored. {shown}"
                    + (f" (and {more} more problems)" if more > 0 else "")
                )
            missing = validated.missing_columns
            if len(problems) < MAX_PROBLEMS:
                problems.extend(validated.problems[: MAX_PROBLEMS - len(problems)])
            _quarantine_invalid(
                q, frame, validated, schema, offset, schema.id.name, schema.timestamp.name
            )
            outcome = bulk.store_rows(
                conn,
                table,
                _to_arrow(validated.good, model),
                id_column=id_phys,
                label_column=label_phys,
            )
            n_conf = outcome.conflicts.num_rows
            if n_conf:
                if strict:
                    raise ValidationError(
                        f"strict mode: {n_conf} conflicting duplicate(s) (same prediction_id, "
                        "different values); the batch was rejected, nothing stored"
                    )
                _quarantine_conflicts(q, frame, outcome.conflicts, model, offset, schema)
            totals["rows"] += len(frame)
            totals["stored"] += outcome.stored
            totals["already"] += outcome.already_present - n_conf
            totals["conflicts"] += n_conf
            offset += len(frame)
            if on_chunk is not None:
                on_chunk(len(frame))
        q.write(conn)
        _write_batch(
            conn,
            {
                "id": batch_id,
                "model_id": model.id,
                "kind": "predictions",
                "source": source,
                "n_rows": totals["rows"],
                "stored": totals["stored"],
                "already_present": totals["already"],
                "conflicts": totals["conflicts"],
                "quarantined": len(q),
            },
            received,
        )
    return IngestResult(
        model=model_name,
        batch_id=batch_id,
        rows=totals["rows"],
        stored=totals["stored"],
        already_present=totals["already"],
        conflicts=totals["conflicts"],
        quarantined=len(q),
        problems=problems,
        added_columns=added,
        missing_columns=missing,
    )


def _chain(first: pd.DataFrame, rest: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    yield first
    yield from rest


def _quarantine_conflicts(
    q: _Quarantine,
    frame: pd.DataFrame,
    conflicts: pa.Table,
    model: Model,
    offset: int,
    schema: ModelSchema,
) -> None:
    by_phys = {c.physical: c.name for c in model.columns}
    rows = conflicts.column(PHYS_ROW).to_pylist()
    flag_cols = [n for n in conflicts.column_names if n in by_phys and by_phys[n] != schema.id.name]
    flags = {n: conflicts.column(n).to_pylist() for n in flag_cols}
    positions = [int(r) - 1 - offset for r in rows]
    originals = frame.iloc[positions]
    columns, reasons = [], []
    for i, row in enumerate(rows):
        differing = [by_phys[n] for n in flag_cols if flags[n][i]]
        pid = originals[schema.id.name].iat[i]
        columns.append(", ".join(differing))
        reasons.append(
            f"Row {row}: conflicting duplicate: prediction_id {str(pid)!r} is already stored with "
            f"different values in column(s) {differing!r}; the stored row was kept"
        )
    q.add(
        rows=[int(r) for r in rows],
        ids=[str(v) for v in originals[schema.id.name]],
        ts=_ts_of(originals[schema.timestamp.name]),
        columns=columns,
        reasons=reasons,
        kind="conflict",
        values=_json_rows(originals),
    )


def ingest_labels(
    chunks: Iterable[pd.DataFrame],
    model_name: str,
    *,
    url: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    strict: bool = False,
    source: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> LabelResult:
    """Backfill labels by ``prediction_id``.

    Labels for ids that are not stored are reported back (``unknown_ids``) and kept in
    quarantine; a label that differs from one already stored is reported
    (``conflicting_ids``), quarantined and not overwritten.
    """
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, model_name)
        schema = model_schema(model)
        table = log_table(model)
    if schema.label is None:
        raise IngestError(f"model {model_name!r} has no label column; labels cannot be stored")
    id_column = id_column or schema.id.name
    label_column = label_column or schema.label.name
    physical = {c.name: c.physical for c in model.columns}
    id_phys, label_phys = physical[schema.id.name], physical[schema.label.name]
    batch_id, received = uuid.uuid4().hex, _now_us()
    q = _Quarantine(model.id, batch_id, received)
    unknown: list[str] = []
    conflicting: list[str] = []
    problems: list[Problem] = []
    rows = updated = already = 0
    with bulk.bulk_connection(url) as conn, conn.transaction():
        offset = 0
        for frame in chunks:
            frame = frame.reset_index(drop=True)
            validated = validate_labels(
                frame, schema, id_column=id_column, label_column=label_column, row_offset=offset
            )
            if strict and validated.problems:
                shown = "; ".join(str(p) for p in validated.problems[:STRICT_SHOWN])
                raise ValidationError(
                    f"strict mode: the batch was rejected, nothing stored. {shown}"
                )
            problems.extend(validated.problems[: max(0, MAX_PROBLEMS - len(problems))])
            _quarantine_invalid(q, frame, validated, schema, offset, id_column, None)
            good = validated.good
            data = pa.table(
                {
                    id_phys: _arrow_column(good[schema.id.name], DType.STRING),
                    label_phys: _arrow_column(good[schema.label.name], schema.label.dtype),
                    PHYS_ROW: pa.array(good[ROW].to_numpy(dtype=np.int64)),
                }
            )
            outcome = bulk.store_labels(
                conn,
                table,
                data,
                id_column=id_phys,
                label_column=label_phys,
                labeled_at_us=received,
            )
            for kind, found, sink in [
                ("unknown_id", outcome.unknown, unknown),
                ("conflict", outcome.conflicts, conflicting),
            ]:
                if not found.num_rows:
                    continue
                ids = [str(v) for v in found.column(id_phys).to_pylist()]
                if strict:
                    raise ValidationError(
                        f"strict mode: {len(ids)} label(s) rejected ({kind.replace('_', ' ')}), "
                        f"e.g. prediction_id {ids[0]!r}; nothing stored"
                    )
                sink.extend(ids)
                row_numbers = [int(r) for r in found.column(PHYS_ROW).to_pylist()]
                originals = frame.iloc[[r - 1 - offset for r in row_numbers]]
                text = (
                    "no stored prediction has this prediction_id"
                    if kind == "unknown_id"
                    else "a different label is already stored for this prediction_id; kept"
                )
                q.add(
                    rows=row_numbers,
                    ids=ids,
                    ts=[None] * len(ids),
                    columns=[id_column if kind == "unknown_id" else label_column] * len(ids),
                    reasons=[f"Row {r}: {text}" for r in row_numbers],
                    kind=kind,
                    values=_json_rows(originals),
                )
            rows += len(frame)
            updated += outcome.updated
            already += outcome.already_set
            offset += len(frame)
            if on_chunk is not None:
                on_chunk(len(frame))
        q.write(conn)
        _write_batch(
            conn,
            {
                "id": batch_id,
                "model_id": model.id,
                "kind": "labels",
                "source": source,
                "n_rows": rows,
                "stored": updated,
                "already_present": already,
                "conflicts": len(conflicting),
                "quarantined": len(q),
            },
            received,
        )
    return LabelResult(
        model=model_name,
        batch_id=batch_id,
        rows=rows,
        updated=updated,
        already_set=already,
        unknown_ids=unknown,
        conflicting_ids=conflicting,
        quarantined=len(q),
        problems=problems,
    )


_ARROW_TYPES = {
    DType.FLOAT: pa.float64(),
    DType.INT: pa.int64(),
    DType.BOOL: pa.bool_(),
    DType.STRING: pa.string(),
    DType.TIMESTAMP: pa.int64(),
}


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


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


__all__ = [
    "LABELED_AT",
    "IngestResult",
    "LabelResult",
    "arrow_to_frame",
    "ingest_labels",
    "ingest_predictions",
]
