"""Judging a performance value: threshold, direction, status, and undefined values."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from monitors.analyzers._performance_config import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    PerformanceConfig,
)
from monitors.analyzers._performance_types import PerformanceMetric
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, finite_or_none


def _direction(metric: str) -> str:
    """``higher_is_better``, ``lower_is_better`` or ``none``."""
    if metric in HIGHER_IS_BETTER:
        return "higher_is_better"
    if metric in LOWER_IS_BETTER:
        return "lower_is_better"
    return "none"


def judge(
    metric: str,
    value: float | None,
    n: int,
    config: PerformanceConfig,
    details: dict[str, Any],
    *,
    min_n: int,
) -> PerformanceMetric:
    """Attach threshold, direction and status to a computed value."""
    value = finite_or_none(value)
    threshold = config.thresholds.get(metric)
    direction = _direction(metric)
    if n < min_n or value is None:
        status = INSUFFICIENT_DATA
        if n < min_n and min_n > 1:
            details = {**details, "min_labelled": min_n}
    elif threshold is None:
        status = OK
    elif direction == "higher_is_better":
        status = BREACH if value < threshold else OK
    else:
        status = BREACH if value > threshold else OK
    return PerformanceMetric(metric, value, threshold, direction, status, n, details)


def safe(fn: Callable[[], float]) -> tuple[float | None, str | None]:
    """Call a metric; ``(None, reason)`` when sklearn finds it undefined for the data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn())
    except ValueError as exc:
        return None, str(exc)
    if not math.isfinite(value):
        return None, "undefined for this window"
    return value, None


def json_scalar(value: Any) -> Any:
    """A JSON-friendly Python scalar (NumPy scalars unwrapped, NaN to ``None``)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def with_reason(base: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """``base`` details, plus ``reason`` when there is one."""
    return base if reason is None else {**base, "reason": reason}
