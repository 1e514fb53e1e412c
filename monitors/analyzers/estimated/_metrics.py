"""Classification metrics from (expected or realized) confusion matrices, vectorised.

One set of formulas serves CBPE's expected confusion matrix of a window and the
realized confusion matrices of many reference chunks at once (arrays ``(..., C, C)``,
rows = true class, columns = predicted class), so estimate and band always measure
the same thing. Binary models score the positive class; multiclass models average
one-vs-rest over the classes present in the matrix (a row or column sum above zero),
an undefined per-class value counting as 0 — sklearn's ``average="macro",
zero_division=0``, which the ``performance`` analyzer uses.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy.stats import rankdata

CM_METRICS: Final = ("accuracy", "precision", "recall", "f1", "specificity")


def _ratio(num: np.ndarray, den: np.ndarray, *, undefined: float) -> np.ndarray:
    """``num / den`` with ``undefined`` where ``den == 0``."""
    out = np.full(np.broadcast(num, den).shape, undefined, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def cm_metrics(cm: np.ndarray, *, positive: int | None) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall, F1 and specificity of confusion matrices ``(..., C, C)``.

    Parameters
    ----------
    cm : numpy.ndarray
        Counts (or expected counts), rows = true class, columns = predicted class.
    positive : int or None
        Index of the positive class for a binary model (values are NaN where undefined);
        ``None`` for macro averages over the classes present.

    Returns
    -------
    dict of str to numpy.ndarray
        One array of shape ``cm.shape[:-2]`` per metric in :data:`CM_METRICS`.

    Examples
    --------
    >>> m = cm_metrics(np.array([[5.0, 1.0], [2.0, 2.0]]), positive=1)
    >>> round(float(m["precision"]), 4), round(float(m["specificity"]), 4)
    (0.6667, 0.8333)
    """
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum(axis=(-2, -1))
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    actual = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    fp, fn = predicted - tp, actual - tp
    tn = total[..., None] - tp - fp - fn
    undefined = np.nan if positive is not None else 0.0
    per_class = {
        "precision": _ratio(tp, tp + fp, undefined=undefined),
        "recall": _ratio(tp, tp + fn, undefined=undefined),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, undefined=undefined),
        "specificity": _ratio(tn, tn + fp, undefined=undefined),
    }
    out = {"accuracy": _ratio(tp.sum(axis=-1), total, undefined=np.nan)}
    if positive is not None:
        out.update({k: v[..., positive] for k, v in per_class.items()})
        return out
    present = (actual + predicted) > 0
    n_present = present.sum(axis=-1)
    for name, values in per_class.items():
        out[name] = _ratio(np.where(present, values, 0.0).sum(axis=-1), n_present, undefined=np.nan)
    return out


def expected_confusion_matrix(prob: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """CBPE's expected confusion matrix: ``E[cm[c, j]] = sum over rows predicted j of P(c)``.

    Parameters
    ----------
    prob : numpy.ndarray
        ``(n, C)`` calibrated class probabilities (rows sum to 1).
    pred : numpy.ndarray
        ``(n,)`` predicted class codes in ``0 .. C-1``.
    n_classes : int

    Returns
    -------
    numpy.ndarray
        ``(C, C)``, rows = true class, columns = predicted class.
    """
    cm = np.empty((n_classes, n_classes), dtype=np.float64)
    for j in range(n_classes):
        cm[:, j] = prob[pred == j].sum(axis=0)
    return cm


def realized_confusion_matrices(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrices ``(k, C, C)`` of ``k`` chunks given codes of shape ``(k, n)``."""
    k = truth.shape[0]
    flat = (np.arange(k)[:, None] * n_classes + truth) * n_classes + pred
    counts = np.bincount(flat.ravel(), minlength=k * n_classes * n_classes)
    return counts.reshape(k, n_classes, n_classes).astype(np.float64)


def _trapezoid(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def expected_roc_auc(raw: np.ndarray, prob: np.ndarray) -> float:
    """ROC AUC from expected true and false positive rates over the score thresholds.

    Rows are sorted by the model's raw score (the thresholds); at each distinct
    threshold ``t``, ``E[TP(t)] = sum of P over rows with score >= t`` and
    ``E[FP(t)] = sum of 1 - P`` over the same rows, ``P`` being the calibrated
    probability. The AUC is the trapezoidal area under ``(FP / FP_total, TP / TP_total)``
    — NannyML's ``estimate_roc_auc``, with tied scores merged into one point.

    Parameters
    ----------
    raw : numpy.ndarray
        The model's scores for the class.
    prob : numpy.ndarray
        Calibrated probabilities of the class.

    Returns
    -------
    float
        NaN when the window has no expected positives or no expected negatives.

    Examples
    --------
    >>> expected_roc_auc(np.array([0.9, 0.1]), np.array([1.0, 0.0]))
    1.0
    """
    n = raw.size
    if n == 0:
        return float("nan")
    order = np.argsort(-raw, kind="stable")
    s, p = raw[order], prob[order]
    tps = np.cumsum(p)
    fps = np.arange(1, n + 1, dtype=np.float64) - tps
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), n - 1]
    tps, fps = np.r_[0.0, tps[last]], np.r_[0.0, fps[last]]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    return _trapezoid(fps / fps[-1], tps / tps[-1])


def chunk_roc_auc(raw: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Realized ROC AUC of ``k`` chunks (Mann-Whitney U, ties averaged); shapes ``(k, n)``.

    NaN for a chunk holding one class only.
    """
    ranks = rankdata(raw, axis=1)
    pos = positive.astype(np.float64)
    n_pos = pos.sum(axis=1)
    n_neg = raw.shape[1] - n_pos
    u = (ranks * pos).sum(axis=1) - n_pos * (n_pos + 1) / 2.0
    return _ratio(u, n_pos * n_neg, undefined=np.nan)
