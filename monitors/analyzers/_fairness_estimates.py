"""Point estimates, disparities and confidence intervals of every attribute set.

The rates of an attribute (or intersection) are those of its groups, summed from the
finest groups. Disparities are taken over all groups and, for ``restricted_value``, over
the groups of at least ``min_group_size`` rows.

Intervals: classification metrics are binomial proportions, so their intervals are score
intervals computed from the counts (Wilson per group; simultaneous pairwise intervals for
the disparities, see :mod:`monitors.analyzers._fairness_intervals`). Regression metrics
(means) get percentile intervals from the row bootstrap of the coded window; a window
rebuilt from a summary (no rows to resample) gets normal intervals from its per-group
sums of squares (:func:`normal_intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from monitors.analyzers import _fairness_counts as fc
from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers import _fairness_intervals as fi
from monitors.analyzers._fairness_window import CodedWindow

Interval = tuple[fc.FloatArray, fc.FloatArray]

#: How each disparity's interval is built (stored in the records' ``details.interval``).
DISPARITY_METHODS: Final = {
    "demographic_parity_difference": fi.DIFFERENCE,
    "demographic_parity_ratio": fi.RATIO,
    "disparate_impact_ratio": fi.RATIO,
    "equalized_odds_difference": fi.EQUALIZED_ODDS_DIFFERENCE,
    "equalized_odds_ratio": fi.EQUALIZED_ODDS_RATIO,
    "equal_opportunity_difference": fi.DIFFERENCE,
}
BOOTSTRAP: Final = "percentile_bootstrap"
NORMAL: Final = "normal"


@dataclass(frozen=True, slots=True, eq=False)
class SetEstimates:
    """Per-group rates, disparities and their intervals for one attribute set."""

    rates: dict[str, fc.FloatArray]
    full: dict[str, fc.FloatArray]
    """Disparities over all groups."""
    restricted: dict[str, fc.FloatArray]
    """Disparities over the groups of at least ``min_group_size`` rows."""
    intervals: dict[str, Interval]
    """Per metric: low and high bounds per group."""
    disparity_intervals: dict[str, Interval]
    interval_method: str | None
    """How the per-group intervals are built (``wilson``, ``percentile_bootstrap``)."""


def _rates(window: CodedWindow, cells: fc.FloatArray) -> dict[str, fc.FloatArray]:
    """Per-group counts and rates from cells (classification) or statistics (regression)."""
    if window.kind == "regression":
        return fc.regression_rates(cells)
    return fc.classification_rates(cells, positive=window.positive)


def _disparities(
    window: CodedWindow,
    s: fg.AttributeSet,
    rates: dict[str, fc.FloatArray],
    *,
    restricted: bool,
) -> dict[str, fc.FloatArray]:
    """Disparities over all groups, or over those of at least ``min_size`` rows."""
    if not window.disparity_names:
        return {}
    if restricted:
        keep_all = rates["count"] >= s.min_size
        keep_lab = rates["n_labelled"] >= s.min_size
    else:
        keep_all = keep_lab = np.ones(len(s.groups), dtype=bool)
    return fc.disparities(
        rates, keep_all=keep_all, keep_labelled=keep_lab, with_labels=window.with_labels
    )


Fractions = dict[str, tuple[fc.FloatArray, fc.FloatArray]]


def _group_intervals(
    window: CodedWindow, fractions: Fractions, confidence: float
) -> dict[str, Interval]:
    """Wilson interval of every per-group rate; ``count`` via the group's share of the rows."""
    z = fi.z_two_sided(1.0 - confidence)
    out: dict[str, Interval] = {}
    for name in window.metric_names:
        num, den = fractions[name]
        if name == "count":
            low, high = fi.wilson(num, np.full_like(num, window.n_rows), z)
            out[name] = (low * window.n_rows, high * window.n_rows)
            continue
        low, high = fi.wilson(num, den, z)
        out[name] = (np.where(den > 0, low, np.nan), np.where(den > 0, high, np.nan))
    return out


def _disparity_intervals(
    window: CodedWindow, fractions: Fractions, confidence: float
) -> dict[str, Interval]:
    """Simultaneous score intervals of every disparity (see ``_fairness_intervals``)."""
    if not window.disparity_names:
        return {}
    alpha = 1.0 - confidence
    sel_num, sel_den = fractions["selection_rate"]
    ratio = fi.ratio_interval(sel_num, sel_den, sel_den > 0, alpha)
    out = {
        "demographic_parity_difference": fi.gap_interval(sel_num, sel_den, sel_den > 0, alpha),
        "demographic_parity_ratio": ratio,
        "disparate_impact_ratio": ratio,
    }
    if window.with_labels:
        labelled = fractions["accuracy"][1] > 0
        tpr, fpr = fractions["tpr"], fractions["fpr"]
        half = alpha / 2.0
        out.update(
            equalized_odds_difference=fi.max_interval(
                fi.gap_interval(*tpr, labelled, half), fi.gap_interval(*fpr, labelled, half)
            ),
            equalized_odds_ratio=fi.min_interval(
                fi.ratio_interval(*tpr, labelled, half), fi.ratio_interval(*fpr, labelled, half)
            ),
            equal_opportunity_difference=fi.gap_interval(*tpr, labelled, alpha),
        )
    return out


