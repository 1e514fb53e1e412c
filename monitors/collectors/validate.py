"""Vectorised validation of a batch of logged predictions or labels against a schema.

Every check runs over whole columns (no Python loop per row). A bad row gets a
reason that names its row and column; the good rows come out typed in storage form:

* ``prediction_id`` → string; timestamps → int64 epoch microseconds UTC (naive
  timestamps are taken as UTC; strings are parsed as ISO 8601);
* ``float``/``int`` → float64 / Int64 (a non-number, ``inf`` or a non-integer for an
  ``int`` column is an error); ``bool`` accepts ``true/false/1/0/yes/no``;
* ``string`` → string.

Missing values are allowed in features, sensitive attributes and labels; never in
the id, timestamp, prediction or score. Classification predictions and labels must
be one of the schema's classes. ``score`` must lie in [0, 1]; ``latency_ms`` >= 0.

Row numbers count data rows from 1 (plus ``row_offset`` for later chunks of a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from monitors.errors import IngestError
from storage.schema import ColumnSpec, DType, ModelSchema, Role, Task, dtype_of_series

NewColumns = Literal["add", "quarantine", "error"]
ROW = "__row"
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason why one row was rejected."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"Row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ValidatedBatch:
    """Good rows in storage form, and the problems of the bad ones."""

    good: pd.DataFrame  # user column names + ROW; typed
    bad_positions: np.ndarray  # positions (0-based) of rejected rows in the input
    problems: list[Problem]  # every problem, in row order
    missing_columns: list[str] = field(default_factory=list)
    new_columns: list[ColumnSpec] = field(default_factory=list)


def _fmt(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checks:
    """Collects (mask, column, reason-per-row) triples, building texts only for bad rows."""

    def __init__(self, n: int, row_numbers: np.ndarray) -> None:
        self.n = n
        self.rows = row_numbers
        self.bad = np.zeros(n, dtype=bool)
        self.items: list[tuple[np.ndarray, str | None, list[str]]] = []

    def add(
        self,
        mask: np.ndarray | pd.Series,
        column: str | None,
        reasons: pd.Series | str,
        *,
        values: pd.Series | None = None,
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        if isinstance(reasons, str):
            if values is not None:
                texts = [reasons.format(_fmt(v)) for v in values.iloc[positions]]
            else:
                texts = [reasons] * len(positions)
        else:
            texts = [str(t) for t in reasons.iloc[positions]]
        self.bad |= mask
        self.items.append((positions, column, texts))

    def problems(self) -> list[Problem]:
        out = [
            Problem(int(self.rows[p]), column, text)
            for positions, column, texts in self.items
            for p, text in zip(positions, texts, strict=True)
        ]
        out.sort(key=lambda p: p.row)
        return out


def _present(series: pd.Series) -> np.ndarray:
    """Non-null and not an empty/blank string."""
    notna = series.notna().to_numpy()
    if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        blank = series.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        return notna & ~blank
    return notna


def _to_number(series: pd.Series, checks: _Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = _present(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.astype("float64")
    elif pd.api.types.is_numeric_dtype(series.dtype):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    else:
        numbers = pd.to_numeric(series.where(present), errors="coerce").astype("float64")
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    nan = np.isnan(values)
    checks.add(present & nan, col.name, "expected a number, got {}", values=series)
    checks.add(np.isinf(values), col.name, "expected a finite number, got {}", values=series)
    if required:
        checks.add(~present, col.name, f"missing value: the {col.role.value} is required")
    return pd.Series(np.where(present & ~np.isinf(values), values, np.nan), index=series.index)


INT64_MAX = 2**63 - 1
EXACT_FLOAT_INT = 2**53


def _to_int(series: pd.Series, checks: _Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    """Integers stay exact: never through float64 (which rounds values above 2**53)."""
    present = _present(series)
    if required:
        checks.add(~present, col.name, f"missing value: the {col.role.value} is required")
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("Int64")
    if pd.api.types.is_integer_dtype(series.dtype):
        if pd.api.types.is_unsigned_integer_dtype(series.dtype):
            big = (series > INT64_MAX).fillna(False).to_numpy(dtype=bool)
            checks.add(big, col.name, "integer out of the 64-bit range, got {}", values=series)
            return series.where(~big).astype("Float64").astype("Int64")
        return series.astype("Int64")
    source = series if pd.api.types.is_numeric_dtype(series.dtype) else series.where(present)
    parsed = pd.to_numeric(source, errors="coerce", dtype_backend="numpy_nullable")
    bad_number = present & parsed.isna().to_numpy(dtype=bool)
    checks.add(bad_number, col.name, "expected an integer, got {}", values=series)
    if pd.api.types.is_integer_dtype(parsed.dtype):
        big = (parsed > INT64_MAX).fillna(False).to_numpy(dtype=bool)
        checks.add(big, col.name, "integer out of the 64-bit range, got {}", values=series)
        return parsed.where(~big).astype("Int64") if big.any() else parsed.astype("Int64")
    values = parsed.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(values)
    frac = finite & (np.mod(np.where(finite, values, 0.0), 1.0) != 0)
    checks.add(frac, col.name, "expected an integer, got {}", values=series)
    inexact = finite & ~frac & (np.abs(values) > EXACT_FLOAT_INT)
    checks.add(
        inexact,
        col.name,
        "expected an integer that is exact (|x| <= 2**53 as a float), got {}",
        values=series,
    )
    checks.add(np.isinf(values), col.name, "expected a finite integer, got {}", values=series)
    keep = finite & ~frac & ~inexact
    out = pd.array(np.where(keep, values, 0).astype(np.int64), dtype="Int64")
    out[~keep] = pd.NA
    return pd.Series(out, index=series.index)


def _to_bool(series: pd.Series, checks: _Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = _present(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        out = series.astype("boolean")
    else:
        text = series.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=series.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
        out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
        checks.add(
            present & out.isna().to_numpy(),
            col.name,
            "expected a boolean (true/false/1/0/yes/no), got {}",
            values=series,
        )
    if required:
        checks.add(~present, col.name, f"missing value: the {col.role.value} is required")
    return out


def _to_string(series: pd.Series, checks: _Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = _present(series)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        integral = ~np.isnan(values) & (np.mod(np.nan_to_num(values), 1.0) == 0)
        text = series.astype("string")
        text[integral] = pd.Series(
            values[integral].astype(np.int64), index=series.index[integral]
        ).astype("string")
    else:
        text = series.astype("string")
    if required:
        checks.add(~present, col.name, f"missing value: the {col.role.value} is required")
    return text.where(present, pd.NA)


def _to_timestamp(series: pd.Series, checks: _Checks, col: ColumnSpec) -> pd.Series:
    present = _present(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        ts = series if getattr(series.dt, "tz", None) is not None else series.dt.tz_localize("UTC")
        ts = ts.dt.tz_convert("UTC")
    elif pd.api.types.is_numeric_dtype(series.dtype):
        checks.add(
            present, col.name, "expected an ISO 8601 timestamp, got the number {}", values=series
        )
        return pd.Series(np.zeros(len(series), dtype=np.int64), index=series.index)
    else:
        ts = pd.to_datetime(series.where(present), errors="coerce", utc=True, format="ISO8601")
    checks.add(
        present & ts.isna().to_numpy(),
        col.name,
        "expected an ISO 8601 timestamp, got {}",
        values=series,
    )
    checks.add(~present, col.name, "missing value: the timestamp is required")
    naive = ts.dt.tz_localize(None).astype("datetime64[us]")
    micros = naive.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")).view("int64")
    return pd.Series(micros, index=series.index)


def _convert(series: pd.Series, col: ColumnSpec, checks: _Checks, *, required: bool) -> pd.Series:
    if col.dtype is DType.TIMESTAMP:
        return _to_timestamp(series, checks, col)
    if col.dtype is DType.INT:
        return _to_int(series, checks, col, required=required)
    if col.dtype is DType.FLOAT:
        return _to_number(series, checks, col, required=required)
    if col.dtype is DType.BOOL:
        return _to_bool(series, checks, col, required=required)
    return _to_string(series, checks, col, required=required)


def _check_classes(
    values: pd.Series,
    col: ColumnSpec,
    classes: Sequence[object],
    checks: _Checks,
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
    on_new_columns: NewColumns = "add",
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
        What a column that is not in the schema does: ``add`` it as a new nullable
        feature (schema evolution), ``quarantine`` every row that has a value in it,
        or ``error`` (reject the batch).

    Raises
    ------
    IngestError
        A structural error: a required column (id, timestamp, prediction, score) is
        missing, or an unknown column with ``on_new_columns="error"``.
    """
    columns = [str(c) for c in frame.columns]
    unknown = _check_columns(columns, schema, on_new_columns)
    n = len(frame)
    frame = frame.reset_index(drop=True)
    checks = _Checks(n, np.arange(1, n + 1, dtype=np.int64) + row_offset)
    out = _convert_schema_columns(frame, schema, checks)
    _check_duplicate_ids(out[schema.id.name], schema.id.name, checks, row_offset=row_offset)
    new_specs = _convert_new_columns(frame, unknown, checks, out, on_new_columns=on_new_columns)
    good_mask = ~checks.bad
    good = pd.DataFrame({k: v[good_mask] for k, v in out.items()})
    good[ROW] = checks.rows[good_mask]
    missing = [c.name for c in schema.columns if c.name not in columns]
    return ValidatedBatch(
        good=good.reset_index(drop=True),
        bad_positions=np.flatnonzero(checks.bad),
        problems=checks.problems(),
        missing_columns=missing,
        new_columns=new_specs,
    )


