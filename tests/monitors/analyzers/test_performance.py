"""Performance analyzer: every number against scikit-learn called directly."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
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

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK
from monitors.analyzers.performance import (
    PerformanceConfig,
    expected_calibration_error,
    model_performance,
    performance_records,
)
from monitors.errors import SchemaError
from storage.schema import ModelSchema, infer_schema

CFG = PerformanceConfig()


def _frame(n: int, rng: np.random.Generator, **cols: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series([f"p{i}" for i in range(n)], dtype="str"),
            "ts": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "x": rng.normal(size=n),
            **cols,
        }
    )


def _binary_str(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, ModelSchema]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.4
    score = np.clip(np.where(truth, 0.65, 0.35) + rng.normal(0, 0.2, n), 0, 1)
    pred = np.where(score > 0.5, "approved", "denied")
    label = pd.Series(np.where(truth, "approved", "denied"), dtype="str")
    label[rng.random(n) < 0.3] = None
    frame = _frame(
        n,
        rng,
        pred=pd.Series(pred, dtype="str"),
        score=score,
        label=label,
        latency=rng.gamma(2.0, 20.0, n),
    )
    schema = infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        latency_ms="latency",
        positive_class="approved",
    )
    return frame, schema


def _binary_int(n: int = 300, seed: int = 1) -> tuple[pd.DataFrame, ModelSchema]:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.5).astype(int)
    score = np.clip(truth * 0.3 + rng.random(n) * 0.7, 0, 1)
    pred = (score > 0.5).astype(int)
    label = truth.astype(float)
    label[rng.random(n) < 0.2] = np.nan  # an int label column with NaN arrives as float64
    frame = _frame(n, rng, pred=pred, score=score, label=label)
    schema = infer_schema(
        frame.fillna({"label": 0.0}).astype({"label": int}),
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
    )
    return frame, schema


def _multiclass(n: int = 500, seed: int = 2) -> tuple[pd.DataFrame, ModelSchema]:
    rng = np.random.default_rng(seed)
    classes = np.array(["cat", "dog", "eel"])
    truth = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 3, n))
    label = pd.Series(classes[truth], dtype="str")
    label[rng.random(n) < 0.1] = None
    frame = _frame(n, rng, pred=pd.Series(classes[pred], dtype="str"), label=label)
    schema = infer_schema(
        frame,
        task="multiclass_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
    )
    return frame, schema


def _regression(n: int = 300, seed: int = 3) -> tuple[pd.DataFrame, ModelSchema]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(50, 10, n)
    pred = truth + rng.normal(0, 5, n)
    label = truth.copy()
    label[rng.random(n) < 0.25] = np.nan
    frame = _frame(n, rng, pred=pred, label=label, latency=rng.integers(1, 200, n))
    schema = infer_schema(
        frame,
        task="regression",
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
        latency_ms="latency",
    )
    return frame, schema


def _value(report: object, metric: str) -> float | None:
    return report.get(metric).value  # type: ignore[attr-defined, no-any-return]


# -- classification ------------------------------------------------------------------------


def test_binary_string_labels_match_sklearn() -> None:
    frame, schema = _binary_str()
    report = model_performance(frame, schema=schema, config=CFG)
    lab = frame[frame["label"].notna()]
    y, p, s = lab["label"].tolist(), lab["pred"].tolist(), lab["score"].to_numpy()
    yb = np.array([v == "approved" for v in y], dtype=int)

    assert _value(report, "label_coverage") == pytest.approx(len(lab) / len(frame))
    assert report.get("label_coverage").details == {"labelled": len(lab), "rows": len(frame)}
    assert _value(report, "accuracy") == pytest.approx(accuracy_score(y, p))
    assert _value(report, "precision") == pytest.approx(precision_score(y, p, pos_label="approved"))
    assert _value(report, "recall") == pytest.approx(recall_score(y, p, pos_label="approved"))
    assert _value(report, "f1") == pytest.approx(f1_score(y, p, pos_label="approved"))
    assert _value(report, "roc_auc") == pytest.approx(roc_auc_score(yb, s))
    assert _value(report, "log_loss") == pytest.approx(log_loss(yb, s))
    assert _value(report, "brier_score") == pytest.approx(brier_score_loss(yb, s))
    cm = report.get("confusion_matrix")
    assert cm.details["classes"] == ["approved", "denied"]
    assert cm.details["matrix"] == confusion_matrix(y, p, labels=["approved", "denied"]).tolist()
    assert cm.value == len(lab)
    assert all(m.status == OK for m in report.metrics)


def test_binary_int_labels_with_nan_match_sklearn() -> None:
    frame, schema = _binary_int()
    report = model_performance(frame, schema=schema, config=CFG)
    lab = frame[frame["label"].notna()]
    y, p, s = lab["label"].astype(int).to_numpy(), lab["pred"].to_numpy(), lab["score"].to_numpy()
    assert schema.positive_class == 1
    assert _value(report, "accuracy") == pytest.approx(accuracy_score(y, p))
    assert _value(report, "precision") == pytest.approx(precision_score(y, p))
    assert _value(report, "recall") == pytest.approx(recall_score(y, p))
    assert _value(report, "f1") == pytest.approx(f1_score(y, p))
    assert _value(report, "roc_auc") == pytest.approx(roc_auc_score(y, s))
    assert _value(report, "log_loss") == pytest.approx(log_loss(y, s))
    assert _value(report, "brier_score") == pytest.approx(brier_score_loss(y, s))
    assert (
        report.get("confusion_matrix").details["matrix"]
        == confusion_matrix(y, p, labels=[0, 1]).tolist()
    )


@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_multiclass_matches_sklearn(average: str) -> None:
    frame, schema = _multiclass()
    report = model_performance(
        frame,
        schema=schema,
        config=PerformanceConfig(multiclass_average=average),  # type: ignore[arg-type]
    )
    lab = frame[frame["label"].notna()]
    y, p = lab["label"].tolist(), lab["pred"].tolist()
    assert _value(report, "accuracy") == pytest.approx(accuracy_score(y, p))
    for name, fn in [("precision", precision_score), ("recall", recall_score), ("f1", f1_score)]:
        assert _value(report, name) == pytest.approx(fn(y, p, average=average)), name
    assert (
        report.get("confusion_matrix").details["matrix"]
        == confusion_matrix(y, p, labels=["cat", "dog", "eel"]).tolist()
    )
    # no class probabilities are logged for multiclass models
    for name in ("roc_auc", "log_loss", "brier_score", "expected_calibration_error"):
        assert name not in report.names


def test_multiclass_class_missing_from_predictions_counts_as_zero_precision() -> None:
    frame, schema = _multiclass(n=200)
    frame = frame.assign(pred=frame["pred"].replace("eel", "dog"))
    report = model_performance(frame, schema=schema, config=CFG)
    lab = frame[frame["label"].notna()]
    y, p = lab["label"].tolist(), lab["pred"].tolist()
    assert _value(report, "precision") == pytest.approx(
        precision_score(y, p, average="macro", zero_division=0.0)
    )


def test_expected_calibration_error_matches_calibration_curve_bins() -> None:
    frame, schema = _binary_str(n=2000, seed=5)
    report = model_performance(frame, schema=schema, config=CFG)
    lab = frame[frame["label"].notna()]
    y = (lab["label"] == "approved").to_numpy().astype(int)
    s = lab["score"].to_numpy()
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="uniform")
    curve = report.get("expected_calibration_error").details["curve"]
    assert [c["fraction_positive"] for c in curve] == pytest.approx(prob_true.tolist())
    assert [c["mean_predicted"] for c in curve] == pytest.approx(prob_pred.tolist())
    # direct formula, bins as in calibration_curve: (lo, hi], the first one [0, hi]
    edges = np.linspace(0, 1, 11)
    expected = 0.0
    for i in range(10):
        mask = (s > edges[i]) & (s <= edges[i + 1]) if i else (s <= edges[1])
        if mask.any():
            expected += mask.mean() * abs(y[mask].mean() - s[mask].mean())
    assert _value(report, "expected_calibration_error") == pytest.approx(expected)
    assert sum(c["count"] for c in curve) == len(y)


def test_expected_calibration_error_values_on_bin_edges_follow_calibration_curve() -> None:
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 1])
    s = np.array([0.0, 0.1, 0.2, 0.2, 0.5, 0.5, 0.6, 0.9, 1.0, 1.0])
    prob_true, prob_pred = calibration_curve(y, s, n_bins=5, strategy="uniform")
    ece, curve = expected_calibration_error(y, s, n_bins=5)
    assert [c["fraction_positive"] for c in curve] == pytest.approx(prob_true.tolist())
    assert [c["mean_predicted"] for c in curve] == pytest.approx(prob_pred.tolist())
    # edges 0, .2, .4, .6, .8, 1; a value on an inner edge falls in the lower bin
    assert [c["count"] for c in curve] == [4, 3, 3]
    assert [c["bin_low"] for c in curve] == pytest.approx([0.0, 0.4, 0.8])
    expected = (4 * abs(2 / 4 - 0.5 / 4) + 3 * abs(2 / 3 - 1.6 / 3) + 3 * abs(2 / 3 - 2.9 / 3)) / 10
    assert ece == pytest.approx(expected)


def test_expected_calibration_error_rejects_probabilities_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=re.escape("probabilities must be in [0, 1]")):
        expected_calibration_error(np.array([0, 1]), np.array([0.2, 1.5]))


def test_single_class_window_gives_none_with_reason() -> None:
    frame, schema = _binary_str(n=100)
    frame = frame.assign(label=frame["label"].where(frame["label"].isna(), "denied"))
    frame = frame.assign(pred=pd.Series(["denied"] * len(frame), dtype="str"))
    report = model_performance(frame, schema=schema, config=PerformanceConfig(min_labelled=1))
    roc = report.get("roc_auc")
    assert roc.value is None
    assert roc.status == INSUFFICIENT_DATA
    assert "only one class" in roc.details["reason"]
    assert report.get("precision").value is None
    assert report.get("precision").details["reason"] == "undefined: no predicted positives"
    assert _value(report, "accuracy") == 1.0
    lab = frame[frame["label"].notna()]
    assert _value(report, "log_loss") == pytest.approx(
        log_loss(np.zeros(len(lab), dtype=int), lab["score"].to_numpy(), labels=[0, 1])
    )


def test_below_min_labelled_is_insufficient_but_computed() -> None:
    frame, schema = _binary_str(n=40)
    labelled = int(frame["label"].notna().sum())
    report = model_performance(
        frame, schema=schema, config=PerformanceConfig(min_labelled=labelled + 1)
    )
    acc = report.get("accuracy")
    lab = frame[frame["label"].notna()]
    assert acc.status == INSUFFICIENT_DATA
    assert acc.value == pytest.approx(accuracy_score(lab["label"].tolist(), lab["pred"].tolist()))
    assert acc.details["min_labelled"] == labelled + 1
    assert report.get("label_coverage").status == OK


# -- thresholds and config -----------------------------------------------------------------


def test_threshold_directions() -> None:
    frame, schema = _binary_str()
    base = model_performance(frame, schema=schema, config=CFG)
    acc, ll = _value(base, "accuracy"), _value(base, "log_loss")
    assert acc is not None and ll is not None
    worse = PerformanceConfig(thresholds={"accuracy": acc + 0.01, "log_loss": ll - 0.01})
    better = PerformanceConfig(thresholds={"accuracy": acc - 0.01, "log_loss": ll + 0.01})
    r_worse = model_performance(frame, schema=schema, config=worse)
    r_better = model_performance(frame, schema=schema, config=better)
    assert r_worse.get("accuracy").status == BREACH
    assert r_worse.get("log_loss").status == BREACH
    assert r_worse.get("accuracy").threshold == acc + 0.01
    assert r_better.get("accuracy").status == OK
    assert r_better.get("log_loss").status == OK
    assert r_worse.get("accuracy").direction == "higher_is_better"
    assert r_worse.get("log_loss").direction == "lower_is_better"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"acuracy": 0.9}}, "thresholds: unknown metric 'acuracy'"),
        ({"thresholds": {"mae": math.inf}}, "thresholds['mae']: expected a finite number"),
        ({"min_labeled": 10}, "min_labeled"),
        ({"calibration_bins": 1}, "calibration_bins"),
    ],
)
def test_bad_config_names_the_key(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        PerformanceConfig(**kwargs)  # type: ignore[arg-type]


# -- regression and latency ----------------------------------------------------------------


def test_regression_matches_sklearn() -> None:
    frame, schema = _regression()
    report = model_performance(frame, schema=schema, config=CFG)
    lab = frame[frame["label"].notna()]
    y, p = lab["label"].to_numpy(), lab["pred"].to_numpy()
    assert _value(report, "mae") == pytest.approx(mean_absolute_error(y, p))
    assert _value(report, "rmse") == pytest.approx(root_mean_squared_error(y, p))
    assert _value(report, "r2") == pytest.approx(r2_score(y, p))
    assert _value(report, "mape") == pytest.approx(mean_absolute_percentage_error(y, p))
    assert report.get("mae").n == len(lab)


def test_latency_percentiles_on_all_rows() -> None:
    frame, schema = _regression()
    report = model_performance(frame, schema=schema, config=CFG)
    lat = frame["latency"].to_numpy()
    for q in (50, 95, 99):
        m = report.get(f"latency_p{q}")
        assert m.value == pytest.approx(np.percentile(lat, q))
        assert m.n == len(frame)
        assert m.details["unit"] == "ms"
    breach = model_performance(
        frame, schema=schema, config=PerformanceConfig(thresholds={"latency_p99": 1.0})
    )
    assert breach.get("latency_p99").status == BREACH


# -- edge cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("build", [_binary_str, _binary_int, _multiclass, _regression])
def test_empty_window_is_insufficient_and_does_not_crash(build: object) -> None:
    frame, schema = build()  # type: ignore[operator]
    report = model_performance(frame.iloc[:0], schema=schema, config=CFG)
    assert report.n_rows == 0
    assert report.metrics
    for m in report.metrics:
        assert m.status == INSUFFICIENT_DATA, m.metric
    assert report.get("label_coverage").value is None


def test_window_without_labels() -> None:
    frame, schema = _binary_str(n=50)
    frame = frame.assign(label=pd.Series([None] * len(frame), dtype="str"))
    report = model_performance(frame, schema=schema, config=CFG)
    assert _value(report, "label_coverage") == 0.0
    assert report.get("accuracy").status == INSUFFICIENT_DATA
    assert report.get("roc_auc").value is None


def test_missing_prediction_column_is_an_error() -> None:
    frame, schema = _regression(n=10)
    with pytest.raises(SchemaError, match=re.escape("window data has no prediction column 'pred'")):
        model_performance(frame.drop(columns=["pred"]), schema=schema, config=CFG)


def test_records_are_json_serialisable_and_complete() -> None:
    frame, schema = _binary_str()
    report = model_performance(frame, schema=schema, config=PerformanceConfig(min_labelled=1))
    records = performance_records(report)
    assert [r.metric for r in records] == report.names
    for r in records:
        assert r.analyzer == "performance"
        assert r.feature is None and r.group is None
        json.dumps(r.details, allow_nan=False)
    names = set(report.names)
    assert {
        "label_coverage",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "brier_score",
        "expected_calibration_error",
        "confusion_matrix",
        "latency_p50",
        "latency_p95",
        "latency_p99",
    } <= names


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), build=st.sampled_from([_binary_str, _multiclass, _regression])
)
def test_row_order_does_not_change_metrics(seed: int, build: object) -> None:
    frame, schema = build(n=120)  # type: ignore[operator]
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(seed))
    a = model_performance(frame, schema=schema, config=CFG)
    b = model_performance(shuffled, schema=schema, config=CFG)
    assert a.names == b.names
    for ma, mb in zip(a.metrics, b.metrics, strict=True):
        if ma.value is None:
            assert mb.value is None
        else:
            assert mb.value == pytest.approx(ma.value, rel=1e-9, abs=1e-12), ma.metric
        assert ma.status == mb.status
