"""Serving latency percentiles (p50, p95, p99) in milliseconds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._performance_config import PerformanceConfig
from monitors.analyzers._performance_types import PerformanceMetric
from monitors.analyzers._performance_verdict import judge


def latency_metrics(values: pd.Series, *, config: PerformanceConfig) -> list[PerformanceMetric]:
    """``latency_p50``, ``latency_p95`` and ``latency_p99`` over every row with a latency."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    arr = arr[~np.isnan(arr)]
    out = []
    quantiles = (50, 95, 99)
    points = np.percentile(arr, quantiles) if arr.size else [None] * len(quantiles)
    for q, v in zip(quantiles, points, strict=True):
        details: dict[str, Any] = {"unit": "ms", "n": int(arr.size), "method": "linear"}
        if v is None:
            details["reason"] = "no latency values in the window"
        out.append(judge(f"latency_p{q}", v, int(arr.size), config, details, min_n=1))
    return out
