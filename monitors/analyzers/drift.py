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

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pydantic
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_multivariate import MultivariateDrift, multivariate_drift
from monitors.analyzers.base import (
    DRIFT,
    INSUFFICIENT_DATA,
    OK,
    MetricRecord,
    finite_or_none,
)
from monitors.errors import ConfigError
from storage.schema import Kind, ModelSchema

__all__ = [
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

MetricName = Literal[
    "ks",
    "wasserstein_normed",
    "psi",
    "jensenshannon",
    "kl",
    "anderson_darling",
    "chi2",
    "z_test",
    "tvd",
]
NumericMethod = Literal[
    "ks", "wasserstein_normed", "psi", "jensenshannon", "kl", "anderson_darling"
]
CategoricalMethod = Literal["chi2", "z_test", "psi", "jensenshannon", "tvd"]

#: Metrics whose verdict is ``p_value < threshold``; all others are ``value >= threshold``.
P_VALUE_METRICS: frozenset[str] = frozenset({"ks", "anderson_darling", "chi2", "z_test"})
NUMERIC_METRICS: tuple[str, ...] = (
    "ks",
    "wasserstein_normed",
    "psi",
    "jensenshannon",
    "kl",
    "anderson_darling",
)
CATEGORICAL_METRICS: tuple[str, ...] = ("chi2", "z_test", "psi", "jensenshannon", "tvd")


# --------------------------------------------------------------------------- config
class DriftThresholds(BaseModel):
    """Per-metric thresholds. P-value metrics flag drift when ``p < threshold``; distances
    when ``value >= threshold``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ks: float = Field(0.05, gt=0, lt=1)
    """KS p-value threshold (Evidently: 0.05)."""
    wasserstein_normed: float = Field(0.1, gt=0)
    """Wasserstein distance divided by the reference std (Evidently: 0.1)."""
    psi: float = Field(0.1, gt=0)
    """Population stability index (Evidently: 0.1; 0.25 is the classic "major shift")."""
    jensenshannon: float = Field(0.1, gt=0)
    """Jensen–Shannon distance, natural log (Evidently and NannyML: 0.1)."""
    kl: float = Field(0.1, gt=0)
    """KL(reference || current) in nats (Evidently: 0.1)."""
    anderson_darling: float = Field(0.05, gt=0, lt=1)
    """Anderson–Darling k-sample p-value threshold (0.05)."""
    chi2: float = Field(0.05, gt=0, lt=1)
    """Chi-square goodness-of-fit p-value threshold (0.05)."""
    z_test: float = Field(0.05, gt=0, lt=1)
    """Two-proportion Z-test p-value threshold (0.05)."""
    tvd: float = Field(0.1, gt=0, le=1)
    """Total variation distance (0.1)."""


class MethodChoice(BaseModel):
    """Which metric decides a column's drift, by kind and reference size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric_small: NumericMethod = "ks"
    """Numeric column (> ``discrete_max_unique`` values), reference n <= ``size_split``."""
    numeric_large: NumericMethod = "wasserstein_normed"
    """Numeric column (> ``discrete_max_unique`` values), reference n > ``size_split``."""
    categorical_small: CategoricalMethod = "chi2"
    """Categorical (or low-cardinality numeric) with > 2 values, reference n <= ``size_split``."""
    binary_small: CategoricalMethod = "z_test"
    """Exactly two values overall, reference n <= ``size_split``."""
    categorical_large: CategoricalMethod = "jensenshannon"
    """Categorical, boolean or low-cardinality numeric, reference n > ``size_split``."""


class FeatureDriftOverride(BaseModel):
    """Per-column settings; unset fields fall back to the global ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: MetricName | None = None
    """Metric that decides this column, instead of the automatic choice."""
    threshold: float | None = Field(None, gt=0)
    """Threshold of the deciding metric for this column."""
    thresholds: dict[MetricName, float] = Field(default_factory=dict)
    """Thresholds of individual metrics for this column (partial)."""
    size_split: int | None = Field(None, ge=0)
    """Reference size up to which p-value tests decide, for this column."""

    @model_validator(mode="after")
    def _check_thresholds(self) -> FeatureDriftOverride:
        for name, value in self.thresholds.items():
            _check_threshold(name, value)
        return self


def _check_threshold(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)) or (name in P_VALUE_METRICS and value >= 1):
        expected = "in (0, 1)" if name in P_VALUE_METRICS else "a positive number"
        raise ValueError(f"threshold for {name!r} must be {expected}; got {value!r}")


class DriftConfig(BaseModel):
    """Settings of the drift analyzer (defaults follow Evidently's data drift preset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_split: int = Field(1000, ge=0)
    """Reference non-missing n up to which p-value tests decide; above it, effect sizes."""
    discrete_max_unique: int = Field(5, ge=1)
    """Numeric columns with at most this many distinct values (reference and window together)
    are decided like categorical ones."""
    chi2_variant: Literal["contingency", "goodness_of_fit"] = "contingency"
    """``contingency``: two-sample ``chi2_contingency`` of the 2 x k table (false-positive rate =
    alpha); ``goodness_of_fit``: Evidently's ``chisquare`` of the window against the reference
    proportions (too many false positives unless the reference is much larger than the window)."""
    methods: MethodChoice = Field(default_factory=MethodChoice)
    """Deciding metric by kind and size."""
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    """Per-metric thresholds."""
    n_bins: int = Field(10, ge=2, le=1000)
    """Quantile bins from the reference for PSI, Jensen–Shannon and KL of numeric columns."""
    epsilon: float = Field(1e-4, gt=0, lt=0.01)
    """Share given to empty bins/categories in PSI, KL and the chi-square expectation."""
    min_rows: int = Field(30, ge=1)
    """Fewer non-missing values than this on either side gives ``insufficient_data``."""
    dataset_drift_share: float = Field(0.5, gt=0, le=1)
    """Dataset drift when the share of drifted columns is >= this."""
    dataset_columns: Literal["features", "all"] = "features"
    """Columns counted in the dataset drift share: features only, or all drift columns."""
    multivariate: bool = True
    """Run the domain classifier (:func:`multivariate_drift`)."""
    multivariate_sample: int = Field(10_000, ge=10)
    """Rows sampled (without replacement, seeded) from each side for the domain classifier."""
    multivariate_folds: int = Field(5, ge=2, le=20)
    """Stratified cross-validation folds; AUC is computed on the pooled out-of-fold scores."""
    multivariate_threshold: float = Field(0.55, gt=0.5, lt=1)
    """Multivariate drift when the cross-validated ROC AUC is >= this."""
    multivariate_top_k: int = Field(5, ge=1)
    """How many separating features to report."""
    multivariate_max_iter: int = Field(50, ge=1)
    """Boosting iterations of the HistGradientBoostingClassifier."""
    multivariate_min_rows: int = Field(100, ge=10)
    """Fewer rows than this on either side gives ``insufficient_data``."""
    seed: int = 0
    """Seed of the subsampling, folds and classifier."""
    workers: int | None = Field(None, ge=1)
    """Threads for numeric columns; ``None`` = CPUs (at most 4). Results do not depend on it."""
    features: dict[str, FeatureDriftOverride] = Field(default_factory=dict)
    """Per-column overrides, keyed by column name."""

    @model_validator(mode="after")
    def _check(self) -> DriftConfig:
        for name, override in self.features.items():
            if override.method is not None and override.threshold is not None:
                try:
                    _check_threshold(override.method, override.threshold)
                except ValueError as exc:
                    raise ValueError(f"features.{name}.threshold: {exc}") from exc
        return self

    def threshold_for(self, column: str, metric: str) -> float:
        """Threshold of ``metric`` for ``column``, overrides applied."""
        override = self.features.get(column)
        if override is not None:
            if override.method == metric and override.threshold is not None:
                return override.threshold
            extra: dict[str, float] = {str(k): v for k, v in override.thresholds.items()}
            if metric in extra:
                return float(extra[metric])
        return float(getattr(self.thresholds, metric))


def drift_config(mapping: Mapping[str, Any] | None = None) -> DriftConfig:
    """Build a :class:`DriftConfig` from plain data, raising :class:`ConfigError`.

    Parameters
    ----------
    mapping : mapping, optional
        Settings as loaded from YAML/JSON; ``None`` gives the defaults.

    Returns
    -------
    DriftConfig

    Raises
    ------
    ConfigError
        Naming the first offending key, e.g.
        ``drift config key 'features.age.method': Input should be 'ks', ... ; got 'foo'.``

    Examples
    --------
    >>> drift_config({"thresholds": {"psi": 0.2}}).thresholds.psi
    0.2
    """
    try:
        return DriftConfig.model_validate(dict(mapping or {}))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"]) or "<root>"
        raise ConfigError(
            f"drift config key {key!r}: {err['msg']}; got {err.get('input')!r}"
        ) from exc


# --------------------------------------------------------------------------- profile
@dataclass(frozen=True, slots=True, eq=False)
class NumericProfile:
    """Reference summary of a numeric column."""

    column: str
    sorted_values: NDArray[np.float64]
    """Finite non-missing values, ascending."""
    n_missing: int
    n_infinite: int
    mean: float | None
    std: float | None
    """Population standard deviation (``ddof=0``, as Evidently normalises Wasserstein)."""
    min: float | None
    max: float | None
    n_unique: int
    edges: NDArray[np.float64]
    """Interior quantile edges; bins are ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""
    counts: NDArray[np.int64]
    """Reference count per bin."""
    n_bins: int
    """Quantile bins requested (edges may collapse when values repeat)."""

    @property
    def n(self) -> int:
        return int(self.sorted_values.size)

    @property
    def proportions(self) -> NDArray[np.float64]:
        """Reference share per bin."""
        return self.counts / max(self.n, 1)


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalProfile:
    """Reference category counts of a categorical or boolean column."""

    column: str
    kind: str
    categories: tuple[Any, ...]
    """Categories by descending count, then by their string form."""
    counts: NDArray[np.int64]
    n_missing: int

    @property
    def n(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceProfile:
    """What :func:`column_drift` needs from the reference, computed once."""

    n_rows: int
    columns: Mapping[str, NumericProfile | CategoricalProfile]
    n_bins: int


def _python(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sort_key(item: tuple[Any, int]) -> tuple[int, str]:
    return (-item[1], str(item[0]))


def _category_counts(series: pd.Series) -> tuple[list[Any], list[int], int]:
    counts = series.value_counts(dropna=True, sort=False)
    pairs = sorted(
        (
            (_python(k), int(v))
            for k, v in zip(counts.index.tolist(), counts.to_numpy(), strict=True)
        ),
        key=_sort_key,
    )
    n_missing = int(series.isna().sum())
    return [p[0] for p in pairs], [p[1] for p in pairs], n_missing


def _finite_values(series: pd.Series) -> tuple[NDArray[np.float64], int, int]:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    if finite.all():
        return values, 0, 0
    n_nan = int(np.isnan(values).sum())
    return values[finite], n_nan, int(values.size - finite.sum() - n_nan)


def _quantile_edges(sorted_values: NDArray[np.float64], n_bins: int) -> NDArray[np.float64]:
    if sorted_values.size == 0:
        return np.empty(0)
    edges = np.unique(np.quantile(sorted_values, np.linspace(0.0, 1.0, n_bins + 1)))
    return np.asarray(edges[1:-1], dtype=np.float64)


def _numeric_profile(name: str, series: pd.Series, n_bins: int) -> NumericProfile:
    values, n_missing, n_inf = _finite_values(series)
    ordered = np.sort(values)
    edges = _quantile_edges(ordered, n_bins)
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
        n_bins=n_bins,
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
        ``n_bins`` sets the quantile bins.

    Returns
    -------
    ReferenceProfile
    """
    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    for spec in schema.drift_columns():
        if spec.name not in reference.columns:
            continue
        kind = schema.kind_of(spec.name)
        if kind is Kind.NUMERIC:
            columns[spec.name] = _numeric_profile(spec.name, reference[spec.name], config.n_bins)
        else:
            cats, counts, n_missing = _category_counts(reference[spec.name])
            columns[spec.name] = CategoricalProfile(
                column=spec.name,
                kind=kind.value,
                categories=tuple(cats),
                counts=np.asarray(counts, dtype=np.int64),
                n_missing=n_missing,
            )
    return ReferenceProfile(n_rows=len(reference), columns=columns, n_bins=config.n_bins)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class MetricValue:
    """One drift metric of one column, with its own threshold and verdict."""

    metric: str
    value: float | None
    """Statistic or distance (KS D, chi-square statistic, Z, PSI ...)."""
    p_value: float | None
    threshold: float
    drifted: bool | None
    """``None`` when the metric could not be computed."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift verdict of one column: which metric decided, why, and all metrics."""

    column: str
    kind: str
    method: str
    """Name of the deciding metric."""
    reason: str
    """Why that metric, e.g.
    ``"wasserstein_normed (numeric, reference n=50000 > 1000: effect size)"``."""
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    status: str
    n_reference: int
    n_current: int
    n_missing_reference: int
    n_missing_current: int
    metrics: tuple[MetricValue, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> MetricValue:
        """The metric called ``name``; :class:`KeyError` if this column has none."""
        for value in self.metrics:
            if value.metric == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Per-column drift and the dataset drift share of one window."""

    columns: tuple[ColumnDrift, ...]
    dataset_share: float | None
    dataset_threshold: float
    dataset_drifted: bool
    dataset_status: str
    counted_columns: tuple[str, ...]
    drifted_columns: tuple[str, ...]

    def column(self, name: str) -> ColumnDrift:
        """The result of column ``name``; :class:`KeyError` if absent."""
        for col in self.columns:
            if col.column == name:
                return col
        raise KeyError(name)


# --------------------------------------------------------------------------- column drift
def _verdict(
    metric: str, value: float | None, p_value: float | None, threshold: float
) -> bool | None:
    if metric in P_VALUE_METRICS:
        return None if p_value is None else bool(p_value < threshold)
    if value is None or math.isnan(value):
        return None
    return bool(value >= threshold)


def _bins_details_numeric(
    edges: NDArray[np.float64], ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> dict[str, Any]:
    n_ref = max(int(ref_counts.sum()), 1)
    n_cur = max(int(cur_counts.sum()), 1)
    return {
        "binning": "reference quantiles; outer bins open-ended",
        "edges": [float(e) for e in edges],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": [float(c) / n_ref for c in ref_counts],
        "current_proportions": [float(c) / n_cur for c in cur_counts],
    }


def _bins_details_categories(
    categories: list[Any], ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> dict[str, Any]:
    n_ref = max(int(ref_counts.sum()), 1)
    n_cur = max(int(cur_counts.sum()), 1)
    return {
        "binning": "categories",
        "categories": [_json_scalar(c) for c in categories],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": [float(c) / n_ref for c in ref_counts],
        "current_proportions": [float(c) / n_cur for c in cur_counts],
    }


def _json_scalar(value: Any) -> Any:
    value = _python(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _categorical_metrics(
    column: str,
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    config: DriftConfig,
) -> list[MetricValue]:
    eps = config.epsilon
    ref_p = ref_counts / ref_counts.sum()
    cur_p = cur_counts / cur_counts.sum()
    out: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **details: Any) -> None:
        thr = config.threshold_for(column, metric)
        out.append(MetricValue(metric, value, p, thr, _verdict(metric, value, p, thr), details))

    unseen = [
        {"category": _json_scalar(c), "count": int(n)}
        for c, r, n in zip(categories, ref_counts, cur_counts, strict=True)
        if r == 0 and n > 0
    ]
    if config.chi2_variant == "contingency":
        chi, chi_p = st.chi2_homogeneity(ref_counts, cur_counts)
        test = "scipy.stats.chi2_contingency([reference, current], correction=False)"
        handling = "unseen categories are cells with reference count 0 (no smoothing needed)"
    else:
        chi, chi_p = st.chi2_goodness_of_fit(ref_counts, cur_counts, eps)
        test = "scipy.stats.chisquare(current, reference proportions * n_current)"
        handling = f"reference proportion {eps} for unseen categories, renormalised"
    add(
        "chi2",
        chi,
        chi_p,
        test=test,
        unseen_categories=unseen,
        unseen_handling=handling,
        dof=int(ref_counts.size - 1),
    )
    if ref_counts.size == 2:
        z, z_p = st.z_test_proportions(ref_counts, cur_counts)
        add("z_test", z, z_p, category=_json_scalar(categories[0]), test="pooled two-proportion")
    add(
        "psi",
        st.psi(ref_p, cur_p, eps),
        None,
        epsilon=eps,
        **_bins_details_categories(categories, ref_counts, cur_counts),
    )
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e")
    add("tvd", st.tv_distance(ref_p, cur_p), None)
    return out


def _choose(
    column: str,
    kind_label: str,
    n_ref: int,
    n_distinct: int,
    discrete: bool,
    numeric: bool,
    available: set[str],
    config: DriftConfig,
) -> tuple[str, str]:
    override = config.features.get(column)
    split = config.size_split
    if override is not None and override.size_split is not None:
        split = override.size_split
    if override is not None and override.method is not None:
        if override.method in available:
            return override.method, f"{override.method} (set in config features[{column!r}].method)"
        fallback_reason = (
            f"; features[{column!r}].method={override.method!r} does not apply to this column"
        )
    else:
        fallback_reason = ""
    small = n_ref <= split
    size = f"reference n={n_ref} {'<=' if small else '>'} {split}: " + (
        "p-value test" if small else "effect size"
    )
    method: str
    if numeric and not discrete:
        method = config.methods.numeric_small if small else config.methods.numeric_large
        why = f"{kind_label}, {n_distinct} distinct values > {config.discrete_max_unique}, {size}"
    else:
        if small and n_distinct == 2:
            method = config.methods.binary_small
            what = "binary"
        elif small:
            method = config.methods.categorical_small
            what = f"{n_distinct} categories"
        else:
            method = config.methods.categorical_large
            what = f"{n_distinct} categories"
        if numeric:
            what = f"{n_distinct} distinct values <= {config.discrete_max_unique}"
        why = f"{kind_label}, {what}, {size}"
    if method not in available:  # e.g. z_test asked for but more than two categories
        fallback = "chi2" if small else "jensenshannon"
        why += f"; {method} does not apply, using {fallback}"
        method = fallback
    return method, f"{method} ({why}{fallback_reason})"


def _too_few(n_ref: int, n_cur: int, config: DriftConfig) -> str:
    return f"insufficient data: reference n={n_ref}, current n={n_cur} (min_rows={config.min_rows})"


def _insufficient(
    column: str,
    kind: str,
    metrics: tuple[str, ...],
    config: DriftConfig,
    reason: str,
    n_ref: int,
    n_cur: int,
    n_missing_ref: int,
    n_missing_cur: int,
    details: dict[str, Any] | None = None,
) -> ColumnDrift:
    values = tuple(
        MetricValue(m, None, None, config.threshold_for(column, m), None, {}) for m in metrics
    )
    method = metrics[0]
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method,
        reason=reason,
        statistic=None,
        p_value=None,
        threshold=config.threshold_for(column, method),
        drifted=False,
        status=INSUFFICIENT_DATA,
        n_reference=n_ref,
        n_current=n_cur,
        n_missing_reference=n_missing_ref,
        n_missing_current=n_missing_cur,
        metrics=values,
        details=dict(details or {}),
    )


def _finish(
    column: str,
    kind: str,
    metrics: list[MetricValue],
    method: str,
    reason: str,
    n_ref: int,
    n_cur: int,
    n_missing_ref: int,
    n_missing_cur: int,
    details: dict[str, Any],
) -> ColumnDrift:
    decider = next(m for m in metrics if m.metric == method)
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method,
        reason=reason,
        statistic=decider.value,
        p_value=decider.p_value,
        threshold=decider.threshold,
        drifted=bool(decider.drifted),
        status=DRIFT if decider.drifted else OK,
        n_reference=n_ref,
        n_current=n_cur,
        n_missing_reference=n_missing_ref,
        n_missing_current=n_missing_cur,
        metrics=tuple(metrics),
        details=details,
    )


def _numeric_column(
    profile: NumericProfile, series: pd.Series, config: DriftConfig, n_bins: int
) -> ColumnDrift:
    name = profile.column
    cur, n_missing, n_inf = _finite_values(series)
    n_ref, n_cur = profile.n, int(cur.size)
    details: dict[str, Any] = {
        "n_infinite_current": n_inf,
        "n_infinite_reference": profile.n_infinite,
    }
    if min(n_ref, n_cur) < config.min_rows:
        return _insufficient(
            name,
            Kind.NUMERIC.value,
            NUMERIC_METRICS,
            config,
            _too_few(n_ref, n_cur, config),
            n_ref,
            n_cur,
            profile.n_missing,
            n_missing,
            details,
        )
    cur_sorted = np.sort(cur)
    cmp = st.compare_sorted(
        profile.sorted_values, cur_sorted, keep_values_up_to=config.discrete_max_unique
    )
    discrete = cmp.values is not None
    metrics: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **extra: Any) -> None:
        thr = config.threshold_for(name, metric)
        metrics.append(MetricValue(metric, value, p, thr, _verdict(metric, value, p, thr), extra))

    add("ks", cmp.ks_statistic, st.ks_pvalue(cmp.ks_statistic, profile.sorted_values, cur_sorted))
    std = profile.std or 0.0
    w_norm = cmp.wasserstein / std if std > 0 else (0.0 if cmp.wasserstein == 0 else math.inf)
    add(
        "wasserstein_normed",
        w_norm,
        None,
        wasserstein=cmp.wasserstein,
        reference_std=std,
    )
    if discrete:
        assert cmp.values is not None and cmp.ref_counts is not None and cmp.cur_counts is not None
        ref_b, cur_b = cmp.ref_counts, cmp.cur_counts
        bins = _bins_details_categories([float(v) for v in cmp.values], ref_b, cur_b)
    else:
        if n_bins == profile.n_bins:
            edges, ref_b = profile.edges, profile.counts
        else:  # the config asks for other bins than the profile was built with
            edges = _quantile_edges(profile.sorted_values, n_bins)
            ref_b = st.bin_counts(profile.sorted_values, edges)
        cur_b = st.bin_counts(cur_sorted, edges)
        bins = _bins_details_numeric(edges, ref_b, cur_b)
    ref_p, cur_p = ref_b / ref_b.sum(), cur_b / cur_b.sum()
    add("psi", st.psi(ref_p, cur_p, config.epsilon), None, epsilon=config.epsilon, **bins)
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e")
    add("kl", st.kl_divergence(ref_p, cur_p, config.epsilon), None, direction="reference||current")
    add(
        "anderson_darling",
        cmp.ad_statistic,
        cmp.ad_p_value,
        variant="midrank",
        p_value_range=[0.001, 0.25],
    )
    available = set(NUMERIC_METRICS)
    if discrete:
        assert cmp.values is not None
        cat_metrics = _categorical_metrics(
            name, [float(v) for v in cmp.values], ref_b, cur_b, config
        )
        metrics += [m for m in cat_metrics if m.metric in ("chi2", "z_test", "tvd")]
        available |= {m.metric for m in cat_metrics}
    method, reason = _choose(
        name, "numeric", n_ref, cmp.n_unique, discrete, True, available, config
    )
    details["discrete"] = discrete
    return _finish(
        name,
        Kind.NUMERIC.value,
        metrics,
        method,
        reason,
        n_ref,
        n_cur,
        profile.n_missing,
        n_missing,
        details,
    )


def _categorical_column(
    profile: CategoricalProfile, series: pd.Series, config: DriftConfig
) -> ColumnDrift:
    name = profile.column
    cats, counts, n_missing = _category_counts(series)
    n_ref, n_cur = profile.n, int(sum(counts))
    if min(n_ref, n_cur) < config.min_rows:
        return _insufficient(
            name,
            profile.kind,
            CATEGORICAL_METRICS,
            config,
            _too_few(n_ref, n_cur, config),
            n_ref,
            n_cur,
            profile.n_missing,
            n_missing,
        )
    index = {c: i for i, c in enumerate(profile.categories)}
    cur_counts = np.zeros(len(profile.categories), dtype=np.int64)
    unseen: list[tuple[Any, int]] = []
    for cat, cnt in zip(cats, counts, strict=True):
        pos = index.get(cat)
        if pos is None:
            unseen.append((cat, cnt))
        else:
            cur_counts[pos] = cnt
    categories = list(profile.categories) + [c for c, _ in unseen]
    ref_counts = np.concatenate([profile.counts, np.zeros(len(unseen), dtype=np.int64)])
    cur_counts = np.concatenate([cur_counts, np.asarray([n for _, n in unseen], dtype=np.int64)])
    present = (ref_counts > 0) | (cur_counts > 0)
    categories = [c for c, keep in zip(categories, present, strict=True) if keep]
    ref_counts, cur_counts = ref_counts[present], cur_counts[present]
    metrics = _categorical_metrics(name, categories, ref_counts, cur_counts, config)
    method, reason = _choose(
        name,
        profile.kind,
        n_ref,
        len(categories),
        True,
        False,
        {m.metric for m in metrics},
        config,
    )
    details = {
        "unseen_categories": [_json_scalar(c) for c, _ in unseen],
        "n_unseen_current": int(sum(n for _, n in unseen)),
    }
    return _finish(
        name,
        profile.kind,
        metrics,
        method,
        reason,
        n_ref,
        n_cur,
        profile.n_missing,
        n_missing,
        details,
    )


def _n_workers(config: DriftConfig) -> int:
    if config.workers is not None:
        return config.workers
    return max(1, min(4, os.cpu_count() or 1))


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
    specs = schema.drift_columns()

    def one(spec_name: str) -> ColumnDrift:
        kind = schema.kind_of(spec_name)
        col_profile = profile.columns.get(spec_name)
        metric_names = NUMERIC_METRICS if kind is Kind.NUMERIC else CATEGORICAL_METRICS
        if col_profile is None or spec_name not in current.columns:
            where = "reference" if col_profile is None else "window"
            return _insufficient(
                spec_name,
                kind.value,
                metric_names,
                config,
                f"insufficient data: column {spec_name!r} is absent from the {where}",
                0 if col_profile is None else col_profile.n,
                0,
                0,
                0,
            )
        if isinstance(col_profile, NumericProfile):
            return _numeric_column(col_profile, current[spec_name], config, config.n_bins)
        return _categorical_column(col_profile, current[spec_name], config)

    names = [s.name for s in specs]
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
    columns = tuple(results[n] for n in names)

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


# --------------------------------------------------------------------------- records
def _metric_status(value: MetricValue, column: ColumnDrift) -> str:
    if column.status == INSUFFICIENT_DATA or value.drifted is None:
        return INSUFFICIENT_DATA
    return DRIFT if value.drifted else OK


def drift_records(
    report: DriftReport, multivariate: MultivariateDrift | None = None
) -> list[MetricRecord]:
    """Flatten drift results into :class:`MetricRecord` rows (``analyzer="drift"``).

    Per column: one record per metric (``ks``, ``wasserstein_normed``, ``psi``,
    ``jensenshannon``, ``kl``, ``anderson_darling`` for numeric columns; ``chi2``,
    ``z_test`` (two categories only), ``psi``, ``jensenshannon``, ``tvd`` for categorical
    and boolean ones; low-cardinality numeric columns add ``chi2``/``z_test``/``tvd``) and
    ``drift_detected`` (1.0/0.0). Model level: ``dataset_drift_share`` and, when given,
    ``domain_classifier_auc``.

    Parameters
    ----------
    report : DriftReport
    multivariate : MultivariateDrift, optional

    Returns
    -------
    list of MetricRecord
        ``details`` are JSON-serialisable (no NaN, no NumPy scalars).
    """
    out: list[MetricRecord] = []
    for col in report.columns:
        for value in col.metrics:
            details: dict[str, Any] = {"p_value": finite_or_none(value.p_value)}
            details.update(_clean(value.details))
            if value.value is not None and not math.isfinite(value.value):
                details["value_not_finite"] = str(value.value)
            out.append(
                MetricRecord(
                    analyzer="drift",
                    metric=value.metric,
                    feature=col.column,
                    group=None,
                    value=finite_or_none(value.value),
                    threshold=value.threshold,
                    status=_metric_status(value, col),
                    details=details,
                )
            )
        out.append(
            MetricRecord(
                analyzer="drift",
                metric="drift_detected",
                feature=col.column,
                group=None,
                value=None if col.status == INSUFFICIENT_DATA else float(col.drifted),
                threshold=col.threshold,
                status=col.status,
                details=_clean(
                    {
                        "method": col.method,
                        "reason": col.reason,
                        "kind": col.kind,
                        "statistic": finite_or_none(col.statistic),
                        "p_value": finite_or_none(col.p_value),
                        "threshold": col.threshold,
                        "n_reference": col.n_reference,
                        "n_current": col.n_current,
                        "n_missing_reference": col.n_missing_reference,
                        "n_missing_current": col.n_missing_current,
                        **col.details,
                    }
                ),
            )
        )
    out.append(
        MetricRecord(
            analyzer="drift",
            metric="dataset_drift_share",
            feature=None,
            group=None,
            value=report.dataset_share,
            threshold=report.dataset_threshold,
            status=report.dataset_status,
            details={
                "drifted_columns": list(report.drifted_columns),
                "counted_columns": list(report.counted_columns),
                "n_drifted": len(report.drifted_columns),
                "n_counted": len(report.counted_columns),
                "rule": "share of drifted columns >= threshold",
            },
        )
    )
    if multivariate is not None:
        out.append(
            MetricRecord(
                analyzer="drift",
                metric="domain_classifier_auc",
                feature=None,
                group=None,
                value=finite_or_none(multivariate.auc),
                threshold=multivariate.threshold,
                status=multivariate.status,
                details={
                    "cv_folds": multivariate.folds,
                    "n_reference": multivariate.n_reference,
                    "n_current": multivariate.n_current,
                    "top_features": [
                        {"feature": name, "importance": finite_or_none(imp)}
                        for name, imp in multivariate.top_features
                    ],
                    "importance": multivariate.importance,
                    "features": list(multivariate.features),
                    "reason": multivariate.reason,
                },
            )
        )
    return out


def _clean(value: Any) -> Any:
    """Make ``value`` JSON-serialisable: plain scalars, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    value = _python(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)
