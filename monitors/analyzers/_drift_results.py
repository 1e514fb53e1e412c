"""Result types of the drift analyzer and their flattening into metric records."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitors.analyzers._drift_multivariate import MultivariateDrift
from monitors.analyzers.base import (
    DRIFT,
    INSUFFICIENT_DATA,
    OK,
    MetricRecord,
    finite_or_none,
)


def _python(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


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
