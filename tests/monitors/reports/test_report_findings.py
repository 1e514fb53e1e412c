"""The report's findings: who each failing disparity disadvantages, against fairlearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from report_helpers import make_frame

from monitors.analyzers.fairness import DisparityThresholds, FairnessConfig, group_fairness
from monitors.reports.findings import findings
from storage.schema import infer_schema

CONFIG = FairnessConfig(n_bootstrap=20, seed=1, intersections=False)


def _report(frame: pd.DataFrame, config: FairnessConfig = CONFIG):  # type: ignore[no-untyped-def]
    schema = infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex", "age_band"],
        positive_class=1,
    )
    return group_fairness(frame, schema=schema, config=config)


def _rates(frame: pd.DataFrame, metric, attribute: str) -> pd.Series:  # type: ignore[no-untyped-def]
    by_group = MetricFrame(
        metrics=metric,
        y_true=frame["label"],
        y_pred=frame["pred"],
        sensitive_features=frame[attribute].astype(object),
    ).by_group
    return by_group.rename(index=lambda v: f"{attribute}={v}")


def test_each_failing_disparity_names_the_disadvantaged_group() -> None:
    frame = make_frame(n=2000)
    report = _report(frame)
    found = {f["feature"]: f for f in findings(report)}
    failing = {(d.feature, d.metric) for d in report.disparities if d.breach}
    assert {(f, c["metric"]) for f, e in found.items() for c in e["failing"]} == failing
    rates = _rates(frame, selection_rate, "sex")
    sex = found["sex"]
    assert (sex["group"], sex["reference_group"]) == (rates.idxmin(), rates.idxmax())
    assert sex["text"] == (
        f"sex: {rates.idxmin()} has the lowest selection rate, {rates.min():.4f} vs "
        f"{rates.max():.4f} for {rates.idxmax()} (ratio {rates.min() / rates.max():.2f})."
    )
    dir_check = next(c for c in sex["failing"] if c["metric"] == "disparate_impact_ratio")
    assert dir_check["group_rate"] == pytest.approx(rates.min())
    assert dir_check["reference_rate"] == pytest.approx(rates.max())
    assert dir_check["ratio"] == pytest.approx(rates.min() / rates.max())
    assert dir_check["value"] == pytest.approx(rates.min() / rates.max())
    assert "interval" in dir_check["text"] and "must be ≥ 0.8" in dir_check["text"]


def test_equal_opportunity_names_the_lowest_true_positive_rate() -> None:
    frame = make_frame(n=2000, seed=3)
    rng = np.random.default_rng(0)
    # group F: positives are approved half as often -> an equal opportunity gap
    hide = (frame["sex"] == "F") & (frame["label"] == 1) & (rng.random(len(frame)) < 0.5)
    frame.loc[hide, "pred"] = 0
    config = CONFIG.model_copy(
        update={"thresholds": DisparityThresholds(equal_opportunity_difference=0.05)}
    )
    report = _report(frame, config)
    check = next(
        c
        for f in findings(report)
        if f["feature"] == "sex"
        for c in f["failing"]
        if c["metric"] == "equal_opportunity_difference"
    )
    tpr = _rates(frame, true_positive_rate, "sex")
    assert (check["rate"], check["group"], check["reference_group"]) == (
        "tpr",
        tpr.idxmin(),
        tpr.idxmax(),
    )
    assert check["group_rate"] == pytest.approx(tpr.min())


def test_no_failing_disparity_no_findings() -> None:
    frame = make_frame(n=400)
    lenient = DisparityThresholds(
        demographic_parity_difference=1.0,
        demographic_parity_ratio=0.0,
        equalized_odds_difference=1.0,
        equalized_odds_ratio=0.0,
        equal_opportunity_difference=1.0,
    )
    config = CONFIG.model_copy(update={"thresholds": lenient, "four_fifths": 0.0})
    assert findings(_report(frame, config)) == []
