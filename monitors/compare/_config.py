"""Settings of a comparison, the verdict words and the direction of every compared metric."""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitors.analyzers.performance import LOWER_IS_BETTER as PERFORMANCE_LOWER_IS_BETTER
from storage.schema import Task

Mode = Literal["shadow", "split"]
"""``shadow``: both models score the same requests (joined on ``prediction_id``);
``split``: each model scores its own share of the traffic."""
MODES: Final = ("shadow", "split")

ANALYZER: Final = "comparison"
BETTER: Final = "candidate_better"
NO_DIFFERENCE: Final = "no_difference"
WORSE: Final = "candidate_worse"
INSUFFICIENT: Final = "insufficient_data"
VERDICTS: Final = (BETTER, NO_DIFFERENCE, WORSE, INSUFFICIENT)
VERDICT_VALUE: Final = {BETTER: 1.0, NO_DIFFERENCE: 0.0, WORSE: -1.0}
"""Value of the ``comparison_verdict`` record (``insufficient_data`` stores none)."""

HIGHER_IS_BETTER: Final = frozenset(
    {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "r2",
        "estimated_accuracy",
        "estimated_precision",
        "estimated_recall",
        "estimated_f1",
        "estimated_specificity",
        "demographic_parity_ratio",
        "equalized_odds_ratio",
        "disparate_impact_ratio",
    }
)
"""Compared metrics where a larger candidate value is better (ratios: closer to 1)."""
LOWER_IS_BETTER: Final = PERFORMANCE_LOWER_IS_BETTER | frozenset(
    {
        "fpr",
        "estimated_mae",
        "estimated_rmse",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "equal_opportunity_difference",
    }
)
"""Compared metrics where a smaller candidate value is better (differences: closer to 0)."""
DISPARITY_METRICS: Final = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "disparate_impact_ratio",
)
COMPARED_METRICS: Final = HIGHER_IS_BETTER | LOWER_IS_BETTER


def delta_name(metric: str) -> str:
    """Stored name of a compared metric's difference (``recall`` → ``recall_delta``).

    Examples
    --------
    >>> delta_name("demographic_parity_ratio")
    'demographic_parity_ratio_delta'
    """
    return f"{metric}_delta"


def direction(metric: str) -> str:
    """``higher_is_better`` or ``lower_is_better``."""
    return "higher_is_better" if metric in HIGHER_IS_BETTER else "lower_is_better"


def default_primary(task: Task) -> str:
    """The metric an overall verdict is taken on by default.

    Examples
    --------
    >>> default_primary(Task.BINARY), default_primary(Task.REGRESSION)
    ('accuracy', 'mae')
    """
    return "accuracy" if task.is_classification else "mae"


class ComparisonConfig(BaseModel):
    """Settings of one comparison (stored with it; ``driftwarden compare add`` options).

    Examples
    --------
    >>> c = ComparisonConfig(alpha=0.01)
    >>> c.alpha, c.n_bootstrap, c.confidence
    (0.01, 1000, 0.99)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    alpha: float = Field(0.05, gt=0.0, lt=0.5)
    """Significance level of every verdict; intervals have confidence ``1 - alpha``."""
    n_bootstrap: int = Field(1000, ge=100, le=100_000)
    """Bootstrap resamples per window (paired in shadow mode, unpaired in split mode)."""
    seed: int = Field(0, ge=0)
    """Seed of the bootstrap: same data and seed, same intervals."""
    min_rows: int = Field(30, ge=1)
    """Fewest rows (labelled rows for label-based metrics, per model in split mode, per
    group for group metrics) for a verdict; fewer is ``insufficient_data``."""
    power: float = Field(0.8, gt=0.0, lt=1.0)
    """Power at which the minimum detectable effect is stated."""
    primary_metric: str | None = None
    """Metric of the overall verdict; ``None``: ``accuracy`` (classification) or ``mae``
    (regression). Windows without enough labels use its estimated counterpart
    (``estimated_accuracy``, ``estimated_mae``) when there is one."""
    min_effect: dict[str, float] = Field(default_factory=dict)
    """Smallest difference per metric that counts (default 0: any significant difference)."""
    srm_alpha: float = Field(0.001, gt=0.0, lt=0.5)
    """Significance of the sample-ratio-mismatch chi-square test (split mode)."""
    fairness: bool = True
    """Compare per-group metrics and disparities over the sensitive attributes."""
    max_groups: int = Field(50, ge=2)
    """An attribute with more groups than this is left out of the group comparison."""

    @property
    def confidence(self) -> float:
        """Coverage of the intervals, ``1 - alpha``."""
        return round(1.0 - self.alpha, 10)

    @field_validator("primary_metric")
    @classmethod
    def _primary(cls, value: str | None) -> str | None:
        if value is not None and value not in COMPARED_METRICS - set(DISPARITY_METRICS):
            raise ValueError(
                f"primary_metric: unknown metric {value!r}; expected one of "
                f"{sorted(COMPARED_METRICS - set(DISPARITY_METRICS))!r}"
            )
        return value

    @field_validator("min_effect")
    @classmethod
    def _effects(cls, value: dict[str, float]) -> dict[str, float]:
        for name, effect in value.items():
            if name not in COMPARED_METRICS:
                raise ValueError(f"min_effect: unknown metric {name!r}")
            if not math.isfinite(effect) or effect < 0:
                raise ValueError(f"min_effect[{name!r}]: expected a number >= 0; got {effect!r}")
        return value
