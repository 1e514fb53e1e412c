"""Model performance from a window summary.

* exact (same counts, the same scikit-learn calls with the cells as sample weights):
  ``label_coverage``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``confusion_matrix``;
* exact up to floating-point summation order (sums kept by the executor): ``log_loss``,
  ``brier_score``, ``expected_calibration_error`` (the score bins refine the calibration
  bins), ``mae``, ``rmse``, ``r2``, ``mape``;
* approximate with a stated bound: ``roc_auc`` — pairs of a positive and a negative in the
  same score bin count one half, so the value is within
  ``0.5 * sum_b P_b N_b / (P N)`` (``details.bound``) of the exact one; ``latency_p*`` —
  order statistics interpolated inside their bin, within its ``[min, max]``
  (``details.bounds``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from monitors.analyzers._performance_classification import (
    _UNDEFINED,
    _encode_classes,
    _positive_and_averaging,
)
from monitors.analyzers._performance_config import PerformanceConfig
from monitors.analyzers._performance_types import PerformanceMetric, PerformanceReport
from monitors.analyzers._performance_verdict import json_scalar, judge, safe, with_reason
from monitors.analyzers.base import INSUFFICIENT_DATA, OK, finite_or_none
from monitors.analyzers.performance import _label_coverage
from monitors.summaries.types import (
    NumericSummary,
    RegressionErrors,
    ScoreHistogram,
    SummarySpec,
    WindowSummary,
)
from storage.schema import ModelSchema, Task


def _label_metrics(
    t: np.ndarray,
    p: np.ndarray,
    w: np.ndarray,
    base: dict[str, Any],
    kwargs: dict[str, Any],
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    """``accuracy``, ``precision``, ``recall``, ``f1`` of coded cells weighted by counts."""
    n, m = int(w.sum()), config.min_labelled
    if n == 0:
        reason = "no labelled rows with a prediction"
        return [
            judge(name, None, 0, config, {**base, "reason": reason}, min_n=m)
            for name in ("accuracy", "precision", "recall", "f1")
        ]
    out = []
    value, why = safe(lambda: accuracy_score(t, p, sample_weight=w))
    out.append(judge("accuracy", value, n, config, with_reason(base, why), min_n=m))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prf = precision_recall_fscore_support(t, p, sample_weight=w, **kwargs)[:3]
        error = None
    except ValueError as exc:
        prf, error = (math.nan, math.nan, math.nan), str(exc)
    for name, raw in zip(("precision", "recall", "f1"), prf, strict=True):
        value = finite_or_none(float(raw))
        why = error or (_UNDEFINED[name] if value is None else None)
        out.append(judge(name, value, n, config, with_reason(base, why), min_n=m))
    return out


def _classification(
    summary: WindowSummary, spec: SummarySpec, *, schema: ModelSchema, config: PerformanceConfig
) -> list[PerformanceMetric]:
    """Label-based classification metrics from the confusion cells, then score metrics."""
    cells = [(k, n) for k, n in zip(summary.confusion.keys, summary.confusion.counts, strict=True)]
    both = [(k, n) for k, n in cells if k[0] is not None and k[1] is not None]
    known: list[Any] = list(schema.classes or ())
    if schema.positive_class is not None and schema.positive_class not in known:
        known.append(schema.positive_class)
    y_true = pd.Series([k[0] for k, _ in both], dtype=object)
    y_pred = pd.Series([k[1] for k, _ in both], dtype=object)
    classes, t, p = _encode_classes(known, y_true, y_pred)
    w = np.array([n for _, n in both], dtype=np.float64)
    n = int(w.sum())
    n_labelled = sum(n for k, n in cells if k[0] is not None)
    positive, base, kwargs = _positive_and_averaging(
        classes, n, n_labelled, schema=schema, config=config
    )
    out = _label_metrics(t, p, w, base, kwargs, config)
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(matrix, (t, p), w.astype(np.int64))
    out.append(
        PerformanceMetric(
            "confusion_matrix",
            float(n),
            None,
            "none",
            INSUFFICIENT_DATA if n < config.min_labelled else OK,
            n,
            {
                "classes": [json_scalar(c) for c in classes],
                "matrix": matrix.tolist() if n else [],
                "rows": "true class",
                "columns": "predicted class",
            },
        )
    )
    if schema.task is Task.BINARY and schema.score is not None:
        out.extend(score_metrics(summary.scores, spec, classes, positive, config=config))
    return out


def _positive_bins(
    hists: tuple[ScoreHistogram, ...], classes: list[Any], positive: Any, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]:
    """Per score bin positives, negatives and score sums; log-loss and Brier sums."""
    pos, neg, sums = np.zeros(size), np.zeros(size), np.zeros(size)
    log_sum = brier = 0.0
    index = pd.Index(classes, dtype=object)
    pos_code = classes.index(positive) if positive in classes else -2
    n = 0.0
    for h in hists:
        is_pos = int(index.get_indexer([h.label])[0]) == pos_code
        target = pos if is_pos else neg
        np.add.at(target, np.asarray(h.bins, dtype=np.int64), np.asarray(h.counts, float))
        np.add.at(sums, np.asarray(h.bins, dtype=np.int64), np.asarray(h.sums, float))
        log_sum += h.sum_log if is_pos else h.sum_log1m
        brier += (h.sum_sq - 2 * h.sum + h.n) if is_pos else h.sum_sq
        n += h.n
    return pos, neg, sums, -log_sum / max(n, 1.0), brier / max(n, 1.0), n


def _auc(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """ROC AUC with same-bin pairs counted one half, and the bound on its error."""
    total = pos.sum() * neg.sum()
    below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    same = float(np.sum(pos * neg))
    return float((np.sum(pos * below) + 0.5 * same) / total), 0.5 * same / float(total)


def _calibration(
    pos: np.ndarray, counts: np.ndarray, sums: np.ndarray, spec: SummarySpec, n_bins: int
) -> tuple[float, list[dict[str, float | int]]]:
    """Expected calibration error and curve on ``n_bins`` equal-width bins (exact)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    lower = np.concatenate([[-np.inf], np.asarray(spec.score_edges)])
    target = np.searchsorted(np.nextafter(edges[1:-1], np.inf), lower, side="right")
    c = np.bincount(target, weights=counts, minlength=n_bins)
    s = np.bincount(target, weights=sums, minlength=n_bins)
    t = np.bincount(target, weights=pos, minlength=n_bins)
    nonzero = c > 0
    mean_prob, frac = s[nonzero] / c[nonzero], t[nonzero] / c[nonzero]
    ece = float(np.sum(c[nonzero] / c.sum() * np.abs(frac - mean_prob)))
    curve: list[dict[str, float | int]] = [
        {
            "bin_low": float(edges[b]),
            "bin_high": float(edges[b + 1]),
            "count": int(c[b]),
            "mean_predicted": float(mp),
            "fraction_positive": float(ft),
        }
        for b, mp, ft in zip(np.flatnonzero(nonzero), mean_prob, frac, strict=True)
    ]
    return ece, curve


