"""Performance metrics of row-weighted samples, ``k`` weightings at a time.

A bootstrap resample is a vector of row counts (how often each row was drawn), so every
metric here takes a weight matrix ``w`` of shape ``(n, k)`` (one column per resample,
rows contiguous so that selecting and reordering rows is cheap) and returns ``k``
values; the point estimate is the same function with ``w = 1`` (``k = 1``). Counts are
one product with the codes' one-hot matrix (:func:`sum_by`), so a resample costs
``O(n)`` for a few classes or groups. Definitions follow the performance analyzer
(scikit-learn's): binary models
score the positive class, multiclass ones average over the classes present in the
window (``macro`` by default); the latency percentiles are the inverted-CDF quantiles of
the weighted rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitors.analyzers.performance import PerformanceConfig
from monitors.compare._sample import Sample

Key = tuple[str, str | None, str | None]
"""(metric, feature, group)."""
Values = dict[Key, np.ndarray]
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, slots=True, eq=False)
class Masks:
    """The rows each family of metrics is computed on (the same rows for both models in
    shadow mode, so the comparison is paired)."""

    pred: np.ndarray
    label: np.ndarray
    score: np.ndarray
    latency: np.ndarray


def divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, ``NaN`` where ``den`` is 0."""
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, num / safe, np.nan)


def sum_by(w: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """``out[:, c] = sum of w[i, :] over rows with codes[i] == c`` (shape ``(k, size)``).

    A product with the one-hot matrix of the codes when it is small, else one sort.
    """
    n = codes.size
    if n == 0:
        return np.zeros((w.shape[1], size))
    if n * size <= 4_000_000:
        onehot = np.zeros((n, size))
        onehot[np.arange(n), codes] = 1.0
        return np.asarray(onehot.T @ w).T
    out = np.zeros((size, w.shape[1]))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.add.reduceat(w[order], starts, axis=0)
    return out.T


def confusion(sample: Sample, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weighted confusion matrices ``(k, true, predicted)`` of the rows in ``mask``."""
    k = len(sample.classes)
    codes = sample.y[mask] * k + sample.pred[mask]
    return sum_by(w[mask], codes, k * k).reshape(w.shape[1], k, k)


def label_metrics(
    cm: np.ndarray, *, positive: int | None, binary: bool, average: str, present: np.ndarray
) -> dict[str, np.ndarray]:
    """``accuracy``, ``precision``, ``recall``, ``f1`` of confusion matrices ``(..., K, K)``."""
    total = cm.sum(axis=(-2, -1))
    out = {"accuracy": divide(np.einsum("...ii->...", cm), total)}
    if binary and positive is not None:
        tp = cm[..., positive, positive]
        fp = cm[..., :, positive].sum(axis=-1) - tp
        fn = cm[..., positive, :].sum(axis=-1) - tp
        out["precision"] = divide(tp, tp + fp)
        out["recall"] = divide(tp, tp + fn)
        out["f1"] = divide(2 * tp, 2 * tp + fp + fn)
        return out
    tp = np.einsum("...ii->...i", cm)
    pred_n = cm.sum(axis=-2)
    true_n = cm.sum(axis=-1)
    per = {
        "precision": np.nan_to_num(divide(tp, pred_n)),
        "recall": np.nan_to_num(divide(tp, true_n)),
        "f1": np.nan_to_num(divide(2 * tp, pred_n + true_n)),
    }
    for name, values in per.items():
        if average == "micro":
            out[name] = out["accuracy"]
        elif average == "weighted":
            out[name] = divide((values * true_n)[..., present].sum(axis=-1), true_n.sum(axis=-1))
        else:
            out[name] = values[..., present].mean(axis=-1) if present.any() else total * np.nan
    return out


def _auc(w: np.ndarray, score: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC (a tied pair counts one half) of every column of ``w``.

    ``sum over positives i of w_i × (negative weight below s_i + ½ tied)``, over the
    product of the positive and negative weights.
    """
    neg_rows = np.flatnonzero(~positive)
    pos_rows = np.flatnonzero(positive)
    order = neg_rows[np.argsort(score[neg_rows], kind="stable")]
    neg_scores = score[order]
    cum = np.zeros((order.size + 1, w.shape[1]))
    np.cumsum(w[order], axis=0, out=cum[1:])
    s_pos = score[pos_rows]
    below = cum[np.searchsorted(neg_scores, s_pos, side="left")]
    upto = cum[np.searchsorted(neg_scores, s_pos, side="right")]
    w_pos = w[pos_rows]
    credit = np.einsum("ij,ij->j", 0.5 * (below + upto), w_pos)
    return divide(credit, w_pos.sum(axis=0) * cum[-1])


def score_metrics(
    sample: Sample, w: np.ndarray, mask: np.ndarray, *, bins: int
) -> dict[str, np.ndarray]:
    """``roc_auc``, ``log_loss``, ``brier_score``, ``expected_calibration_error``."""
    assert sample.score is not None and sample.positive is not None
    p = sample.score[mask]
    y = (sample.y[mask] == sample.positive).astype(np.float64)
    wm = w[mask]
    total = wm.sum(axis=0)
    clipped = np.clip(p, _EPS, 1 - _EPS)
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    edges = np.linspace(0.0, 1.0, bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], p)
    counts = sum_by(wm, bin_ids, bins)
    gap = np.abs(sum_by(wm * y[:, None], bin_ids, bins) - sum_by(wm * p[:, None], bin_ids, bins))
    return {
        "roc_auc": _auc(wm, p, y.astype(bool)),
        "log_loss": divide(loss @ wm, total),
        "brier_score": divide((p - y) ** 2 @ wm, total),
        "expected_calibration_error": divide(np.where(counts > 0, gap, 0.0).sum(axis=1), total),
    }


def regression_metrics(sample: Sample, w: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """``mae``, ``rmse``, ``r2``, ``mape`` of the weighted labelled rows."""
    y, e = sample.y[mask], sample.pred[mask] - sample.y[mask]
    wm = w[mask]
    total = wm.sum(axis=0)
    sse = e**2 @ wm
    sst = y**2 @ wm - divide((y @ wm) ** 2, total)
    r2 = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1.0), np.where(sse > 0, 0.0, 1.0))
    return {
        "mae": divide(np.abs(e) @ wm, total),
        "rmse": np.sqrt(divide(sse, total)),
        "r2": np.where(total >= 2, r2, np.nan),
        "mape": divide((np.abs(e) / np.maximum(np.abs(y), _EPS)) @ wm, total),
    }


