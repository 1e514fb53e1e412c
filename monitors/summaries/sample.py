"""The bounded uniform sample of a window summary: random keys, selection, rows back.

Each row's key is ``int(md5(salt || prediction_id)[:13], 16) / 2**52``, a number in
``[0, 1)`` that every engine computes alike (Python ``hashlib``, PostgreSQL ``md5``, Spark
``md5``). The sample is the ``k`` rows with the smallest keys (ties by id): a uniform
random sample of the rows without replacement (the hash of distinct ids behaves as
independent uniform draws), and the ``k`` smallest keys of a union are the ``k`` smallest
of the shards' ``k`` smallest, so merging samples is exact (a *bottom-k* sketch).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from monitors.summaries.types import Sample, SummarySpec, Value

#: Hex digits of the md5 used for the key (52 bits: exact in a float64).
KEY_HEX_DIGITS = 13
KEY_SCALE = float(16**KEY_HEX_DIGITS)

_EPOCH = pd.Timestamp(0, tz="UTC").as_unit("us")

_FRAME_DTYPES = {
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
    "string": "str",
}


def row_keys(ids: Sequence[str] | np.ndarray, salt: str) -> np.ndarray:
    """The random key in ``[0, 1)`` of each prediction id."""
    prefix = salt.encode()

    def key(i: object) -> int:
        digest = hashlib.md5(prefix + str(i).encode(), usedforsecurity=False).hexdigest()
        return int(digest[:KEY_HEX_DIGITS], 16)

    return (
        np.fromiter(
            (key(i) for i in ids),
            dtype=np.float64,
            count=len(ids),
        )
        / KEY_SCALE
    )


def bottom_k(keys: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``(key, id)`` pairs, in that order."""
    if keys.size > k:
        cut = np.partition(keys, k - 1)[k - 1]
        candidates = np.flatnonzero(keys <= cut)
    else:
        candidates = np.arange(keys.size)
    order = np.lexsort((ids[candidates].astype(str), keys[candidates]))
    return candidates[order][:k]


def python_value(value: object) -> Value:
    """A cell as a JSON scalar: NumPy unwrapped, NaN/NA to ``None``, timestamps to µs."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        ts = value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
        return int((ts.as_unit("us") - _EPOCH) // pd.Timedelta(1, "us"))
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _non_finite(value: float) -> Value:
    """NaN as ``None``, +-inf as the text ``"inf"`` / ``"-inf"`` (JSON has no infinity)."""
    if math.isnan(value):
        return None
    return "inf" if value > 0 else "-inf"


def column_values(series: pd.Series, dtype: str) -> tuple[Value, ...]:
    """A column's cells as JSON scalars (vectorised :func:`python_value`)."""
    if dtype == "timestamp" and pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True).dt.as_unit("us")
        micros = (stamps - _EPOCH) // pd.Timedelta(1, "us")
        return tuple(None if pd.isna(v) else int(v) for v in micros.tolist())
    if pd.api.types.is_float_dtype(series.dtype):
        floats = series.to_numpy(dtype=np.float64, na_value=np.nan).tolist()
        return tuple(v if math.isfinite(v) else _non_finite(v) for v in floats)
    try:
        return tuple(pa.array(series, from_pandas=True).to_pylist())
    except (pa.ArrowException, TypeError, ValueError):
        return tuple(python_value(v) for v in series.tolist())


def sample_from_frame(frame: pd.DataFrame, spec: SummarySpec) -> Sample:
    """The ``spec.sample_size`` rows of ``frame`` with the smallest keys."""
    ids = frame[spec.id].astype(str).to_numpy() if len(frame) else np.empty(0, dtype=object)
    keys = row_keys(ids, spec.sample_salt)
    chosen = bottom_k(keys, ids, spec.sample_size)
    rows = frame.iloc[chosen]
    values = tuple(
        column_values(rows[c], dtype) if c in rows.columns else (None,) * len(rows)
        for c, dtype in zip(spec.sample_columns, spec.sample_dtypes, strict=True)
    )
    return Sample(
        keys=tuple(float(k) for k in keys[chosen]),
        ids=tuple(str(i) for i in ids[chosen]),
        values=values,
        n_seen=len(frame),
        capacity=spec.sample_size,
    )


def sample_frame(sample: Sample, spec: SummarySpec) -> pd.DataFrame:
    """The sampled rows as a DataFrame typed like :func:`monitors.windows.load_window`'s.

    ``"inf"`` / ``"-inf"`` in a float column are the infinities.
    """
    data: dict[str, pd.Series] = {}
    for name, dtype, values in zip(
        spec.sample_columns, spec.sample_dtypes, sample.values, strict=True
    ):
        if dtype == "timestamp":
            micros = pd.Series(list(values), dtype="Int64")
            data[name] = pd.to_datetime(micros, unit="us", utc=True)
        elif dtype == "float":
            data[name] = pd.Series(
                [np.nan if v is None else float(v) for v in values],
                dtype="float64",
            )
        else:
            data[name] = pd.Series(list(values), dtype=_FRAME_DTYPES[dtype])
    return pd.DataFrame(data, index=pd.RangeIndex(len(sample.keys)))