def _check_columns(
    columns: list[str], schema: ModelSchema, on_new_columns: NewColumns
) -> list[str]:
    """Reject duplicate names and missing required columns; the columns not in the schema."""
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise IngestError(f"the batch has duplicate column names: {dupes!r}")
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
    frame: pd.DataFrame, schema: ModelSchema, checks: _Checks
) -> dict[str, pd.Series]:
    """The schema's columns present in ``frame``, converted and checked for their role."""
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in frame.columns:
            continue
        original = frame[col.name]
        converted = _convert(original, col, checks, required=_required(col))
        _check_role(converted, col, schema, checks, original)
        out[col.name] = converted
    return out


def _check_role(
    converted: pd.Series,
    col: ColumnSpec,
    schema: ModelSchema,
    checks: _Checks,
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


def _check_duplicate_ids(ids: pd.Series, column: str, checks: _Checks, *, row_offset: int) -> None:
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
    checks: _Checks,
    out: dict[str, pd.Series],
    *,
    on_new_columns: NewColumns,
) -> list[ColumnSpec]:
    """Quarantine rows with values in unknown columns, or convert them as new features."""
    new_specs: list[ColumnSpec] = []
    for name in unknown:
        series = frame[name]
        if on_new_columns == "quarantine":
            checks.add(
                _present(series), name, f"unknown column {name!r}: not in the model's schema"
            )
            continue
        dtype = dtype_of_series(series, name=name)
        if dtype is DType.TIMESTAMP:
            dtype = DType.STRING
        spec = ColumnSpec(name=name, role=Role.FEATURE, dtype=dtype)
        new_specs.append(spec)
        out[name] = _convert(series, spec, checks, required=False)
    return new_specs


def validate_labels(
    frame: pd.DataFrame,
    schema: ModelSchema,
    *,
    id_column: str,
    label_column: str,
    row_offset: int = 0,
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
    checks = _Checks(n, np.arange(1, n + 1, dtype=np.int64) + row_offset)
    id_spec = schema.id.model_copy(update={"name": id_column})
    label_spec = schema.label.model_copy(update={"name": label_column, "role": Role.PREDICTION})
    ids = _convert(frame[id_column], id_spec, checks, required=True)
    labels = _convert(frame[label_column], label_spec, checks, required=True)
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
    good[ROW] = checks.rows[good_mask]
    return ValidatedBatch(
        good=good.reset_index(drop=True),
        bad_positions=np.flatnonzero(checks.bad),
        problems=checks.problems(),
    )
