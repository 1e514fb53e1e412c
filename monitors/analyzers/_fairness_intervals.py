"""Score confidence intervals of the fairness analyzer (classification).

Every classification metric of a group is a binomial proportion ``x / n`` (selected rows
of the group, true positives of the rows labelled positive, ...). Its interval is
**Wilson's** score interval.

A disparity is a maximum (or minimum) over pairs of groups::

    max_i p_i - min_j p_j = max_{i<j} |p_i - p_j|
    min_i p_i / max_j p_j = min_{i<j} min(p_i / p_j, p_j / p_i)

so simultaneous intervals for the pairwise differences (or ratios) of the ``k`` groups
give an interval for the disparity: when every pair's interval holds, the disparity lies
in ``[max_ij lower |d_ij|, max_ij upper |d_ij|]`` (``[min_ij lower, min_ij upper]`` for
ratios). Each of the ``m = k (k - 1) / 2`` pairs gets a two-sided interval at level
``1 - alpha / m`` (Bonferroni), so all of them hold together with probability at least
``1 - alpha``, **whatever the true rates** — including equal rates, where the disparity is
0 (ratio 1) and sits on the boundary. Pairs use Newcombe's hybrid score interval for a
difference and the MOVER-R (Donner & Zou) score interval for a ratio, both built from the
Wilson intervals of the two groups, so zero counts are handled without continuity
corrections. Equalized odds combine the TPR and FPR families with ``alpha / 2`` each.

The construction is conservative: Bonferroni over the pairs, and the bound on a maximum
when every pair holds. With more than :data:`MAX_PAIRWISE_GROUPS` groups the pairs are
replaced by simultaneous Wilson intervals of the groups (``alpha / k`` each), which is
cheaper and more conservative still.

Arrays have any leading axes and the groups on the last one; ``present`` says which groups
take part (a group with no rows in the window does not).
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Interval = tuple[FloatArray, FloatArray]

#: Above this many groups the pairwise intervals give way to simultaneous group intervals.
MAX_PAIRWISE_GROUPS: Final = 1000

WILSON: Final = "wilson"
DIFFERENCE: Final = "newcombe_pairwise_bonferroni"
RATIO: Final = "mover_ratio_pairwise_bonferroni"
EQUALIZED_ODDS_DIFFERENCE: Final = "newcombe_pairwise_bonferroni_tpr_fpr"
EQUALIZED_ODDS_RATIO: Final = "mover_ratio_pairwise_bonferroni_tpr_fpr"


def z_two_sided(alpha: FloatArray | float) -> FloatArray:
    """The normal quantile of a two-sided interval of level ``1 - alpha``."""
    return np.asarray(ndtri(1.0 - np.asarray(alpha, dtype=np.float64) / 2.0))


def wilson(x: FloatArray, n: FloatArray, z: FloatArray | float) -> Interval:
    """Wilson score interval of ``x`` successes in ``n`` trials; ``[0, 1]`` when ``n == 0``."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = np.asarray(z, dtype=np.float64) ** 2
    spread = np.where(n > 0, x * (n - x) / np.where(n > 0, n, 1.0), 0.0)
    center = (x + z2 / 2.0) / (n + z2)
    half = np.sqrt(z2) * np.sqrt(np.maximum(spread, 0.0) + z2 / 4.0) / (n + z2)
    low = np.where(x <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(x >= n, 1.0, np.clip(center + half, 0.0, 1.0))
    return low, high


def _share(x: FloatArray, n: FloatArray) -> FloatArray:
    """``x / n``, and 0 where ``n == 0`` (sklearn's convention for ``0 / 0`` rates)."""
    return np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)


def _pair_count(present: BoolArray) -> FloatArray:
    """Number of pairs of present groups, per leading index."""
    k = present.sum(axis=-1).astype(np.float64)
    return k * (k - 1.0) / 2.0


def _newcombe_abs(
    p: FloatArray, low: FloatArray, high: FloatArray, i: NDArray[np.intp], j: NDArray[np.intp]
) -> Interval:
    """Bounds on ``|p_i - p_j|`` from Newcombe's interval for ``p_i - p_j``."""
    d = p[..., i] - p[..., j]
    lower = d - np.hypot(p[..., i] - low[..., i], high[..., j] - p[..., j])
    upper = d + np.hypot(high[..., i] - p[..., i], p[..., j] - low[..., j])
    lower, upper = np.clip(lower, -1.0, 1.0), np.clip(upper, -1.0, 1.0)
    return np.maximum(np.maximum(lower, -upper), 0.0), np.maximum(np.abs(lower), np.abs(upper))


def _mover_ratio(
    p1: FloatArray, l1: FloatArray, u1: FloatArray, p2: FloatArray, l2: FloatArray, u2: FloatArray
) -> Interval:
    """MOVER-R interval of ``p1 / p2`` from two Wilson intervals (upper ``inf`` if ``x2 == 0``)."""
    prod = p1 * p2
    a = u2 * (2.0 * p2 - u2)
    c = l1 * (2.0 * p1 - l1)
    den_low = prod + np.sqrt(np.maximum(prod * prod - a * c, 0.0))
    lower = np.where(den_low > 0, c / np.where(den_low > 0, den_low, 1.0), 0.0)
    b = l2 * (2.0 * p2 - l2)
    d = u1 * (2.0 * p1 - u1)
    num_high = prod + np.sqrt(np.maximum(prod * prod - b * d, 0.0))
    upper = np.where(b > 0, num_high / np.where(b > 0, b, 1.0), np.inf)
    return np.maximum(lower, 0.0), upper


