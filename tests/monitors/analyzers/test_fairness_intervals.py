"""The fairness analyzer's intervals: Wilson per group, simultaneous pairwise intervals for
disparities, ``significant`` verdicts, and regression intervals independent of row order.

Coverage on simulated windows is in ``tests/statistics/test_fairness_coverage.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import binomtest

from monitors.analyzers import _fairness_intervals as fi
from monitors.analyzers.fairness import (
    DisparityThresholds,
    FairnessConfig,
    FairnessReport,
    fairness_records,
    group_fairness,
)
from storage.schema import ModelSchema, infer_schema


def frame_of(
    groups: dict[str, tuple[int, int]], *, labels: dict[str, tuple[int, int]] | None = None
) -> pd.DataFrame:
    """A window with ``groups[name] = (rows, selected)``; labels ``(positives, true pos.)``."""
    parts = []
    for name, (rows, selected) in groups.items():
        pred = np.r_[np.ones(selected, np.int64), np.zeros(rows - selected, np.int64)]
        pos, tp = (labels or {}).get(name, (selected, selected))
        # the first ``tp`` selected rows are labelled positive, plus ``pos - tp`` unselected
        y = np.zeros(rows, np.int64)
        y[:tp] = 1
        y[selected : selected + pos - tp] = 1
        parts.append(pd.DataFrame({"g": name, "y": y, "p": pred}))
    df = pd.concat(parts, ignore_index=True)
    df["g"] = df["g"].astype("str")
    return df.assign(id=[f"r{i}" for i in range(len(df))], ts=pd.Timestamp("2024-01-01"))


def schema_of(df: pd.DataFrame, task: str = "binary_classification") -> ModelSchema:
    extra = {"positive_class": 1} if task != "regression" else {}
    return infer_schema(
        df,
        task=task,
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        sensitive=["g"],
        features=[],
        **extra,
    )


def analyse(
    df: pd.DataFrame, schema: ModelSchema | None = None, **config: object
) -> FairnessReport:
    cfg = FairnessConfig.model_validate({"intersections": False, **config})
    return group_fairness(df, schema=schema or schema_of(df), config=cfg)


def disparities(report: FairnessReport) -> dict[str, object]:
    return {d.metric: d for d in report.disparities}


# -- per group: Wilson ------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (81, 263), (1, 2000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_equals_scipy(x: int, n: int, confidence: float) -> None:
    low, high = fi.wilson(np.float64(x), np.float64(n), fi.z_two_sided(1 - confidence))
    expected = binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert float(low) == pytest.approx(expected.low, abs=1e-12)
    assert float(high) == pytest.approx(expected.high, abs=1e-12)


def test_group_rates_get_wilson_intervals_stated_in_details() -> None:
    df = frame_of({"A": (70, 56), "B": (80, 48)}, labels={"A": (40, 30), "B": (50, 20)})
    report = analyse(df)
    a = next(g for g in report.groups if g.group == "g=A")
    sel, tpr = a.estimate("selection_rate"), a.estimate("tpr")
    expected = binomtest(56, 70).proportion_ci(method="wilson")
    assert (sel.ci_low, sel.ci_high) == pytest.approx((expected.low, expected.high), abs=1e-12)
    expected = binomtest(30, 40).proportion_ci(method="wilson")
    assert (tpr.ci_low, tpr.ci_high) == pytest.approx((expected.low, expected.high), abs=1e-12)
    count = a.estimate("count")
    share = binomtest(70, 150).proportion_ci(method="wilson")
    assert (count.ci_low, count.ci_high) == pytest.approx((150 * share.low, 150 * share.high))
    records = [r for r in fairness_records(report) if r.group == "g=A"]
    assert {r.details["interval"] for r in records} == {"wilson"}


# -- disparities: pairwise score intervals ----------------------------------------------


def test_two_groups_give_newcombes_interval() -> None:
    """Newcombe (1998), method 10: 56/70 - 48/80 has the 95 % interval [0.0524, 0.3339]."""
    d = disparities(analyse(frame_of({"A": (70, 56), "B": (80, 48)}), n_bootstrap=0))
    dpd = d["demographic_parity_difference"]
    assert dpd.value == pytest.approx(0.2)
    assert (round(dpd.ci_low, 4), round(dpd.ci_high, 4)) == (0.0524, 0.3339)
    assert dpd.interval_method == "newcombe_pairwise_bonferroni"


def test_ratio_interval_solves_the_mover_equations() -> None:
    """MOVER-R (Donner & Zou): each limit solves (p1 - t p2)^2 = (p1 - l1)^2 + t^2 (u2 - p2)^2."""
    d = disparities(analyse(frame_of({"A": (70, 56), "B": (80, 48)})))
    z = fi.z_two_sided(0.05)
    (l1, l2), (u1, u2) = fi.wilson(np.array([56.0, 48.0]), np.array([70.0, 80.0]), z)
    p1, p2 = 56 / 70, 48 / 80

    def lower(t: float) -> float:
        return (p1 - t * p2) ** 2 - (p1 - l1) ** 2 - t**2 * (u2 - p2) ** 2

    def upper(t: float) -> float:
        return (p1 - t * p2) ** 2 - (u1 - p1) ** 2 - t**2 * (p2 - l2) ** 2

    ratio = p1 / p2  # 4/3; the disparity is its inverse, p2 / p1
    low_r, high_r = brentq(lower, 0.5, ratio), brentq(upper, ratio, 5.0)
    dpr = d["demographic_parity_ratio"]
    assert dpr.value == pytest.approx(1 / ratio)
    assert dpr.ci_low == pytest.approx(1 / high_r, abs=1e-9)
    assert dpr.ci_high == pytest.approx(1 / low_r, abs=1e-9)
    assert d["disparate_impact_ratio"].ci_low == dpr.ci_low
    # close to Katz's log interval at these counts
    se = np.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80)
    assert dpr.ci_low == pytest.approx(np.exp(-np.log(ratio) - 1.96 * se), abs=0.01)


def test_equal_rates_give_intervals_that_reach_zero_and_one() -> None:
    d = disparities(analyse(frame_of({"A": (100, 30), "B": (200, 60), "C": (50, 15)})))
    assert d["demographic_parity_difference"].value == 0.0
    assert d["demographic_parity_difference"].ci_low == 0.0
    assert d["demographic_parity_ratio"].value == 1.0
    assert d["demographic_parity_ratio"].ci_high == 1.0
    for name in ("equal_opportunity_difference", "equalized_odds_difference"):
        assert d[name].ci_low == 0.0
    assert d["equalized_odds_ratio"].ci_high == 1.0


def test_bonferroni_over_pairs_and_over_tpr_and_fpr() -> None:
    """Three groups: every pair's interval at 1 - 0.05/3; equalized odds at 1 - 0.05/6."""
    counts = {"A": (300, 90), "B": (300, 120), "C": (300, 150)}
    d = disparities(analyse(frame_of(counts)))
    x, n = np.array([90.0, 120.0, 150.0]), np.full(3, 300.0)
    low, high = fi.wilson(x, n, fi.z_two_sided(0.05 / 3))
    # the widest pair (A, C) decides: Newcombe's interval of p_C - p_A at level 1 - 0.05/3
    d_ca = 0.5 - 0.3
    expected_low = d_ca - np.hypot(0.5 - low[2], high[0] - 0.3)
    expected_high = d_ca + np.hypot(high[2] - 0.5, 0.3 - low[0])
    dpd = d["demographic_parity_difference"]
    assert dpd.ci_low == pytest.approx(expected_low, abs=1e-12)
    assert dpd.ci_high == pytest.approx(expected_high, abs=1e-12)
    eod = d["equalized_odds_difference"]
    assert eod.interval_method == "newcombe_pairwise_bonferroni_tpr_fpr"
    assert eod.ci_high - eod.ci_low > d["equal_opportunity_difference"].ci_high - (
        d["equal_opportunity_difference"].ci_low
    )


