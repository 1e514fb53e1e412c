"""Configuration of the prediction-anomalies analyzer (``anomalies:`` in a model's config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AnomalyConfig(BaseModel):
    """Thresholds of :func:`~monitors.analyzers.anomalies.prediction_anomalies`.

    Every check breaches only when its effect is past the threshold *and* it is
    statistically significant (z-scores: the threshold is itself a significance level;
    shares: a one-sided binomial test against the reference rate at :attr:`alpha`).

    Examples
    --------
    >>> AnomalyConfig().volume_zscore, AnomalyConfig(outlier_share=0.1).outlier_share
    (4.0, 0.1)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    enabled: bool = True
    """Run the analyzer (default true)."""
    min_rows: int = Field(30, ge=1)
    """Below this many rows a share or a score jump is ``insufficient_data``."""
    alpha: float = Field(0.001, gt=0.0, lt=1.0)
    """Significance level of the binomial tests of the share checks."""
    volume_zscore: float = Field(4.0, gt=0.0)
    """``volume_zscore`` breaches when ``|z| >`` this (a drop or a spike)."""
    volume_history: int = Field(8, ge=1)
    """Previous matching windows (same hour and weekday, …) in the volume baseline."""
    min_history: int = Field(4, ge=2)
    """Fewest previous windows for a baseline; fewer is ``insufficient_data``."""
    trailing_windows: int = Field(12, ge=2)
    """Previous windows in the baseline of score and latency jumps."""
    stuck_share: float = Field(0.2, gt=0.0, le=1.0)
    """``stuck_score_share`` breaches above ``max(stuck_share, reference top share +
    stuck_margin)`` (capped at 0.99)."""
    stuck_margin: float = Field(0.2, ge=0.0, le=1.0)
    """Allowance over the reference's most frequent score share (discrete scores)."""
    collapse_share: float = Field(0.9, gt=0.0, le=1.0)
    """``class_collapse_share`` breaches above ``max(collapse_share, r + (1 - r) / 2)``
    where ``r`` is the reference's top predicted-class share: the stated share when the
    reference is balanced, half-way to 1 when it is not."""
    score_zscore: float = Field(4.0, gt=0.0)
    """``score_mean_zscore`` / ``score_quantile_zscore`` breach when ``|z| >`` this."""
    score_quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    """Quantiles of the score watched for jumps."""
    outliers: bool = True
    """Fit an ``IsolationForest`` on the reference and report ``outlier_share``."""
    outlier_rate: float = Field(0.01, gt=0.0, lt=0.5)
    """Share of held-out reference rows scored as outliers (sets the forest's cut-off)."""
    outlier_share: float = Field(0.05, gt=0.0, le=1.0)
    """``outlier_share`` breaches above this (and significantly above ``outlier_rate``)."""
    outlier_top: int = Field(10, ge=0, le=1000)
    """Most outlying ``prediction_id`` values listed in the details."""
    outlier_trees: int = Field(100, ge=10, le=2000)
    """Trees of the forest."""
    outlier_max_reference: int = Field(20_000, ge=100)
    """Reference rows used (a seeded sample above this), half to fit, half to set the
    cut-off."""
    latency_zscore: float = Field(4.0, gt=0.0)
    """``latency_p99_zscore`` breaches when ``z >`` this (slower only)."""
    latency_min_rows: int = Field(100, ge=1)
    """Fewest rows with a latency for a p99."""
    seed: int = 0
    """Seed of the forest and the reference sample."""

    @field_validator("score_quantiles")
    @classmethod
    def _quantiles(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not 0.0 < q < 1.0 for q in value):
            raise ValueError(f"score_quantiles: expected values in (0, 1); got {list(value)!r}")
        return tuple(sorted(set(value)))
