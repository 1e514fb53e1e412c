"""Column conversion to storage form with vectorised checks (used by :mod:`.validate`).

Each converter takes a raw column and a :class:`Checks` collector, records a problem
for every bad cell (row numbers are added by the collector) and returns the column in
storage form. Text listed as a missing value (``IngestPolicy.missing_values``) is made
missing first, in every column but the id, and counted per column.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from storage.schema import ColumnSpec, DType, Role

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
NAT_US = np.iinfo(np.int64).min  # NaT as int64 microseconds


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason why one row was rejected."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"Row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.reason}"


def _fmt(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checks:
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


def is_present(series: pd.Series) -> np.ndarray:
    """Non-null and not an empty/blank string."""
    notna = series.notna().to_numpy()
    if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        blank = series.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        return notna & ~blank
    return notna


def _to_number(series: pd.Series, checks: Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = is_present(series)
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


def _to_int(series: pd.Series, checks: Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    """Integers stay exact: never through float64 (which rounds values above 2**53)."""
    present = is_present(series)
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


def _to_bool(series: pd.Series, checks: Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = is_present(series)
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


def _to_string(series: pd.Series, checks: Checks, col: ColumnSpec, *, required: bool) -> pd.Series:
    present = is_present(series)
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


def _to_timestamp(series: pd.Series, checks: Checks, col: ColumnSpec) -> pd.Series:
    present = is_present(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        ts = series if getattr(series.dt, "tz", None) is not None else series.dt.tz_localize("UTC")
        ts = ts.dt.tz_convert("UTC")
    elif pd.api.types.is_numeric_dtype(series.dtype):
        checks.add(
            present, col.name, "expected an ISO 8601 timestamp, got the number {}", values=series
        )
        checks.add(~present, col.name, "missing value: the timestamp is required")
        return pd.Series(np.full(len(series), NAT_US, dtype=np.int64), index=series.index)
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


def _is_text(series: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(series.dtype) or series.dtype == object)


def missing_text(series: pd.Series, missing_values: Collection[str]) -> np.ndarray:
    """Cells whose text (blanks stripped) is one of ``missing_values``."""
    if not missing_values or not _is_text(series):
        return np.zeros(len(series), dtype=bool)
    text = series.astype("string").str.strip()
    return text.isin(list(missing_values)).fillna(False).to_numpy(dtype=bool)


def convert(
    series: pd.Series,
    col: ColumnSpec,
    checks: Checks,
    *,
    required: bool,
    missing_values: Collection[str] = (),
    coerced: dict[str, np.ndarray] | None = None,
) -> pd.Series:
    """``series`` in ``col``'s storage form; bad cells recorded in ``checks``.

    Text in ``missing_values`` becomes missing (never in the id column) and its mask is
    put in ``coerced[col.name]``.
    """
    if col.role is not Role.ID:
        tokens = missing_text(series, missing_values)
        if tokens.any():
            if coerced is not None:
                coerced[col.name] = tokens
            series = series.astype(object).where(~tokens, None)
    if col.dtype is DType.TIMESTAMP:
        return _to_timestamp(series, checks, col)
    if col.dtype is DType.INT:
        return _to_int(series, checks, col, required=required)
    if col.dtype is DType.FLOAT:
        return _to_number(series, checks, col, required=required)
    if col.dtype is DType.BOOL:
        return _to_bool(series, checks, col, required=required)
    return _to_string(series, checks, col, required=required)