def test_every_interval_contains_the_point_value_even_for_tiny_groups() -> None:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "g": pd.Series(rng.choice(list("abcdefgh"), n, p=[0.3, 0.3, 0.2, 0.1] + [0.025] * 4)),
            "y": (rng.random(n) < 0.3).astype(np.int64),
            "p": (rng.random(n) < 0.4).astype(np.int64),
        }
    ).astype({"g": "str"})
    df.loc[df["g"] == "h", "y"] = 0  # no positive label: TPR is 0/0, counted as 0
    df = df.assign(id=[f"r{i}" for i in range(n)], ts=pd.Timestamp("2024-01-01"))
    report = analyse(df)
    for d in report.disparities:
        assert d.ci_low is not None and d.ci_high is not None and d.value is not None
        assert d.ci_low - 1e-12 <= d.value <= d.ci_high + 1e-12, d
        assert 0.0 <= d.ci_low <= d.ci_high <= 1.0
    for g in report.groups:
        for e in g.estimates:
            if e.value is not None:
                assert e.ci_low - 1e-12 <= e.value <= e.ci_high + 1e-12, (g.group, e)


def test_one_group_has_an_exact_interval_and_no_group_none() -> None:
    df = frame_of({"A": (50, 20)})
    d = disparities(analyse(df))
    dpd, dpr = d["demographic_parity_difference"], d["demographic_parity_ratio"]
    assert (dpd.ci_low, dpd.ci_high, dpr.ci_low, dpr.ci_high) == (0, 0, 1, 1)
    empty = disparities(analyse(df.iloc[:0], schema_of(df)))
    assert empty["demographic_parity_difference"].ci_low is None
    assert empty["demographic_parity_difference"].interval_method is None


