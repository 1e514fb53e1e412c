"""Configuration and result types of :mod:`monitors.analyzers.fairness`.

Import them from :mod:`monitors.analyzers.fairness`; they live here only to keep
modules short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.schema import Scalar, Task

DisparityName = Literal[
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
]

#: Disparities in report order; ``True`` means "higher is worse" (a difference).
DISPARITIES: Final[dict[str, bool]] = {
    "demographic_parity_difference": True,
    "demographic_parity_ratio": False,
    "equalized_odds_difference": True,
    "equalized_odds_ratio": False,
    "equal_opportunity_difference": True,
    "disparate_impact_ratio": False,
}
LABEL_DISPARITIES: Final = frozenset(
    {"equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference"}
)


class DisparityThresholds(BaseModel):
    """Thresholds of the disparity metrics (the four-fifths rule is ``four_fifths``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    demographic_parity_difference: float = Field(0.1, ge=0.0, le=1.0)
    """Breach when the largest gap in selection rate between groups is above this."""
    demographic_parity_ratio: float = Field(0.8, ge=0.0, le=1.0)
    """Breach when lowest / highest group selection rate is below this."""
    equalized_odds_difference: float = Field(0.1, ge=0.0, le=1.0)
    """Breach when the larger of the TPR gap and the FPR gap is above this."""
    equalized_odds_ratio: float = Field(0.8, ge=0.0, le=1.0)
    """Breach when the smaller of the TPR ratio and the FPR ratio is below this."""
    equal_opportunity_difference: float = Field(0.1, ge=0.0, le=1.0)
    """Breach when the largest gap in TPR between groups is above this."""


class FairnessOverride(BaseModel):
    """Settings for one attribute or intersection (``"sex"``, ``"sex&age_band"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    min_group_size: int | None = Field(None, ge=1)
    """Minimum group size for this attribute; ``None`` keeps the model's."""
    thresholds: dict[DisparityName, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict
    )
    """Disparity thresholds that replace the model's for this attribute."""
    four_fifths: float | None = Field(None, ge=0.0, le=1.0)
    """Disparate-impact threshold for this attribute; ``None`` keeps the model's."""


class FairnessConfig(BaseModel):
    """Settings of :func:`group_fairness`."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    min_group_size: int = Field(30, ge=1)
    """Groups with fewer rows (labelled rows, for label-based metrics) are flagged
    ``insufficient_data`` and left out of ``restricted_value``; never dropped."""
    n_bootstrap: int = Field(1000, ge=0)
    """Bootstrap resamples for the intervals of regression metrics (0: none).
    Classification intervals are score intervals computed from the counts and need none."""
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    """Coverage of every interval (per group, and simultaneous for each disparity)."""
    seed: int = 0
    """Seed of the regression bootstrap: the same data and seed give the same intervals."""
    intersections: bool = True
    """Also analyse every combination of two or more sensitive attributes."""
    max_intersection_size: int | None = Field(None, ge=2)
    """Largest number of attributes combined; ``None`` means all of them."""
    thresholds: DisparityThresholds = Field(default_factory=DisparityThresholds)
    """Disparity thresholds (differences 0.1, ratios 0.8)."""
    four_fifths: float = Field(0.8, ge=0.0, le=1.0)
    """Four-fifths rule: ``disparate_impact_ratio`` below this is a breach."""
    positive_class: Scalar | None = None
    """The class that counts as selected; ``None`` uses ``schema.positive_class``.
    Needed for selection and error rates of multiclass models (one-vs-rest)."""
    missing_sensitive: Literal["group", "exclude"] = "group"
    """A missing sensitive value forms the group ``attr=<missing>`` (``group``), or the
    row is left out of that attribute's groups and counted (``exclude``)."""
    features: dict[str, FairnessOverride] = Field(default_factory=dict)
    """Per attribute or intersection overrides, keyed ``"sex"`` or ``"sex&age_band"``."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """One per-group metric with its confidence interval.

    ``n`` is the number of rows it is computed from (labelled rows for label-based
    metrics); ``value`` is ``None`` when undefined, with the ``reason``.
    ``interval_method`` says how ``ci_low`` / ``ci_high`` were built: ``wilson``
    (classification rates; ``count`` as the group's share of the rows times their
    number), ``percentile_bootstrap`` (regression, from rows) or ``normal`` (regression,
    from a window summary's per-group sums of squares); ``None`` without an interval.
    """

    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    insufficient_data: bool
    reason: str | None = None
    interval_method: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    """Metrics of one group (``sex=F`` or ``sex=F&age_band=25-34``)."""

    feature: str
    group: str
    values: tuple[tuple[str, str], ...]
    n: int
    n_labelled: int
    min_group_size: int
    insufficient_data: bool
    estimates: tuple[Estimate, ...]

    def estimate(self, metric: str) -> Estimate:
        """The estimate called ``metric``; :class:`KeyError` if there is none."""
        for est in self.estimates:
            if est.metric == metric:
                return est
        raise KeyError(metric)


@dataclass(frozen=True, slots=True)
class Disparity:
    """One disparity of one attribute or intersection, with its verdict.

    ``value`` is fairlearn's ``between_groups`` value over all groups;
    ``restricted_value`` the same over groups of at least ``min_group_size`` rows, with
    ``excluded_groups`` the ones left out. ``breach`` is ``value > threshold`` for
    differences and ``value < threshold`` for ratios (``None`` if undefined).
    ``ci_low`` / ``ci_high`` bound the true disparity over all groups (simultaneous
    pairwise score intervals, ``interval_method``); ``significant`` is ``True`` for a
    breach whose whole interval lies past the threshold (``ci_low > threshold`` for
    differences, ``ci_high < threshold`` for ratios), else ``False``.
    """

    feature: str
    metric: str
    value: float | None
    threshold: float
    breach: bool | None
    ci_low: float | None
    ci_high: float | None
    restricted_value: float | None
    excluded_groups: tuple[str, ...]
    min_group_size: int
    n_groups: int
    group_ratios: tuple[tuple[str, float | None], ...] = ()
    restricted_group_ratios: tuple[tuple[str, float | None], ...] = ()
    four_fifths_pass: bool | None = None
    reason: str | None = None
    significant: bool = False
    interval_method: str | None = None


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Result of :func:`group_fairness`."""

    task: Task
    positive_class: Scalar | None
    features: tuple[str, ...]
    metrics: tuple[str, ...]
    groups: tuple[GroupMetrics, ...]
    disparities: tuple[Disparity, ...]
    n_rows: int
    n_missing_prediction: int
    n_missing_sensitive: tuple[tuple[str, int], ...]
    missing_sensitive: str
    n_bootstrap: int
    confidence: float
    seed: int
