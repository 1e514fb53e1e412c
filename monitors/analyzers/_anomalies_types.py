"""Result types of :mod:`monitors.analyzers.anomalies` (import them from there)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

ANALYZER: Final = "anomalies"
METRICS: Final = (
    "volume_zscore",
    "stuck_score_share",
    "class_collapse_share",
    "score_mean_zscore",
    "score_quantile_zscore",
    "outlier_share",
    "latency_p99_zscore",
)
"""Metric names of the analyzer, in report order."""

Seasonality = Literal["hour_weekday", "weekday", "none"]
"""Which previous windows the volume is compared with: ``hour_weekday`` (windows shorter
than a day: same hour and weekday, else same hour, else the trailing ones), ``weekday``
(daily windows: same weekday, else trailing), ``none`` (trailing windows)."""


@dataclass(frozen=True, slots=True)
class WindowStats:
    """What the analyzer remembers of a window, for the baselines of later windows.

    The pipeline reads these back from the store (``window_run`` row counts, the details
    of earlier ``anomalies`` records, ``performance`` ``latency_p99``) and passes them in:
    the analyzer itself does no I/O.
    """

    start: datetime
    n_rows: int
    score_mean: float | None = None
    score_quantiles: tuple[tuple[float, float], ...] = ()
    latency_p99: float | None = None


@dataclass(frozen=True, slots=True)
class AnomalyMetric:
    """One anomaly check of one window: value, threshold, verdict and evidence."""

    metric: str
    value: float | None
    threshold: float | None
    status: str
    n: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    """The anomaly checks of one window and the window's own statistics."""

    metrics: tuple[AnomalyMetric, ...]
    stats: WindowStats

    def get(self, metric: str) -> AnomalyMetric:
        """The check called ``metric``; :class:`KeyError` if it was not made."""
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(f"no anomaly metric {metric!r}")


@dataclass(frozen=True, slots=True, eq=False)
class OutlierModel:
    """An ``IsolationForest`` fitted on reference rows, with its cut-off."""

    forest: Any = field(repr=False)
    features: tuple[str, ...]
    categories: dict[str, tuple[Any, ...]]
    fill: tuple[float, ...]
    """Value standing in for a missing numeric feature (its reference median)."""
    cutoff: float
    """``score_samples`` below this is an outlier (the ``outlier_rate`` quantile of the
    held-out reference rows)."""
    n_fit: int
    n_calibration: int


@dataclass(frozen=True, slots=True, eq=False)
class AnomalyReference:
    """What the checks need from the reference, computed once per model and pass."""

    score_column: str | None
    """The score checked for stuck values and jumps: the ``score`` column, else the
    prediction of a regression model; ``None`` for classifiers without a score."""
    score_top_share: float | None
    class_shares: dict[Any, float]
    """Predicted-class shares in the reference (classifiers)."""
    outliers: OutlierModel | None
    outlier_reason: str | None = None
