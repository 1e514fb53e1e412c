"""Every drift metric of one column, each with its threshold and verdict.

Numeric columns get KS, normalised Wasserstein, PSI, Jensen–Shannon, KL and
Anderson–Darling (from one merge of the two sorted samples, see
:mod:`monitors.analyzers._drift_stats`); low-cardinality numeric columns also get the
categorical ``chi2``/``z_test``/``tvd``. Categorical and boolean columns get chi-square,
the two-proportion Z-test (two categories only), PSI, Jensen–Shannon and total variation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitors.analyzers import _drift_binning as binning
from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_config import NUMERIC_METRICS, P_VALUE_METRICS, DriftConfig
from monitors.analyzers._drift_json import json_scalar
from monitors.analyzers._drift_types import MetricValue, NumericProfile


def verdict(
    metric: str, value: float | None, p_value: float | None, threshold: float
) -> bool | None:
    """Drifted or not (``p < threshold`` or ``value >= threshold``); ``None`` if unknown."""
    if metric in P_VALUE_METRICS:
        return None if p_value is None else bool(p_value < threshold)
    if value is None or math.isnan(value):
        return None
    return bool(value >= threshold)


def metric_value(
    column: str,
    metric: str,
    value: float | None,
    p_value: float | None,
    config: DriftConfig,
    /,
    **details: Any,
) -> MetricValue:
    """One metric of ``column`` judged against its (possibly overridden) threshold."""
    thr = config.threshold_for(column, metric)
    return MetricValue(metric, value, p_value, thr, verdict(metric, value, p_value, thr), details)


def _proportions(counts: NDArray[np.int64]) -> list[float]:
    """Shares of a count vector (all zero if it is empty)."""
    total = max(int(counts.sum()), 1)
    return [float(c) / total for c in counts]


def _bins_details_numeric(
    edges: NDArray[np.float64],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    masses: NDArray[np.float64],
    config: DriftConfig,
) -> dict[str, Any]:
    """Details of reference bins: edges, point masses, counts and proportions on both sides."""
    return {
        "binning": (
            f"reference bins: a value holding >= {config.point_mass_share:g} of the reference "
            f"has its own bin, the rest quantile bins; outer bins open-ended"
        ),
        "edges": [float(e) for e in edges],
        "point_masses": [float(v) for v in masses],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": _proportions(ref_counts),
        "current_proportions": _proportions(cur_counts),
    }


def category_bins(
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    config: DriftConfig,
) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[str, Any]]:
    """Counts in the distance bins of a categorical column (sparse categories pooled)."""
    tiebreak = binning.tiebreak_ranks(categories)
    labels = binning.distance_groups(ref_counts, cur_counts, config.category_bin_rows, tiebreak)
    ref_g = binning.group_counts(ref_counts, labels)
    cur_g = binning.group_counts(cur_counts, labels)
    n_groups = ref_g.size
    pooled = int(np.count_nonzero(labels == n_groups - 1))
    names: list[Any] = [None] * n_groups
    for cat, label in zip(categories, labels.tolist(), strict=True):
        if names[label] is None:
            names[label] = json_scalar(cat)
    if pooled > 1:
        names[-1] = binning.other_label(pooled)
    n_eff = binning.effective_n(int(ref_counts.sum()), int(cur_counts.sum()))
    return (
        ref_g,
        cur_g,
        {
            "binning": (
                f"categories by pooled count; at most 1 + n_eff // {config.category_bin_rows} "
                f"bins (n_eff = {n_eff:.0f}), the rest pooled"
            ),
            "categories": names,
            "n_categories": len(categories),
            "n_pooled_categories": pooled if pooled > 1 else 0,
            "reference_counts": [int(c) for c in ref_g],
            "current_counts": [int(c) for c in cur_g],
            "reference_proportions": _proportions(ref_g),
            "current_proportions": _proportions(cur_g),
        },
    )


def _grouped_chi2(
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    tiebreak: NDArray[np.int64],
    config: DriftConfig,
) -> tuple[float, float, NDArray[np.int64], NDArray[np.int64]]:
    """Chi-square of the table after Cochran pooling (Fisher's exact p-value when it has two
    cells); the pooled counts."""
    labels = binning.chi2_groups(ref_counts, cur_counts, config.chi2_min_expected, tiebreak)
    ref_g = binning.group_counts(ref_counts, labels)
    cur_g = binning.group_counts(cur_counts, labels)
    chi, p = st.chi2_homogeneity(ref_g, cur_g)
    if ref_g.size == 2:
        p = st.fisher_exact_pvalue(ref_g, cur_g)
    return chi, p, ref_g, cur_g


def _chi2(
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    ref_bins: NDArray[np.int64],
    cur_bins: NDArray[np.int64],
    config: DriftConfig,
) -> tuple[float, float, dict[str, Any]]:
    """Chi-square statistic and p-value in the configured variant, with its details.

    ``contingency``: two two-sample tests (chi-square; Fisher's exact p-value for two cells),
    each on cells pooled by Cochran's rule — one on
    every category (finest), one on the distance bins (``ref_bins``/``cur_bins``: a shift
    onto a frequent level is not diluted over hundreds of degrees of freedom). When their
    cells differ the p-value is the smaller one doubled (Bonferroni), and the statistic is
    that test's. ``goodness_of_fit`` (Evidently's): every category against the reference
    proportions.
    """
    eps = config.epsilon
    if config.chi2_variant == "goodness_of_fit":
        chi, chi_p = st.chi2_goodness_of_fit(ref_counts, cur_counts, eps)
        return (
            chi,
            chi_p,
            {
                "test": "scipy.stats.chisquare(current, reference proportions * n_current)",
                "unseen_handling": f"reference share {eps} for unseen categories, renormalised",
                "dof": int(ref_counts.size - 1),
            },
        )
    tiebreak = binning.tiebreak_ranks(categories)
    fine = _grouped_chi2(ref_counts, cur_counts, tiebreak, config)
    coarse = _grouped_chi2(ref_bins, cur_bins, np.arange(ref_bins.size), config)
    same = fine[2].size == coarse[2].size and bool(
        np.array_equal(np.sort(fine[2]), np.sort(coarse[2]))
        and np.array_equal(np.sort(fine[3]), np.sort(coarse[3]))
    )
    best = fine if same or fine[1] <= coarse[1] else coarse
    p = best[1] if same else min(1.0, 2 * min(fine[1], coarse[1]))
    return (
        best[0],
        p,
        {
            "test": "scipy.stats.chi2_contingency([reference, current], correction=False)",
            "p_value_test": "scipy.stats.fisher_exact for a table of two cells, else chi-square",
            "unseen_handling": "unseen categories are cells with reference count 0 (no smoothing)",
            "pooling": (
                f"cells expected < {config.chi2_min_expected:g} times in the smaller sample "
                "pooled in order of pooled count"
            ),
            "cells": int(best[2].size),
            "dof": max(int(best[2].size) - 1, 0),
            "tests": "one" if same else "categories and distance bins; min p x 2 (Bonferroni)",
            "p_value_categories": fine[1],
            "cells_categories": int(fine[2].size),
            "p_value_bins": coarse[1],
            "cells_bins": int(coarse[2].size),
        },
    )


def categorical_metrics(
    column: str,
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    config: DriftConfig,
) -> list[MetricValue]:
    """``chi2``, ``z_test`` (two categories only), ``psi``, ``jensenshannon`` and ``tvd``."""
    eps = config.epsilon
    out: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **details: Any) -> None:
        out.append(metric_value(column, metric, value, p, config, **details))

    unseen = [
        {"category": json_scalar(c), "count": int(n)}
        for c, r, n in zip(categories, ref_counts, cur_counts, strict=True)
        if r == 0 and n > 0
    ]
    ref_g, cur_g, bins = category_bins(categories, ref_counts, cur_counts, config)
    chi, chi_p, chi_details = _chi2(categories, ref_counts, cur_counts, ref_g, cur_g, config)
    add("chi2", chi, chi_p, unseen_categories=unseen, **chi_details)
    if ref_counts.size == 2:
        z, z_p = st.z_test_proportions(ref_counts, cur_counts)
        add("z_test", z, z_p, category=json_scalar(categories[0]), test="pooled two-proportion")
    ref_p, cur_p = ref_g / ref_g.sum(), cur_g / cur_g.sum()
    add("psi", st.psi(ref_p, cur_p, eps), None, epsilon=eps, **bins)
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e", bins=int(ref_g.size))
    add("tvd", st.tv_distance(ref_p, cur_p), None, bins=int(ref_g.size))
    return out


def _numeric_bins(
    profile: NumericProfile,
    cur_sorted: NDArray[np.float64],
    cmp: st.SortedComparison,
    config: DriftConfig,
) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[str, Any]]:
    """Reference and window bin counts (distinct values, or reference bins) and details."""
    if cmp.values is not None:
        assert cmp.ref_counts is not None and cmp.cur_counts is not None
        values = [float(v) for v in cmp.values]
        return category_bins(values, cmp.ref_counts, cmp.cur_counts, config)
    if config.n_bins == profile.n_bins and config.point_mass_share == profile.point_mass_share:
        edges, masses, ref_b = profile.edges, profile.point_masses, profile.counts
    else:  # the config asks for other bins than the profile was built with
        edges, masses = binning.reference_edges(
            profile.sorted_values, config.n_bins, config.point_mass_share
        )
        ref_b = st.bin_counts(profile.sorted_values, edges)
    cur_b = st.bin_counts(cur_sorted, edges)
    return ref_b, cur_b, _bins_details_numeric(edges, ref_b, cur_b, masses, config)


def numeric_metrics(
    profile: NumericProfile,
    cur_sorted: NDArray[np.float64],
    cmp: st.SortedComparison,
    config: DriftConfig,
) -> tuple[list[MetricValue], set[str]]:
    """The metrics of a numeric column and the names of those that may decide."""
    name = profile.column
    metrics: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **extra: Any) -> None:
        metrics.append(metric_value(name, metric, value, p, config, **extra))

    add("ks", cmp.ks_statistic, st.ks_pvalue(cmp.ks_statistic, profile.sorted_values, cur_sorted))
    std = profile.std or 0.0
    norm = max(std, config.wasserstein_std_floor)
    w_norm = cmp.wasserstein / norm if norm > 0 else (0.0 if cmp.wasserstein == 0 else math.inf)
    add(
        "wasserstein_normed",
        w_norm,
        None,
        wasserstein=cmp.wasserstein,
        reference_std=std,
        std_floor=config.wasserstein_std_floor,
        normalised_by=norm,
    )
    ref_b, cur_b, bins = _numeric_bins(profile, cur_sorted, cmp, config)
    ref_p, cur_p = ref_b / ref_b.sum(), cur_b / cur_b.sum()
    add("psi", st.psi(ref_p, cur_p, config.epsilon), None, epsilon=config.epsilon, **bins)
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e")
    add("kl", st.kl_divergence(ref_p, cur_p, config.epsilon), None, direction="reference||current")
    add(
        "anderson_darling",
        cmp.ad_statistic,
        cmp.ad_p_value,
        variant="midrank",
        p_value_range=[0.001, 0.25],
    )
    available = set(NUMERIC_METRICS)
    if cmp.values is not None:
        assert cmp.ref_counts is not None and cmp.cur_counts is not None
        cat_metrics = categorical_metrics(
            name, [float(v) for v in cmp.values], cmp.ref_counts, cmp.cur_counts, config
        )
        metrics += [m for m in cat_metrics if m.metric in ("chi2", "z_test", "tvd")]
        available |= {m.metric for m in cat_metrics}
    return metrics, available