@functools.lru_cache(maxsize=64)
def _pairs(n_groups: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices ``(i, j)``, ``i < j``, of every pair of groups (read-only, cached)."""
    i, j = np.triu_indices(n_groups, k=1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def _none_if_empty(present: BoolArray, interval: Interval) -> Interval:
    """``NaN`` bounds where no group is present (the disparity is undefined)."""
    empty = ~present.any(axis=-1)
    return np.where(empty, np.nan, interval[0]), np.where(empty, np.nan, interval[1])


def _few(present: BoolArray, value: float) -> Interval:
    """The exact interval ``[value, value]`` of fewer than two groups (``NaN`` for none)."""
    point = np.full(present.shape[:-1], value)
    return _none_if_empty(present, (point, point))


def _box(
    x: FloatArray, n: FloatArray, present: BoolArray, alpha: float, *, ratio: bool
) -> Interval:
    """Simultaneous Wilson intervals of the groups (``alpha / k`` each) bounding the disparity."""
    k = np.maximum(present.sum(axis=-1).astype(np.float64), 1.0)
    low, high = wilson(x, n, z_two_sided(alpha / k)[..., None])
    lo_min = np.where(present, low, np.inf).min(axis=-1)
    lo_max = np.where(present, low, -np.inf).max(axis=-1)
    hi_min = np.where(present, high, np.inf).min(axis=-1)
    hi_max = np.where(present, high, -np.inf).max(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ratio:
            lower = np.where(hi_max > 0, lo_min / hi_max, 0.0)
            upper = np.where(lo_max > 0, np.minimum(hi_min / lo_max, 1.0), 1.0)
        else:
            lower = np.maximum(lo_max - hi_min, 0.0)
            upper = hi_max - lo_min
    single = present.sum(axis=-1) < 2
    return _none_if_empty(
        present, (np.where(single, float(ratio), lower), np.where(single, float(ratio), upper))
    )


def gap_interval(x: FloatArray, n: FloatArray, present: BoolArray, alpha: float) -> Interval:
    """Interval of ``max_i p_i - min_j p_j`` over the present groups, level ``1 - alpha``.

    ``x`` / ``n`` are the successes and trials of each group (last axis). A present group
    with ``n == 0`` counts as rate 0 (as fairlearn does) with interval ``[0, 1]``. One present
    group gives ``[0, 0]``, none ``NaN``.
    """
    x, n = np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64)
    n_groups = x.shape[-1]
    if n_groups > MAX_PAIRWISE_GROUPS:
        return _box(x, n, present, alpha, ratio=False)
    if n_groups < 2:
        return _few(present, 0.0)
    m = np.maximum(_pair_count(present), 1.0)
    low, high = wilson(x, n, z_two_sided(alpha / m)[..., None])
    i, j = _pairs(n_groups)
    lower, upper = _newcombe_abs(_share(x, n), low, high, i, j)
    valid = present[..., i] & present[..., j]
    return _none_if_empty(
        present,
        (np.where(valid, lower, 0.0).max(axis=-1), np.where(valid, upper, 0.0).max(axis=-1)),
    )


def ratio_interval(x: FloatArray, n: FloatArray, present: BoolArray, alpha: float) -> Interval:
    """Interval of ``min_i p_i / max_j p_j`` over the present groups, level ``1 - alpha``.

    Pairwise MOVER-R intervals ``[a, b]`` of ``p_i / p_j`` bound ``min(r, 1 / r)`` by
    ``[min(a, 1 / b), min(1, b, 1 / a)]``; the disparity lies between the smallest lower
    and the smallest upper bound. One present group gives ``[1, 1]``, none ``NaN``.
    """
    x, n = np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64)
    n_groups = x.shape[-1]
    if n_groups > MAX_PAIRWISE_GROUPS:
        return _box(x, n, present, alpha, ratio=True)
    if n_groups < 2:
        return _few(present, 1.0)
    m = np.maximum(_pair_count(present), 1.0)
    low, high = wilson(x, n, z_two_sided(alpha / m)[..., None])
    p = _share(x, n)
    i, j = _pairs(n_groups)
    a, b = _mover_ratio(p[..., i], low[..., i], high[..., i], p[..., j], low[..., j], high[..., j])
    with np.errstate(divide="ignore"):
        lower = np.minimum(a, 1.0 / b)
        upper = np.minimum(np.minimum(b, 1.0 / a), 1.0)
    valid = present[..., i] & present[..., j]
    return _none_if_empty(
        present,
        (np.where(valid, lower, 1.0).min(axis=-1), np.where(valid, upper, 1.0).min(axis=-1)),
    )


def max_interval(first: Interval, second: Interval) -> Interval:
    """Interval of ``max(u, v)`` from intervals of ``u`` and ``v`` that hold together."""
    return np.maximum(first[0], second[0]), np.maximum(first[1], second[1])


def min_interval(first: Interval, second: Interval) -> Interval:
    """Interval of ``min(u, v)`` from intervals of ``u`` and ``v`` that hold together."""
    return np.minimum(first[0], second[0]), np.minimum(first[1], second[1])
