"""Vectorised validation of a batch of logged predictions or labels against a schema.

Every check runs over whole columns (no Python loop per row). A bad row gets a
reason that names its row and column; the good rows come out typed in storage form:

* ``prediction_id`` → string; timestamps → int64 epoch microseconds UTC (naive
  timestamps are taken as UTC; strings are parsed as ISO 8601);
* ``float``/``int`` → float64 / Int64 (a non-number, ``inf`` or a non-integer for an
  ``int`` column is an error); ``bool`` accepts ``true/false/1/0/yes/no``;
* ``string`` → string.

Missing values are allowed in features, sensitive attributes and labels; never in
the id, timestamp, prediction or score. Text in the model's ``missing_values`` list
(``NA``, ``null`` …) is missing in every column but the id, and counted per column
(``coerced``). Classification predictions and labels must be one of the schema's
classes. ``score`` must lie in [0, 1]; ``latency_ms`` >= 0. A timestamp outside the
model's plausible range (``time_range``) is a row error.

Row numbers count data rows from 1 (plus ``row_offset`` for later chunks of a file).
They travel beside the good rows (``ValidatedBatch.rows``), never as a column of them,
so no internal name can collide with a user's column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from monitors.collectors._convert import NAT_US, Checks, Problem, convert, is_present
from monitors.errors import IngestError
from storage.schema import (
    DEFAULT_MISSING_VALUES,
    ColumnSpec,
    DType,
    ModelSchema,
    Role,
    Task,
    dtype_of_series,
)

NewColumns = Literal["ignore", "add", "quarantine", "error"]
NEW_COLUMN_MODES: tuple[str, ...] = ("ignore", "add", "quarantine", "error")
#: separators a header read as one column may contain, with their names
SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma"}

__all__ = [
    "NEW_COLUMN_MODES",
    "SEPARATORS",
    "NewColumns",
    "Problem",
    "ValidatedBatch",
    "duplicate_names",
    "separator_hint",
    "validate_labels",
    "validate_predictions",
]


@dataclass(frozen=True)
class ValidatedBatch:
    """Good rows in storage form, and the problems of the bad ones."""

    good: pd.DataFrame  # the user's column names only; typed
    rows: np.ndarray  # row number (from 1, with the offset) of each good row
    bad_positions: np.ndarray  # positions (0-based) of rejected rows in the input
    problems: list[Problem]  # every problem, in row order
    missing_columns: list[str] = field(default_factory=list)
    new_columns: list[ColumnSpec] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # per column: which good rows held missing-value text (stored as missing)
    coerced: dict[str, np.ndarray] = field(default_factory=dict)


def separator_hint(columns: Sequence[str]) -> tuple[str, str] | None:
    """``(separator, name)`` if a header read as one column contains ``;``, tab or ``|``."""
    if len(columns) != 1:
        return None
    for sep in (";", "\t", "|"):
        if sep in str(columns[0]):
            return sep, SEPARATORS[sep]
    return None


def duplicate_names(columns: Sequence[str]) -> list[str]:
    """Column names that appear more than once, sorted."""
    counts = Counter(columns)
    return sorted(c for c, n in counts.items() if n > 1)


def _check_classes(
    values: pd.Series,
    col: ColumnSpec,
    classes: Sequence[object],
    checks: Checks,
    original: pd.Series,
) -> None:
    known = pd.Series(list(classes))
    if col.dtype is DType.STRING:
        known = known.astype("string")
    inside = values.isin(known.tolist()).fillna(False).to_numpy(dtype=bool)
    checks.add(
        values.notna().to_numpy() & ~inside,
        col.name,
        f"{col.role.value} outside the model's classes {list(classes)!r}: got {{}}",
        values=original,
    )


def _required(col: ColumnSpec) -> bool:
    return col.role in (Role.ID, Role.TIMESTAMP, Role.PREDICTION, Role.SCORE)


def validate_predictions(
    frame: pd.DataFrame,
    schema: ModelSchema,
    *,
    row_offset: int = 0,
    on_new_columns: NewColumns = "ignore",
    time_range: tuple[int, int] | None = None,
    missing_values: Collection[str] = DEFAULT_MISSING_VALUES,
) -> ValidatedBatch:
    """Validate a batch of logged predictions.

    Parameters
    ----------
    frame
        The batch, with the user's column names.
    schema
        The model's schema.
    row_offset
        Added to row numbers (for later chunks of a file).
    on_new_columns
        What a column that is not in the schema does: ``ignore`` it (reported in
        ``ignored_columns``), convert it as a new nullable feature (``add``; the caller
        evolves the schema), ``quarantine`` every row that has a value in it, or
        ``error`` (reject the batch).
    time_range
        ``(low, high)`` epoch microseconds: a timestamp outside is a row error.
    missing_values
        Text that counts as missing in every column but the id (counted in ``coerced``).

    Raises
    ------
    IngestError
        A structural error: duplicate column names, a header that looks like another
        separator, a required column (id, timestamp, prediction, score) missing, or an
        unknown column with ``on_new_columns="error"``.
    """
    columns = [str(c) for c in frame.columns]
    unknown = check_columns(columns, schema, on_new_columns)
    n = len(frame)
    frame = frame.reset_index(drop=True)
    checks = Checks(n, np.arange(1, n + 1, dtype=np.int64) + row_offset)
    coerced: dict[str, np.ndarray] = {}
    out = _convert_schema_columns(frame, schema, checks, missing_values, coerced)
    if time_range is not None:
        _check_time_range(out[schema.timestamp.name], schema, checks, frame, time_range)
    _check_duplicate_ids(out[schema.id.name], schema.id.name, checks, row_offset=row_offset)
    new_specs = _convert_new_columns(
        frame, unknown, checks, out, on_new_columns=on_new_columns, coerced=coerced
    )
    good_mask = ~checks.bad
    good = pd.DataFrame({k: v[good_mask] for k, v in out.items()})
    return ValidatedBatch(
        good=good.reset_index(drop=True),
        rows=checks.rows[good_mask],
        bad_positions=np.flatnonzero(checks.bad),
        problems=checks.problems(),
        missing_columns=[c.name for c in schema.columns if c.name not in columns],
        new_columns=new_specs,
        ignored_columns=unknown if on_new_columns == "ignore" else [],
        coerced={k: m[good_mask] for k, m in coerced.items() if m[good_mask].any()},
    )


def check_columns(columns: list[str], schema: ModelSchema, on_new_columns: NewColumns) -> list[str]:
    """Reject duplicate names and missing required columns; the columns not in the schema.

    Raises
    ------
    IngestError
        On duplicate names, a one-column header with another separator inside, a
        missing required column, or an unknown column with ``on_new_columns="error"``.
    """
    dupes = duplicate_names(columns)
    if dupes:
        raise IngestError(f"the batch has duplicate column names: {dupes!r}")
    hint = separator_hint(columns)
    if hint is not None:
        raise IngestError(
            f"the batch has a single column {columns[0]!r} that contains {hint[0]!r}: the "
            f"data looks {hint[1]}-separated; read it with that separator"
        )
    missing_required = [c.name for c in schema.columns if _required(c) and c.name not in columns]
    if missing_required:
        raise IngestError(
            f"the batch is missing required column(s) {missing_required!r} "
            f"(expected the schema's columns {schema.names!r}; got {columns!r})"
        )
    known = set(schema.names)
    unknown = [c for c in columns if c not in known]
    if unknown and on_new_columns == "error":
        raise IngestError(f"column(s) {unknown!r} are not in the model's schema {schema.names!r}")
    return unknown


def _convert_schema_columns(
    frame: pd.DataFrame,
    schema: ModelSchema,
    checks: Checks,
    missing_values: Collection[str],
    coerced: dict[str, np.ndarray],
) -> dict[str, pd.Series]:
    """The schema's columns present in ``frame``, converted and checked for their role."""
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in frame.columns:
            continue
        original = frame[col.name]
        converted = convert(
            original,
            col,
            checks,
            required=_required(col),
            missing_values=missing_values,
            coerced=coerced,
        )
        _check_role(converted, col, schema, checks, original)
        out[col.name] = converted
    return out


