"""``compare_window``: numbers match scikit-learn and the analyzers; verdicts hold a known truth."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from compare_support import START, accuracy_of, requests, scored
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from monitors.analyzers.estimated import (
    EstimatedConfig,
    estimate_performance,
    fit_estimator,
)
from monitors.analyzers.fairness import FairnessConfig, group_fairness
from monitors.analyzers.performance import expected_calibration_error
from monitors.compare import (
    ComparisonConfig,
    compare_window,
    comparison_records,
    period_deltas,
)
from monitors.errors import ConfigError
from storage.schema import infer_schema

CONFIG = ComparisonConfig(n_bootstrap=1000, seed=3)
TRUE_DELTA = accuracy_of(0.35) - accuracy_of(0.2)  # 0.7692... - 0.625


def _schema(frame: pd.DataFrame, *, score: bool = True):
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p" if score else None,
        label="y",
        sensitive=["sex"],
    )


def _pair(n: int, strengths: tuple[float, float], *, seed: int = 1):
    req = requests(n, seed=seed, start=START)
    return scored(req, strengths[0], seed=seed + 100), scored(req, strengths[1], seed=seed + 200)


def test_point_values_are_scikit_learns() -> None:
    base, cand = _pair(3000, (0.2, 0.35))
    cand["p"] = np.round(cand["p"], 2)  # ties in the scores
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="shadow",
        config=CONFIG,
    )
    y = base["y"]
    for frame, side in ((base, "baseline"), (cand, "candidate")):
        expected = {
            "accuracy": accuracy_score(y, frame["yhat"]),
            "precision": precision_score(y, frame["yhat"]),
            "recall": recall_score(y, frame["yhat"]),
            "f1": f1_score(y, frame["yhat"]),
            "roc_auc": roc_auc_score(y, frame["p"]),
            "log_loss": log_loss(y, frame["p"]),
            "brier_score": brier_score_loss(y, frame["p"]),
            "expected_calibration_error": expected_calibration_error(
                y.to_numpy(), frame["p"].to_numpy(), n_bins=10
            )[0],
        }
        for metric, value in expected.items():
            got = getattr(result.get(metric), side)
            assert got == pytest.approx(value, abs=1e-12), (metric, side)
        for sex in ("F", "M"):
            rows = (frame["sex"] == sex).to_numpy()
            got = getattr(result.get("recall", "sex", f"sex={sex}"), side)
            assert got == pytest.approx(recall_score(y[rows], frame["yhat"][rows]), abs=1e-12)


def test_disparities_are_the_fairness_analyzers() -> None:
    base, cand = _pair(2000, (0.2, 0.35))
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="shadow",
        config=CONFIG,
    )
    for frame, side in ((base, "baseline"), (cand, "candidate")):
        report = group_fairness(
            frame, schema=_schema(frame), config=FairnessConfig(n_bootstrap=0, intersections=False)
        )
        for d in report.disparities:
            got = getattr(result.get(d.metric, "sex"), side)
            assert got == pytest.approx(d.value, abs=1e-12), (d.metric, side)


def test_regression_and_latency_match_scikit_learn_and_numpy() -> None:
    req = requests(1500, seed=4, start=START)
    rng = np.random.default_rng(0)
    frames = []
    for noise in (1.0, 0.5):
        f = req.assign(y=req["x"] * 3 + 10, yhat=req["x"] * 3 + 10 + rng.normal(0, noise, len(req)))
        f["lat"] = rng.gamma(4, 6, len(req))
        frames.append(f)
    schema = infer_schema(
        frames[0],
        task="regression",
        id="id",
        timestamp="ts",
        prediction="yhat",
        label="y",
        sensitive=["sex"],
        latency_ms="lat",
    )
    result = compare_window(
        frames[0],
        frames[1],
        baseline_schema=schema,
        candidate_schema=schema,
        mode="shadow",
        config=CONFIG,
    )
    for frame, side in zip(frames, ("baseline", "candidate"), strict=True):
        y, p = frame["y"], frame["yhat"]
        for metric, value in {
            "mae": mean_absolute_error(y, p),
            "rmse": root_mean_squared_error(y, p),
            "r2": r2_score(y, p),
            "mape": mean_absolute_percentage_error(y, p),
            "latency_p99": np.percentile(frame["lat"], 99, method="inverted_cdf"),
        }.items():
            assert getattr(result.get(metric), side) == pytest.approx(value, rel=1e-10), metric
    assert result.verdict.metric == "mae" and result.verdict.verdict == "candidate_better"
    assert result.get("mae").delta < 0


def test_known_better_candidate_in_shadow_mode() -> None:
    n = 4000
    base, cand = _pair(n, (0.2, 0.35), seed=7)
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="shadow",
        config=CONFIG,
    )
    acc = result.get("accuracy")
    assert result.verdict.verdict == "candidate_better" and result.verdict.metric == "accuracy"
    assert acc.verdict == "candidate_better" and acc.p_value < 1e-6  # McNemar's exact test
    assert acc.ci_low < TRUE_DELTA < acc.ci_high
    # the paired bootstrap interval is the paired Wald interval, up to resampling error
    b, c = acc.details["baseline_only_correct"], acc.details["candidate_only_correct"]
    delta = (c - b) / n
    se = math.sqrt((b + c) / n**2 - delta**2 / n)
    assert acc.delta == pytest.approx(delta)
    assert acc.ci_low == pytest.approx(delta - 1.96 * se, abs=0.004)
    assert acc.ci_high == pytest.approx(delta + 1.96 * se, abs=0.004)
    assert acc.se == pytest.approx(se, rel=0.1)
    assert acc.mde == pytest.approx((1.959964 + 0.841621) * acc.se)
    assert result.agreement is not None and 0.5 < result.agreement.value < 0.95
    assert result.score_drift is not None and result.score_drift.ks > 0


def test_known_better_candidate_in_split_mode() -> None:
    req = requests(6000, seed=8, start=START)
    half = np.random.default_rng(8).random(len(req)) < 0.5
    base = scored(req[~half], 0.2, seed=81)
    cand = scored(req[half], 0.35, seed=82)
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="split",
        split=0.5,
        config=CONFIG,
    )
    acc = result.get("accuracy")
    assert result.verdict.verdict == "candidate_better"
    assert acc.ci_low < TRUE_DELTA < acc.ci_high
    p1 = (base["yhat"] == base["y"]).mean()
    p2 = (cand["yhat"] == cand["y"]).mean()
    se = math.sqrt(p1 * (1 - p1) / len(base) + p2 * (1 - p2) / len(cand))
    assert acc.delta == pytest.approx(p2 - p1)
    assert acc.ci_low == pytest.approx(p2 - p1 - 1.96 * se, abs=0.005)
    assert acc.ci_high == pytest.approx(p2 - p1 + 1.96 * se, abs=0.005)
    assert result.traffic is not None and not result.traffic.mismatch
    assert result.agreement is None


def test_the_same_model_twice_makes_no_difference() -> None:
    base, _ = _pair(1000, (0.2, 0.2))
    result = compare_window(
        base,
        base.copy(),
        baseline_schema=_schema(base),
        candidate_schema=_schema(base),
        mode="shadow",
        config=CONFIG,
    )
    assert result.verdict.verdict == "no_difference"
    for d in result.deltas:
        assert d.verdict in ("no_difference", "insufficient_data"), d
        if d.delta is not None:
            assert d.delta == 0 and d.ci_low == 0 and d.ci_high == 0
    assert result.get("accuracy").p_value == 1.0
    assert result.agreement is not None and result.agreement.value == 1.0


def test_sample_ratio_mismatch_is_flagged() -> None:
    req = requests(3000, seed=9, start=START)
    third = np.arange(len(req)) % 3 == 0
    base, cand = scored(req[~third], 0.2, seed=1), scored(req[third], 0.2, seed=2)
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="split",
        split=0.5,
        config=CONFIG,
    )
    assert result.traffic is not None and result.traffic.mismatch
    assert result.traffic.share.value == pytest.approx(1 / 3)
    assert any("sample ratio mismatch" in w for w in result.verdict.warnings)
    ok = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="split",
        split=1 / 3,
        config=CONFIG,
    )
    assert ok.traffic is not None and not ok.traffic.mismatch


def test_estimated_differences_without_labels_are_the_estimators() -> None:
    ref_req = requests(3000, seed=20, start=None, prefix="ref")
    refs = [scored(ref_req, s, seed=21 + i) for i, s in enumerate((0.2, 0.35))]
    est = [fit_estimator(r, schema=_schema(r), config=EstimatedConfig()) for r in refs]
    base, cand = _pair(1500, (0.2, 0.35), seed=22)
    base, cand = base.assign(y=None), cand.assign(y=None)  # no labels yet
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(refs[0]),
        candidate_schema=_schema(refs[1]),
        mode="shadow",
        config=CONFIG,
        estimators=(est[0], est[1]),
    )
    assert result.get("accuracy").verdict == "insufficient_data"
    assert result.verdict.basis == "estimated"
    assert result.verdict.metric == "estimated_accuracy"
    assert result.verdict.verdict == "candidate_better"
    for model, frame, side in ((est[0], base, "baseline"), (est[1], cand, "candidate")):
        direct = estimate_performance(model, frame)
        for metric in ("estimated_accuracy", "estimated_recall", "estimated_f1"):
            got = getattr(result.get(metric), side)
            assert got == pytest.approx(direct.get(metric).value, abs=1e-9), metric


def test_records_carry_the_interval_a_rule_needs() -> None:
    base, cand = _pair(2000, (0.2, 0.35))
    cand = scored(cand.drop(columns=["p", "yhat"]), 0.35, seed=5, weak_group="F")
    result = compare_window(
        base,
        cand,
        baseline_schema=_schema(base),
        candidate_schema=_schema(cand),
        mode="shadow",
        config=CONFIG,
    )
    records = comparison_records(
        result, name="ab", baseline="base", candidate="cand", config=CONFIG
    )
    by_key = {(r.metric, r.feature, r.group): r for r in records}
    young = by_key[("recall_delta", "sex", "sex=F")]
    assert young.status == "breach" and young.details["verdict"] == "candidate_worse"
    assert young.details["ci_high"] < 0 and young.threshold == 0.0
    assert young.details["comparison"] == "ab" and young.details["candidate_model"] == "cand"
    verdict = by_key[("comparison_verdict", None, None)]
    assert verdict.value in (1.0, 0.0, -1.0) and verdict.details["sentence"]
    assert ("prediction_agreement", None, None) in by_key
    names = {r.metric for r in records}
    assert not names & {"accuracy", "recall", "demographic_parity_difference"}  # no clashes


def test_a_period_pools_the_windows() -> None:
    frames = []
    for day in range(4):
        base, cand = _pair(800, (0.2, 0.35), seed=30 + day)
        result = compare_window(
            base,
            cand,
            baseline_schema=_schema(base),
            candidate_schema=_schema(cand),
            mode="shadow",
            config=CONFIG,
        )
        for r in comparison_records(
            result, name="ab", baseline="base", candidate="cand", config=CONFIG
        ):
            frames.append(
                {
                    "window_start": START,
                    "metric": r.metric,
                    "feature": r.feature,
                    "group": r.group,
                    "value": r.value,
                    "details": r.details,
                }
            )
    deltas, verdict = period_deltas(pd.DataFrame(frames), config=CONFIG, task=_schema(base).task)
    acc = next(d for d in deltas if d.metric == "accuracy" and d.feature is None)
    windows = [
        f["details"] for f in frames if f["metric"] == "accuracy_delta" and f["feature"] is None
    ]
    assert acc.delta == pytest.approx(np.mean([w["candidate"] - w["baseline"] for w in windows]))
    assert acc.se == pytest.approx(math.sqrt(sum(w["se"] ** 2 for w in windows)) / 4)
    assert acc.ci_low < TRUE_DELTA < acc.ci_high
    assert verdict.verdict == "candidate_better" and "McNemar" in acc.test


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mode": "split", "split": 1.5},
            "split: expected the candidate's share in (0, 1); got 1.5",
        ),
        ({"mode": "ab"}, "mode: expected 'shadow' or 'split'; got 'ab'"),
    ],
)
def test_bad_settings_are_one_line_errors(kwargs: dict, message: str) -> None:
    base, cand = _pair(100, (0.2, 0.2))
    with pytest.raises(ConfigError, match=re.escape(message)):
        compare_window(
            base,
            cand,
            baseline_schema=_schema(base),
            candidate_schema=_schema(cand),
            config=CONFIG,
            **kwargs,
        )


def test_tasks_must_match() -> None:
    base, _ = _pair(100, (0.2, 0.2))
    regression = infer_schema(
        base, task="regression", id="id", timestamp="ts", prediction="p", label="y"
    )
    with pytest.raises(ConfigError, match="the two models must have the same task"):
        compare_window(
            base,
            base,
            baseline_schema=_schema(base),
            candidate_schema=regression,
            mode="shadow",
            config=CONFIG,
        )
