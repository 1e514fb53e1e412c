"""KS and Wasserstein of a reference (exact rows) against a window known by its fine bins.

The reference keeps its sorted values (:class:`~monitors.analyzers.drift.NumericProfile`);
the window is known by, per non-empty fine bin ``j``, its count ``c_j``, minimum ``m_j`` and
maximum ``M_j``. That pins the window's empirical CDF (counts ``<= x``) inside a band:

* exactly ``C_j`` (the count of the bins before) for ``x < m_j``, ``C_j + c_j`` from ``M_j``;
* between ``C_j + 1`` and ``C_j + c_j - 1`` on ``[m_j, M_j)`` (exact when ``c_j <= 2``).

On the grid of every reference value and every ``m_j``, ``M_j`` all three step functions
are constant between grid points, so

* KS ``D = sup |F_ref - F_cur|`` lies in ``[sup dist(F_ref, band), sup max deviation]``;
  the estimate uses the band's middle. The width is at most the largest window bin mass
  (``c_j / m``) — in practice far less, since ``[m_j, M_j)`` is narrower than the bin;
* Wasserstein-1 ``W = integral |F_ref - F_cur|`` likewise, within
  ``sum_j (M_j - m_j) (c_j - 2) / m``, at most the widest window bin ``M_j - m_j``.

Both are exact (up to rounding) when every window bin holds at most two values or one
distinct value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CdfComparison:
    """KS and Wasserstein estimates with the bounds the bins allow."""

    ks: float
    ks_low: float
    ks_high: float
    wasserstein: float
    wasserstein_low: float
    wasserstein_high: float
    max_bin_mass: float
    """Largest window bin share ``c_j / m`` (the stated KS bound)."""
    max_bin_width: float
    """Widest window bin range ``M_j - m_j`` (the stated Wasserstein bound)."""


def window_band(
    grid: FloatArray, counts: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper window counts ``<= g`` at each grid point (bins ascending)."""
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    k = np.searchsorted(hi, grid, side="right")  # bins wholly at or below g
    base = cum[k]
    inside = np.zeros(grid.size, dtype=bool)
    partial = k < counts.size
    kk = np.minimum(k, counts.size - 1)
    inside[partial] = lo[kk[partial]] <= grid[partial]
    low = base + np.where(inside, 1.0, 0.0)
    high = base + np.where(inside, counts[kk] - 1.0, 0.0)
    return low, high


def compare_binned(
    reference: FloatArray, counts: FloatArray, lo: FloatArray, hi: FloatArray
) -> CdfComparison:
    """KS and Wasserstein of sorted ``reference`` against binned window values.

    Parameters
    ----------
    reference : ndarray
        Sorted finite reference values (non-empty).
    counts, lo, hi : ndarray
        Per non-empty window bin, ascending: count, minimum and maximum (non-empty).
    """
    n, m = float(reference.size), float(counts.sum())
    grid = np.unique(np.concatenate([reference, lo, hi]))
    f_ref = np.searchsorted(reference, grid, side="right") / n
    low, high = window_band(grid, counts, lo, hi)
    low, high = low / m, high / m
    mid = (low + high) / 2.0
    dist = np.maximum(np.maximum(low - f_ref, f_ref - high), 0.0)
    dev = np.maximum(np.abs(f_ref - low), np.abs(f_ref - high))
    diff = np.abs(f_ref - mid)
    widths = np.diff(grid)
    return CdfComparison(
        ks=float(diff.max()),
        ks_low=float(dist.max()),
        ks_high=float(dev.max()),
        wasserstein=float(np.sum(diff[:-1] * widths)),
        wasserstein_low=float(np.sum(dist[:-1] * widths)),
        wasserstein_high=float(np.sum(dev[:-1] * widths)),
        max_bin_mass=float(counts.max() / m),
        max_bin_width=float((hi - lo).max()),
    )


def distinct_values(
    counts: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray, bool]:
    """Window values the bins pin down, their counts, and whether that is every value.

    A bin with one distinct value (``m == M``) or at most two values is resolved; a bin
    with three or more values over a range hides how many distinct values it holds.
    """
    resolved = (lo == hi) | (counts <= 2)
    single = lo == hi
    values = np.concatenate([lo[single], lo[~single], hi[~single]])
    amounts = np.concatenate([counts[single], np.ones(int((~single).sum())), counts[~single] - 1.0])
    order = np.argsort(values, kind="stable")
    values, amounts = values[order], amounts[order]
    keep = np.concatenate([[True], values[1:] != values[:-1]]) if values.size else values > 0
    sums = np.add.reduceat(amounts, np.flatnonzero(keep)) if values.size else amounts
    return values[keep], sums, bool(resolved.all())
