"""Constants, error and result types of the explain analyzer."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from monitors.errors import MonitorError

ANALYZER: Final = "explain"
TREE: Final = "tree"
LINEAR: Final = "linear"
KERNEL: Final = "kernel"

PROBABILITY: Final = "probability"
LOG_ODDS: Final = "log_odds"
LOG: Final = "log"
RAW: Final = "raw"
PREDICTION: Final = "prediction"
OUTPUT_SPACES: Final[dict[str, str]] = {
    PROBABILITY: "probability of the positive class",
    LOG_ODDS: "log-odds of the positive class (probability = 1 / (1 + exp(-value)))",
    LOG: "natural log of the prediction (prediction = exp(value))",
    RAW: "the model's raw decision_function score (neither a probability nor log-odds)",
    PREDICTION: "the prediction itself",
}
"""Output spaces an explanation can be in: ``base_value + sum(attributions)`` equals the
model's output in that space."""
ADDITIVITY_TOLERANCE: Final = 1e-6
"""Largest |base + sum(SHAP) - output| / max(1, |output|) a tree or linear explainer may have."""

ScoringFunction = Callable[[pd.DataFrame], np.ndarray]


class ExplainError(MonitorError, ValueError):
    """Raised when a model or frame cannot be explained (unsupported task, missing columns)."""


@dataclass(frozen=True, slots=True)
class Explainer:
    """A model wrapped with the SHAP explainer chosen for it (see :func:`make_explainer`)."""

    method: str
    """``tree``, ``linear`` or ``kernel``."""
    reason: str
    """Why this explainer was chosen."""
    output: str
    """Space explained: one of :data:`OUTPUT_SPACES`."""
    features: tuple[str, ...]
    background: pd.DataFrame = field(repr=False, compare=False)
    model_output: ScoringFunction = field(repr=False, compare=False)
    """The model output in the explained space, from the model itself."""
    shap_explainer: Any = field(default=None, repr=False, compare=False)
    transform: Callable[[pd.DataFrame], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    groups: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Input-feature index of each transformed column (traced by feature names)."""
    class_index: int | None = None
    sign: float = 1.0
    seed: int = 0
    nsamples: int | None = None


@dataclass(frozen=True, slots=True)
class GlobalImportance:
    """Mean |SHAP| per feature on a seeded sample of rows."""

    method: str
    reason: str
    output: str
    features: tuple[str, ...]
    mean_abs_shap: tuple[float | None, ...]
    n_rows: int
    """Rows explained (the sample)."""
    n_available: int
    """Rows in the frame the sample was drawn from."""
    base_value: float | None
    status: str
    """``ok``, or ``insufficient_data`` below ``min_rows`` explained rows."""
    values: np.ndarray = field(repr=False, compare=False)
    """SHAP values, one row per sampled row, one column per feature."""
    sample_index: pd.Index = field(repr=False, compare=False)

    @property
    def shares(self) -> tuple[float | None, ...]:
        """Each feature's share of the total mean |SHAP| (``None`` if the total is 0)."""
        known = [v for v in self.mean_abs_shap if v is not None]
        total = float(sum(known))
        if len(known) != len(self.mean_abs_shap) or total <= 0:
            return tuple(None for _ in self.features)
        return tuple(float(v) / total for v in known)


@dataclass(frozen=True, slots=True)
class RowExplanation:
    """Why the model gave one prediction: ``base_value + sum(attributions) == model_output``."""

    row: Hashable
    method: str
    output: str
    base_value: float
    model_output: float
    attributions: dict[str, float]
    values: dict[str, Any]
    """Feature values of the row (``None`` if missing)."""


@dataclass(frozen=True, slots=True)
class FeatureAttributionShift:
    """Change of one feature's share of total attribution."""

    feature: str
    reference_share: float | None
    current_share: float | None
    change: float | None
    threshold: float
    status: str


@dataclass(frozen=True, slots=True)
class AttributionDrift:
    """How the attribution profile moved between reference and current window."""

    method: str
    output: str
    features: tuple[FeatureAttributionShift, ...]
    max_abs_change: float | None
    threshold: float
    status: str
    rank_correlation: float | None
    rank_correlation_threshold: float
    rank_status: str
    n_reference: int
    n_current: int
