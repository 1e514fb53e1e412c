"""Configuration of :mod:`monitors.analyzers.estimated`.

Import it from :mod:`monitors.analyzers.estimated`; it lives here only to keep modules
short.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CBPE_METRICS: Final = (
    "estimated_accuracy",
    "estimated_precision",
    "estimated_recall",
    "estimated_f1",
    "estimated_specificity",
    "estimated_roc_auc",
)
"""Metrics estimated by CBPE (classification), in report order."""
DLE_METRICS: Final = ("estimated_mae", "estimated_rmse")
"""Metrics estimated by DLE (regression), in report order."""
ESTIMATED_METRICS: Final = frozenset(CBPE_METRICS + DLE_METRICS)
LOWER_IS_BETTER: Final = frozenset(DLE_METRICS)
"""Estimates whose *bad* side is above the band (errors); the others are scores."""


class EstimatedThreshold(BaseModel):
    """Fixed bounds that replace the reference band of one estimated metric.

    A bound left ``None`` is not checked, so ``{lower: 0.8}`` alerts only on a drop.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    lower: float | None = None
    """Breach when the estimate is below this."""
    upper: float | None = None
    """Breach when the estimate is above this."""

    @model_validator(mode="after")
    def _ordered(self) -> EstimatedThreshold:
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite number; got {value!r}")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower ({self.lower}) must not exceed upper ({self.upper})")
        return self


class EstimatedConfig(BaseModel):
    """Settings of performance estimation without labels (CBPE and DLE).

    Examples
    --------
    >>> EstimatedConfig().band_sigmas, EstimatedConfig().calibration
    (3.0, 'auto')
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    enabled: bool = True
    """Estimate performance for this model (when its schema allows it)."""
    calibration: Literal["auto", "isotonic", "none"] = "auto"
    """``isotonic``: fit :class:`sklearn.isotonic.IsotonicRegression` of the label on the
    score on the reference; ``none``: trust the scores as they are; ``auto`` (default):
    isotonic unless the reference expected calibration error of the raw scores is below
    :attr:`calibration_ece_threshold` (decided per class for multiclass models)."""
    calibration_ece_threshold: float = Field(0.01, ge=0.0, le=1.0)
    """``auto`` skips calibration when the raw reference ECE is below this. Low on
    purpose: calibrating scores that were already calibrated costs little, trusting
    miscalibrated ones biases every estimate."""
    calibration_bins: int = Field(10, ge=2, le=1000)
    """Equal-width bins on [0, 1] for the expected calibration error."""
    calibration_folds: int = Field(5, ge=2, le=50)
    """Folds of the out-of-fold check of the calibrated scores (see
    :attr:`poor_calibration_ece`)."""
    poor_calibration_ece: float = Field(0.05, ge=0.0, le=1.0)
    """When the out-of-fold ECE of the calibrated scores on the reference is above this,
    the estimate is flagged as not to be trusted (``details.calibration_warning``).
    Note the ECE of perfectly calibrated scores is about ``0.4 * sqrt(bins / n)`` from
    sampling noise alone, so references under ~1,000 rows may be flagged."""
    class_probability_columns: dict[str, str] = Field(default_factory=dict)
    """Multiclass models: class (as text, as in the schema's ``classes``) → column with
    the model's probability of that class. The columns must be logged with the
    predictions (declare them as features). Unused for binary models, whose ``score``
    column is the probability of the positive class."""
    band_sigmas: float = Field(3.0, gt=0.0)
    """Half-width of the sampling-error band, in reference-chunk standard deviations:
    ``ci = estimate ± band_sigmas * sd`` (NannyML uses 3)."""
    threshold_sigmas: float = Field(3.0, gt=0.0)
    """Default thresholds: reference-chunk mean ± this many standard deviations."""
    thresholds: dict[str, EstimatedThreshold] = Field(default_factory=dict)
    """Fixed bounds per metric (``estimated_f1: {lower: 0.7}``) replacing the default
    reference-chunk thresholds of that metric."""
    reference_chunks: int = Field(100, ge=2)
    """Reference chunks (random samples of the window's size, drawn without replacement)
    the spread of each realized metric is taken over."""
    min_reference_chunks: int = Field(10, ge=2)
    """A window of more than ``len(reference) / min_reference_chunks`` rows is compared
    with chunks of ``len(reference) // min_reference_chunks`` rows, the standard
    deviation rescaled by ``sqrt(chunk / n)``."""
    max_band_rows: int = Field(2_000_000, ge=1)
    """Cap on chunks × chunk size per window (fewer chunks for large windows, never
    fewer than :attr:`min_reference_chunks`), which bounds the band's cost."""
    min_rows: int = Field(30, ge=1)
    """Windows with fewer usable rows get the status ``insufficient_data``."""
    seed: int = Field(0, ge=0)
    """Seed of the reference chunks, the calibration folds and DLE's models."""
    dle_max_iter: int = Field(100, ge=1)
    """Boosting iterations of each DLE model (``HistGradientBoostingRegressor``)."""
    dle_learning_rate: float = Field(0.1, gt=0.0, le=1.0)
    """Learning rate of each DLE model."""
    dle_threads: int | None = Field(1, ge=1)
    """OpenMP threads for DLE's fit and predict (``None``: scikit-learn's default, all
    cores). One by default: on a machine busy with other work, OpenMP oversubscription
    was measured to slow a 10,000-row fit from 0.1 s to 14 s."""

    @field_validator("class_probability_columns", mode="before")
    @classmethod
    def _class_keys_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, EstimatedThreshold]) -> dict[str, EstimatedThreshold]:
        for name in value:
            if name not in ESTIMATED_METRICS:
                raise ValueError(
                    f"thresholds: unknown metric {name!r}; expected one of "
                    f"{sorted(ESTIMATED_METRICS)!r}"
                )
        return value
