"""Bins for PSI, Jensen–Shannon, KL and TVD, and the pooling of sparse categories.

Numeric columns — bins come from the reference only (once, in ``prepare_reference``):

* a value holding at least ``point_mass_share`` (5 %) of the reference is a *point mass* and
  gets a bin of its own, ``[v, nextafter(v))``;
* the other values are cut into ``max(1, n_bins - point masses)`` quantile bins
  (``np.quantile``, linear);
* an edge that would leave a reference bin empty is dropped (of edges cutting the reference
  at the same place the highest is kept, so an integer column gets ``[k, k + 1)`` bins); the
  outer bins are open, so window values outside the reference range land in them;
* a column with at least two distinct reference values always has at least two bins.

Categorical columns — groups come from both samples' counts, per window. Categories are
ranked by their pooled count (reference + window, descending; ties by their text):

* distances (PSI, Jensen–Shannon, TVD): at most ``B = max(2, 1 + n_eff // category_bin_rows)``
  bins, ``n_eff = n m / (n + m)``: the ``B - 1`` first categories and one bin pooling the rest.
  Under no drift the Jensen–Shannon divergence of ``B`` bins is about ``(B - 1) / (8 n_eff)``,
  so this keeps the JS distance of identical distributions near or below 0.035 however many
  sparse levels the column has;
* chi-square: walking the ranking, categories (or distance bins) are accumulated into one
  cell until its count expected in the smaller sample reaches ``chi2_min_expected`` (5); a
  last cell below it joins the previous one (Cochran's rule).

Every grouping depends only on the pooled counts — the table's margins — and on the
categories' text for ties, never on how a category's rows split between the samples; so
under no drift the chi-square test of the grouped table keeps its size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _runs(sorted_values: FloatArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Distinct values of a sorted array, the index where each starts, and their counts."""
    n = sorted_values.size
    starts = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    starts = np.concatenate([[0], starts]).astype(np.int64)
    lengths = np.diff(np.append(starts, n)).astype(np.int64)
    return sorted_values[starts], starts, lengths


def point_masses(sorted_values: FloatArray, share: float) -> FloatArray:
    """Values holding at least ``share`` of a sorted sample."""
    if sorted_values.size == 0:
        return np.empty(0)
    values, _, lengths = _runs(sorted_values)
    return np.asarray(values[lengths >= share * sorted_values.size], dtype=np.float64)


def reference_edges(
    sorted_values: FloatArray, n_bins: int, point_mass_share: float
) -> tuple[FloatArray, FloatArray]:
    """Interior bin edges of a sorted reference (see module docstring) and its point masses.

    Bins are ``(-inf, e0), [e0, e1), ..., [e_last, inf)``.
    """
    n = sorted_values.size
    if n == 0:
        return np.empty(0), np.empty(0)
    values, starts, lengths = _runs(sorted_values)
    is_mass = lengths >= point_mass_share * n
    masses = values[is_mass]
    rest = sorted_values[np.repeat(~is_mass, lengths)]
    candidates = [masses, np.nextafter(masses, np.inf)]
    if rest.size:
        q = max(1, n_bins - int(masses.size))
        candidates.append(np.quantile(rest, np.linspace(0.0, 1.0, q + 1))[1:-1])
    edges = np.unique(np.concatenate(candidates))
    cuts = np.searchsorted(sorted_values, edges, side="left")
    inside = (cuts > 0) & (cuts < n)
    edges, cuts = edges[inside], cuts[inside]
    if edges.size:
        edges = edges[np.append(cuts[1:] != cuts[:-1], True)]  # highest edge of each cut
    if edges.size == 0 and values.size >= 2:  # cannot happen with defaults; keep two bins
        edges = values[1:][[int(np.argmin(np.abs(starts[1:] - n / 2)))]]
    return np.asarray(edges, dtype=np.float64), np.asarray(masses, dtype=np.float64)


def effective_n(n_ref: int, n_cur: int) -> float:
    """``n m / (n + m)``: the sample size that sets the noise of a two-sample comparison."""
    return n_ref * n_cur / (n_ref + n_cur) if n_ref + n_cur else 0.0


def tiebreak_ranks(categories: list[Any]) -> IntArray:
    """Rank of each category in an order that does not depend on any count (its text)."""
    keys = [str(c) for c in categories]
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    return ranks


def pooled_ranking(ref_counts: IntArray, cur_counts: IntArray, tiebreak: IntArray) -> IntArray:
    """Category positions by descending pooled count, ties by ``tiebreak``.

    Ties must not be broken by either sample's own count: among equally frequent categories
    that would pick those the window happens to hold fewer of, and bias the test.
    """
    return np.lexsort((tiebreak, -(ref_counts + cur_counts))).astype(np.int64)


def distance_groups(
    ref_counts: IntArray, cur_counts: IntArray, bin_rows: int, tiebreak: IntArray
) -> IntArray:
    """Group of each category for PSI/JS/TVD: the top ``B - 1`` alone, the rest pooled.

    Returns one group label per category; labels ``0 .. G-1`` follow the ranking and the
    pooled group, if any, is the last.
    """
    k = ref_counts.size
    n_eff = effective_n(int(ref_counts.sum()), int(cur_counts.sum()))
    max_bins = max(2, 1 + int(n_eff // bin_rows))
    labels = np.empty(k, dtype=np.int64)
    order = pooled_ranking(ref_counts, cur_counts, tiebreak)
    labels[order] = np.minimum(np.arange(k), max_bins - 1)
    return labels


def chi2_groups(
    ref_counts: IntArray, cur_counts: IntArray, min_expected: float, tiebreak: IntArray
) -> IntArray:
    """Group of each category for the chi-square test (Cochran's rule; see module docstring)."""
    k = ref_counts.size
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    labels = np.zeros(k, dtype=np.int64)
    if k == 0 or n_ref + n_cur == 0:
        return labels
    order = pooled_ranking(ref_counts, cur_counts, tiebreak)
    expected = (ref_counts + cur_counts)[order] * (min(n_ref, n_cur) / (n_ref + n_cur))
    alone = int(np.count_nonzero(expected >= min_expected))  # the ranking puts them first
    ranked = np.arange(k, dtype=np.int64)
    group, acc = alone, 0.0
    for j in range(alone, k):  # the sparse tail only
        ranked[j] = group
        acc += float(expected[j])
        if acc >= min_expected:
            group, acc = group + 1, 0.0
    if 0.0 < acc < min_expected and group > 0:  # a last cell below the minimum
        ranked[ranked == group] = group - 1
    labels[order] = ranked
    return labels


def group_counts(counts: IntArray, labels: IntArray) -> IntArray:
    """Counts summed by group label."""
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(labels, weights=counts, minlength=int(labels.max()) + 1).astype(np.int64)


def other_label(n_pooled: int) -> str:
    """Name of the bin pooling ``n_pooled`` categories."""
    return f"(other: {n_pooled} categories)"
