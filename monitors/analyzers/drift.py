"""Drift analyzer: reference vs window, per column, for the whole dataset and multivariate.

The reference does not change between windows, so the work is split:

* :func:`prepare_reference` — once per reference version: per numeric column the sorted
  finite values, bin edges (point masses alone, quantiles for the rest) and reference bin
  shares, mean/std/min/max; per categorical/boolean column the category counts
  (:class:`ReferenceProfile`);
* :func:`column_drift` — per window: sorts each numeric window column once and derives KS,
  Wasserstein, Anderson–Darling and the bin counts from the two sorted arrays (see
  :mod:`monitors.analyzers._drift_stats`); counts each categorical column once; then adjusts
  the columns' p-values for the false-discovery rate and takes the verdicts;
* :func:`multivariate_drift` — a domain classifier on seeded subsamples;
* :func:`drift_records` — flattens the results into :class:`MetricRecord` rows.

Columns: features, sensitive attributes (tested as categories), prediction, score, label.
Default verdict (``policy="significant_effect"``, see ``docs/analyzers-drift.md``): a column
drifts when its p-value test (numeric: KS; categorical, boolean or <= 5 distinct values:
two-sample chi-square), Benjamini–Hochberg-adjusted across the window's columns, is below
0.05 **and** its effect size reaches its threshold (numeric: Wasserstein distance / max(std,
0.001) >= 0.1; categorical: Jensen–Shannon distance >= 0.05). ``policy="evidently"`` keeps
Evidently's size split (p-value tests for references of at most ``size_split`` = 1000 values,
effect sizes above). Every metric is computed and reported for every column whatever decides.
Missing values (NaN/None, and +-inf for numeric columns) are excluded from the tests and
counted in the details. A side with fewer than ``min_rows`` = 30 non-missing values gives
``insufficient_data``.
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
from monitors.analyzers._drift_policy import apply_policy, benjamini_hochberg
from monitors.analyzers._drift_records import drift_records
from monitors.analyzers._drift_reference import drift_kind, prepare_reference
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
    "benjamini_hochberg",
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
        kind = drift_kind(schema, name)
        return column_result(name, kind, profile.columns.get(name), current, config)

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

    The columns' p-values are adjusted together (Benjamini–Hochberg) before the
    ``significant_effect`` verdicts are taken.

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
    >>> col = report.column("x")
    >>> col.p_metric, col.effect_metric, col.drifted
    ('ks', 'wasserstein_normed', True)
    """
    names = [s.name for s in schema.drift_columns()]
    results = _column_results(profile, current, names, schema=schema, config=config)
    columns = apply_policy(tuple(results[n] for n in names), config)
    return _report(columns, schema=schema, config=config)
