"""Configuration of the drift analyzer (see :mod:`monitors.analyzers.drift`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitors.errors import ConfigError

MetricName = Literal[
    "ks",
    "wasserstein_normed",
    "psi",
    "jensenshannon",
    "kl",
    "anderson_darling",
    "chi2",
    "z_test",
    "tvd",
]
NumericMethod = Literal[
    "ks", "wasserstein_normed", "psi", "jensenshannon", "kl", "anderson_darling"
]
CategoricalMethod = Literal["chi2", "z_test", "psi", "jensenshannon", "tvd"]
Policy = Literal["significant_effect", "evidently"]
"""How a column's verdict is taken (see :mod:`monitors.analyzers._drift_policy`)."""

#: Metrics whose verdict is ``p_value < threshold``; all others are ``value >= threshold``.
P_VALUE_METRICS: frozenset[str] = frozenset({"ks", "anderson_darling", "chi2", "z_test"})
NUMERIC_METRICS: tuple[str, ...] = (
    "ks",
    "wasserstein_normed",
    "psi",
    "jensenshannon",
    "kl",
    "anderson_darling",
)
CATEGORICAL_METRICS: tuple[str, ...] = ("chi2", "z_test", "psi", "jensenshannon", "tvd")


# --------------------------------------------------------------------------- config
class DriftThresholds(BaseModel):
    """Per-metric thresholds. P-value metrics flag drift when ``p < threshold``; distances
    when ``value >= threshold``.

    Each metric's record is judged against its own threshold. Under the ``significant_effect``
    policy the threshold of the column's p-value test (``ks``, ``chi2``) is also the level
    alpha applied to its false-discovery-rate-adjusted p-value, and ``wasserstein_normed`` is
    the effect size a numeric column's drift must reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ks: float = Field(0.05, gt=0, lt=1)
    """KS p-value threshold (Evidently: 0.05); alpha of numeric columns."""
    wasserstein_normed: float = Field(0.1, gt=0)
    """Wasserstein distance divided by the reference std (Evidently: 0.1)."""
    psi: float = Field(0.1, gt=0)
    """Population stability index (Evidently: 0.1; 0.25 is the classic "major shift")."""
    jensenshannon: float = Field(0.1, gt=0)
    """Jensen–Shannon distance, natural log (Evidently and NannyML: 0.1)."""
    kl: float = Field(0.1, gt=0)
    """KL(reference || current) in nats (Evidently: 0.1)."""
    anderson_darling: float = Field(0.05, gt=0, lt=1)
    """Anderson–Darling k-sample p-value threshold (0.05)."""
    chi2: float = Field(0.05, gt=0, lt=1)
    """Chi-square p-value threshold (0.05); alpha of categorical columns."""
    z_test: float = Field(0.05, gt=0, lt=1)
    """Two-proportion Z-test p-value threshold (0.05)."""
    tvd: float = Field(0.1, gt=0, le=1)
    """Total variation distance (0.1)."""


class MethodChoice(BaseModel):
    """Which metric decides a column's drift, by kind and reference size (policy evidently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric_small: NumericMethod = "ks"
    """Numeric column (> ``discrete_max_unique`` values), reference n <= ``size_split``."""
    numeric_large: NumericMethod = "wasserstein_normed"
    """Numeric column (> ``discrete_max_unique`` values), reference n > ``size_split``."""
    categorical_small: CategoricalMethod = "chi2"
    """Categorical (or low-cardinality numeric) with > 2 values, reference n <= ``size_split``."""
    binary_small: CategoricalMethod = "z_test"
    """Exactly two values overall, reference n <= ``size_split``."""
    categorical_large: CategoricalMethod = "jensenshannon"
    """Categorical, boolean or low-cardinality numeric, reference n > ``size_split``."""


