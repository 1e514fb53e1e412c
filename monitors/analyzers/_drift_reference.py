"""The reference profile: what every window's drift needs from the reference, built once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_binning import reference_edges
from monitors.analyzers._drift_config import DriftConfig
from monitors.analyzers._drift_json import python_scalar
from monitors.analyzers._drift_types import CategoricalProfile, NumericProfile, ReferenceProfile
from storage.schema import Kind, ModelSchema, Role


def drift_kind(schema: ModelSchema, name: str) -> Kind:
    """How column ``name`` is tested for drift: its kind, sensitive attributes categorical."""
    kind = schema.kind_of(name)
    if kind is Kind.NUMERIC and schema.column(name).role is Role.SENSITIVE:
        return Kind.CATEGORICAL
    return kind


def _sort_key(item: tuple[Any, int]) -> tuple[int, str]:
    """Order categories by descending count, then by their string form."""
    return (-item[1], str(item[0]))


def category_counts(series: pd.Series) -> tuple[list[Any], list[int], int]:
    """Categories (by descending count), their counts, and the number of missing values."""
    counts = series.value_counts(dropna=True, sort=False)
    pairs = sorted(
        (
            (python_scalar(k), int(v))
            for k, v in zip(counts.index.tolist(), counts.to_numpy(), strict=True)
            if v > 0  # unused categories of a pandas Categorical
        ),
        key=_sort_key,
    )
    n_missing = int(series.isna().sum())
    return [p[0] for p in pairs], [p[1] for p in pairs], n_missing


def finite_values(series: pd.Series) -> tuple[NDArray[np.float64], int, int]:
    """The finite values of a numeric column, the count of NaN and the count of +-inf."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    if finite.all():
        return values, 0, 0
    n_nan = int(np.isnan(values).sum())
    return values[finite], n_nan, int(values.size - finite.sum() - n_nan)


def _numeric_profile(name: str, series: pd.Series, config: DriftConfig) -> NumericProfile:
    """Sorted finite values, moments and bins (point masses, quantiles) of a numeric column."""
    values, n_missing, n_inf = finite_values(series)
    ordered = np.sort(values)
    edges, masses = reference_edges(ordered, config.n_bins, config.point_mass_share)
    n = ordered.size
    return NumericProfile(
        column=name,
        sorted_values=ordered,
        n_missing=n_missing,
        n_infinite=n_inf,
        mean=float(ordered.mean()) if n else None,
        std=float(ordered.std()) if n else None,
        min=float(ordered[0]) if n else None,
        max=float(ordered[-1]) if n else None,
        n_unique=int(np.count_nonzero(np.diff(ordered))) + 1 if n else 0,
        edges=edges,
        counts=st.bin_counts(ordered, edges),
        n_bins=config.n_bins,
        point_masses=masses,
        point_mass_share=config.point_mass_share,
    )


def _categorical_profile(name: str, kind: Kind, series: pd.Series) -> CategoricalProfile:
    """Category counts of a categorical or boolean reference column."""
    cats, counts, n_missing = category_counts(series)
    return CategoricalProfile(
        column=name,
        kind=kind.value,
        categories=tuple(cats),
        counts=np.asarray(counts, dtype=np.int64),
        n_missing=n_missing,
    )


def prepare_reference(
    reference: pd.DataFrame, *, schema: ModelSchema, config: DriftConfig
) -> ReferenceProfile:
    """Summarise the reference once for every later window.

    Parameters
    ----------
    reference : DataFrame
        Reference rows with the user's column names. Columns of
        ``schema.drift_columns()`` that are absent are skipped (their windows report
        ``insufficient_data``).
    schema : ModelSchema
    config : DriftConfig
        ``n_bins`` and ``point_mass_share`` set the numeric bins.

    Returns
    -------
    ReferenceProfile
    """
    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    for spec in schema.drift_columns():
        if spec.name not in reference.columns:
            continue
        kind = drift_kind(schema, spec.name)
        if kind is Kind.NUMERIC:
            columns[spec.name] = _numeric_profile(spec.name, reference[spec.name], config)
        else:
            columns[spec.name] = _categorical_profile(spec.name, kind, reference[spec.name])
    return ReferenceProfile(n_rows=len(reference), columns=columns, n_bins=config.n_bins)
