"""Batch ingest of predictions and labels: validate, stage, insert, quarantine — one transaction.

Policy (docs/ingest.md):

* a structural error (unknown model, unreadable file, duplicate or missing required
  column, a header that looks like another separator) rejects the whole batch with
  one message, before anything is written;
* a bad row is kept in the ``quarantine`` table with its reason and original values
  (once: a re-sent bad row is counted as already quarantined); the good rows are
  stored; counts come back in :class:`IngestResult` and in the batch record;
* timestamps outside the model's plausible range (``IngestPolicy``: not before
  2000-01-01, not more than a day after the time of ingest) are bad rows;
* text in the model's missing-value list (``NA``, ``null`` …) is stored as missing in
  every column but the id and counted per column (``coerced_to_missing``);
* columns not in the schema are ignored and reported unless ``add_columns`` (or
  ``on_new_columns="add"``): then they become new nullable features — in the batch's
  transaction, so a rejected batch changes no schema;
* ``strict=True`` rejects the whole batch if any row is bad;
* the same ``prediction_id`` with identical values is "already present" (nothing
  stored twice); with different values it is a *conflicting duplicate*: reported,
  quarantined, never overwritten — also when another process sends the same ids at
  the same time (the model's write lock; :mod:`storage.bulk`);
* all chunks of one batch (a file is one batch) are one transaction, so an
  exception mid-batch leaves nothing written.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitors.collectors._batch import (
    Tally,
    Target,
    arrow_column,
    load_target,
    micros,
    now_us,
    reject_if_strict,
    row_numbers,
    time_range,
    write_batch,
)
from monitors.collectors._convert import missing_text
from monitors.collectors._labels import LabelResult, ingest_labels
from monitors.collectors.quarantine import Quarantine
from monitors.collectors.validate import (
    NEW_COLUMN_MODES,
    NewColumns,
    Problem,
    ValidatedBatch,
    check_columns,
    validate_predictions,
)
from monitors.errors import IngestError, ValidationError
from storage import bulk
from storage.errors import ConcurrentSchemaChangeError
from storage.logs import LABELED_AT, log_table
from storage.logs import ROW as PHYS_ROW
from storage.registry import plan_columns
from storage.schema import ColumnSpec, DType, Role, dtype_of_series


@dataclass(frozen=True)
class IngestResult:
    """What one ``log``/``ingest`` call did.

    ``rows = stored + already_present + quarantined + already_quarantined``;
    ``conflicts`` counts the conflicting duplicates among the last two.
    """

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
    ignored_columns: list[str] = field(default_factory=list)
    already_quarantined: int = 0
    coerced_to_missing: dict[str, int] = field(default_factory=dict)
    label_missing: bool = False  # the schema says labels come with predictions; none came

    def summary(self) -> str:
        """One line: stored / already present / quarantined, then anything worth a look."""
        text = (
            f"{self.model}: {self.rows} rows: stored {self.stored}, already present "
            f"{self.already_present}, quarantined {self.quarantined}"
        )
        if self.already_quarantined:
            text += f" (+{self.already_quarantined} already in quarantine)"
        if self.conflicts:
            text += f" (of which {self.conflicts} conflicting duplicates)"
        if self.added_columns:
            text += f"; new columns added: {', '.join(self.added_columns)}"
        if self.ignored_columns:
            text += (
                f"; columns not in the schema, ignored: {', '.join(self.ignored_columns)} "
                "(--add-columns / add_columns=True adds them)"
            )
        if self.coerced_to_missing:
            counts = ", ".join(f"{k} {v}" for k, v in self.coerced_to_missing.items())
            text += f"; missing-value text stored as missing: {counts}"
        if self.missing_columns:
            text += (
                f"; columns missing from the data (stored empty): {', '.join(self.missing_columns)}"
            )
        return text


def _infer_new_dtype(series: pd.Series, name: str, missing_values: Iterable[str]) -> ColumnSpec:
    """Type of a new column; text that all parses as numbers (CSV) becomes float."""
    dtype = dtype_of_series(series, name=name)
    if dtype is DType.STRING:
        present = series.dropna()
        present = present[~missing_text(present, list(missing_values))]
        present = present[present.astype("string").str.strip() != ""]
        if len(present) and pd.to_numeric(present, errors="coerce").notna().all():
            dtype = DType.FLOAT
    if dtype is DType.TIMESTAMP:
        dtype = DType.STRING
    try:
        return ColumnSpec(name=name, role=Role.FEATURE, dtype=dtype)
    except ValueError as exc:
        raise IngestError(f"column {name!r} cannot be added to the schema: {exc}") from exc


def _evolve(
    conn: bulk.BulkConnection, target: Target, first: pd.DataFrame, unknown: list[str]
) -> Target:
    """Add ``unknown`` columns as nullable features, inside the batch's transaction."""
    specs = [_infer_new_dtype(first[c], c, target.policy.missing_values) for c in unknown]
    schema, columns = plan_columns(target.model, specs)
    if not columns:
        return target
    bulk.add_log_columns(
        conn,
        target.table,
        columns,
        model_id=target.model.id,
        schema_json=json.dumps(schema.model_dump(mode="json")),
        expected_next=target.model.next_column,
    )
    every = [*target.columns, *columns]
    return replace(target, schema=schema, columns=every, table=log_table(target.model, every))


