"""Result types of :mod:`monitors.analyzers.estimated`.

Import them from :mod:`monitors.analyzers.estimated`; they live here only to keep
modules short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitors.analyzers.estimated._config import LOWER_IS_BETTER
from storage.schema import Scalar


@dataclass(frozen=True, slots=True)
class EstimatedMetric:
    """One estimate of one window, with its sampling-error band, thresholds and verdict."""

    metric: str
    """``estimated_accuracy`` … ``estimated_roc_auc``, ``estimated_mae``, ``estimated_rmse``."""
    value: float | None
    ci_low: float | None
    ci_high: float | None
    sampling_error: float | None
    """Standard deviation of the realized metric over reference chunks of the window's
    size (rescaled by ``sqrt(chunk / n)`` when the reference is too small)."""
    lower_threshold: float | None
    upper_threshold: float | None
    status: str
    n: int
    """Rows the estimate was computed on."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float | None:
        """The bound on the bad side: lower for scores, upper for errors."""
        if self.metric in LOWER_IS_BETTER:
            return self.upper_threshold
        return self.lower_threshold


@dataclass(frozen=True, slots=True)
class EstimatedPerformance:
    """Estimated performance of one window (no labels used)."""

    method: str
    """``cbpe`` or ``dle``."""
    task: str
    n_rows: int
    n: int
    """Rows with everything the method needs (score and prediction, or prediction)."""
    calibrated: bool
    metrics: tuple[EstimatedMetric, ...]
    classes: tuple[Scalar, ...] = ()
    confusion_matrix: tuple[tuple[float, ...], ...] | None = None
    """CBPE's expected confusion matrix (rows = true class, columns = predicted class,
    in :attr:`classes` order); ``None`` for DLE."""
    warning: str | None = None
    """Why the estimate should not be trusted, if there is a reason."""
    details: dict[str, Any] = field(default_factory=dict)

    def get(self, metric: str) -> EstimatedMetric:
        """The estimate called ``metric``; :class:`KeyError` if it was not computed."""
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(f"no estimated metric {metric!r}")

    @property
    def names(self) -> list[str]:
        """Names of the estimates in the report."""
        return [m.metric for m in self.metrics]
