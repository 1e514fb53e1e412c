"""Every analyzer on rows and on the summary of the same rows.

Exact metrics are identical (or equal to floating-point summation order, 1e-9 relative,
where the executor keeps sums); approximate ones lie within their stated bound and the
exact value lies inside the reported ``bounds``; verdicts are identical on unshifted and
shifted windows. The summaries use a 500-row sample so that the binned path runs (a
window that fits in its sample is analysed on its rows).
"""

from __future__ import annotations

import math

import pytest
from _data import binary_log, binary_schema, regression_log, regression_schema

from monitors.analyzers import drift, fairness, performance, quality
from monitors.analyzers._from_summary import (
    column_drift_from_summary,
    data_quality_from_summary,
    group_fairness_from_summary,
    model_performance_from_summary,
)
from monitors.summaries.memory import summarize_frame
from monitors.summaries.sample import sample_frame
from monitors.summaries.spec import SummaryConfig, build_spec

EXACT_DRIFT = {"psi", "jensenshannon", "kl", "chi2", "z_test", "tvd"}
SUMMED = {"log_loss", "brier_score", "expected_calibration_error", "mae", "rmse", "r2", "mape"}


@pytest.fixture(scope="module")
def binary() -> tuple:
    reference = binary_log(20_000, seed=1)
    schema = binary_schema(reference)
    config = drift.DriftConfig()
    spec = build_spec(
        reference,
        schema=schema,
        reference_version=1,
        drift=config,
        config=SummaryConfig(sample_size=500),
    )
    return reference, schema, spec


@pytest.fixture(scope="module", params=[0.0, 0.4], ids=["no_shift", "shift"])
def window(request: pytest.FixtureRequest, binary) -> tuple:
    _, _, spec = binary
    rows = binary_log(30_000, seed=2, shift=request.param)
    return rows, summarize_frame(rows, spec)


def test_drift_exact_metrics_identical_approximate_within_bounds(binary, window) -> None:
    reference, schema, spec = binary
    rows, summary = window
    config = drift.DriftConfig()
    profile = drift.prepare_reference(reference, schema=schema, config=config)
    by_rows = drift.column_drift(profile, rows, schema=schema, config=config)
    sample = sample_frame(summary.sample, spec)
    by_summary = column_drift_from_summary(
        profile, summary, spec, schema=schema, config=config, sample=sample
    )
    assert by_summary.drifted_columns == by_rows.drifted_columns
    assert by_summary.dataset_share == by_rows.dataset_share
    for a, b in zip(by_rows.columns, by_summary.columns, strict=True):
        assert (a.column, a.status, a.drifted, a.method) == (
            b.column,
            b.status,
            b.drifted,
            b.method,
        )
        assert (a.n_reference, a.n_current, a.n_missing_current) == (
            b.n_reference,
            b.n_current,
            b.n_missing_current,
        )
        for ma, mb in zip(a.metrics, b.metrics, strict=True):
            assert ma.metric == mb.metric
            if ma.metric in EXACT_DRIFT:
                assert (ma.value, ma.p_value, ma.drifted) == (mb.value, mb.p_value, mb.drifted)
            elif ma.metric == "ks" and "bounds" in mb.details:
                low, high = mb.details["bounds"]
                assert low - 1e-12 <= ma.value <= high + 1e-12
                assert high - low <= mb.details["bound"] + 1e-12  # largest window bin mass
                assert abs(ma.value - mb.value) <= mb.details["bound"]
            elif ma.metric == "wasserstein_normed" and "bounds" in mb.details:
                low, high = mb.details["bounds"]
                exact = ma.details["wasserstein"]
                assert low * (1 - 1e-9) <= exact <= high * (1 + 1e-9)
                assert abs(exact - mb.details["wasserstein"]) <= mb.details["bound"]


def test_quality_records_identical(binary, window) -> None:
    reference, schema, _ = binary
    rows, summary = window
    config = quality.QualityConfig()
    profile = quality.prepare_quality_reference(reference, schema=schema)
    by_rows = quality.data_quality(profile, rows, schema=schema, config=config)
    by_summary = data_quality_from_summary(profile, summary, schema=schema, config=config)
    assert quality.quality_records(by_summary) == quality.quality_records(by_rows)


def test_fairness_classification_identical(binary, window) -> None:
    _, schema, _ = binary
    rows, summary = window
    config = fairness.FairnessConfig()
    by_rows = fairness.group_fairness(rows, schema=schema, config=config)
    by_summary = group_fairness_from_summary(summary, schema=schema, config=config)
    assert fairness.fairness_records(by_summary) == fairness.fairness_records(by_rows)


