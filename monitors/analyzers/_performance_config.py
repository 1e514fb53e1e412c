"""Configuration of the performance analyzer and the direction of each metric."""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HIGHER_IS_BETTER: Final = frozenset(
    {"label_coverage", "accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
)
"""Metrics that breach when they fall *below* their threshold."""
LOWER_IS_BETTER: Final = frozenset(
    {
        "log_loss",
        "brier_score",
        "expected_calibration_error",
        "mae",
        "rmse",
        "mape",
        "latency_p50",
        "latency_p95",
        "latency_p99",
    }
)
"""Metrics that breach when they rise *above* their threshold."""
THRESHOLD_METRICS: Final = HIGHER_IS_BETTER | LOWER_IS_BETTER


class PerformanceConfig(BaseModel):
    """Thresholds and settings of the performance analyzer.

    Examples
    --------
    >>> PerformanceConfig(thresholds={"accuracy": 0.8, "log_loss": 0.5}).min_labelled
    30
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: dict[str, float] = Field(default_factory=dict)
    """Optional threshold per metric name; the direction is fixed per metric (accuracy,
    precision, recall, f1, roc_auc, r2, label_coverage breach below; log_loss,
    brier_score, expected_calibration_error, mae, rmse, mape, latency_p* breach above).
    Default: none, so every status is ``ok`` or ``insufficient_data``."""
    min_labelled: int = Field(default=30, ge=1)
    """Below this many labelled rows a label-based metric is ``insufficient_data``."""
    calibration_bins: int = Field(default=10, ge=2, le=1000)
    """Equal-width bins on [0, 1] for the expected calibration error."""
    multiclass_average: Literal["macro", "weighted", "micro"] = "macro"
    """How precision, recall and F1 are averaged over the classes of a multiclass model."""

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if name not in THRESHOLD_METRICS:
                raise ValueError(
                    f"thresholds: unknown metric {name!r}; expected one of "
                    f"{sorted(THRESHOLD_METRICS)!r}"
                )
            if not math.isfinite(threshold):
                raise ValueError(
                    f"thresholds[{name!r}]: expected a finite number; got {threshold!r}"
                )
        return value
