"""Regression fairness intervals from a window summary: close to the row bootstrap, and valid.

A window analysed from its summary has no rows to resample, so its groups' mean prediction
and MAE get normal intervals from the per-group sums of squares the summary keeps
(``interval_method == "normal"``). Two claims, each tested against a known truth:

* on one large window the normal interval is the row path's percentile-bootstrap interval
  up to bootstrap noise (bounds within 15 % of the bootstrap interval's width);
* over ``W`` = 600 windows drawn from a skewed (log-normal) truth with groups of about 40,
  400 and 4,000 rows, the 95 % intervals contain the true group mean prediction and true
  group MAE in at least 93 % of windows for the groups of 400 and 4,000 rows (a correct
  95 % interval falls below 93 % with probability ~1 % at W = 600: binomial sd 0.0089).
  The 40-row group of a skewed variable is where every interval for a mean undercovers:
  measured over 3,000 windows the summary's t interval covers 92.0 % (mean prediction) and
  94.0 % (MAE), the row path's percentile bootstrap 93.0 % and 91.3 % (600 windows) — the
  same; the test holds that group to 89.5 % (2.8 sd below the measured 92 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitors.analyzers._summary_fairness import group_fairness_from_summary
from monitors.analyzers.drift import DriftConfig
from monitors.analyzers.fairness import FairnessConfig, group_fairness
from monitors.summaries.memory import summarize_frame
from monitors.summaries.spec import build_spec
from storage.schema import ModelSchema, infer_schema

START = pd.Timestamp("2024-03-01", tz="UTC")
SHARES = {"small": 0.01, "mid": 0.09, "large": 0.9}
SIGMA = 0.75  # log-normal predictions: skewed
TRUE_MEAN = float(np.exp(SIGMA**2 / 2))
NOISE = 0.5  # label = prediction + N(0, NOISE): |error| has mean NOISE * sqrt(2 / pi)
TRUE_MAE = NOISE * float(np.sqrt(2 / np.pi))


def _window(n: int, rng: np.random.Generator) -> pd.DataFrame:
    groups = rng.choice(list(SHARES), size=n, p=list(SHARES.values()))
    pred = rng.lognormal(0.0, SIGMA, n)
    return pd.DataFrame(
        {
            "id": [f"w{i}" for i in range(n)],
            "ts": START + pd.to_timedelta(rng.integers(0, 86_400_000_000, n), unit="us"),
            "x": rng.normal(0, 1, n),
            "group": pd.array(groups, dtype="str"),
            "pred": pred,
            "label": pred + rng.normal(0.0, NOISE, n),
        }
    )


def _schema(frame: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        frame,
        task="regression",
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
        sensitive=["group"],
    )


def _estimates(report, metric: str) -> dict[str, tuple[float, float, str | None]]:
    out = {}
    for g in report.groups:
        est = g.estimate(metric)
        out[g.group] = (est.ci_low, est.ci_high, est.interval_method)
    return out


@pytest.fixture(scope="module")
def spec_and_schema():
    reference = _window(5_000, np.random.default_rng(1))
    schema = _schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    return spec, schema


def test_normal_intervals_match_the_row_bootstrap(spec_and_schema) -> None:
    spec, schema = spec_and_schema
    rows = _window(40_000, np.random.default_rng(2))
    config = FairnessConfig(n_bootstrap=2_000)
    by_rows = group_fairness(rows, schema=schema, config=config)
    by_summary = group_fairness_from_summary(
        summarize_frame(rows, spec), schema=schema, config=config, spec=spec
    )
    for metric in ("mean_prediction", "mae"):
        boot, normal = _estimates(by_rows, metric), _estimates(by_summary, metric)
        assert set(boot) == set(normal)
        for group, (low, high, method) in normal.items():
            b_low, b_high, b_method = boot[group]
            assert (method, b_method) == ("normal", "percentile_bootstrap")
            width = b_high - b_low
            assert abs(low - b_low) <= 0.15 * width, (metric, group)
            assert abs(high - b_high) <= 0.15 * width, (metric, group)
    assert by_summary.n_bootstrap == by_rows.n_bootstrap


def test_no_intervals_when_n_bootstrap_is_zero(spec_and_schema) -> None:
    spec, schema = spec_and_schema
    rows = _window(5_000, np.random.default_rng(3))
    report = group_fairness_from_summary(
        summarize_frame(rows, spec), schema=schema, config=FairnessConfig(n_bootstrap=0), spec=spec
    )
    for g in report.groups:
        est = g.estimate("mean_prediction")
        assert (est.ci_low, est.ci_high, est.interval_method) == (None, None, None)


def test_normal_interval_coverage(spec_and_schema) -> None:
    spec, schema = spec_and_schema
    rng = np.random.default_rng(4)
    config = FairnessConfig(n_bootstrap=1_000)
    windows = 600
    hits = {(m, g): 0 for m in ("mean_prediction", "mae") for g in SHARES}
    for _ in range(windows):
        report = group_fairness_from_summary(
            summarize_frame(_window(4_400, rng), spec), schema=schema, config=config, spec=spec
        )
        for metric, truth in (("mean_prediction", TRUE_MEAN), ("mae", TRUE_MAE)):
            for group, (low, high, _) in _estimates(report, metric).items():
                name = group.split("=", 1)[1]
                hits[(metric, name)] += int(low <= truth <= high)
    coverage = {k: v / windows for k, v in hits.items()}
    print("coverage", coverage)
    assert min(v for (_, g), v in coverage.items() if g != "small") >= 0.93, coverage
    assert min(v for (_, g), v in coverage.items() if g == "small") >= 0.895, coverage


def test_large_predictions_keep_their_interval(spec_and_schema) -> None:
    # predictions near 1e9 with a spread of ~1: raw sums of squares would cancel to noise
    _, schema = spec_and_schema
    rng = np.random.default_rng(5)
    reference, rows = _window(5_000, rng), _window(20_000, rng)
    for frame in (reference, rows):
        frame["pred"] = frame["pred"] + 1e9
        frame["label"] = frame["label"] + 1e9
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    config = FairnessConfig(n_bootstrap=1_000)
    by_rows = group_fairness(rows, schema=schema, config=config)
    by_summary = group_fairness_from_summary(
        summarize_frame(rows, spec), schema=schema, config=config, spec=spec
    )
    boot, normal = _estimates(by_rows, "mean_prediction"), _estimates(by_summary, "mean_prediction")
    for group, (low, high, _) in normal.items():
        b_low, b_high, _ = boot[group]
        width = b_high - b_low
        assert 0 < width < 1  # sd ~1: the interval is a fraction of one
        assert abs((high - low) - width) <= 0.2 * width, group


def test_without_the_spec_a_regression_summary_has_no_intervals(spec_and_schema) -> None:
    spec, schema = spec_and_schema
    rows = _window(5_000, np.random.default_rng(6))
    report = group_fairness_from_summary(
        summarize_frame(rows, spec), schema=schema, config=FairnessConfig(n_bootstrap=100)
    )
    est = report.groups[0].estimate("mean_prediction")
    assert (est.ci_low, est.ci_high, est.interval_method) == (None, None, None)
