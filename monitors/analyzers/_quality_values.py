"""Reading a column's values: dtype fit, numbers, distinct-value counts, shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers.base import finite_or_none
from storage.schema import ColumnSpec, DType


def json_scalar(value: Any) -> Any:
    """A JSON-friendly Python scalar (numpy scalars unwrapped, NaN to ``None``)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def is_numeric_dtype(series: pd.Series) -> bool:
    """Whether the column holds numbers (booleans excluded)."""
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def as_float(series: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, int]:
    """Values as a float array (NaN = missing or unparsable) and the count of type mismatches."""
    if pd.api.types.is_bool_dtype(series.dtype) or is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        mismatched = 0
        if spec.dtype is DType.INT:
            finite = np.isfinite(values)
            mismatched = int(np.count_nonzero(values[finite] != np.round(values[finite])))
        return values, mismatched
    coerced = pd.to_numeric(series, errors="coerce")
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    mismatched = int(np.count_nonzero(series.notna().to_numpy() & np.isnan(values)))
    if spec.dtype is DType.INT:
        finite = np.isfinite(values)
        mismatched += int(np.count_nonzero(values[finite] != np.round(values[finite])))
    return values, mismatched


_BOOL_TEXT = ["true", "false", "True", "False", "TRUE", "FALSE", "0", "1"]


def type_mismatches(series: pd.Series, spec: ColumnSpec) -> int:
    """Count of non-null values that do not fit the declared dtype."""
    if spec.dtype not in (DType.BOOL, DType.STRING):
        return as_float(series, spec)[1]
    if spec.dtype is DType.BOOL:
        if pd.api.types.is_bool_dtype(series.dtype):
            return 0
        non_null = series.dropna()
        if is_numeric_dtype(series):
            return int((~non_null.isin([0, 1])).sum())
        ok = non_null.map(
            lambda v: isinstance(v, bool | np.bool_) or v in (0, 1) or str(v) in _BOOL_TEXT
        )
        return int((~ok.astype(bool)).sum())
    # STRING
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return 0
    non_null = series.dropna()
    if pd.api.types.is_object_dtype(series.dtype):
        return int((~non_null.map(lambda v: isinstance(v, str)).astype(bool)).sum())
    return len(non_null)


def value_counts(series: pd.Series) -> pd.Series:
    """Counts of the distinct non-null values (hash-based, no sort of strings)."""
    return series.value_counts(dropna=True, sort=False)


def top_counts(counts: pd.Series, k: int) -> list[dict[str, Any]]:
    """The ``k`` largest counts, most frequent first, ties by value text (row-order free)."""
    if k == 0 or counts.empty:
        return []
    arr = counts.to_numpy()
    if len(arr) > k:
        kth = np.partition(arr, len(arr) - k)[len(arr) - k]
        counts = counts[arr >= kth]
    items = sorted(
        ((json_scalar(v), int(c)) for v, c in counts.items()), key=lambda t: (-t[1], str(t[0]))
    )
    return [{"value": v, "count": c} for v, c in items[:k]]


def ratio(num: int, den: int) -> float | None:
    """``num / den``, or ``None`` when ``den`` is 0."""
    return num / den if den else None