def test_many_groups_fall_back_to_simultaneous_group_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts = {"A": (400, 120), "B": (300, 120), "C": (200, 100)}
    pairwise = disparities(analyse(frame_of(counts)))
    monkeypatch.setattr(fi, "MAX_PAIRWISE_GROUPS", 2)
    box = disparities(analyse(frame_of(counts)))
    x, n = np.array([120.0, 120.0, 100.0]), np.array([400.0, 300.0, 200.0])
    low, high = fi.wilson(x, n, fi.z_two_sided(0.05 / 3))
    dpd = box["demographic_parity_difference"]
    assert (dpd.ci_low, dpd.ci_high) == pytest.approx((low[2] - high[0], high[2] - low[0]))
    dpr = box["demographic_parity_ratio"]
    assert (dpr.ci_low, dpr.ci_high) == pytest.approx((low[0] / high[2], high[0] / low[2]))
    for name, d in box.items():  # more conservative than the pairwise intervals
        assert d.ci_low <= pairwise[name].ci_low + 1e-12
        assert d.ci_high >= pairwise[name].ci_high - 1e-12


# -- significance --------------------------------------------------------------------------


def test_a_breach_is_significant_only_when_the_whole_interval_is_past_the_threshold() -> None:
    df = frame_of({"A": (1000, 200), "B": (1000, 500)})
    clear = disparities(analyse(df))
    assert clear["demographic_parity_difference"].breach
    assert clear["demographic_parity_difference"].significant
    assert clear["disparate_impact_ratio"].significant
    # a breach whose interval reaches back over the threshold is only possible
    near = disparities(
        analyse(df, thresholds=DisparityThresholds(demographic_parity_difference=0.28))
    )
    dpd = near["demographic_parity_difference"]
    assert dpd.breach and dpd.ci_low is not None and dpd.ci_low <= 0.28
    assert not dpd.significant
    # no breach, never significant
    passing = disparities(analyse(frame_of({"A": (1000, 480), "B": (1000, 500)})))
    assert not any(d.significant for d in passing.values())
    records = {r.metric: r for r in fairness_records(analyse(df)) if r.group is None}
    assert records["demographic_parity_difference"].details["significant"] is True
    assert records["demographic_parity_ratio"].details["interval"] == (
        "mover_ratio_pairwise_bonferroni"
    )
    small = {
        r.metric: r
        for r in fairness_records(analyse(frame_of({"A": (20, 4), "B": (20, 10)})))
        if r.group is None
    }
    assert small["demographic_parity_difference"].status == "breach"
    assert small["demographic_parity_difference"].details["significant"] is False


# -- regression: order independence --------------------------------------------------------


def regression_frame(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n)
    y = rng.normal(10, 2, n) + (g == "a")
    pred = np.round(y + rng.normal(0, 1, n), 1)  # ties in the predictions
    pred[:50] = 10.0
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "ts": pd.Timestamp("2024-01-01"),
            "g": pd.Series(g, dtype="str"),
            "y": np.where(rng.random(n) < 0.2, np.nan, y),
            "p": pred,
        }
    )


def test_regression_intervals_do_not_depend_on_row_order() -> None:
    df = regression_frame()
    schema = schema_of(df, task="regression")
    config = FairnessConfig(n_bootstrap=200, seed=5)
    first = group_fairness(df, schema=schema, config=config)
    for state in range(3):
        shuffled = df.sample(frac=1.0, random_state=state).reset_index(drop=True)
        assert group_fairness(shuffled, schema=schema, config=config) == first
    other = group_fairness(df, schema=schema, config=config.model_copy(update={"seed": 6}))
    assert other.groups != first.groups  # the seed still drives the bootstrap
    est = first.groups[0].estimate("mae")
    assert est.interval_method == "percentile_bootstrap"
    assert est.ci_low < est.value < est.ci_high
    none = group_fairness(df, schema=schema, config=config.model_copy(update={"n_bootstrap": 0}))
    assert none.groups[0].estimate("mae").ci_low is None
    assert none.groups[0].estimate("mae").interval_method is None
