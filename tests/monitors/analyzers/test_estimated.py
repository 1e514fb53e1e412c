"""Performance estimation without labels (CBPE, DLE): every formula against a direct
computation or scikit-learn, estimates against the truth on data whose probabilities
(or noise) are known."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pydantic
import pytest
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, STATUSES
from monitors.analyzers.estimated import (
    ANALYZER,
    CBPE_METRICS,
    DLE_METRICS,
    Calibration,
    CBPEModel,
    EstimatedConfig,
    cm_metrics,
    estimate_performance,
    estimated_records,
    estimation_unavailable,
    expected_confusion_matrix,
    expected_roc_auc,
    fit_cbpe,
    fit_dle,
    fit_estimator,
)
from monitors.analyzers.estimated._calibration import ece
from monitors.analyzers.estimated._metrics import chunk_roc_auc, realized_confusion_matrices
from monitors.errors import SchemaError
from storage.schema import ModelSchema, infer_schema

CLASSES = np.array(["a", "b", "c"])
PROBS = ["p_a", "p_b", "p_c"]
DLE_CONFIG = EstimatedConfig(dle_max_iter=40)
MC_CONFIG = EstimatedConfig(class_probability_columns=dict(zip(CLASSES, PROBS, strict=True)))


def _base(n: int) -> dict[str, object]:
    return {
        "id": pd.Series([f"r{i}" for i in range(n)], dtype="str"),
        "ts": pd.date_range("2024-01-01", periods=n, freq="s", tz="UTC"),
    }


def binary(
    n: int, *, seed: int, shift: float = 0.0, power: float = 1.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Labels ~ Bernoulli(p(x)); the logged score is ``p ** power`` (1 = calibrated)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    p = 1.0 / (1.0 + np.exp(-(0.3 + 1.8 * x)))
    score = p**power
    frame = pd.DataFrame(
        {
            **_base(n),
            "x": x,
            "pred": np.where(score > 0.5, "yes", "no"),
            "score": score,
            "label": np.where(rng.random(n) < p, "yes", "no"),
        }
    )
    return frame, p


def binary_schema(frame: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        positive_class="yes",
    )


def multiclass(n: int, *, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three classes from a softmax of two features; the logged probabilities are true."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)
    logits = 1.5 * np.stack([x1, x2, 0.3 - x1 - x2], axis=1)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    label = (rng.random(n)[:, None] > prob.cumsum(axis=1)).sum(axis=1)
    frame = pd.DataFrame(
        {
            **_base(n),
            "x1": x1,
            "x2": x2,
            **{name: prob[:, j] for j, name in enumerate(PROBS)},
            "pred": CLASSES[prob.argmax(axis=1)],
            "label": CLASSES[label],
        }
    )
    return frame, prob


def multiclass_schema(frame: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        frame,
        task="multiclass_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
    )


def regression(n: int, *, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """``y = 2x + e``, ``e ~ N(0, sigma(x, c))`` with known, feature-dependent sigma."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    c = rng.choice(np.array(["u", "v", "w"]), n)
    sigma = 0.5 + np.abs(x) + (c == "w")
    frame = pd.DataFrame(
        {**_base(n), "x": x, "c": c, "y_hat": 2.0 * x, "y": 2.0 * x + rng.normal(0.0, sigma)}
    )
    return frame, sigma


def regression_schema(frame: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        frame, task="regression", id="id", timestamp="ts", prediction="y_hat", label="y"
    )


@pytest.fixture(scope="module")
def cbpe_binary() -> CBPEModel:
    ref, _ = binary(20_000, seed=1, power=0.6)
    return fit_cbpe(ref, schema=binary_schema(ref), config=EstimatedConfig())


@pytest.fixture(scope="module")
def cbpe_multiclass() -> CBPEModel:
    ref, _ = multiclass(20_000, seed=2)
    return fit_cbpe(ref, schema=multiclass_schema(ref), config=MC_CONFIG)


# -- formulas ------------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_expected_confusion_matrix_equals_direct_sum(n_classes: int) -> None:
    rng = np.random.default_rng(n_classes)
    prob = rng.dirichlet(np.ones(n_classes), 500)
    pred = rng.integers(0, n_classes, 500)
    direct = np.zeros((n_classes, n_classes))
    for i in range(500):
        for c in range(n_classes):
            direct[c, pred[i]] += prob[i, c]
    np.testing.assert_allclose(expected_confusion_matrix(prob, pred, n_classes), direct)
    assert expected_confusion_matrix(prob, pred, n_classes).sum() == pytest.approx(500)


