"""Point estimates, disparities and bootstrap intervals of every attribute set.

The rates of an attribute (or intersection) are those of its groups, summed from the
finest groups; the bootstrap resamples go through the same code with one leading axis.
Disparities are taken over all groups and, for ``restricted_value``, over the groups of at
least ``min_group_size`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitors.analyzers import _fairness_counts as fc
from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_window import CodedWindow

Interval = tuple[fc.FloatArray, fc.FloatArray]


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


def _rates(window: CodedWindow, cells: fc.FloatArray) -> dict[str, fc.FloatArray]:
    """Per-group counts and rates from cells (classification) or statistics (regression)."""
    if window.kind == "regression":
        return fc.regression_rates(cells)
    return fc.classification_rates(cells, positive=window.positive)


def _disparities(
    window: CodedWindow,
    s: fg.AttributeSet,
    rates: dict[str, fc.FloatArray],
    counts: dict[str, fc.FloatArray],
    *,
    restricted: bool,
) -> dict[str, fc.FloatArray]:
    """Disparities over all groups, or over those of at least ``min_size`` (by ``counts``)."""
    if not window.disparity_names:
        return {}
    if restricted:
        keep_all = counts["count"] >= s.min_size
        keep_lab = counts["n_labelled"] >= s.min_size
    else:
        keep_all = keep_lab = np.ones(len(s.groups), dtype=bool)
    return fc.disparities(
        rates, keep_all=keep_all, keep_labelled=keep_lab, with_labels=window.with_labels
    )


def _bootstrap(
    window: CodedWindow, sets: list[fg.AttributeSet], points: list[dict[str, fc.FloatArray]]
) -> tuple[list[dict[str, list[fc.FloatArray]]], list[dict[str, list[fc.FloatArray]]]]:
    """Resampled rates and disparities of every set, collected chunk by chunk."""
    boot_rates: list[dict[str, list[fc.FloatArray]]] = [{} for _ in sets]
    boot_disp: list[dict[str, list[fc.FloatArray]]] = [{} for _ in sets]
    for chunk in window.resamples:
        for i, s in enumerate(sets):
            rates = _rates(window, fc.aggregate(chunk, s.membership, lead=1))
            for name in window.metric_names:
                boot_rates[i].setdefault(name, []).append(rates[name])
            for name, value in _disparities(window, s, rates, points[i], restricted=False).items():
                boot_disp[i].setdefault(name, []).append(value)
    return boot_rates, boot_disp


def _interval(samples: list[fc.FloatArray], shape: tuple[int, ...], confidence: float) -> Interval:
    """Percentile interval of the resamples; NaN bounds without any."""
    if not samples:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    return fc.percentile_interval(np.concatenate(samples), confidence=confidence)


def estimate_sets(
    window: CodedWindow, sets: list[fg.AttributeSet], *, confidence: float
) -> list[SetEstimates]:
    """Rates, disparities and percentile intervals of every attribute set."""
    points = [_rates(window, fc.aggregate(window.base, s.membership, lead=0)) for s in sets]
    boot_rates, boot_disp = _bootstrap(window, sets, points)
    return [
        SetEstimates(
            rates=rates,
            full=_disparities(window, s, rates, rates, restricted=False),
            restricted=_disparities(window, s, rates, rates, restricted=True),
            intervals={
                m: _interval(boot_rates[i].get(m, []), (len(s.groups),), confidence)
                for m in window.metric_names
            },
            disparity_intervals={
                d: _interval(boot_disp[i].get(d, []), (), confidence)
                for d in window.disparity_names
            },
        )
        for i, (s, rates) in enumerate(zip(sets, points, strict=True))
    ]