def _bootstrap(
    window: CodedWindow, sets: list[fg.AttributeSet]
) -> list[dict[str, list[fc.FloatArray]]]:
    """Resampled per-group rates of every set (regression), collected chunk by chunk."""
    boot_rates: list[dict[str, list[fc.FloatArray]]] = [{} for _ in sets]
    for chunk in window.resamples:
        for i, s in enumerate(sets):
            rates = _rates(window, fc.aggregate(chunk, s.membership, lead=1))
            for name in window.metric_names:
                boot_rates[i].setdefault(name, []).append(rates[name])
    return boot_rates


def _percentile(
    samples: list[fc.FloatArray], shape: tuple[int, ...], confidence: float
) -> Interval:
    """Percentile interval of the resamples; NaN bounds without any."""
    if not samples:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    return fc.percentile_interval(np.concatenate(samples), confidence=confidence)


def normal_intervals(
    cells: fc.FloatArray, names: list[str], confidence: float, centre: float = 0.0
) -> dict[str, Interval]:
    """Per-group normal (CLT) intervals of the regression metrics from summed statistics.

    ``cells`` are per group ``(count, sum_prediction, n_labelled, sum_abs_error,
    sum_prediction_centred_sq, sum_abs_error_sq)``, the prediction squares of
    ``prediction - centre``. ``mean_prediction`` and ``mae``: the mean
    +- t(n - 1) * s / sqrt(n) with the sample standard deviation ``s`` (Student's t
    quantile; NaN below 2 rows);
    ``count``: the binomial count of the group among the set's rows, +- z * sqrt(N p (1-p)).
    """
    from scipy.stats import norm, t

    z = float(norm.ppf(0.5 + confidence / 2))
    n, n_lab = cells[:, 0], cells[:, 2]

    def mean_interval(
        total: fc.FloatArray, squares: fc.FloatArray, k: fc.FloatArray, shift: float = 0.0
    ) -> Interval:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total / k
            centred = mean - shift  # the squares are of (x - shift)
            var = np.maximum(squares - k * centred * centred, 0.0) / (k - 1)
            quantile = t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1))
            half = np.where(k >= 2, quantile * np.sqrt(var / k), np.nan)
        return mean - half, mean + half

    rows = float(n.sum())
    share = n / rows if rows else np.zeros_like(n)
    half = z * np.sqrt(rows * share * (1 - share))
    out: dict[str, Interval] = {"count": (np.maximum(n - half, 0.0), n + half)}
    out["mean_prediction"] = mean_interval(cells[:, 1], cells[:, 4], n, centre)
    out["mae"] = mean_interval(cells[:, 3], cells[:, 5], n_lab)
    return {name: out[name] for name in names if name in out}


def _set_estimates(
    window: CodedWindow,
    s: fg.AttributeSet,
    rates: dict[str, fc.FloatArray],
    boot: dict[str, list[fc.FloatArray]],
    confidence: float,
) -> SetEstimates:
    """Rates, disparities and intervals of one attribute set."""
    shape = (len(s.groups),)
    if window.kind == "regression":
        method = BOOTSTRAP if boot else None
        intervals = {
            m: _percentile(boot.get(m, []), shape, confidence) for m in window.metric_names
        }
        if not boot and window.base.shape[-1] >= 6:  # from a summary: sums of squares
            method = NORMAL
            cells = fc.aggregate(window.base, s.membership, lead=0)
            found = normal_intervals(cells, window.metric_names, confidence, window.centre)
            intervals.update(found)
        disparity_intervals: dict[str, Interval] = {}
    else:
        method = fi.WILSON
        cells = fc.aggregate(window.base, s.membership, lead=0)
        fractions = fc.classification_fractions(cells, positive=window.positive)
        intervals = _group_intervals(window, fractions, confidence)
        disparity_intervals = _disparity_intervals(window, fractions, confidence)
    return SetEstimates(
        rates=rates,
        full=_disparities(window, s, rates, restricted=False),
        restricted=_disparities(window, s, rates, restricted=True),
        intervals=intervals,
        disparity_intervals=disparity_intervals,
        interval_method=method,
    )


def estimate_sets(
    window: CodedWindow, sets: list[fg.AttributeSet], *, confidence: float
) -> list[SetEstimates]:
    """Rates, disparities and intervals of every attribute set."""
    points = [_rates(window, fc.aggregate(window.base, s.membership, lead=0)) for s in sets]
    boot = _bootstrap(window, sets)
    return [
        _set_estimates(window, s, rates, boot[i], confidence)
        for i, (s, rates) in enumerate(zip(sets, points, strict=True))
    ]