def score_metrics(
    hists: tuple[ScoreHistogram, ...],
    spec: SummarySpec,
    classes: list[Any],
    positive: Any,
    *,
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    """``roc_auc`` (approximate), ``log_loss``, ``brier_score`` and the calibration error."""
    m = config.min_labelled
    size = len(spec.score_edges) + 1
    pos, neg, sums, log_loss, brier, total = _positive_bins(hists, classes, positive, size)
    n = int(total)
    base: dict[str, Any] = {"n_with_score": n, "positive_class": json_scalar(positive)}
    names = ("roc_auc", "log_loss", "brier_score", "expected_calibration_error")
    if n == 0:
        reason = {**base, "reason": "no labelled rows with a score"}
        return [judge(name, None, 0, config, reason, min_n=m) for name in names]
    if pos.sum() == 0 or neg.sum() == 0:
        auc_details = with_reason(base, "undefined: only one class among the labelled rows")
        out = [judge("roc_auc", None, n, config, auc_details, min_n=m)]
    else:
        auc, bound = _auc(pos, neg)
        details = {**base, "from_summary": "approximate", "bound": bound}
        out = [judge("roc_auc", auc, n, config, details, min_n=m)]
    out.append(judge("log_loss", log_loss, n, config, dict(base), min_n=m))
    out.append(judge("brier_score", brier, n, config, dict(base), min_n=m))
    ece, curve = _calibration(pos, pos + neg, sums, spec, config.calibration_bins)
    details = {**base, "n_bins": config.calibration_bins, "strategy": "uniform", "curve": curve}
    out.append(judge("expected_calibration_error", ece, n, config, details, min_n=m))
    return out


def _order_statistic(col: NumericSummary, k: int) -> tuple[float, float, float]:
    """The ``k``-th smallest non-NaN value (0-based): estimate and bounds."""
    if k < col.n_neginf:
        return -math.inf, -math.inf, -math.inf
    k -= col.n_neginf
    cum = np.cumsum(col.counts)
    j = int(np.searchsorted(cum, k, side="right"))
    if j >= len(col.counts):
        return math.inf, math.inf, math.inf
    r = k - (int(cum[j - 1]) if j else 0)
    c, lo, hi = col.counts[j], col.bin_min[j], col.bin_max[j]
    if r == 0:
        return lo, lo, lo
    if r == c - 1:
        return hi, hi, hi
    return lo + (hi - lo) * r / (c - 1), lo, hi


def latency_metrics(
    col: NumericSummary | None, config: PerformanceConfig
) -> list[PerformanceMetric]:
    """``latency_p50``, ``latency_p95``, ``latency_p99`` from the latency histogram."""
    size = 0 if col is None else col.n + col.n_posinf + col.n_neginf
    out = []
    for q in (50, 95, 99):
        details: dict[str, Any] = {"unit": "ms", "n": size, "method": "linear"}
        value: float | None = None
        if col is None or size == 0:
            details["reason"] = "no latency values in the window"
        else:
            h = (size - 1) * q / 100.0
            below, above = math.floor(h), math.ceil(h)
            a, a_lo, a_hi = _order_statistic(col, below)
            b, b_lo, b_hi = _order_statistic(col, above)
            frac = h - below
            value = a + frac * (b - a) if frac else a
            low = a_lo + frac * (b_lo - a_lo) if frac else a_lo
            high = a_hi + frac * (b_hi - a_hi) if frac else a_hi
            details.update(from_summary="approximate", bounds=[low, high])
        out.append(judge(f"latency_p{q}", value, size, config, details, min_n=1))
    return out


def _regression(
    errors: RegressionErrors | None, n_labelled: int, config: PerformanceConfig
) -> list[PerformanceMetric]:
    """``mae``, ``rmse``, ``r2``, ``mape`` from the error sums."""
    m = config.min_labelled
    n = 0 if errors is None else errors.n
    base: dict[str, Any] = {"n_labelled": n_labelled, "n_with_prediction": n}
    out = []
    for name in ("mae", "rmse", "r2", "mape"):
        value: float | None = None
        why: str | None = None
        if errors is None or n == 0:
            why = "no labelled rows with a prediction"
        elif name == "r2" and n < 2:
            why = "undefined: R² needs at least two labelled rows"
        elif name == "mae":
            value = errors.sum_abs / n
        elif name == "rmse":
            value = math.sqrt(errors.sum_sq / n)
        elif name == "mape":
            value = errors.sum_ape / n
        else:
            total = errors.sum_label_sq - errors.sum_label**2 / n
            perfect = 1.0 if errors.sum_sq == 0 else 0.0  # scikit-learn's force_finite
            value = 1.0 - errors.sum_sq / total if total > 0 else perfect
        out.append(judge(name, value, n, config, with_reason(base, why), min_n=m))
    return out


def model_performance_from_summary(
    summary: WindowSummary, spec: SummarySpec, *, schema: ModelSchema, config: PerformanceConfig
) -> PerformanceReport:
    """:func:`monitors.analyzers.performance.model_performance` from a window summary."""
    n_rows = summary.n_rows
    if schema.label is None:
        metrics = [_label_coverage(None, n_rows, config)]
    else:
        metrics = [_label_coverage(summary.n_labelled, n_rows, config)]
        if schema.task.is_classification:
            metrics += _classification(summary, spec, schema=schema, config=config)
        else:
            metrics += _regression(summary.regression, summary.n_labelled, config)
    if schema.latency is not None:
        metrics += latency_metrics(summary.latency, config)
    return PerformanceReport(
        task=schema.task.value,
        n_rows=n_rows,
        n_labelled=summary.n_labelled if schema.label is not None else 0,
        metrics=tuple(metrics),
    )
