"""Estimated performance (no labels) of row-weighted samples: CBPE and DLE, row by row.

Both estimators are sums over rows, so they resample like the realized metrics: CBPE's
expected confusion matrix adds each row's calibrated class probabilities to the column
of its predicted class; DLE's estimated MAE and RMSE average each row's predicted
absolute and squared error. The estimators (calibration, error models) are held fixed:
the interval is the sampling error of the window, not of the reference fit.
``estimated_roc_auc`` is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from monitors.analyzers.estimated import CBPEModel, DLEModel, Estimator, cm_metrics
from monitors.compare._metrics import divide, sum_by
from monitors.compare._sample import codes_of


@dataclass(frozen=True, slots=True, eq=False)
class RowEstimates:
    """One model's per-row inputs to its estimates (rows of its sample)."""

    method: str
    valid: np.ndarray
    """Rows the estimator can use (score and known prediction, or a prediction)."""
    prob: np.ndarray | None = None
    """CBPE: ``(n, C)`` calibrated class probabilities."""
    pred: np.ndarray | None = None
    """CBPE: predicted class codes in the estimator's class order."""
    positive: int | None = None
    errors: np.ndarray | None = None
    """DLE: ``(n, 2)`` predicted absolute and squared errors."""


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _cbpe_rows(model: CBPEModel, frame: pd.DataFrame) -> RowEstimates:
    """Calibrated probabilities and predicted classes of a window's rows."""
    n = len(frame)
    raw = np.full((n, len(model.score_columns)), np.nan)
    for j, name in enumerate(model.score_columns):
        if name in frame.columns:
            raw[:, j] = _numbers(frame[name])
    pred = (
        codes_of(frame[model.prediction], model.classes)
        if model.prediction in frame.columns
        else np.full(n, -1)
    )
    valid = (pred >= 0) & np.isfinite(raw).all(axis=1)
    calibrated = model.calibration.apply(np.clip(np.nan_to_num(raw), 0.0, 1.0))
    if model.positive is None:
        prob = calibrated
    else:
        prob = np.empty((n, 2))
        prob[:, model.positive] = calibrated[:, 0]
        prob[:, 1 - model.positive] = 1.0 - calibrated[:, 0]
    return RowEstimates("cbpe", valid, prob=prob, pred=pred, positive=model.positive)


def _dle_design(model: DLEModel, frame: pd.DataFrame) -> np.ndarray:
    """DLE's feature matrix: features in schema order (categories as codes), then ŷ."""
    out = np.full((len(frame), len(model.features) + 1), np.nan)
    for j, name in enumerate(model.features):
        if name not in frame.columns:
            continue
        cats = model.categories.get(name)
        if cats is None:
            out[:, j] = _numbers(frame[name])
        else:
            codes = pd.Categorical(frame[name], categories=list(cats)).codes.astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, j] = codes
    if model.prediction in frame.columns:
        out[:, -1] = _numbers(frame[model.prediction])
    return out


def _dle_rows(model: DLEModel, frame: pd.DataFrame) -> RowEstimates:
    """Predicted absolute and squared errors of a window's rows."""
    x = _dle_design(model, frame)
    valid = np.isfinite(x[:, -1])
    errors = np.zeros((len(frame), 2))
    if valid.any():
        with threadpool_limits(limits=model.config.dle_threads, user_api="openmp"):
            errors[valid, 0] = np.clip(model.abs_model.predict(x[valid]), 0.0, None)
            errors[valid, 1] = np.clip(model.squared_model.predict(x[valid]), 0.0, None)
    return RowEstimates("dle", valid, errors=errors)


def row_estimates(estimator: Estimator, frame: pd.DataFrame) -> RowEstimates:
    """Per-row inputs of ``estimator``'s estimates for the rows of ``frame``."""
    if isinstance(estimator, CBPEModel):
        return _cbpe_rows(estimator, frame)
    return _dle_rows(estimator, frame)


def estimated_metrics(rows: RowEstimates, w: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """``estimated_*`` metrics of the rows in ``mask`` under the weights ``w`` ``(n, k)``."""
    wm = w[mask]
    if rows.method == "dle":
        assert rows.errors is not None
        total = wm.sum(axis=0)
        return {
            "estimated_mae": divide(rows.errors[mask, 0] @ wm, total),
            "estimated_rmse": np.sqrt(divide(rows.errors[mask, 1] @ wm, total)),
        }
    assert rows.prob is not None and rows.pred is not None
    prob, pred = rows.prob[mask], rows.pred[mask]
    c = prob.shape[1]
    cm = np.stack([sum_by(wm * prob[:, t, None], pred, c) for t in range(c)], axis=1)
    values = cm_metrics(cm, positive=rows.positive)
    return {f"estimated_{name}": np.asarray(v, dtype=np.float64) for name, v in values.items()}


def estimate_names(rows: RowEstimates) -> tuple[str, ...]:
    """The estimated metrics a row set gives."""
    if rows.method == "dle":
        return ("estimated_mae", "estimated_rmse")
    return (
        "estimated_accuracy",
        "estimated_precision",
        "estimated_recall",
        "estimated_f1",
        "estimated_specificity",
    )