def test_fairness_regression_values_exact_without_bootstrap() -> None:
    reference = regression_log(2_000, seed=1)
    schema = regression_schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=1, drift=drift.DriftConfig())
    rows = regression_log(20_000, seed=3, shift=1.0)
    config = fairness.FairnessConfig(n_bootstrap=0)
    by_rows = fairness.fairness_records(fairness.group_fairness(rows, schema=schema, config=config))
    by_summary = fairness.fairness_records(
        group_fairness_from_summary(summarize_frame(rows, spec), schema=schema, config=config)
    )
    for a, b in zip(by_rows, by_summary, strict=True):
        assert (a.metric, a.group, a.status, a.details) == (b.metric, b.group, b.status, b.details)
        assert a.value == pytest.approx(b.value, rel=1e-9)


def _compare_performance(by_rows, by_summary) -> None:
    for a, b in zip(by_rows.metrics, by_summary.metrics, strict=True):
        assert (a.metric, a.status, a.n) == (b.metric, b.status, b.n)
        if a.metric == "roc_auc":
            assert abs(a.value - b.value) <= b.details["bound"] + 1e-12
        elif a.metric.startswith("latency_p"):
            low, high = b.details["bounds"]
            assert low <= a.value <= high
        elif a.metric in SUMMED:
            assert b.value == pytest.approx(a.value, rel=1e-9)
            if a.metric == "expected_calibration_error":
                counts = [p["count"] for p in a.details["curve"]]
                assert counts == [p["count"] for p in b.details["curve"]]
        else:
            assert (a.value, a.details) == (b.value, b.details)


def test_performance_classification(binary, window) -> None:
    _, schema, spec = binary
    rows, summary = window
    config = performance.PerformanceConfig(thresholds={"accuracy": 0.7, "roc_auc": 0.75})
    by_rows = performance.model_performance(rows, schema=schema, config=config)
    by_summary = model_performance_from_summary(summary, spec, schema=schema, config=config)
    _compare_performance(by_rows, by_summary)
    assert by_summary.get("roc_auc").details["bound"] < 0.002


def test_performance_regression() -> None:
    reference = regression_log(2_000, seed=1)
    schema = regression_schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=1, drift=drift.DriftConfig())
    rows = regression_log(20_000, seed=3, shift=1.0)
    config = performance.PerformanceConfig()
    by_rows = performance.model_performance(rows, schema=schema, config=config)
    by_summary = model_performance_from_summary(
        summarize_frame(rows, spec), spec, schema=schema, config=config
    )
    _compare_performance(by_rows, by_summary)
    assert not math.isnan(by_summary.get("r2").value)


@pytest.mark.parametrize("case", ["empty", "columns_dropped"])
def test_empty_windows_and_absent_columns_match_the_row_path(binary, case: str) -> None:
    reference, schema, spec = binary
    rows = binary_log(0 if case == "empty" else 2_000, seed=2)
    if case == "columns_dropped":
        rows = rows.drop(columns=["x1", "cat_a"])
    summary = summarize_frame(rows, spec)
    config = drift.DriftConfig()
    profile = drift.prepare_reference(reference, schema=schema, config=config)
    by_rows = drift.drift_records(drift.column_drift(profile, rows, schema=schema, config=config))
    sample = sample_frame(summary.sample, spec)
    by_summary = drift.drift_records(
        column_drift_from_summary(
            profile, summary, spec, schema=schema, config=config, sample=sample
        )
    )
    assert [(r.metric, r.feature, r.status) for r in by_summary] == [
        (r.metric, r.feature, r.status) for r in by_rows
    ]
    q_config = quality.QualityConfig()
    q_reference = quality.prepare_quality_reference(reference, schema=schema)
    assert quality.quality_records(
        data_quality_from_summary(q_reference, summary, schema=schema, config=q_config)
    ) == quality.quality_records(
        quality.data_quality(q_reference, rows, schema=schema, config=q_config)
    )
    p_config = performance.PerformanceConfig()
    by_rows_p = performance.model_performance(rows, schema=schema, config=p_config)
    by_summary_p = model_performance_from_summary(summary, spec, schema=schema, config=p_config)
    assert [(m.metric, m.status) for m in by_summary_p.metrics] == [
        (m.metric, m.status) for m in by_rows_p.metrics
    ]
