"""Does the estimate track the realized metric within its band under covariate shift?

Each case draws many windows whose inputs are shifted from the reference while the
labels keep depending on the inputs the same way (pure covariate shift: ``P(y | x)``
fixed), estimates each window without its labels, and counts the windows whose
realized metric lies inside the estimate's band (``ci_low`` .. ``ci_high``, ±3 reference
chunk standard deviations). The claim is coverage of at least 90 %; with ``W`` windows
the observed rate of a true 90 % has a binomial standard deviation of
``sqrt(0.9 * 0.1 / W)`` (0.017 for 300 windows), so a case fails below
``0.90 - 3 * sqrt(0.9 * 0.1 / W)``. A negative control breaks the assumption (concept
shift: the same inputs, labels from a shifted ``P(y | x)``) and must lose coverage.

Realized metrics are computed vectorised with the module's own confusion-matrix and
rank formulas, which ``tests/monitors/analyzers/test_estimated.py`` checks against
scikit-learn.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitors.analyzers.estimated import (
    CBPE_METRICS,
    EstimatedConfig,
    cm_metrics,
    estimate_performance,
    fit_cbpe,
    fit_dle,
)
from monitors.analyzers.estimated._metrics import chunk_roc_auc, realized_confusion_matrices
from storage.schema import infer_schema

N_WINDOWS, WINDOW = 300, 1_000
CLAIM = 0.90
FLOOR = CLAIM - 3 * math.sqrt(CLAIM * (1 - CLAIM) / N_WINDOWS)


def _frame(n: int, **cols: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series([f"r{i}" for i in range(n)], dtype="str"),
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            **cols,
        }
    )


def _p(x: np.ndarray, intercept: float = 0.3) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(intercept + 1.8 * x)))


def _coverage(estimates: list, realized: dict[str, np.ndarray], names: tuple[str, ...]) -> dict:
    out = {}
    for name in names:
        low = np.array([e.get(name).ci_low for e in estimates], dtype=float)
        high = np.array([e.get(name).ci_high for e in estimates], dtype=float)
        out[name] = float(np.mean((realized[name] >= low) & (realized[name] <= high)))
    return out


def _binary_case(*, concept_shift: float) -> dict[str, float]:
    """Reference x ~ N(0, 1); window w has x ~ N(mu_w, 1), mu_w uniform on [-1, 1]."""
    rng = np.random.default_rng(2024)
    x_ref = rng.normal(0.0, 1.0, 20_000)
    p_ref = _p(x_ref)
    score_ref = p_ref**0.6  # miscalibrated: isotonic calibration is needed
    ref = _frame(
        x_ref.size,
        x=x_ref,
        pred=(score_ref > 0.5).astype(int),
        score=score_ref,
        label=(rng.random(x_ref.size) < p_ref).astype(int),
    )
    schema = infer_schema(
        ref, task="binary_classification", id="id", timestamp="ts", prediction="pred",
        score="score", label="label",
    )  # fmt: skip
    model = fit_cbpe(ref, schema=schema, config=EstimatedConfig())
    mu = rng.uniform(-1.0, 1.0, (N_WINDOWS, 1))
    x = rng.normal(0.0, 1.0, (N_WINDOWS, WINDOW)) + mu
    score = _p(x) ** 0.6
    pred = (score > 0.5).astype(int)
    labels = (rng.random(x.shape) < _p(x, 0.3 - concept_shift)).astype(int)
    estimates = [
        estimate_performance(model, _frame(WINDOW, x=x[w], pred=pred[w], score=score[w]))
        for w in range(N_WINDOWS)
    ]
    cms = realized_confusion_matrices(labels, pred, 2)
    realized = {f"estimated_{k}": v for k, v in cm_metrics(cms, positive=1).items()}
    realized["estimated_roc_auc"] = chunk_roc_auc(score, labels == 1)
    return _coverage(estimates, realized, CBPE_METRICS)


def test_binary_cbpe_tracks_realized_under_covariate_shift() -> None:
    coverage = _binary_case(concept_shift=0.0)
    for name, rate in coverage.items():
        assert rate >= FLOOR, (name, rate, FLOOR, coverage)


def test_binary_cbpe_loses_the_realized_metric_under_concept_shift() -> None:
    """Negative control: P(y | x) moves (intercept -1.5), the estimate cannot know."""
    coverage = _binary_case(concept_shift=1.5)
    assert coverage["estimated_accuracy"] < 0.5, coverage
    assert coverage["estimated_f1"] < 0.5, coverage


def test_multiclass_cbpe_tracks_realized_under_covariate_shift() -> None:
    rng = np.random.default_rng(7)
    classes = np.array(["a", "b", "c"])

    def draw(shape: tuple[int, ...], mu: np.ndarray | float) -> tuple[np.ndarray, ...]:
        x1, x2 = rng.normal(0.0, 1.0, shape) + mu, rng.normal(0.0, 1.0, shape)
        logits = 1.5 * np.stack([x1, x2, 0.3 - x1 - x2], axis=-1)
        prob = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        label = (rng.random(shape)[..., None] > prob.cumsum(axis=-1)).sum(axis=-1)
        return prob, prob.argmax(axis=-1), np.minimum(label, 2)

    prob, pred, label = draw((20_000,), 0.0)
    cols = {f"p_{c}": prob[:, j] for j, c in enumerate(classes)}
    ref = _frame(20_000, **cols, pred=classes[pred], label=classes[label])
    schema = infer_schema(
        ref, task="multiclass_classification", id="id", timestamp="ts", prediction="pred",
        label="label",
    )  # fmt: skip
    config = EstimatedConfig(class_probability_columns={c: f"p_{c}" for c in classes})
    model = fit_cbpe(ref, schema=schema, config=config)
    n_windows = 200
    prob, pred, label = draw((n_windows, WINDOW), rng.uniform(-1.0, 1.0, (n_windows, 1)))
    estimates = [
        estimate_performance(
            model,
            _frame(
                WINDOW,
                **{f"p_{c}": prob[w, :, j] for j, c in enumerate(classes)},
                pred=classes[pred[w]],
            ),
        )  # fmt: skip
        for w in range(n_windows)
    ]
    realized = {
        f"estimated_{k}": v
        for k, v in cm_metrics(realized_confusion_matrices(label, pred, 3), positive=None).items()
    }
    auc = [chunk_roc_auc(prob[:, :, j], label == j) for j in range(3)]
    realized["estimated_roc_auc"] = np.mean(auc, axis=0)
    names = tuple(n for n in CBPE_METRICS if n != "estimated_specificity")
    coverage = _coverage(estimates, realized, names)
    floor = CLAIM - 3 * math.sqrt(CLAIM * (1 - CLAIM) / n_windows)
    for name, rate in coverage.items():
        assert rate >= floor, (name, rate, floor, coverage)


def test_dle_tracks_realized_under_covariate_shift() -> None:
    """``y = 2x + e``, ``sd(e) = 0.5 + |x|``: shifting x changes the error, DLE follows."""
    rng = np.random.default_rng(11)
    x_ref = rng.normal(0.0, 1.0, 10_000)
    y_ref = 2.0 * x_ref + rng.normal(0.0, 0.5 + np.abs(x_ref))
    ref = _frame(x_ref.size, x=x_ref, y_hat=2.0 * x_ref, y=y_ref)
    schema = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y_hat",
                          label="y")  # fmt: skip
    model = fit_dle(ref, schema=schema, config=EstimatedConfig(dle_max_iter=50))
    n_windows, size = 200, 500
    x = rng.normal(0.0, 1.0, (n_windows, size)) + rng.uniform(-1.0, 1.0, (n_windows, 1))
    error = rng.normal(0.0, 0.5 + np.abs(x))
    estimates = [
        estimate_performance(model, _frame(size, x=x[w], y_hat=2.0 * x[w]))
        for w in range(n_windows)
    ]
    realized = {
        "estimated_mae": np.abs(error).mean(axis=1),
        "estimated_rmse": np.sqrt((error**2).mean(axis=1)),
    }
    coverage = _coverage(estimates, realized, ("estimated_mae", "estimated_rmse"))
    floor = CLAIM - 3 * math.sqrt(CLAIM * (1 - CLAIM) / n_windows)
    for name, rate in coverage.items():
        assert rate >= floor, (name, rate, floor, coverage)


@pytest.mark.parametrize("n", [300, 3_000])
def test_band_width_follows_one_over_sqrt_n(n: int) -> None:
    """The reference-chunk sd of the accuracy is the binomial standard error."""
    rng = np.random.default_rng(n)
    p = rng.uniform(0.05, 0.95, 30_000)
    label = (rng.random(p.size) < p).astype(int)
    ref = _frame(p.size, pred=(p > 0.5).astype(int), score=p, label=label)
    schema = infer_schema(
        ref, task="binary_classification", id="id", timestamp="ts", prediction="pred",
        score="score", label="label",
    )  # fmt: skip
    model = fit_cbpe(ref, schema=schema, config=EstimatedConfig(reference_chunks=400))
    m = estimate_performance(model, ref.iloc[:n]).get("estimated_accuracy")
    acc = float(np.mean(label == ref["pred"]))
    # sd over 400 chunks has a relative standard error of about 1 / sqrt(2 * 399) = 3.5 %
    assert m.sampling_error == pytest.approx(math.sqrt(acc * (1 - acc) / n), rel=0.12)
