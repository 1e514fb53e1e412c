"""Prediction anomalies: planted anomalies are flagged on their window, clean windows are not.

Every series is 50 daily windows of about 800 clean requests (Poisson volume), the
analyzer run window after window with the history it built (as the pipeline does).
False positives: none of the 50 clean windows breaches any check (the FPR per check
and window is bounded in ``tests/statistics/test_anomaly_fpr.py``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from anomaly_support import START, daily_series, reference

from monitors.analyzers._anomalies_checks import volume_check
from monitors.analyzers.anomalies import (
    METRICS,
    AnomalyConfig,
    WindowStats,
    anomaly_records,
    stats_from_details,
)

DAYS = 50
PLANT_DAY = 35


@pytest.fixture(scope="module")
def fitted():
    return reference(seed=0)


def _breaches(reports) -> list[tuple[int, str]]:
    return [
        (day, m.metric)
        for day, report in enumerate(reports)
        for m in report.metrics
        if m.status == "breach"
    ]


def test_fifty_clean_windows_raise_nothing(fitted) -> None:
    schema, ref = fitted
    reports = daily_series(DAYS, seed=1, schema=schema, ref=ref)
    assert _breaches(reports) == []
    assert {m.metric for m in reports[-1].metrics} == set(METRICS)
    # the baselines need history: the first windows are insufficient_data, later ones not
    first = {m.metric: m.status for m in reports[0].metrics}
    assert first["volume_zscore"] == "insufficient_data"
    assert all(m.status == "ok" for m in reports[-1].metrics)


def _planted(fitted, plant) -> tuple[list[tuple[int, str]], object]:
    schema, ref = fitted
    reports = daily_series(DAYS, seed=2, schema=schema, ref=ref, plant={PLANT_DAY: plant})
    return _breaches(reports), reports[PLANT_DAY]


def test_a_stuck_score_is_flagged(fitted) -> None:
    def stuck(frame: pd.DataFrame) -> pd.DataFrame:
        hit = np.arange(len(frame)) % 3 == 0  # a third of the rows get the fallback score
        frame.loc[hit, "p"] = 0.731
        return frame

    breaches, report = _planted(fitted, stuck)
    assert (PLANT_DAY, "stuck_score_share") in breaches
    assert all(day == PLANT_DAY for day, _ in breaches), breaches
    m = report.get("stuck_score_share")
    assert m.value == pytest.approx(1 / 3, abs=0.01) and m.details["value"] == 0.731
    assert m.threshold == pytest.approx(0.2, abs=0.01) and m.details["p_value"] < 1e-6


def test_a_class_collapse_is_flagged(fitted) -> None:
    def collapse(frame: pd.DataFrame) -> pd.DataFrame:
        frame["yhat"] = (np.arange(len(frame)) % 20 != 0).astype(int)  # 95 % class 1
        return frame

    breaches, report = _planted(fitted, collapse)
    assert breaches == [(PLANT_DAY, "class_collapse_share")]
    m = report.get("class_collapse_share")
    assert m.details["class"] == 1 and m.value == pytest.approx(0.95, abs=0.01)
    assert m.details["reference_balanced"] is True and m.threshold == 0.9


def test_a_volume_drop_is_flagged(fitted) -> None:
    breaches, report = _planted(fitted, lambda f: f.iloc[: len(f) // 3].copy())
    assert (PLANT_DAY, "volume_zscore") in breaches
    assert all(m == "volume_zscore" for _, m in breaches), breaches
    m = report.get("volume_zscore")
    assert m.value < -4 and m.details["season"] == "weekday"
    assert m.details["baseline_median"] == pytest.approx(800, rel=0.05)


def test_an_outlier_burst_is_flagged_with_its_ids(fitted) -> None:
    planted: list[str] = []

    def burst(frame: pd.DataFrame) -> pd.DataFrame:
        hit = np.arange(len(frame)) % 10 == 0
        frame.loc[hit, "x1"] = 9.0 + np.arange(hit.sum()) * 0.01  # far outside the reference
        frame.loc[hit, "x2"] = 200.0
        planted.extend(frame.loc[hit, "id"])
        return frame

    breaches, report = _planted(fitted, burst)
    assert (PLANT_DAY, "outlier_share") in breaches
    m = report.get("outlier_share")
    assert 0.1 <= m.value < 0.15
    top = [t["prediction_id"] for t in m.details["top"]]
    assert len(top) == 10 and set(top) <= set(planted)


def test_a_score_jump_and_slow_serving_are_flagged(fitted) -> None:
    def jump(frame: pd.DataFrame) -> pd.DataFrame:
        frame["p"] = np.clip(frame["p"] + 0.15, 0, 1)
        frame["latency"] = frame["latency"] * 3
        return frame

    breaches, report = _planted(fitted, jump)
    flagged = {m for day, m in breaches if day == PLANT_DAY}
    assert {"score_mean_zscore", "score_quantile_zscore", "latency_p99_zscore"} <= flagged
    assert report.get("score_mean_zscore").value > 4
    assert report.get("latency_p99_zscore").value > 4


def _hourly(weeks: int, *, drop_at: int | None = None) -> list[WindowStats]:
    """Hourly volumes with a daily and a weekly cycle (weekends at 30 %)."""
    rng = np.random.default_rng(5)
    out = []
    for h in range(weeks * 7 * 24):
        start = START + timedelta(hours=h)
        rate = 300 * (1 + 0.6 * np.sin(2 * np.pi * (start.hour - 6) / 24))
        rate *= 0.3 if start.weekday() >= 5 else 1.0
        n = int(rng.poisson(rate))
        out.append(WindowStats(start, n // 3 if h == drop_at else n))
    return out


def test_volume_is_compared_with_the_same_hour_and_weekday() -> None:
    config = AnomalyConfig()
    history = _hourly(6)
    last_week = history[-7 * 24 :]
    z_season = []
    z_trailing = []
    for w in last_week:
        kwargs = {"config": config, "history": history}
        z_season.append(volume_check(w.n_rows, start=w.start, seasonality="hour_weekday", **kwargs))
        z_trailing.append(volume_check(w.n_rows, start=w.start, seasonality="none", **kwargs))
    assert all(m.status == "ok" for m in z_season), [m.value for m in z_season]
    assert z_season[0].details["season"] == "hour_weekday"
    # without seasons (the last 8 hours), the daily cycle's swings look like anomalies
    assert sum(m.status == "breach" for m in z_trailing) >= 10
    dropped = _hourly(6, drop_at=6 * 7 * 24 - 30)[-30]
    m = volume_check(
        dropped.n_rows, history, dropped.start, seasonality="hour_weekday", config=config
    )
    assert m.status == "breach" and m.value < -4


def test_records_keep_what_the_next_pass_needs(fitted) -> None:
    schema, ref = fitted
    report = daily_series(8, seed=3, schema=schema, ref=ref)[-1]
    records = anomaly_records(report)
    assert {r.analyzer for r in records} == {"anomalies"}
    assert {r.metric for r in records} == set(METRICS)
    details = {r.metric: r.details for r in records}
    rebuilt = stats_from_details(report.stats.start, report.stats.n_rows, details, None)
    assert rebuilt.score_mean == pytest.approx(report.stats.score_mean)
    assert [q for q, _ in rebuilt.score_quantiles] == [0.1, 0.5, 0.9]
    assert [v for _, v in rebuilt.score_quantiles] == pytest.approx(
        [v for _, v in report.stats.score_quantiles]
    )


def test_regression_models_have_no_class_collapse() -> None:
    from monitors.analyzers.anomalies import prediction_anomalies, prepare_anomaly_reference
    from storage.schema import infer_schema

    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(200)],
            "ts": pd.Timestamp(START),
            "x": np.linspace(0, 1, 200),
            "yhat": np.linspace(0, 10, 200),
        }
    )
    schema = infer_schema(frame, task="regression", id="id", timestamp="ts", prediction="yhat")
    ref = prepare_anomaly_reference(frame, schema=schema, config=AnomalyConfig())
    report = prediction_anomalies(
        ref, frame, schema=schema, config=AnomalyConfig(), window_start=START
    )
    names = [m.metric for m in report.metrics]
    assert "class_collapse_share" not in names and "latency_p99_zscore" not in names
    assert "stuck_score_share" in names and ref.score_column == "yhat"


def test_bad_quantiles_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("score_quantiles: expected values in (0, 1)")):
        AnomalyConfig(score_quantiles=(0.5, 1.5))