def _check_time_range(
    micros: pd.Series,
    schema: ModelSchema,
    checks: Checks,
    frame: pd.DataFrame,
    time_range: tuple[int, int],
) -> None:
    """Timestamps before ``low`` or after ``high`` (epoch µs) are implausible."""
    low, high = time_range
    values = micros.to_numpy(dtype=np.int64)
    parsed = values != NAT_US
    name = schema.timestamp.name
    text = {
        bound: pd.Timestamp(bound, unit="us", tz="UTC").isoformat().replace("+00:00", "Z")
        for bound in (low, high)
    }
    checks.add(
        parsed & (values < low),
        name,
        f"implausible timestamp {{}}: before {text[low]} (the model's ingest policy min_timestamp)",
        values=frame[name],
    )
    checks.add(
        parsed & (values > high),
        name,
        f"implausible timestamp {{}}: after {text[high]} (more than the model's ingest "
        "policy max_future after the time of ingest)",
        values=frame[name],
    )


def _check_role(
    converted: pd.Series,
    col: ColumnSpec,
    schema: ModelSchema,
    checks: Checks,
    original: pd.Series,
) -> None:
    """Role checks: classes of predictions/labels, score in [0, 1], latency >= 0."""
    if (
        col.role in (Role.PREDICTION, Role.LABEL)
        and schema.task is not Task.REGRESSION
        and schema.classes is not None
    ):
        _check_classes(converted, col, schema.classes, checks, original)
    if col.role is Role.SCORE:
        bad = converted.notna().to_numpy() & ~converted.between(0.0, 1.0).fillna(False).to_numpy()
        checks.add(bad, col.name, "score must be a probability in [0, 1], got {}", values=original)
    if col.role is Role.LATENCY:
        checks.add(
            (converted < 0).fillna(False).to_numpy(dtype=bool),
            col.name,
            "latency_ms must be >= 0, got {}",
            values=original,
        )


