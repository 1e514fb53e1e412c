"""Metrics of binary positive-class probabilities: ROC AUC, log loss, Brier score, ECE."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from monitors.analyzers._performance_calibration import expected_calibration_error
from monitors.analyzers._performance_config import PerformanceConfig
from monitors.analyzers._performance_types import PerformanceMetric
from monitors.analyzers._performance_verdict import json_scalar, judge, safe, with_reason


def score_metrics(
    y_true: pd.Series,
    score: pd.Series,
    classes: list[Any],
    positive: Any,
    *,
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    """``roc_auc``, ``log_loss``, ``brier_score`` and ``expected_calibration_error``."""
    m = config.min_labelled
    has_score = score.notna().to_numpy()
    index = pd.Index(classes, dtype=object)
    is_pos = (
        (index.get_indexer(y_true[has_score]) == classes.index(positive)).astype(int)
        if (positive in classes)
        else np.zeros(int(has_score.sum()), dtype=int)
    )
    prob = score[has_score].to_numpy(dtype=np.float64)
    n = int(prob.size)
    base: dict[str, Any] = {"n_with_score": n, "positive_class": json_scalar(positive)}
    out: list[PerformanceMetric] = []
    if n == 0:
        for name in ("roc_auc", "log_loss", "brier_score", "expected_calibration_error"):
            out.append(
                judge(
                    name,
                    None,
                    0,
                    config,
                    {**base, "reason": "no labelled rows with a score"},
                    min_n=m,
                )
            )
        return out
    why: str | None
    single = len(np.unique(is_pos)) < 2
    if single:
        value, why = None, "undefined: only one class among the labelled rows"
    else:
        value, why = safe(lambda: roc_auc_score(is_pos, prob))
    out.append(judge("roc_auc", value, n, config, with_reason(base, why), min_n=m))
    value, why = safe(lambda: log_loss(is_pos, prob, labels=[0, 1]))
    out.append(judge("log_loss", value, n, config, with_reason(base, why), min_n=m))
    value, why = safe(lambda: brier_score_loss(is_pos, prob, pos_label=1))
    out.append(judge("brier_score", value, n, config, with_reason(base, why), min_n=m))
    try:
        ece, curve = expected_calibration_error(is_pos, prob, n_bins=config.calibration_bins)
        details: dict[str, Any] = {
            **base,
            "n_bins": config.calibration_bins,
            "strategy": "uniform",
            "curve": curve,
        }
        out.append(judge("expected_calibration_error", ece, n, config, details, min_n=m))
    except ValueError as exc:
        out.append(
            judge(
                "expected_calibration_error", None, n, config, with_reason(base, str(exc)), min_n=m
            )
        )
    return out
