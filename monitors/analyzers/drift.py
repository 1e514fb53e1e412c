"""Drift analyzer: reference vs window, per column, for the whole dataset and multivariate.

The reference does not change between windows, so the work is split:

* :func:`prepare_reference` — once per reference version: per numeric column the sorted
  finite values, quantile bin edges and reference bin shares, mean/std/min/max; per
  categorical/boolean column the category counts (:class:`ReferenceProfile`);
* :func:`column_drift` — per window: sorts each numeric window column once and derives KS,
  Wasserstein, Anderson–Darling and the bin counts from the two sorted arrays (see
  :mod:`monitors.analyzers._drift_stats`); counts each categorical column once;
* :func:`multivariate_drift` — a domain classifier on seeded subsamples;
* :func:`drift_records` — flattens the results into :class:`MetricRecord` rows.

Defaults (Evidently's, see ``docs/analyzers-drift.md``): with a reference of at most
``size_split`` = 1000 non-missing values, p-value tests decide (numeric with more than 5
distinct values: KS; categorical or <= 5 distinct values: chi-square, or the two-proportion
Z-test when there are exactly two values; drift when p < 0.05). With a larger reference,
effect sizes decide (numeric: Wasserstein distance / reference std >= 0.1; categorical or
<= 5 distinct values: Jensen–Shannon distance >= 0.1). Every metric is computed and reported
for every column whatever decides. Missing values (NaN/None, and +-inf for numeric columns)
are excluded from the tests and counted in the details. A side with fewer than ``min_rows``
= 30 non-missing values gives ``insufficient_data``.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from monitors.analyzers._drift_column import column_result
from monitors.analyzers._drift_config import (
    CATEGORICAL_METRICS,
    NUMERIC_METRICS,
    P_VALUE_METRICS,
    DriftConfig,
    DriftThresholds,
    FeatureDriftOverride,
    MethodChoice,
    drift_config,
)
from monitors.analyzers._drift_multivariate import multivariate_drift
from monitors.analyzers._drift_records import drift_records
from monitors.analyzers._drift_reference import prepare_reference
from monitors.analyzers._drift_types import (
    CategoricalProfile,
    ColumnDrift,
    DriftReport,
    MetricValue,
    MultivariateDrift,
    NumericProfile,
    ReferenceProfile,
)
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from storage.schema import ModelSchema

__all__ = [
    "CATEGORICAL_METRICS",
    "NUMERIC_METRICS",
    "P_VALUE_METRICS",
    "CategoricalProfile",
    "ColumnDrift",
    "DriftConfig",
    "DriftReport",
    "DriftThresholds",
    "FeatureDriftOverride",
    "MethodChoice",
    "MetricValue",
    "MultivariateDrift",
    "NumericProfile",
    "ReferenceProfile",
    "column_drift",
    "drift_config",
    "drift_records",
    "multivariate_drift",
    "prepare_reference",
]


def _n_workers(config: DriftConfig) -> int:
    """Threads for the numeric columns: ``config.workers``, else up to 4 CPUs."""
    if config.workers is not None:
        return config.workers
    return max(1, min(4, os.cpu_count() or 1))


def _column_results(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    names: list[str],
    *,
    schema: ModelSchema,
    config: DriftConfig,
) -> dict[str, ColumnDrift]:
    """Every column's result; numeric columns of large windows in a thread pool."""

    def one(name: str) -> ColumnDrift:
        return column_result(name, schema.kind_of(name), profile.columns.get(name), current, config)

    numeric = [n for n in names if isinstance(profile.columns.get(n), NumericProfile)]
    results: dict[str, ColumnDrift] = {}
    workers = _n_workers(config)
    if workers > 1 and len(numeric) > 1 and len(current) >= 50_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for name, res in zip(numeric, pool.map(one, numeric), strict=True):
                results[name] = res
    for name in names:
        if name not in results:
            results[name] = one(name)
    return results


def _report(
    columns: tuple[ColumnDrift, ...], *, schema: ModelSchema, config: DriftConfig
) -> DriftReport:
    """The window's report: the columns and the share of drifted columns with a verdict."""
    feature_names = {s.name for s in schema.features}
    counted = [
        c
        for c in columns
        if (config.dataset_columns == "all" or c.column in feature_names)
        and c.status != INSUFFICIENT_DATA
    ]
    drifted = [c.column for c in counted if c.drifted]
    share = len(drifted) / len(counted) if counted else None
    dataset_drifted = share is not None and share >= config.dataset_drift_share
    return DriftReport(
        columns=columns,
        dataset_share=share,
        dataset_threshold=config.dataset_drift_share,
        dataset_drifted=dataset_drifted,
        dataset_status=INSUFFICIENT_DATA if share is None else (DRIFT if dataset_drifted else OK),
        counted_columns=tuple(c.column for c in counted),
        drifted_columns=tuple(drifted),
    )


def column_drift(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: DriftConfig,
) -> DriftReport:
    """Drift of every column of ``schema.drift_columns()`` and the dataset drift share.

    Parameters
    ----------
    profile : ReferenceProfile
        From :func:`prepare_reference`.
    current : DataFrame
        The window's rows (user column names). Empty frames and absent columns give
        ``insufficient_data`` results, never an error.
    schema : ModelSchema
    config : DriftConfig

    Returns
    -------
    DriftReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from storage.schema import infer_schema
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"id": "a", "ts": pd.Timestamp("2024-01-01", tz="UTC"),
    ...                     "x": rng.normal(size=2000), "y_hat": rng.normal(size=2000)})
    >>> schema = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y_hat")
    >>> config = DriftConfig()
    >>> prof = prepare_reference(ref, schema=schema, config=config)
    >>> cur = ref.assign(x=ref["x"] + 1.0)
    >>> report = column_drift(prof, cur, schema=schema, config=config)
    >>> report.column("x").method, report.column("x").drifted
    ('wasserstein_normed', True)
    """
    names = [s.name for s in schema.drift_columns()]
    results = _column_results(profile, current, names, schema=schema, config=config)
    return _report(tuple(results[n] for n in names), schema=schema, config=config)