def _to_arrow(validated: ValidatedBatch, target: Target) -> pa.Table:
    """Good rows with user names → Arrow with physical names (+ ``m_row``)."""
    good = validated.good
    arrays, names = [], []
    for col in target.columns:
        if col.name in good.columns:
            arrays.append(arrow_column(good[col.name], DType(col.dtype)))
            names.append(col.physical)
    arrays.append(row_numbers(validated.rows))
    names.append(PHYS_ROW)
    return pa.table(arrays, names=names)


@dataclass
class _PredictionTally(Tally):
    """Running counts of a batch of predictions."""

    stored: int = 0
    conflicts: int = 0
    missing: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    coerced: Counter[str] = field(default_factory=Counter)


def _first_and_rest(
    chunks: Iterable[pd.DataFrame],
) -> tuple[pd.DataFrame, Iterator[pd.DataFrame]]:
    """The first chunk (an empty frame if there is none) and an iterator over the rest."""
    iterator = iter(chunks)
    try:
        first = next(iterator)
    except StopIteration:
        first = pd.DataFrame()
    return first, iterator


def _chain(first: pd.DataFrame, rest: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


def new_column_mode(on_new_columns: NewColumns | None, add_columns: bool) -> NewColumns:
    """The mode for unknown columns: ``add`` with ``add_columns``, else as given or ``ignore``.

    Raises
    ------
    IngestError
        If the mode is unknown, or ``add_columns`` is combined with another mode.
    """
    if on_new_columns is not None and on_new_columns not in NEW_COLUMN_MODES:
        raise IngestError(
            f"on_new_columns: expected one of {', '.join(NEW_COLUMN_MODES)}; got {on_new_columns!r}"
        )
    if add_columns:
        if on_new_columns not in (None, "add"):
            raise IngestError(
                f"add_columns=True contradicts on_new_columns={on_new_columns!r}; give one"
            )
        return "add"
    return on_new_columns or "ignore"


def ingest_predictions(
    chunks: Iterable[pd.DataFrame],
    model_name: str,
    *,
    url: str | None = None,
    strict: bool = False,
    on_new_columns: NewColumns | None = None,
    add_columns: bool = False,
    source: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Validate and store a batch of predictions given as one or more chunks.

    Parameters
    ----------
    on_new_columns, add_columns
        Columns not in the schema are ignored (and reported) unless ``add_columns``
        (same as ``on_new_columns="add"``); ``"quarantine"`` quarantines every row with
        a value in one, ``"error"`` rejects the batch.
    now
        The time of ingest (default: the clock), which bounds plausible timestamps.

    Raises
    ------
    UnknownModelError
        If the model is not registered.
    IngestError
        On a structural error; :class:`ValidationError` in strict mode.
    """
    mode = new_column_mode(on_new_columns, add_columns)
    first, rest = _first_and_rest(chunks)
    received = now_us() if now is None else micros(now)
    for attempt in range(2):
        target = load_target(url, model_name)
        columns = [str(c) for c in first.columns]
        unknown = check_columns(columns, target.schema, mode) if columns else []
        try:
            return _ingest(
                first,
                rest,
                target,
                unknown,
                mode,
                _Options(url=url, strict=strict, source=source, on_chunk=on_chunk),
                received,
            )
        except ConcurrentSchemaChangeError as exc:
            if attempt:  # pragma: no cover - two schema changes racing this one
                raise IngestError(f"model {model_name!r}: {exc}; send the batch again") from exc
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class _Options:
    """How one batch is ingested."""

    url: str | None
    strict: bool
    source: str | None
    on_chunk: Callable[[int], None] | None


def _ingest(
    first: pd.DataFrame,
    rest: Iterator[pd.DataFrame],
    target: Target,
    unknown: list[str],
    mode: NewColumns,
    options: _Options,
    received: int,
) -> IngestResult:
    """One batch in one transaction under the model's write lock."""
    batch_id = uuid.uuid4().hex
    q = Quarantine(target.model.id, batch_id, received)
    tally = _PredictionTally()
    added: list[str] = []
    bounds = time_range(target.policy, received)
    with bulk.bulk_connection(options.url) as conn, conn.transaction():
        conn.lock_model(target.model.id)
        if unknown and mode == "add":
            target = _evolve(conn, target, first, unknown)
            added = unknown
        for frame in _chain(first, rest):
            if frame.empty and not len(frame.columns):
                continue
            frame = frame.reset_index(drop=True)
            _store_predictions(
                conn, frame, target, q, tally, strict=options.strict, mode=mode, bounds=bounds
            )
            if options.on_chunk is not None:
                options.on_chunk(len(frame))
        q.write(conn)
        write_batch(conn, _record(batch_id, target, options.source, tally, q), received)
    return _result(batch_id, target, tally, q, added)


def _record(
    batch_id: str, target: Target, source: str | None, tally: _PredictionTally, q: Quarantine
) -> dict[str, object]:
    """The batch record: what this batch did."""
    return {
        "id": batch_id,
        "model_id": target.model.id,
        "kind": "predictions",
        "source": source,
        "n_rows": tally.rows,
        "stored": tally.stored,
        "already_present": tally.already,
        "conflicts": tally.conflicts,
        "quarantined": q.new,
        "already_quarantined": q.already,
        "coerced_to_missing": json.dumps(dict(tally.coerced)) if tally.coerced else None,
    }


def _result(
    batch_id: str, target: Target, tally: _PredictionTally, q: Quarantine, added: list[str]
) -> IngestResult:
    """The result of a batch; a missing label is news only if labels come with predictions."""
    label = target.schema.label
    expected_label = label is not None and target.schema.labels_with_predictions
    missing = [c for c in tally.missing if expected_label or label is None or c != label.name]
    return IngestResult(
        model=target.model.name,
        batch_id=batch_id,
        rows=tally.rows,
        stored=tally.stored,
        already_present=tally.already,
        conflicts=tally.conflicts,
        quarantined=q.new,
        problems=tally.problems,
        added_columns=added,
        missing_columns=missing,
        ignored_columns=tally.ignored,
        already_quarantined=q.already,
        coerced_to_missing=dict(tally.coerced),
        label_missing=label is not None and expected_label and label.name in tally.missing,
    )


def _store_predictions(
    conn: bulk.BulkConnection,
    frame: pd.DataFrame,
    target: Target,
    q: Quarantine,
    tally: _PredictionTally,
    *,
    strict: bool,
    mode: NewColumns,
    bounds: tuple[int, int],
) -> None:
    """Validate one chunk, store its good rows, quarantine its bad rows and conflicts."""
    schema, offset = target.schema, tally.rows
    validated = validate_predictions(
        frame,
        schema,
        row_offset=offset,
        on_new_columns="ignore" if mode == "add" else mode,  # added before the first chunk
        time_range=bounds,
        missing_values=target.policy.missing_values,
    )
    reject_if_strict(strict, validated.problems)
    tally.missing = validated.missing_columns
    tally.ignored = validated.ignored_columns
    tally.keep_problems(validated.problems)
    q.add_invalid(frame, validated, offset, schema.id.name, schema.timestamp.name)
    rows = _to_arrow(validated, target)
    id_phys = target.physical[schema.id.name]
    outcome = bulk.store_rows(
        conn,
        target.table,
        rows,
        id_column=id_phys,
        label_column=target.physical[schema.label.name] if schema.label is not None else None,
        return_ids=bool(validated.coerced),
    )
    n_conf = outcome.conflicts.num_rows
    if n_conf:
        if strict:
            raise ValidationError(
                f"strict mode: {n_conf} conflicting duplicate(s) (same prediction_id, "
                "different values); the batch was rejected, nothing stored"
            )
        q.add_conflicts(frame, outcome.conflicts, target.by_physical, offset, schema)
    if validated.coerced and outcome.inserted is not None:
        stored = pc.is_in(rows.column(id_phys), value_set=outcome.inserted)
        mask = stored.to_numpy(zero_copy_only=False).astype(bool)
        for name, coerced in validated.coerced.items():
            if n := int(np.count_nonzero(coerced & mask)):
                tally.coerced[name] += n
    tally.rows += len(frame)
    tally.stored += outcome.stored
    tally.already += outcome.already_present - n_conf
    tally.conflicts += n_conf


__all__ = [
    "LABELED_AT",
    "IngestResult",
    "LabelResult",
    "ingest_labels",
    "ingest_predictions",
    "new_column_mode",
]
