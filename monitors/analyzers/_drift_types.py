"""Result types of the drift analyzer: reference profiles, per-column and multivariate drift.

They sit below every other drift module (stats, reference, columns, multivariate, records)
so that those modules import them and never each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


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
    """Interior edges; bins are ``(-inf, e0), [e0, e1), ..., [e_last, inf)`` (see
    :mod:`monitors.analyzers._drift_binning`)."""
    counts: NDArray[np.int64]
    """Reference count per bin."""
    n_bins: int
    """Bins requested."""
    point_masses: NDArray[np.float64]
    """Values holding at least ``point_mass_share`` of the reference (one bin each)."""
    point_mass_share: float

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
    policy: str = "significant_effect"
    """The column's verdict policy (``significant_effect`` or ``evidently``)."""
    rule: str = "significant_effect"
    """What decided: ``significant_effect`` (p-value test and effect size), ``evidently``
    (one metric chosen by reference size) or ``method`` (one metric set in the config)."""
    p_metric: str | None = None
    """The column's p-value test (``ks``, ``chi2``)."""
    p_value_adjusted: float | None = None
    """Its p-value adjusted across the window's columns (Benjamini–Hochberg)."""
    effect_metric: str | None = None
    """The column's effect size (``wasserstein_normed``, ``jensenshannon``)."""
    effect_size: float | None = None
    effect_threshold: float | None = None

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


@dataclass(frozen=True, slots=True)
class MultivariateDrift:
    """Domain-classifier drift: how well reference and window rows can be told apart."""

    auc: float | None
    """Cross-validated ROC AUC (pooled out-of-fold scores); ``None`` if not computed."""
    threshold: float
    drifted: bool
    status: str
    n_reference: int
    """Rows used from the reference (after subsampling)."""
    n_current: int
    folds: int
    top_features: tuple[tuple[str, float], ...]
    """``(feature, importance)`` by descending permutation importance (drop in AUC)."""
    importance: str
    features: tuple[str, ...]
    reason: str
    auc_ci: tuple[float, float] | None = None
    """Two-sided DeLong confidence interval of the AUC."""
    confidence: float = 0.95
    n_duplicate_rows: int = 0
    """Rows sharing their values with another row (kept in one fold together)."""
