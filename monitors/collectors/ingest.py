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

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Table

from monitors.collectors.quarantine import Quarantine
from monitors.collectors.validate import (
    ROW,
    NewColumns,
    Problem,
    validate_labels,
    validate_predictions,
)
from monitors.errors import IngestError, ValidationError
from storage import bulk
from storage.engine import get_engine, session_scope
from storage.logs import LABELED_AT, log_table
from storage.logs import ROW as PHYS_ROW
from storage.models import IngestBatch, Model
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


@dataclass(frozen=True)
class _Target:
    """A model's log table and column names, read once per batch."""

    model: Model
    schema: ModelSchema
    table: Table
    physical: dict[str, str]


def _load_target(url: str | None, model_name: str) -> _Target:
    """The model, its schema, its log table and its user → physical column names."""
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, model_name)
        schema = model_schema(model)
        table = log_table(model)
        physical = {c.name: c.physical for c in model.columns}
    return _Target(model=model, schema=schema, table=table, physical=physical)


@dataclass
class _Tally:
    """Running counts of one batch (``rows`` is also the row offset of the next chunk)."""

    rows: int = 0
    already: int = 0
    problems: list[Problem] = field(default_factory=list)

    def keep_problems(self, problems: Sequence[Problem]) -> None:
        """Keep problems up to :data:`MAX_PROBLEMS` in all."""
        self.problems.extend(problems[: max(0, MAX_PROBLEMS - len(self.problems))])


@dataclass
class _PredictionTally(_Tally):
    """Running counts of a batch of predictions."""

    stored: int = 0
    conflicts: int = 0
    missing: list[str] = field(default_factory=list)


def _first_and_rest(
    chunks: Iterable[pd.DataFrame],
) -> tuple[pd.DataFrame, Iterable[pd.DataFrame]]:
    """The first chunk (an empty frame if there is none) and an iterator over the rest."""
    iterator = iter(chunks)
    try:
        first = next(iterator)
    except StopIteration:
        first = pd.DataFrame()
    return first, iterator


def _chain(first: pd.DataFrame, rest: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    yield first
    yield from rest


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
    first, rest = _first_and_rest(chunks)
    added = _evolve(url, model_name, first, on_new_columns) if len(first.columns) else []
    target = _load_target(url, model_name)
    batch_id = uuid.uuid4().hex
    received = _now_us()
    q = Quarantine(target.model.id, batch_id, received)
    tally = _PredictionTally()
    with bulk.bulk_connection(url) as conn, conn.transaction():
        for frame in _chain(first, rest):
            if frame.empty and not len(frame.columns):
                continue
            frame = frame.reset_index(drop=True)
            _store_predictions(
                conn, frame, target, q, tally, strict=strict, on_new_columns=on_new_columns
            )
            if on_chunk is not None:
                on_chunk(len(frame))
        q.write(conn)
        _write_batch(
            conn,
            {
                "id": batch_id,
                "model_id": target.model.id,
                "kind": "predictions",
                "source": source,
                "n_rows": tally.rows,
                "stored": tally.stored,
                "already_present": tally.already,
                "conflicts": tally.conflicts,
                "quarantined": len(q),
            },
            received,
        )
    return IngestResult(
        model=model_name,
        batch_id=batch_id,
        rows=tally.rows,
        stored=tally.stored,
        already_present=tally.already,
        conflicts=tally.conflicts,
        quarantined=len(q),
        problems=tally.problems,
        added_columns=added,
        missing_columns=tally.missing,
    )


def _store_predictions(
    conn: bulk.BulkConnection,
    frame: pd.DataFrame,
    target: _Target,
    q: Quarantine,
    tally: _PredictionTally,
    *,
    strict: bool,
    on_new_columns: NewColumns,
) -> None:
    """Validate one chunk, store its good rows, quarantine its bad rows and conflicts."""
    schema, offset = target.schema, tally.rows
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
    tally.missing = validated.missing_columns
    tally.keep_problems(validated.problems)
    q.add_invalid(frame, validated, offset, schema.id.name, schema.timestamp.name)
    outcome = bulk.store_rows(
        conn,
        target.table,
        _to_arrow(validated.good, target.model),
        id_column=target.physical[schema.id.name],
        label_column=target.physical[schema.label.name] if schema.label is not None else None,
    )
    n_conf = outcome.conflicts.num_rows
    if n_conf:
        if strict:
            raise ValidationError(
                f"strict mode: {n_conf} conflicting duplicate(s) (same prediction_id, "
                "different values); the batch was rejected, nothing stored"
            )
        q.add_conflicts(frame, outcome.conflicts, target.model, offset, schema)
    tally.rows += len(frame)
    tally.stored += outcome.stored
    tally.already += outcome.already_present - n_conf
    tally.conflicts += n_conf


@dataclass
class _LabelTally(_Tally):
    """Running counts of a batch of labels."""

    updated: int = 0
    unknown: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)


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
    target = _load_target(url, model_name)
    schema = target.schema
    if schema.label is None:
        raise IngestError(f"model {model_name!r} has no label column; labels cannot be stored")
    id_column = id_column or schema.id.name
    label_column = label_column or schema.label.name
    batch_id, received = uuid.uuid4().hex, _now_us()
    q = Quarantine(target.model.id, batch_id, received)
    tally = _LabelTally()
    with bulk.bulk_connection(url) as conn, conn.transaction():
        for frame in chunks:
            frame = frame.reset_index(drop=True)
            _store_labels(
                conn,
                frame,
                target,
                q,
                tally,
                label=schema.label,
                columns=(id_column, label_column),
                strict=strict,
                labeled_at_us=received,
            )
            if on_chunk is not None:
                on_chunk(len(frame))
        q.write(conn)
        _write_batch(
            conn,
            {
                "id": batch_id,
                "model_id": target.model.id,
                "kind": "labels",
                "source": source,
                "n_rows": tally.rows,
                "stored": tally.updated,
                "already_present": tally.already,
                "conflicts": len(tally.conflicting),
                "quarantined": len(q),
            },
            received,
        )
    return LabelResult(
        model=model_name,
        batch_id=batch_id,
        rows=tally.rows,
        updated=tally.updated,
        already_set=tally.already,
        unknown_ids=tally.unknown,
        conflicting_ids=tally.conflicting,
        quarantined=len(q),
        problems=tally.problems,
    )