def latency_metrics(sample: Sample, w: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """``latency_p50``, ``latency_p95``, ``latency_p99`` (weighted inverted-CDF quantiles)."""
    assert sample.latency is not None
    values = sample.latency[mask]
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(w[mask][order], axis=0)
    out = {}
    for q in (50, 95, 99):
        if values.size == 0:
            out[f"latency_p{q}"] = np.full(w.shape[1], np.nan)
            continue
        target = cum[-1] * q / 100
        idx = np.minimum((cum < target).sum(axis=0), values.size - 1)
        out[f"latency_p{q}"] = values[order][idx]
    return out


def model_metrics(
    sample: Sample,
    w: np.ndarray,
    masks: Masks,
    *,
    config: PerformanceConfig,
    present: np.ndarray,
) -> Values:
    """Every model-level metric of one sample under the weights ``w``."""
    out: dict[str, np.ndarray] = {}
    if sample.classification:
        cm = confusion(sample, w, masks.label)
        out.update(
            label_metrics(
                cm,
                positive=sample.positive,
                binary=sample.binary,
                average=config.multiclass_average,
                present=present,
            )
        )
        if sample.binary and sample.score is not None and sample.positive is not None:
            out.update(score_metrics(sample, w, masks.score, bins=config.calibration_bins))
    else:
        out.update(regression_metrics(sample, w, masks.label))
    if sample.latency is not None:
        out.update(latency_metrics(sample, w, masks.latency))
    return {(name, None, None): values for name, values in out.items()}