class FeatureDriftOverride(BaseModel):
    """Per-column settings; unset fields fall back to the global ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: MetricName | None = None
    """Metric that decides this column, instead of the automatic choice."""
    threshold: float | None = Field(None, gt=0)
    """Threshold of the deciding metric for this column."""
    thresholds: dict[MetricName, float] = Field(default_factory=dict)
    """Thresholds of individual metrics for this column (partial)."""
    size_split: int | None = Field(None, ge=0)
    """Reference size up to which p-value tests decide, for this column (policy evidently)."""
    policy: Policy | None = None
    """Verdict policy of this column, instead of the model's."""
    effect_threshold: float | None = Field(None, gt=0)
    """Effect size a drift must reach under ``significant_effect`` (wasserstein_normed for
    numeric columns, jensenshannon for categorical ones), for this column."""

    @model_validator(mode="after")
    def _check_thresholds(self) -> FeatureDriftOverride:
        for name, value in self.thresholds.items():
            _check_threshold(name, value)
        return self


def _check_threshold(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)) or (name in P_VALUE_METRICS and value >= 1):
        expected = "in (0, 1)" if name in P_VALUE_METRICS else "a positive number"
        raise ValueError(f"threshold for {name!r} must be {expected}; got {value!r}")


class DriftConfig(BaseModel):
    """Settings of the drift analyzer (see ``docs/analyzers-drift.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Policy = "significant_effect"
    """``significant_effect``: a column drifts when its p-value test (KS; chi-square), adjusted
    for the false-discovery rate across the window's columns, is below its threshold AND its
    effect size reaches its threshold. ``evidently``: Evidently's size split (p-value test for
    references of at most ``size_split`` values, effect size above)."""
    fdr: Literal["benjamini_hochberg", "none"] = "benjamini_hochberg"
    """Adjustment of the p-values across the drift columns of one window (policy
    ``significant_effect``): Benjamini–Hochberg, or none."""
    categorical_effect_threshold: float = Field(0.05, gt=0, le=1)
    """Jensen–Shannon distance a categorical column's drift must reach under
    ``significant_effect`` (numeric columns use ``thresholds.wasserstein_normed``). 0.05 is
    about a 7-point share shift of a balanced binary column; Evidently's 0.1 needs 14 points."""
    wasserstein_std_floor: float = Field(0.001, ge=0)
    """``wasserstein_normed`` divides by ``max(reference std, this)`` (Evidently: 0.001)."""
    point_mass_share: float = Field(0.05, gt=0, le=1)
    """A numeric value holding at least this share of the reference gets a bin of its own."""
    category_bin_rows: int = Field(100, ge=1)
    """PSI/JS/TVD of categorical columns use at most ``max(2, 1 + n_eff // category_bin_rows)``
    bins (the most frequent categories alone, the rest pooled into one), ``n_eff = n m / (n +
    m)``; this bounds their value under no drift (JS distance about 0.035 or less)."""
    chi2_min_expected: float = Field(5.0, gt=0)
    """Chi-square cells (categories, or distance bins) expected fewer times than this in the
    smaller sample are pooled, in order of frequency, so that its p-value holds (Cochran)."""
    size_split: int = Field(1000, ge=0)
    """Policy ``evidently``: reference non-missing n up to which p-value tests decide; above
    it, effect sizes."""
    discrete_max_unique: int = Field(5, ge=1)
    """Numeric columns with at most this many distinct values (reference and window together)
    are decided like categorical ones."""
    chi2_variant: Literal["contingency", "goodness_of_fit"] = "contingency"
    """``contingency``: two-sample ``chi2_contingency`` of the 2 x k table (false-positive rate =
    alpha); ``goodness_of_fit``: Evidently's ``chisquare`` of the window against the reference
    proportions (too many false positives unless the reference is much larger than the window)."""
    methods: MethodChoice = Field(default_factory=MethodChoice)
    """Deciding metric by kind and size."""
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    """Per-metric thresholds."""
    n_bins: int = Field(10, ge=2, le=1000)
    """Quantile bins from the reference for PSI, Jensen–Shannon and KL of numeric columns."""
    epsilon: float = Field(1e-4, gt=0, lt=0.01)
    """Share given to empty bins/categories in PSI, KL and the chi-square expectation."""
    min_rows: int = Field(30, ge=1)
    """Fewer non-missing values than this on either side gives ``insufficient_data``."""
    dataset_drift_share: float = Field(0.5, gt=0, le=1)
    """Dataset drift when the share of drifted columns is >= this."""
    dataset_columns: Literal["features", "all"] = "features"
    """Columns counted in the dataset drift share: features only, or all drift columns."""
    multivariate: bool = True
    """Run the domain classifier (:func:`multivariate_drift`)."""
    multivariate_sample: int = Field(10_000, ge=10)
    """Rows sampled (without replacement, seeded) from each side for the domain classifier."""
    multivariate_folds: int = Field(5, ge=2, le=20)
    """Stratified cross-validation folds; AUC is computed on the pooled out-of-fold scores."""
    multivariate_threshold: float = Field(0.55, gt=0.5, lt=1)
    """Multivariate drift needs a cross-validated ROC AUC >= this ..."""
    multivariate_confidence: float = Field(0.95, gt=0.5, lt=1)
    """... and the lower bound of its two-sided DeLong confidence interval at this level
    above 0.5."""
    multivariate_top_k: int = Field(5, ge=1)
    """How many separating features to report."""
    multivariate_max_iter: int = Field(50, ge=1)
    """Boosting iterations of the HistGradientBoostingClassifier."""
    multivariate_min_rows: int = Field(100, ge=10)
    """Fewer rows than this on either side gives ``insufficient_data``."""
    seed: int = 0
    """Seed of the subsampling, folds and classifier."""
    workers: int | None = Field(None, ge=1)
    """Threads for numeric columns; ``None`` = CPUs (at most 4). Results do not depend on it."""
    features: dict[str, FeatureDriftOverride] = Field(default_factory=dict)
    """Per-column overrides, keyed by column name."""

    @model_validator(mode="after")
    def _check(self) -> DriftConfig:
        for name, override in self.features.items():
            if override.method is not None and override.threshold is not None:
                try:
                    _check_threshold(override.method, override.threshold)
                except ValueError as exc:
                    raise ValueError(f"features.{name}.threshold: {exc}") from exc
        return self

    def policy_for(self, column: str) -> Policy:
        """Verdict policy of ``column``, overrides applied."""
        override = self.features.get(column)
        if override is not None and override.policy is not None:
            return override.policy
        return self.policy

    def effect_threshold_for(self, column: str, metric: str) -> float:
        """Effect-size threshold of ``column`` under ``significant_effect``."""
        override = self.features.get(column)
        if override is not None and override.effect_threshold is not None:
            return override.effect_threshold
        if metric == "jensenshannon":
            return self.categorical_effect_threshold
        return self.threshold_for(column, metric)

    def threshold_for(self, column: str, metric: str) -> float:
        """Threshold of ``metric`` for ``column``, overrides applied."""
        override = self.features.get(column)
        if override is not None:
            if override.method == metric and override.threshold is not None:
                return override.threshold
            extra: dict[str, float] = {str(k): v for k, v in override.thresholds.items()}
            if metric in extra:
                return float(extra[metric])
        return float(getattr(self.thresholds, metric))


def drift_config(mapping: Mapping[str, Any] | None = None) -> DriftConfig:
    """Build a :class:`DriftConfig` from plain data, raising :class:`ConfigError`.

    Parameters
    ----------
    mapping : mapping, optional
        Settings as loaded from YAML/JSON; ``None`` gives the defaults.

    Returns
    -------
    DriftConfig

    Raises
    ------
    ConfigError
        Naming the first offending key, e.g.
        ``drift config key 'features.age.method': Input should be 'ks', ... ; got 'foo'.``

    Examples
    --------
    >>> drift_config({"thresholds": {"psi": 0.2}}).thresholds.psi
    0.2
    """
    try:
        return DriftConfig.model_validate(dict(mapping or {}))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"]) or "<root>"
        raise ConfigError(
            f"drift config key {key!r}: {err['msg']}; got {err.get('input')!r}"
        ) from exc