def _label_arrow(
    good: pd.DataFrame, id_name: str, label: ColumnSpec, id_phys: str, label_phys: str
) -> pa.Table:
    """Validated labels → Arrow with physical names (id, label, m_row)."""
    return pa.table(
        {
            id_phys: _arrow_column(good[id_name], DType.STRING),
            label_phys: _arrow_column(good[label.name], label.dtype),
            PHYS_ROW: pa.array(good[ROW].to_numpy(dtype=np.int64)),
        }
    )


def _store_labels(
    conn: bulk.BulkConnection,
    frame: pd.DataFrame,
    target: _Target,
    q: Quarantine,
    tally: _LabelTally,
    *,
    label: ColumnSpec,
    columns: tuple[str, str],
    strict: bool,
    labeled_at_us: int,
) -> None:
    """Validate one chunk of labels, store the good ones, quarantine the rejected ones."""
    schema, offset = target.schema, tally.rows
    id_column, label_column = columns
    id_phys, label_phys = target.physical[schema.id.name], target.physical[label.name]
    validated = validate_labels(
        frame, schema, id_column=id_column, label_column=label_column, row_offset=offset
    )
    if strict and validated.problems:
        shown = "; ".join(str(p) for p in validated.problems[:STRICT_SHOWN])
        raise ValidationError(f"strict mode: the batch was rejected, nothing stored. {shown}")
    tally.keep_problems(validated.problems)
    q.add_invalid(frame, validated, offset, id_column, None)
    outcome = bulk.store_labels(
        conn,
        target.table,
        _label_arrow(validated.good, schema.id.name, label, id_phys, label_phys),
        id_column=id_phys,
        label_column=label_phys,
        labeled_at_us=labeled_at_us,
    )
    for kind, found, sink in [
        ("unknown_id", outcome.unknown, tally.unknown),
        ("conflict", outcome.conflicts, tally.conflicting),
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
        column = id_column if kind == "unknown_id" else label_column
        q.add_rejected_labels(frame, found, ids, kind=kind, column=column, offset=offset)
    tally.rows += len(frame)
    tally.updated += outcome.updated
    tally.already += outcome.already_set


__all__ = [
    "LABELED_AT",
    "IngestResult",
    "LabelResult",
    "ingest_labels",
    "ingest_predictions",
]
