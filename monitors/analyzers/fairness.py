"""Group fairness: per-group metrics, disparities and their confidence intervals.

Definitions are fairlearn's (:class:`fairlearn.metrics.MetricFrame` with
``selection_rate``, ``true_positive_rate``, ``false_positive_rate``,
``false_negative_rate``, sklearn ``precision_score`` / ``accuracy_score``, and the
``demographic_parity_*``, ``equalized_odds_*``, ``equal_opportunity_difference``
disparities, ``method="between_groups"``). The numbers are computed from the counts
of (group, label, prediction) cells instead of the rows, which gives the same values
(the tests check this against fairlearn on the raw rows and on the weighted cells) in
a fraction of the time, and gives the score intervals directly.

Choices (also in ``docs/analyzers-fairness.md``):

* *Groups*: each sensitive attribute alone and, with ``intersections``, every
  combination of two or more attributes in schema order (``sex&age_band``).
* *Selected* means prediction == positive class (``config.positive_class`` or
  ``schema.positive_class``). Multiclass models are analysed one-vs-rest of that
  class; without one they get ``count`` and ``accuracy`` only.
* *Labels*: rows with a null label count for ``count``, ``selection_rate`` and
  demographic parity; label-based metrics use labelled rows (``n_labelled``).
* *Missing prediction*: the row is left out of every metric and counted in the
  report (``n_missing_prediction``).
* *Missing sensitive value*: by default a group of its own (``sex=<missing>``); with
  ``missing_sensitive="exclude"`` the row is left out of that attribute's groups and
  counted (``n_missing_sensitive``).
* *Small groups* (fewer than ``min_group_size`` rows, or labelled rows for label-based
  metrics) are kept and flagged ``insufficient_data``. Disparities are taken over all
  groups, as fairlearn does; ``restricted_value`` repeats the computation over groups
  of at least ``min_group_size`` and names the groups it left out.
* *Intervals* (classification): score intervals from the counts, no resampling.
  Per group Wilson's interval. Per disparity, simultaneous intervals on every pair of
  groups (Newcombe's score interval for differences, MOVER-R for ratios; Bonferroni over
  the pairs, and over TPR and FPR for equalized odds) bound the max - min (min / max), so
  the interval covers the true disparity at the nominal rate or more, also when it is 0
  (ratio 1). ``significant``: a breach whose whole interval is past the threshold.
* *Intervals* (regression, ``mean_prediction`` and ``mae``): percentile row bootstrap
  over the rows in a canonical order (independent of row order), cost
  ``O(n * n_bootstrap)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_estimates import SetEstimates, estimate_sets
from monitors.analyzers._fairness_records import ANALYZER, fairness_records
from monitors.analyzers._fairness_results import disparity, group_metrics
from monitors.analyzers._fairness_types import (
    DISPARITIES,
    LABEL_DISPARITIES,
    Disparity,
    DisparityName,
    DisparityThresholds,
    Estimate,
    FairnessConfig,
    FairnessOverride,
    FairnessReport,
    GroupMetrics,
)
from monitors.analyzers._fairness_window import CodedWindow, code_window
from storage.schema import ModelSchema

__all__ = [
    "ANALYZER",
    "DISPARITIES",
    "LABEL_DISPARITIES",
    "Disparity",
    "DisparityName",
    "DisparityThresholds",
    "Estimate",
    "FairnessConfig",
    "FairnessOverride",
    "FairnessReport",
    "GroupMetrics",
    "fairness_records",
    "group_fairness",
]


def _report(
    window: CodedWindow,
    sets: list[fg.AttributeSet],
    estimates: list[SetEstimates],
    attrs: list[str],
    *,
    schema: ModelSchema,
    config: FairnessConfig,
) -> FairnessReport:
    """The report: every set's groups, then its disparities, and how the window was read."""
    groups: list[GroupMetrics] = []
    disparities: list[Disparity] = []
    for s, est in zip(sets, estimates, strict=True):
        groups.extend(group_metrics(s, est, window.metric_names))
        disparities.extend(
            disparity(d, s, est, n_rows=window.n_rows) for d in window.disparity_names
        )
    return FairnessReport(
        task=schema.task,
        positive_class=window.positive_value,
        features=tuple(s.feature for s in sets),
        metrics=tuple(window.metric_names),
        groups=tuple(groups),
        disparities=tuple(disparities),
        n_rows=window.n_rows,
        n_missing_prediction=window.n_missing_prediction,
        n_missing_sensitive=tuple(zip(attrs, window.fine.n_missing, strict=True)),
        missing_sensitive=config.missing_sensitive,
        n_bootstrap=config.n_bootstrap,
        confidence=config.confidence,
        seed=config.seed,
    )


def group_fairness(
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: FairnessConfig,
    sensitive: Sequence[str] | None = None,
) -> FairnessReport:
    """Per-group metrics and disparities over the sensitive attributes of a window.

    Parameters
    ----------
    current : pandas.DataFrame
        The window: the schema's prediction, sensitive and (if any) label columns.
    schema : ModelSchema
        The model's schema; gives the task, roles, classes and positive class.
    config : FairnessConfig
        Minimum group size, bootstrap, thresholds and per-attribute overrides.
    sensitive : sequence of str, optional
        Analyse only these sensitive attributes (kept in schema order).

    Returns
    -------
    FairnessReport
        Groups (each attribute, and intersections) with their metrics and intervals,
        and the disparities with thresholds and verdicts.

    Raises
    ------
    ConfigError
        If the schema has no sensitive columns, ``sensitive`` names another column, an
        override key is not an attribute or intersection, or the positive class is
        missing (binary) or not a class.
    SchemaError
        If a column the schema needs is not in ``current``.

    Examples
    --------
    >>> import pandas as pd
    >>> from storage.schema import infer_schema
    >>> df = pd.DataFrame({"id": ["a", "b", "c", "d"], "ts": pd.Timestamp("2024-01-01"),
    ...                    "sex": ["F", "F", "M", "M"], "y": [1, 0, 1, 1], "p": [1, 0, 0, 1]})
    >>> schema = infer_schema(df, task="binary_classification", id="id", timestamp="ts",
    ...                       prediction="p", label="y", sensitive=["sex"])
    >>> report = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=0))
    >>> [(g.group, g.estimate("selection_rate").value) for g in report.groups]
    [('sex=F', 0.5), ('sex=M', 0.5)]
    """
    attrs = fg.attributes(schema, sensitive)
    fg.check_overrides(config, schema)
    window = code_window(current, attrs, schema=schema, config=config)
    sets = fg.build_sets(window.fine, attrs, config)
    estimates = estimate_sets(window, sets, confidence=config.confidence)
    return _report(window, sets, estimates, attrs, schema=schema, config=config)
