"""Robust baselines, binomial tail tests and seasonal matching for the anomaly checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats

from monitors.analyzers._anomalies_types import Seasonality, WindowStats

MAD_TO_SD = 1.4826
"""Scale of the median absolute deviation of a normal sample (MAD × 1.4826 ≈ σ)."""


@dataclass(frozen=True, slots=True)
class RobustZ:
    """A robust z-score against a baseline of previous values."""

    z: float
    median: float
    mad_scale: float
    floor: float
    scale: float
    n_history: int


def robust_z(value: float, history: Sequence[float], *, floor: float) -> RobustZ:
    """``(value - median) / max(1.4826 × MAD, floor)`` over ``history``.

    The floor stands for the sampling error of ``value`` itself, so a baseline of
    identical values (MAD 0) does not turn every wobble into an infinite z.

    Examples
    --------
    >>> round(robust_z(130.0, [100, 102, 98, 101, 99], floor=10.0).z, 2)
    3.0
    """
    arr = np.asarray(history, dtype=np.float64)
    median = float(np.median(arr))
    mad_scale = MAD_TO_SD * float(np.median(np.abs(arr - median)))
    scale = max(mad_scale, floor, 1e-12)
    return RobustZ((value - median) / scale, median, mad_scale, floor, scale, int(arr.size))


def binomial_sf(k: int, n: int, p: float) -> float:
    """One-sided p-value ``P(X >= k)`` for ``X ~ Binomial(n, p)``.

    Examples
    --------
    >>> round(binomial_sf(5, 10, 0.5), 4)
    0.623
    """
    if k <= 0:
        return 1.0
    p = min(max(p, 0.0), 1.0)
    return float(stats.binom.sf(k - 1, n, p))


def quantile_se(sorted_values: np.ndarray, q: float) -> float:
    """Standard error of the sample ``q``-quantile (Siddiqui's sparsity estimate).

    ``sqrt(q (1 - q) / n) × (Q(q + h) - Q(q - h)) / (2 h)`` with the Hall-Sheather
    bandwidth ``h``, clipped inside (0, 1).
    """
    n = sorted_values.size
    if n < 2:
        return 0.0
    z = stats.norm.ppf(0.975)
    h = (
        n ** (-1 / 3)
        * z ** (2 / 3)
        * (1.5 * stats.norm.pdf(stats.norm.ppf(q)) ** 2 / (2 * stats.norm.ppf(q) ** 2 + 1))
        ** (1 / 3)
    )
    lo, hi = max(q - h, 0.0), min(q + h, 1.0)
    if hi <= lo:
        return 0.0
    spread = np.quantile(sorted_values, hi) - np.quantile(sorted_values, lo)
    return float(math.sqrt(q * (1 - q) / n) * spread / (hi - lo))


def _matches(start: datetime, other: datetime, key: str) -> bool:
    """Whether two window starts share the seasonal ``key``."""
    if key == "hour_weekday":
        return (other.hour, other.weekday()) == (start.hour, start.weekday())
    if key == "hour":
        return other.hour == start.hour
    if key == "weekday":
        return other.weekday() == start.weekday()
    return True


def seasonal_history(
    history: Sequence[WindowStats],
    start: datetime,
    *,
    seasonality: Seasonality,
    keep: int,
    min_history: int,
) -> tuple[list[WindowStats], str]:
    """The most recent ``keep`` earlier windows of the same season, and which season.

    Falls back from the finest season with at least ``min_history`` windows to the
    coarser ones: same hour and weekday → same hour → any (``hour_weekday``); same
    weekday → any (``weekday``).
    """
    earlier = sorted((h for h in history if h.start < start), key=lambda h: h.start)
    chain = {
        "hour_weekday": ("hour_weekday", "hour", "trailing"),
        "weekday": ("weekday", "trailing"),
        "none": ("trailing",),
    }[seasonality]
    for key in chain:
        found = [h for h in earlier if _matches(start, h.start, key)]
        if len(found) >= min_history or key == "trailing":
            return found[-keep:], key
    return [], "trailing"  # pragma: no cover - the chain always ends with "trailing"