def _check_duplicate_ids(ids: pd.Series, column: str, checks: Checks, *, row_offset: int) -> None:
    """Flag every repeat of a prediction id in the batch, naming the row of its first use."""
    n = len(ids)
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    if not dup.any():
        return
    first = (
        pd.Series(np.arange(n), index=ids.index)
        .groupby(ids, sort=False)
        .transform("first")
        .to_numpy(dtype=np.int64)
    )
    reasons = pd.Series([""] * n, dtype=object)
    for p in (int(i) for i in np.flatnonzero(dup)):
        reasons.iat[p] = (
            f"duplicate prediction_id {ids.iat[p]!r} in the batch "
            f"(first at row {int(first[p]) + 1 + row_offset})"
        )
    checks.add(dup, column, reasons)


def _convert_new_columns(
    frame: pd.DataFrame,
    unknown: list[str],
    checks: Checks,
    out: dict[str, pd.Series],
    *,
    on_new_columns: NewColumns,
    coerced: dict[str, np.ndarray],
) -> list[ColumnSpec]:
    """Quarantine rows with values in unknown columns, or convert them as new features."""
    new_specs: list[ColumnSpec] = []
    if on_new_columns not in ("add", "quarantine"):
        return new_specs
    for name in unknown:
        series = frame[name]
        if on_new_columns == "quarantine":
            checks.add(
                is_present(series), name, f"unknown column {name!r}: not in the model's schema"
            )
            continue
        dtype = dtype_of_series(series, name=name)
        if dtype is DType.TIMESTAMP:
            dtype = DType.STRING
        spec = ColumnSpec(name=name, role=Role.FEATURE, dtype=dtype)
        new_specs.append(spec)
        out[name] = convert(series, spec, checks, required=False, coerced=coerced)
    return new_specs


def validate_labels(
    frame: pd.DataFrame,
    schema: ModelSchema,
    *,
    id_column: str,
    label_column: str,
    row_offset: int = 0,
    missing_values: Collection[str] = DEFAULT_MISSING_VALUES,
) -> ValidatedBatch:
    """Validate a batch of labels (``id_column``, ``label_column``) for backfill."""
    if schema.label is None:
        raise IngestError("the model has no label column in its schema; register one with --label")
    missing = [c for c in (id_column, label_column) if c not in frame.columns]
    if missing:
        raise IngestError(
            f"the label file is missing column(s) {missing!r} "
            f"(got {[str(c) for c in frame.columns]!r})"
        )
    frame = frame.reset_index(drop=True)
    n = len(frame)
    checks = Checks(n, np.arange(1, n + 1, dtype=np.int64) + row_offset)
    id_spec = schema.id.model_copy(update={"name": id_column})
    label_spec = schema.label.model_copy(update={"name": label_column, "role": Role.PREDICTION})
    ids = convert(frame[id_column], id_spec, checks, required=True)
    labels = convert(
        frame[label_column], label_spec, checks, required=True, missing_values=missing_values
    )
    if schema.task is not Task.REGRESSION and schema.classes is not None:
        _check_classes(
            labels,
            label_spec.model_copy(update={"role": Role.LABEL}),
            schema.classes,
            checks,
            frame[label_column],
        )
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    checks.add(dup, id_column, "duplicate prediction_id {} in the batch", values=frame[id_column])
    good_mask = ~checks.bad
    good = pd.DataFrame({schema.id.name: ids[good_mask], schema.label.name: labels[good_mask]})
    return ValidatedBatch(
        good=good.reset_index(drop=True),
        rows=checks.rows[good_mask],
        bad_positions=np.flatnonzero(checks.bad),
        problems=checks.problems(),
    )
