"""Do the fairness analyzer's 95 % intervals contain the true rates and disparities?

Each case draws windows of a binary classifier from a known truth: group shares equal,
label rate 0.4 in every group, and per-group true positive / false positive rates. With
true disparity 0 every group has TPR 0.7 and FPR 0.2 (every difference is 0, every ratio
1: the boundary case where a percentile bootstrap of ``max - min`` never covers the
truth). With true disparity 0.1 the TPRs and FPRs spread by 0.1, so demographic parity,
equalized odds and equal opportunity differences are all exactly 0.1. Every window goes
through :func:`group_fairness` end to end; the test counts the windows whose interval
contains the true value of each disparity (differences and ratios) and of each group's
selection rate and TPR.

Tolerance: the claim is coverage >= 95 %. With ``W`` windows the observed coverage of a
true 95 % has a binomial standard deviation of ``sqrt(0.95 * 0.05 / W)`` (0.0077 for 800
windows), so the floor of 93 % is 2.6 standard deviations below the claim (a correct
interval falls under it in about 0.5 % of seeds). The pairwise Bonferroni construction is
conservative with four groups (about 96 % at disparity 0, 99 % at 0.1); with two groups
it is close to nominal. ``significant`` (the whole interval past the threshold) is a
claim too: with every threshold set at the true value it may be made in at most
``alpha`` = 5 % of windows (the same floor: at most 7 %).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest

from monitors.analyzers.fairness import (
    DisparityThresholds,
    FairnessConfig,
    FairnessReport,
    group_fairness,
)
from storage.schema import ModelSchema, infer_schema

N_WINDOWS = 800
CLAIM = 0.95
FLOOR = 0.93
LABEL_RATE = 0.4
RATES = {  # (TPR per group, FPR per group)
    (2, 0.0): ([0.7, 0.7], [0.2, 0.2]),
    (4, 0.0): ([0.7, 0.7, 0.7, 0.7], [0.2, 0.2, 0.2, 0.2]),
    (2, 0.1): ([0.7, 0.8], [0.2, 0.3]),
    (4, 0.1): ([0.7, 0.75, 0.8, 0.75], [0.2, 0.25, 0.3, 0.25]),
}
CASES = list(itertools.product([2, 4], [300, 3000], [0.0, 0.1]))


def truth(tpr: np.ndarray, fpr: np.ndarray) -> dict[str, float]:
    """True disparities from the true per-group rates."""
    sel = LABEL_RATE * tpr + (1 - LABEL_RATE) * fpr
    dp_ratio = float(sel.min() / sel.max())
    return {
        "demographic_parity_difference": float(sel.max() - sel.min()),
        "demographic_parity_ratio": dp_ratio,
        "disparate_impact_ratio": dp_ratio,
        "equalized_odds_difference": float(max(np.ptp(tpr), np.ptp(fpr))),
        "equalized_odds_ratio": float(min(tpr.min() / tpr.max(), fpr.min() / fpr.max())),
        "equal_opportunity_difference": float(np.ptp(tpr)),
    }


def draw(n_groups: int, rows: int, spread: float, seed: int) -> tuple[np.ndarray, ...]:
    """All windows at once: group codes, labels and predictions, shape (windows, rows)."""
    rng = np.random.default_rng(seed)
    tpr, fpr = (np.asarray(r) for r in RATES[n_groups, spread])
    group = rng.integers(0, n_groups, size=(N_WINDOWS, rows))
    label = rng.random((N_WINDOWS, rows)) < LABEL_RATE
    pred = rng.random((N_WINDOWS, rows)) < np.where(label, tpr[group], fpr[group])
    return group, label.astype(np.int64), pred.astype(np.int64)


def window(group: np.ndarray, label: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """One window: the columns the analyzer reads (the schema's id and time are not used)."""
    names = ["a", "b", "c", "d"][: int(group.max()) + 1]
    return pd.DataFrame(
        {"g": pd.Categorical.from_codes(group, categories=names), "y": label, "p": pred}
    )


def schema_for(frame: pd.DataFrame) -> ModelSchema:
    full = frame.assign(id="x", ts=pd.Timestamp("2024-01-01"), g=frame["g"].astype("str"))
    return infer_schema(
        full,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        sensitive=["g"],
        features=[],
        positive_class=1,
    )


def covered(low: float | None, value: float, high: float | None) -> bool:
    assert low is not None and high is not None
    return low - 1e-12 <= value <= high + 1e-12


@pytest.mark.parametrize(("n_groups", "rows", "spread"), CASES)
def test_intervals_cover_the_truth(n_groups: int, rows: int, spread: float) -> None:
    started = time.perf_counter()
    tpr, fpr = (np.asarray(r) for r in RATES[n_groups, spread])
    true = truth(tpr, fpr)
    group, label, pred = draw(
        n_groups, rows, spread, seed=1000 * n_groups + rows + int(spread * 10)
    )
    schema = schema_for(window(group[0], label[0], pred[0]))
    thresholds = {k: v for k, v in true.items() if k != "disparate_impact_ratio"}
    config = FairnessConfig(
        intersections=False,
        n_bootstrap=0,
        thresholds=DisparityThresholds(**thresholds),
        four_fifths=true["disparate_impact_ratio"],
    )
    hits = dict.fromkeys(true, 0)
    significant = dict.fromkeys(true, 0)
    group_hits = {"selection_rate": 0, "tpr": 0}
    sel = LABEL_RATE * tpr + (1 - LABEL_RATE) * fpr
    for w in range(N_WINDOWS):
        report: FairnessReport = group_fairness(
            window(group[w], label[w], pred[w]), schema=schema, config=config
        )
        for d in report.disparities:
            hits[d.metric] += covered(d.ci_low, true[d.metric], d.ci_high)
            significant[d.metric] += d.significant
        for g in report.groups:
            code = "abcd".index(g.values[0][1])
            s, t = g.estimate("selection_rate"), g.estimate("tpr")
            group_hits["selection_rate"] += covered(s.ci_low, sel[code], s.ci_high)
            group_hits["tpr"] += covered(t.ci_low, tpr[code], t.ci_high)
    coverage = {k: v / N_WINDOWS for k, v in hits.items()}
    assert min(coverage.values()) >= FLOOR, coverage
    for name, hit in group_hits.items():
        assert hit / (N_WINDOWS * n_groups) >= FLOOR, (name, hit / (N_WINDOWS * n_groups))
    assert max(significant.values()) / N_WINDOWS <= 1 - FLOOR, significant
    print(
        f"{n_groups} groups, {rows} rows, disparity {spread}: {coverage}, "
        f"{time.perf_counter() - started:.1f} s"
    )


def test_intervals_are_informative_at_3000_rows() -> None:
    """Coverage is not bought with useless intervals: a 0.3 gap is proved at 3,000 rows."""
    rng = np.random.default_rng(7)
    rows = 3000
    group = rng.integers(0, 2, size=rows)
    label = (rng.random(rows) < LABEL_RATE).astype(np.int64)
    pred = (rng.random(rows) < np.where(group == 0, 0.2, 0.5)).astype(np.int64)
    frame = window(group, label, pred)
    report = group_fairness(
        frame, schema=schema_for(frame), config=FairnessConfig(intersections=False)
    )
    found = {d.metric: d for d in report.disparities}
    dpd = found["demographic_parity_difference"]
    assert dpd.breach and dpd.significant
    assert dpd.ci_low is not None and dpd.ci_high is not None
    assert 0.2 < dpd.ci_low < 0.3 < dpd.ci_high < 0.4
    dir_ = found["disparate_impact_ratio"]
    assert dir_.breach and dir_.significant and dir_.ci_high is not None
    assert dir_.ci_high < 0.8
