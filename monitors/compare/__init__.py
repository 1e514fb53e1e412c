"""Candidate versus baseline: is the new model better (and fairer) on live traffic?

Two registered models form a *comparison* (``driftwarden compare add``):

* ``shadow`` — both score the same requests; their windows are joined on the id and
  every difference is paired (one bootstrap resample weighs both models' rows; accuracy
  also gets McNemar's exact test);
* ``split`` — each scores its own share of the traffic; differences are unpaired
  (independent resamples) and the candidate's share is checked against the declared
  split (sample-ratio-mismatch chi-square).

Per window (:func:`compare_window`, pure): candidate − baseline of every performance
metric, of the estimated metrics (CBPE / DLE, for windows without labels), of per-group
metrics and of each fairness disparity, each with an interval at ``1 - alpha``, a
p-value, the minimum detectable effect and a verdict (``candidate_better``,
``no_difference``, ``candidate_worse`` or ``insufficient_data``); the overall verdict is
the primary metric's. :func:`comparison_records` turns it into metric records
(analyzer ``comparison``); :func:`period_deltas` pools stored windows into a period's
verdict. ``docs/compare.md`` has the method and its checks.
"""

from monitors.compare._config import (
    ANALYZER,
    BETTER,
    COMPARED_METRICS,
    DISPARITY_METRICS,
    INSUFFICIENT,
    MODES,
    NO_DIFFERENCE,
    VERDICT_VALUE,
    VERDICTS,
    WORSE,
    ComparisonConfig,
    Mode,
    default_primary,
    delta_name,
    direction,
)
from monitors.compare._overall import describe, overall_verdict
from monitors.compare._period import period_deltas
from monitors.compare._records import OTHER_METRICS, VERDICT_METRIC, comparison_records
from monitors.compare._types import (
    MetricDelta,
    ScoreDrift,
    Share,
    Traffic,
    Verdict,
    WindowComparison,
    verdict_sentence,
)
from monitors.compare._window import compare_window

__all__ = [
    "ANALYZER",
    "BETTER",
    "COMPARED_METRICS",
    "DISPARITY_METRICS",
    "INSUFFICIENT",
    "MODES",
    "NO_DIFFERENCE",
    "OTHER_METRICS",
    "VERDICT_METRIC",
    "VERDICTS",
    "VERDICT_VALUE",
    "WORSE",
    "ComparisonConfig",
    "MetricDelta",
    "Mode",
    "ScoreDrift",
    "Share",
    "Traffic",
    "Verdict",
    "WindowComparison",
    "compare_window",
    "comparison_records",
    "default_primary",
    "delta_name",
    "describe",
    "direction",
    "overall_verdict",
    "period_deltas",
    "verdict_sentence",
]
