"""The reference profile of every checked column, computed once per reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitors.analyzers._quality_types import ColumnProfile, QualityReference
from monitors.analyzers._quality_values import as_float, json_scalar, value_counts
from storage.schema import ColumnSpec, Kind, ModelSchema, Role


def monitored_columns(schema: ModelSchema) -> list[ColumnSpec]:
    """Columns checked for quality, in schema order."""
    roles = (Role.FEATURE, Role.SENSITIVE, Role.PREDICTION, Role.SCORE, Role.LABEL)
    return [c for c in schema.columns if c.role in roles]


def _profile(series: pd.Series, spec: ColumnSpec, kind: Kind) -> ColumnProfile:
    """Range (numeric) or category set, and whether the column varies."""
    n_rows = len(series)
    if kind is Kind.NUMERIC:
        values, _ = as_float(series, spec)
        present = values[~np.isnan(values)]
        if present.size == 0:
            return ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
        lo, hi = float(present.min()), float(present.max())
        return ColumnProfile(
            spec.name, kind.value, n_rows, int(present.size), lo, hi, None, hi > lo
        )
    counts = value_counts(series)
    categories = frozenset(json_scalar(v) for v in counts.index.tolist())
    n_non_null = int(counts.sum())
    if n_non_null == 0:
        return ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
    return ColumnProfile(
        spec.name, kind.value, n_rows, n_non_null, None, None, categories, len(counts) > 1
    )


def prepare_quality_reference(reference: pd.DataFrame, *, schema: ModelSchema) -> QualityReference:
    """Profile the reference once: numeric ``[min, max]``, category sets, variability.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference data with the user's column names. A monitored column absent from it
        (added to the schema later) gets an empty profile, and the range, category and
        constant checks of that column report ``insufficient_data``.
    schema : ModelSchema
        The model's schema; features, sensitive attributes, prediction, score and
        label are profiled.

    Returns
    -------
    QualityReference

    Examples
    --------
    >>> from storage.schema import infer_schema
    >>> ref = pd.DataFrame({"id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01"] * 2),
    ...                     "x": [1.0, 3.0], "y": [0.5, 0.7]})
    >>> s = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y")
    >>> p = prepare_quality_reference(ref, schema=s).column("x")
    >>> (p.minimum, p.maximum, p.varied)
    (1.0, 3.0, True)
    """
    profiles = []
    n_rows = len(reference)
    for spec in monitored_columns(schema):
        kind = schema.kind_of(spec.name)
        if spec.name not in reference.columns:
            profiles.append(
                ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
            )
            continue
        profiles.append(_profile(reference[spec.name], spec, kind))
    return QualityReference(n_rows=n_rows, columns=tuple(profiles))
