"""Turning the estimates of one attribute set into :class:`GroupMetrics` and :class:`Disparity`."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from monitors.analyzers import _fairness_counts as fc
from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_estimates import DISPARITY_METHODS, Interval, SetEstimates
from monitors.analyzers._fairness_types import (
    DISPARITIES,
    LABEL_DISPARITIES,
    Disparity,
    Estimate,
    GroupMetrics,
)
from monitors.analyzers.base import finite_or_none

_LABEL_METRICS: Final = frozenset({"tpr", "fpr", "fnr", "precision", "accuracy", "mae"})

_REASONS: Final = {
    "selection_rate": "no rows",
    "tpr": "no labelled rows with the positive label (0/0)",
    "fnr": "no labelled rows with the positive label (0/0)",
    "fpr": "no labelled rows with a negative label (0/0)",
    "precision": "no labelled rows predicted positive (0/0)",
    "accuracy": "no labelled rows",
    "mae": "no labelled rows",
    "mean_prediction": "no rows",
}


def _num(x: Any) -> float | None:
    """``x`` as a float, or ``None`` if it is NaN or infinite."""
    return finite_or_none(float(x))


def group_metrics(
    s: fg.AttributeSet, est: SetEstimates, metric_names: list[str]
) -> list[GroupMetrics]:
    """Every group of the set with an estimate (value, interval, size) per metric."""
    rates = est.rates
    n_all = rates["count"].astype(np.int64)
    n_lab = rates["n_labelled"].astype(np.int64)
    groups = []
    for g, name in enumerate(s.groups):
        estimates = []
        for m in metric_names:
            n_used = int(n_lab[g] if m in _LABEL_METRICS else n_all[g])
            val = _num(rates[m][g])
            low, high = est.intervals[m]
            estimates.append(
                Estimate(
                    metric=m,
                    value=val,
                    ci_low=_num(low[g]),
                    ci_high=_num(high[g]),
                    n=n_used,
                    insufficient_data=n_used < s.min_size or val is None,
                    reason=_REASONS.get(m) if val is None else None,
                    interval_method=est.interval_method if _num(low[g]) is not None else None,
                )
            )
        groups.append(
            GroupMetrics(
                feature=s.feature,
                group=name,
                values=s.values[g],
                n=int(n_all[g]),
                n_labelled=int(n_lab[g]),
                min_group_size=s.min_size,
                insufficient_data=bool(n_all[g] < s.min_size),
                estimates=tuple(estimates),
            )
        )
    return groups


def _undefined_reason(
    name: str, s: fg.AttributeSet, rates: dict[str, fc.FloatArray], n_rows: int
) -> str:
    """Why a disparity has no value."""
    if not s.groups or n_rows == 0:
        return "no rows"
    if name in LABEL_DISPARITIES and not (rates["n_labelled"] > 0).any():
        return "no labelled rows"
    return "every group's rate is 0 (0/0)"


def _impact_ratios(
    s: fg.AttributeSet,
    full: dict[str, fc.FloatArray],
    restricted: dict[str, fc.FloatArray],
    excluded: tuple[str, ...],
    value: float | None,
    threshold: float,
) -> dict[str, Any]:
    """Per-group impact ratios (all groups, and large enough ones) and the four-fifths verdict."""
    return {
        "group_ratios": tuple(
            (g, _num(r)) for g, r in zip(s.groups, full["impact_ratios"], strict=True)
        )
        if s.groups
        else (),
        "restricted_group_ratios": tuple(
            (g, _num(r))
            for g, r in zip(s.groups, restricted["impact_ratios"], strict=True)
            if g not in excluded
        )
        if s.groups
        else (),
        "four_fifths_pass": None if value is None else value >= threshold,
    }


def _significant(
    breach: bool | None,
    low: float | None,
    high: float | None,
    threshold: float,
    *,
    higher_is_worse: bool,
) -> bool:
    """A breach whose whole interval lies past the threshold."""
    if not breach or low is None or high is None:
        return False
    return low > threshold if higher_is_worse else high < threshold


def disparity(
    name: str,
    s: fg.AttributeSet,
    est: SetEstimates,
    *,
    n_rows: int,
) -> Disparity:
    """One disparity of the set: value, threshold, verdict, interval and restricted value."""
    rates, full, restricted = est.rates, est.full, est.restricted
    interval: Interval = est.disparity_intervals[name]
    higher_is_worse = DISPARITIES[name]
    threshold = s.thresholds[name]
    value = _num(full[name]) if s.groups else None
    size = rates["n_labelled"] if name in LABEL_DISPARITIES else rates["count"]
    excluded = tuple(g for g, n in zip(s.groups, size, strict=True) if n < s.min_size)
    reason = None if value is not None else _undefined_reason(name, s, rates, n_rows)
    breach = (
        None if value is None else (value > threshold if higher_is_worse else value < threshold)
    )
    extra: dict[str, Any] = {}
    if name == "disparate_impact_ratio":
        extra = _impact_ratios(s, full, restricted, excluded, value, threshold)
    low, high = _num(interval[0]), _num(interval[1])
    return Disparity(
        feature=s.feature,
        metric=name,
        value=value,
        threshold=threshold,
        breach=breach,
        ci_low=low,
        ci_high=high,
        significant=_significant(breach, low, high, threshold, higher_is_worse=higher_is_worse),
        interval_method=DISPARITY_METHODS[name] if low is not None else None,
        restricted_value=_num(restricted[name]) if s.groups else None,
        excluded_groups=excluded,
        min_group_size=s.min_size,
        n_groups=len(s.groups),
        reason=reason,
        **extra,
    )