def test_binary_estimate_uses_the_expected_confusion_matrix(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(3_000, seed=7, shift=0.4, power=0.6)
    result = estimate_performance(cbpe_binary, cur)
    p = cbpe_binary.calibration.apply(cur[["score"]].to_numpy())[:, 0]
    yes = (cur["pred"] == "yes").to_numpy()
    tp, fp = p[yes].sum(), (1 - p[yes]).sum()
    fn, tn = p[~yes].sum(), (1 - p[~yes]).sum()
    assert result.classes == ("no", "yes")
    np.testing.assert_allclose(result.confusion_matrix, [[tn, fp], [fn, tp]])
    expected = {
        "estimated_accuracy": (tp + tn) / len(cur),
        "estimated_precision": tp / (tp + fp),
        "estimated_recall": tp / (tp + fn),
        "estimated_f1": 2 * tp / (2 * tp + fp + fn),
        "estimated_specificity": tn / (tn + fp),
    }
    for name, value in expected.items():
        assert result.get(name).value == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_cm_metrics_of_a_realized_matrix_match_sklearn(n_classes: int) -> None:
    rng = np.random.default_rng(10 + n_classes)
    truth = rng.integers(0, n_classes, 300)
    pred = np.where(rng.random(300) < 0.7, truth, rng.integers(0, n_classes, 300))
    if n_classes > 2:  # a class absent from labels and predictions is left out, as sklearn does
        truth[truth == n_classes - 1] = 0
        pred[pred == n_classes - 1] = 1
    cm = confusion_matrix(truth, pred, labels=list(range(n_classes)))
    chunked = realized_confusion_matrices(
        np.stack([truth, pred]), np.stack([pred, truth]), n_classes
    )
    np.testing.assert_array_equal(chunked, [cm, cm.T])
    got = cm_metrics(cm, positive=1 if n_classes == 2 else None)
    kw: dict[str, object] = {"average": "binary"} if n_classes == 2 else {"average": "macro"}
    assert got["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert got["precision"] == pytest.approx(precision_score(truth, pred, zero_division=0, **kw))
    assert got["recall"] == pytest.approx(recall_score(truth, pred, zero_division=0, **kw))
    assert got["f1"] == pytest.approx(f1_score(truth, pred, zero_division=0, **kw))
    if n_classes == 2:
        assert got["specificity"] == pytest.approx(recall_score(truth, pred, pos_label=0))


def test_expected_roc_auc_with_certain_probabilities_is_the_realized_auc() -> None:
    """If P is the label itself, the expected rates are the realized rates (ties too)."""
    rng = np.random.default_rng(4)
    score = np.round(rng.random(2_000), 2)  # many ties
    label = (rng.random(2_000) < score).astype(float)
    assert expected_roc_auc(score, label) == pytest.approx(roc_auc_score(label, score), abs=1e-12)


def test_expected_roc_auc_is_nannymls_formula_without_ties() -> None:
    """NannyML 0.13 ``estimate_roc_auc``, transcribed, on untied scores."""
    rng = np.random.default_rng(5)
    raw = rng.random(1_000)
    prob = np.clip(raw + rng.normal(0, 0.05, 1_000), 0, 1)
    order = np.argsort(raw)[::-1]
    tps = np.r_[0, np.cumsum(prob[order])]
    fps = np.r_[0, 1 + np.arange(1_000) - np.cumsum(prob[order])]
    x, y = fps / fps[-1], tps / tps[-1]
    reference = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    assert expected_roc_auc(raw, prob) == pytest.approx(reference, abs=1e-12)


def test_chunk_roc_auc_matches_sklearn_and_is_nan_for_one_class() -> None:
    rng = np.random.default_rng(6)
    raw = np.round(rng.random((5, 200)), 1)
    positive = rng.random((5, 200)) < raw
    positive[4] = False
    got = chunk_roc_auc(raw, positive)
    for k in range(4):
        assert got[k] == pytest.approx(roc_auc_score(positive[k], raw[k]), abs=1e-12)
    assert math.isnan(got[4])


# -- calibration ---------------------------------------------------------------------------


def test_isotonic_curve_matches_sklearn_predict(cbpe_binary: CBPEModel) -> None:
    ref, _ = binary(20_000, seed=1, power=0.6)
    reg = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    reg.fit(ref["score"], (ref["label"] == "yes").astype(float))
    grid = np.r_[np.linspace(-0.1, 1.1, 2_001), ref["score"].to_numpy()[:500]]
    curve = cbpe_binary.calibration.per_class[0].curve
    assert curve is not None
    np.testing.assert_allclose(curve.apply(grid), reg.predict(grid), atol=1e-12)


def test_calibration_round_trips_through_json(cbpe_binary: CBPEModel) -> None:
    text = json.dumps(cbpe_binary.calibration.to_dict())
    stored = Calibration.from_dict(json.loads(text))
    assert stored == cbpe_binary.calibration
    ref, _ = binary(20_000, seed=1, power=0.6)
    again = fit_cbpe(ref, schema=binary_schema(ref), config=EstimatedConfig(), calibration=stored)
    cur, _ = binary(2_000, seed=8, power=0.6)
    a, b = estimate_performance(cbpe_binary, cur), estimate_performance(again, cur)
    assert [m.value for m in a.metrics] == [m.value for m in b.metrics]


@pytest.mark.parametrize(
    ("power", "mode", "calibrated"),
    [(1.0, "auto", False), (0.6, "auto", True), (1.0, "isotonic", True), (0.6, "none", False)],
)
def test_calibration_decision(power: float, mode: str, calibrated: bool) -> None:
    ref, _ = binary(50_000, seed=9, power=power)
    config = EstimatedConfig(calibration=mode)  # type: ignore[arg-type]
    model = fit_cbpe(ref, schema=binary_schema(ref), config=config)
    assert model.calibration.calibrated is calibrated
    raw_ece = ece((ref["label"] == "yes").to_numpy(float), ref["score"].to_numpy(), bins=10)
    assert model.calibration.reference_ece == pytest.approx(raw_ece)
    if mode == "none" and power != 1.0:
        assert model.calibration.warning is not None
        assert "poor calibration" in model.calibration.warning
    else:
        assert model.calibration.warning is None


def test_multiclass_calibration_rows_sum_to_one() -> None:
    ref, _ = multiclass(5_000, seed=11)
    ref[PROBS] = ref[PROBS] ** 0.5  # miscalibrated, rows no longer sum to 1
    model = fit_cbpe(ref, schema=multiclass_schema(ref), config=MC_CONFIG)
    assert model.calibration.calibrated
    prob = model.calibration.apply(ref[PROBS].to_numpy())
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)


# -- estimates against the truth -----------------------------------------------------------


def _realized(cur: pd.DataFrame, *, multiclass: bool) -> dict[str, float]:
    """Realized metrics of a labelled window, with scikit-learn."""
    y, yhat = cur["label"], cur["pred"]
    kw: dict[str, object] = (
        {"average": "macro", "zero_division": 0} if multiclass else {"pos_label": "yes"}
    )
    out = {
        "estimated_accuracy": accuracy_score(y, yhat),
        "estimated_precision": precision_score(y, yhat, **kw),
        "estimated_recall": recall_score(y, yhat, **kw),
        "estimated_f1": f1_score(y, yhat, **kw),
    }
    if multiclass:
        out["estimated_roc_auc"] = roc_auc_score(y, cur[PROBS].to_numpy(), multi_class="ovr")
    else:
        out["estimated_specificity"] = recall_score(y, yhat, pos_label="no")
        out["estimated_roc_auc"] = roc_auc_score(y == "yes", cur["score"])
    return out


def _simulated_realized(prob: np.ndarray, pred: np.ndarray, raw: np.ndarray, *, binary: bool):
    """Realized metrics over 1,000 label draws from the true probabilities ``(n, C)``."""
    rng = np.random.default_rng(99)
    n, n_classes = prob.shape
    labels = (rng.random((1_000, n))[:, :, None] > prob.cumsum(axis=1)[None]).sum(axis=2)
    labels = np.minimum(labels, n_classes - 1)
    cms = realized_confusion_matrices(labels, np.broadcast_to(pred, labels.shape), n_classes)
    out = {f"estimated_{k}": v for k, v in cm_metrics(cms, positive=1 if binary else None).items()}
    aucs = []
    for c in [1] if binary else range(n_classes):
        ranks = rankdata(raw[:, 0 if binary else c])
        pos = labels == c
        n_pos = pos.sum(axis=1)
        u = (pos * ranks).sum(axis=1) - n_pos * (n_pos + 1) / 2
        aucs.append(u / (n_pos * (n - n_pos)))
    out["estimated_roc_auc"] = np.mean(aucs, axis=0)
    return out


@pytest.mark.parametrize("shift", [0.0, 0.8, -0.8])
def test_binary_estimates_within_sampling_error_of_realized(
    cbpe_binary: CBPEModel, shift: float
) -> None:
    """Labels ~ Bernoulli(p) with p known: the estimate is within 4 sd of the realized
    metric, sd being the spread of the realized metric over label draws given the
    window's inputs; and its bias against the mean over draws is under 2 sd (the
    isotonic curve fitted on 20,000 reference rows is itself off by up to ~0.007)."""
    cur, p = binary(4_000, seed=20, shift=shift, power=0.6)
    result = estimate_performance(cbpe_binary, cur)
    realized = _realized(cur, multiclass=False)
    prob = np.stack([1 - p, p], axis=1)
    pred = (cur["pred"] == "yes").to_numpy().astype(int)
    draws = _simulated_realized(prob, pred, cur[["score"]].to_numpy(), binary=True)
    for name, value in realized.items():
        estimate, sd = result.get(name).value, float(np.std(draws[name]))
        assert estimate is not None
        assert abs(estimate - value) <= 4 * sd, (name, estimate, value, sd)
        assert abs(estimate - float(np.mean(draws[name]))) <= 2 * sd, (name, estimate, sd)


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_multiclass_estimates_within_sampling_error_of_realized(
    cbpe_multiclass: CBPEModel, shift: float
) -> None:
    cur, prob = multiclass(4_000, seed=21, shift=shift)
    result = estimate_performance(cbpe_multiclass, cur)
    realized = _realized(cur, multiclass=True)
    pred = pd.Index(CLASSES).get_indexer(cur["pred"])
    draws = _simulated_realized(prob, pred, cur[PROBS].to_numpy(), binary=False)
    for name, value in realized.items():
        estimate, sd = result.get(name).value, float(np.std(draws[name]))
        assert estimate is not None
        assert abs(estimate - value) <= 4 * sd, (name, estimate, value, sd)
        assert abs(estimate - float(np.mean(draws[name]))) <= 2 * sd, (name, estimate, sd)
    # expected accuracy with the true probabilities is exactly mean P(predicted class)
    truth = prob[np.arange(len(cur)), prob.argmax(axis=1)].mean()
    assert result.get("estimated_accuracy").value == pytest.approx(truth, abs=0.005)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_band_holds_the_realized_metric_on_a_reference_like_window(
    cbpe_binary: CBPEModel, cbpe_multiclass: CBPEModel, kind: str
) -> None:
    if kind == "binary":
        cur, _ = binary(3_000, seed=22, power=0.6)
        result = estimate_performance(cbpe_binary, cur)
    else:
        cur, _ = multiclass(3_000, seed=23)
        result = estimate_performance(cbpe_multiclass, cur)
    realized = _realized(cur, multiclass=kind == "multiclass")
    for name, value in realized.items():
        m = result.get(name)
        assert m.ci_low is not None and m.ci_high is not None
        assert m.ci_low <= value <= m.ci_high, (name, value, m)


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_dle_estimates_track_known_noise(shift: float) -> None:
    ref, _ = regression(10_000, seed=30)
    model = fit_dle(ref, schema=regression_schema(ref), config=DLE_CONFIG)
    cur, sigma = regression(5_000, seed=31, shift=shift)
    result = estimate_performance(model, cur)
    mae, rmse = result.get("estimated_mae"), result.get("estimated_rmse")
    # E|e| = sigma * sqrt(2 / pi), E[e^2] = sigma^2 for e ~ N(0, sigma)
    assert mae.value == pytest.approx(np.mean(sigma) * math.sqrt(2 / math.pi), rel=0.05)
    assert rmse.value == pytest.approx(math.sqrt(np.mean(sigma**2)), rel=0.05)
    for m, value in [
        (mae, mean_absolute_error(cur["y"], cur["y_hat"])),
        (rmse, root_mean_squared_error(cur["y"], cur["y_hat"])),
    ]:
        assert m.ci_low is not None and m.ci_high is not None
        assert m.ci_low <= value <= m.ci_high
    assert result.method == "dle" and not result.calibrated


def test_dle_is_deterministic() -> None:
    ref, _ = regression(3_000, seed=32)
    cur, _ = regression(1_000, seed=33, shift=0.5)
    a, b = (
        estimate_performance(fit_dle(ref, schema=regression_schema(ref), config=DLE_CONFIG), cur)
        for _ in range(2)
    )
    assert a == b


def test_labels_in_the_window_are_not_read(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(1_000, seed=40)
    blank = cur.drop(columns=["label"])
    assert estimate_performance(cbpe_binary, cur) == estimate_performance(cbpe_binary, blank)


# -- band, thresholds and status -----------------------------------------------------------


def test_band_and_thresholds_follow_the_reference_chunks(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(1_000, seed=41, power=0.6)
    m = estimate_performance(cbpe_binary, cur).get("estimated_accuracy")
    assert m.sampling_error is not None and m.value is not None
    assert m.ci_low == pytest.approx(m.value - 3 * m.sampling_error)
    mean = m.details["reference_chunk_mean"]
    assert m.lower_threshold == pytest.approx(mean - 3 * m.sampling_error)
    assert m.upper_threshold == pytest.approx(mean + 3 * m.sampling_error)
    assert m.details["reference_chunks"] == 100 and m.details["reference_chunk_size"] == 1_000
    # binomial standard error of the accuracy at n = 1000, within the chunk estimate's noise
    acc = mean
    assert m.sampling_error == pytest.approx(math.sqrt(acc * (1 - acc) / 1_000), rel=0.25)


def test_large_window_rescales_smaller_chunks(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(10_000, seed=42, power=0.6)
    m = estimate_performance(cbpe_binary, cur).get("estimated_accuracy")
    assert m.details["reference_chunk_size"] == 2_000 and m.details["sd_rescaled"]
    small = estimate_performance(cbpe_binary, cur.iloc[:2_000]).get("estimated_accuracy")
    assert small.sampling_error is not None and m.sampling_error is not None
    assert m.sampling_error == pytest.approx(small.sampling_error * math.sqrt(2_000 / 10_000))


def test_status_breach_outside_thresholds_and_config_override(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(2_000, seed=43, shift=1.5, power=0.6)
    assert estimate_performance(cbpe_binary, cur).get("estimated_accuracy").status == BREACH
    config = EstimatedConfig(thresholds={"estimated_accuracy": {"lower": 0.5}})
    ref, _ = binary(20_000, seed=1, power=0.6)
    model = fit_cbpe(ref, schema=binary_schema(ref), config=config)
    m = estimate_performance(model, cur).get("estimated_accuracy")
    assert (m.status, m.lower_threshold, m.upper_threshold) == (OK, 0.5, None)
    assert m.details["threshold_source"] == "config"


@pytest.mark.parametrize("n", [0, 10])
def test_small_or_empty_window_is_insufficient(cbpe_binary: CBPEModel, n: int) -> None:
    cur, _ = binary(max(n, 1), seed=44)
    result = estimate_performance(cbpe_binary, cur.iloc[:n])
    assert {m.status for m in result.metrics} == {INSUFFICIENT_DATA}
    if n == 0:
        assert all(m.value is None for m in result.metrics)
        assert result.metrics[0].details["reason"].startswith("no rows")


def test_rows_without_score_are_left_out(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(1_000, seed=45)
    cur.loc[cur.index[:100], "score"] = np.nan
    result = estimate_performance(cbpe_binary, cur)
    assert (result.n, result.n_rows, result.details["n_missing_score"]) == (900, 1_000, 100)
    assert estimate_performance(cbpe_binary, cur.drop(columns="score")).n == 0


# -- records -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_records_are_complete_and_json_serialisable(
    cbpe_binary: CBPEModel, cbpe_multiclass: CBPEModel, kind: str
) -> None:
    if kind == "binary":
        result = estimate_performance(cbpe_binary, binary(500, seed=50)[0])
        names = [*CBPE_METRICS, "estimated_confusion_matrix"]
    elif kind == "multiclass":
        result = estimate_performance(cbpe_multiclass, multiclass(500, seed=51)[0])
        names = [*CBPE_METRICS, "estimated_confusion_matrix"]
    else:
        ref, _ = regression(2_000, seed=52)
        model = fit_dle(ref, schema=regression_schema(ref), config=DLE_CONFIG)
        result = estimate_performance(model, regression(500, seed=53)[0])
        names = list(DLE_METRICS)
    records = estimated_records(result)
    assert [r.metric for r in records] == names
    for r in records:
        assert r.analyzer == ANALYZER == "estimated_performance"
        assert r.feature is None and r.group is None and r.status in STATUSES
        json.dumps(r.details)
        assert r.details["method"] == ("dle" if kind == "regression" else "cbpe")
        assert "calibrated" in r.details and r.details["n"] == 500
    for r in records[: len(names) - (kind != "regression")]:
        assert {"ci_low", "ci_high", "lower_threshold", "upper_threshold"} <= set(r.details)
        side = "upper_threshold" if kind == "regression" else "lower_threshold"
        assert r.threshold == r.details[side]


# -- errors and availability ---------------------------------------------------------------


def _binary_no_score() -> tuple[pd.DataFrame, ModelSchema, EstimatedConfig]:
    ref, _ = binary(200, seed=60)
    schema = binary_schema(ref)
    kept = tuple(c for c in schema.columns if c.name != "score")
    return ref, schema.model_copy(update={"columns": kept}), EstimatedConfig()


def _one_class() -> tuple[pd.DataFrame, ModelSchema, EstimatedConfig]:
    ref, _ = binary(200, seed=61)
    return ref.assign(label="yes"), binary_schema(ref), EstimatedConfig()


def _out_of_range() -> tuple[pd.DataFrame, ModelSchema, EstimatedConfig]:
    ref, _ = binary(200, seed=62)
    return ref.assign(score=ref["score"] * 2), binary_schema(ref), EstimatedConfig()


def _multiclass_without_columns() -> tuple[pd.DataFrame, ModelSchema, EstimatedConfig]:
    ref, _ = multiclass(200, seed=63)
    config = EstimatedConfig(class_probability_columns={"a": "p_a", "b": "p_b"})
    return ref, multiclass_schema(ref), config


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            _binary_no_score,
            "CBPE needs the probability of the positive class: the schema has no 'score' column",
        ),
        (_one_class, "CBPE needs labelled reference rows of at least two classes; got 1 class(es)"),
        (_out_of_range, "score column(s) ['score']: expected probabilities in [0, 1]; got range"),
        (
            _multiclass_without_columns,
            "needs estimated.class_probability_columns for every class; missing ['c']",
        ),
    ],
)
def test_bad_reference_raises_schema_error(build: object, message: str) -> None:
    ref, schema, config = build()  # type: ignore[operator]
    with pytest.raises(SchemaError, match=re.escape(message)):
        fit_estimator(ref, schema=schema, config=config)


def test_window_without_prediction_column_is_an_error(cbpe_binary: CBPEModel) -> None:
    cur, _ = binary(10, seed=64)
    with pytest.raises(SchemaError, match=re.escape("the window has no column(s) ['pred']")):
        estimate_performance(cbpe_binary, cur.drop(columns="pred"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"f1": {"lower": 0.5}}}, "thresholds: unknown metric 'f1'"),
        (
            {"thresholds": {"estimated_f1": {"lower": 0.9, "upper": 0.5}}},
            "lower (0.9) must not exceed upper (0.5)",
        ),
        ({"calibration": "platt"}, "Input should be 'auto', 'isotonic' or 'none'"),
    ],
)
def test_bad_config_names_the_problem(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        EstimatedConfig(**kwargs)  # type: ignore[arg-type]


def test_estimation_unavailable_reasons() -> None:
    ref, _ = multiclass(50, seed=65)
    schema = multiclass_schema(ref)
    assert estimation_unavailable(schema, MC_CONFIG) is None
    assert "class_probability_columns" in str(estimation_unavailable(schema, EstimatedConfig()))
    assert "disabled" in str(estimation_unavailable(schema, EstimatedConfig(enabled=False)))
    _, no_score, _ = _binary_no_score()
    assert "'score' column" in str(estimation_unavailable(no_score, EstimatedConfig()))
