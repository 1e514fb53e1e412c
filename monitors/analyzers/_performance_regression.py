"""Regression metrics of the labelled rows: MAE, RMSE, R² and MAPE (scikit-learn's)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    r2_score,
    root_mean_squared_error,
)

from monitors.analyzers._performance_config import PerformanceConfig
from monitors.analyzers._performance_types import PerformanceMetric
from monitors.analyzers._performance_verdict import judge, safe, with_reason


def regression_metrics(
    y_true: pd.Series, y_pred: pd.Series, *, config: PerformanceConfig
) -> list[PerformanceMetric]:
    """``mae``, ``rmse``, ``r2`` and ``mape`` on the rows with label and prediction."""
    m = config.min_labelled
    both = y_pred.notna().to_numpy()
    t = y_true[both].to_numpy(dtype=np.float64)
    p = y_pred[both].to_numpy(dtype=np.float64)
    n = int(t.size)
    base: dict[str, Any] = {"n_labelled": len(y_true), "n_with_prediction": n}
    out: list[PerformanceMetric] = []
    for name, fn in (
        ("mae", mean_absolute_error),
        ("rmse", root_mean_squared_error),
        ("r2", r2_score),
        ("mape", mean_absolute_percentage_error),
    ):
        value: float | None
        why: str | None
        if n == 0:
            value, why = None, "no labelled rows with a prediction"
        elif name == "r2" and n < 2:
            value, why = None, "undefined: R² needs at least two labelled rows"
        else:
            value, why = safe(partial(fn, t, p))
        out.append(judge(name, value, n, config, with_reason(base, why), min_n=m))
    return out
