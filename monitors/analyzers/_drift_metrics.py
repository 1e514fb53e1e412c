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

from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_config import NUMERIC_METRICS, P_VALUE_METRICS, DriftConfig
from monitors.analyzers._drift_json import json_scalar
from monitors.analyzers._drift_reference import quantile_edges
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


def _bins_details_numeric(
    edges: NDArray[np.float64], ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> dict[str, Any]:
    """Details of quantile bins: edges, counts and proportions on both sides."""
    n_ref = max(int(ref_counts.sum()), 1)
    n_cur = max(int(cur_counts.sum()), 1)
    return {
        "binning": "reference quantiles; outer bins open-ended",
        "edges": [float(e) for e in edges],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": [float(c) / n_ref for c in ref_counts],
        "current_proportions": [float(c) / n_cur for c in cur_counts],
    }


def _bins_details_categories(
    categories: list[Any], ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> dict[str, Any]:
    """Details of category bins: categories, counts and proportions on both sides."""
    n_ref = max(int(ref_counts.sum()), 1)
    n_cur = max(int(cur_counts.sum()), 1)
    return {
        "binning": "categories",
        "categories": [json_scalar(c) for c in categories],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": [float(c) / n_ref for c in ref_counts],
        "current_proportions": [float(c) / n_cur for c in cur_counts],
    }


def _chi2(
    ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64], config: DriftConfig
) -> tuple[float, float, str, str]:
    """Chi-square statistic and p-value in the configured variant, with its test and handling."""
    eps = config.epsilon
    if config.chi2_variant == "contingency":
        chi, chi_p = st.chi2_homogeneity(ref_counts, cur_counts)
        test = "scipy.stats.chi2_contingency([reference, current], correction=False)"
        handling = "unseen categories are cells with reference count 0 (no smoothing needed)"
    else:
        chi, chi_p = st.chi2_goodness_of_fit(ref_counts, cur_counts, eps)
        test = "scipy.stats.chisquare(current, reference proportions * n_current)"
        handling = f"reference proportion {eps} for unseen categories, renormalised"
    return chi, chi_p, test, handling


def categorical_metrics(
    column: str,
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    config: DriftConfig,
) -> list[MetricValue]:
    """``chi2``, ``z_test`` (two categories only), ``psi``, ``jensenshannon`` and ``tvd``."""
    eps = config.epsilon
    ref_p = ref_counts / ref_counts.sum()
    cur_p = cur_counts / cur_counts.sum()
    out: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **details: Any) -> None:
        out.append(metric_value(column, metric, value, p, config, **details))

    unseen = [
        {"category": json_scalar(c), "count": int(n)}
        for c, r, n in zip(categories, ref_counts, cur_counts, strict=True)
        if r == 0 and n > 0
    ]
    chi, chi_p, test, handling = _chi2(ref_counts, cur_counts, config)
    add(
        "chi2",
        chi,
        chi_p,
        test=test,
        unseen_categories=unseen,
        unseen_handling=handling,
        dof=int(ref_counts.size - 1),
    )
    if ref_counts.size == 2:
        z, z_p = st.z_test_proportions(ref_counts, cur_counts)
        add("z_test", z, z_p, category=json_scalar(categories[0]), test="pooled two-proportion")
    add(
        "psi",
        st.psi(ref_p, cur_p, eps),
        None,
        epsilon=eps,
        **_bins_details_categories(categories, ref_counts, cur_counts),
    )
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e")
    add("tvd", st.tv_distance(ref_p, cur_p), None)
    return out


def _numeric_bins(
    profile: NumericProfile,
    cur_sorted: NDArray[np.float64],
    cmp: st.SortedComparison,
    n_bins: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[str, Any]]:
    """Reference and window bin counts (distinct values, or reference quantiles) and details."""
    if cmp.values is not None:
        assert cmp.ref_counts is not None and cmp.cur_counts is not None
        ref_b, cur_b = cmp.ref_counts, cmp.cur_counts
        return ref_b, cur_b, _bins_details_categories([float(v) for v in cmp.values], ref_b, cur_b)
    if n_bins == profile.n_bins:
        edges, ref_b = profile.edges, profile.counts
    else:  # the config asks for other bins than the profile was built with
        edges = quantile_edges(profile.sorted_values, n_bins)
        ref_b = st.bin_counts(profile.sorted_values, edges)
    cur_b = st.bin_counts(cur_sorted, edges)
    return ref_b, cur_b, _bins_details_numeric(edges, ref_b, cur_b)


def numeric_metrics(
    profile: NumericProfile,
    cur_sorted: NDArray[np.float64],
    cmp: st.SortedComparison,
    config: DriftConfig,
    n_bins: int,
) -> tuple[list[MetricValue], set[str]]:
    """The metrics of a numeric column and the names of those that may decide."""
    name = profile.column
    metrics: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **extra: Any) -> None:
        metrics.append(metric_value(name, metric, value, p, config, **extra))

    add("ks", cmp.ks_statistic, st.ks_pvalue(cmp.ks_statistic, profile.sorted_values, cur_sorted))
    std = profile.std or 0.0
    w_norm = cmp.wasserstein / std if std > 0 else (0.0 if cmp.wasserstein == 0 else math.inf)
    add(
        "wasserstein_normed",
        w_norm,
        None,
        wasserstein=cmp.wasserstein,
        reference_std=std,
    )
    ref_b, cur_b, bins = _numeric_bins(profile, cur_sorted, cmp, n_bins)
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
        cat_metrics = categorical_metrics(
            name, [float(v) for v in cmp.values], ref_b, cur_b, config
        )
        metrics += [m for m in cat_metrics if m.metric in ("chi2", "z_test", "tvd")]
        available |= {m.metric for m in cat_metrics}
    return metrics, available
