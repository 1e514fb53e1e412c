"""Column drift from a window summary (the reference stays exact, see ``docs/scale.md``).

Per metric, against the row path (:func:`monitors.analyzers.drift.column_drift`):

* exact: PSI, Jensen–Shannon and KL of numeric columns on the default bins (the summary's
  fine bins refine them), every categorical metric (chi-square, z-test, PSI, JS, TVD)
  while a column has at most ``top_k`` unseen categories, the low-cardinality numeric
  path (distinct values are pinned by the bins' minima and maxima), missing and
  infinite counts;
* approximate, with the bound in the metric's details: KS within the largest window bin
  mass, Wasserstein within the widest window bin (:mod:`._summary_cdf`; the reported
  ``bounds`` are the exact interval the bins allow); the KS p-value is the asymptotic one
  of the estimated statistic (the row path's for windows or references over 10,000 rows);
* Anderson–Darling: computed on the summary's uniform sample against the reference (a
  valid test with the sample's size, ``details.sample_rows``).

The column's ``n_distinct`` in the reason is a lower bound for continuous columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from monitors.analyzers import _drift_binning as binning
from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_column import _aligned_counts, _finish, _too_few, insufficient
from monitors.analyzers._drift_config import (
    CATEGORICAL_METRICS,
    NUMERIC_METRICS,
    DriftConfig,
)
from monitors.analyzers._drift_json import json_scalar
from monitors.analyzers._drift_metrics import (
    _bins_details_numeric,
    categorical_metrics,
    category_bins,
    metric_value,
)
from monitors.analyzers._drift_policy import apply_policy, decide
from monitors.analyzers._drift_reference import drift_kind
from monitors.analyzers._drift_types import (
    CategoricalProfile,
    ColumnDrift,
    DriftReport,
    MetricValue,
    NumericProfile,
    ReferenceProfile,
)
from monitors.analyzers._summary_cdf import CdfComparison, compare_binned, distinct_values
from monitors.analyzers.drift import _report
from monitors.summaries.types import CategoricalSummary, NumericSummary, SummarySpec, WindowSummary
from storage.schema import Kind, ModelSchema

FloatArray = np.ndarray


def _ks_pvalue(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sided KS p-value (``scipy.stats.kstwo`` with SciPy's ``en``)."""
    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0, 1))


def default_bin_counts(
    fine_edges: FloatArray, bins: FloatArray, counts: FloatArray, edges: FloatArray
) -> tuple[np.ndarray, bool]:
    """Window counts on ``edges`` from counts on the fine bins, and whether that is exact."""
    lower = np.concatenate([[-np.inf], fine_edges])[bins.astype(np.int64)]
    target = np.searchsorted(edges, lower, side="right")
    out = np.bincount(target, weights=counts, minlength=edges.size + 1).astype(np.int64)
    return out, bool(np.isin(edges, fine_edges).all())


def _default_bins(
    profile: NumericProfile, config: DriftConfig
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """The default bins (edges, point masses, reference counts) for this config."""
    if config.n_bins == profile.n_bins and config.point_mass_share == profile.point_mass_share:
        return profile.edges, profile.point_masses, profile.counts
    edges, masses = binning.reference_edges(
        profile.sorted_values, config.n_bins, config.point_mass_share
    )
    return edges, masses, st.bin_counts(profile.sorted_values, edges)


def _approx(cmp: CdfComparison, what: str) -> dict[str, Any]:
    """Details of an approximate KS or Wasserstein value."""
    if what == "ks":
        low, high, bound = cmp.ks_low, cmp.ks_high, cmp.max_bin_mass
        rule = "largest window bin mass"
    else:
        low, high, bound = cmp.wasserstein_low, cmp.wasserstein_high, cmp.max_bin_width
        rule = "widest window bin"
    return {
        "from_summary": "exact" if low == high else "approximate",
        "bounds": [low, high],
        "bound": bound,
        "bound_rule": rule,
    }


def _sample_ad(
    profile: NumericProfile, sample: pd.DataFrame | None
) -> tuple[float | None, float | None, int]:
    """Anderson–Darling of the reference against the sample's finite values."""
    if sample is None or profile.column not in sample.columns:
        return None, None, 0
    values = sample[profile.column].to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.sort(values[np.isfinite(values)])
    if values.size < 2 or profile.n < 2:
        return None, None, int(values.size)
    cmp = st.compare_sorted(profile.sorted_values, values)
    return cmp.ad_statistic, cmp.ad_p_value, int(values.size)


def _numeric_metrics(
    profile: NumericProfile,
    col: NumericSummary,
    fine_edges: FloatArray,
    discrete: tuple[list[float], np.ndarray, np.ndarray] | None,
    sample: pd.DataFrame | None,
    config: DriftConfig,
) -> tuple[list[MetricValue], set[str]]:
    """The metrics of a numeric column from its fine bins (see the module docstring)."""
    name = profile.column
    counts = np.asarray(col.counts, dtype=np.float64)
    cmp = compare_binned(
        profile.sorted_values, counts, np.asarray(col.bin_min), np.asarray(col.bin_max)
    )
    metrics: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **extra: Any) -> None:
        metrics.append(metric_value(name, metric, value, p, config, **extra))

    add("ks", cmp.ks, _ks_pvalue(cmp.ks, profile.n, col.n), **_approx(cmp, "ks"))
    std = profile.std or 0.0
    norm = max(std, config.wasserstein_std_floor)
    w = cmp.wasserstein
    add(
        "wasserstein_normed",
        w / norm if norm > 0 else (0.0 if w == 0 else np.inf),
        None,
        wasserstein=w,
        reference_std=std,
        std_floor=config.wasserstein_std_floor,
        normalised_by=norm,
        **_approx(cmp, "wasserstein"),
    )
    if discrete is not None:
        values, ref_c, cur_c = discrete
        ref_b, cur_b, bins = category_bins(values, ref_c, cur_c, config)
    else:
        edges, masses, ref_b = _default_bins(profile, config)
        cur_b, exact = default_bin_counts(fine_edges, np.asarray(col.bins), counts, edges)
        bins = _bins_details_numeric(edges, ref_b, cur_b, masses, config)
        if not exact:
            bins["from_summary"] = "approximate: the default bins do not refine the summary's"
    ref_p, cur_p = ref_b / ref_b.sum(), cur_b / cur_b.sum()
    add("psi", st.psi(ref_p, cur_p, config.epsilon), None, epsilon=config.epsilon, **bins)
    add("jensenshannon", st.js_distance(ref_p, cur_p), None, base="e")
    add("kl", st.kl_divergence(ref_p, cur_p, config.epsilon), None, direction="reference||current")
    ad, ad_p, n_sample = _sample_ad(profile, sample)
    add(
        "anderson_darling",
        ad,
        ad_p,
        variant="midrank",
        p_value_range=[0.001, 0.25],
        from_summary="uniform sample",
        sample_rows=n_sample,
    )
    available = set(NUMERIC_METRICS)
    if discrete is not None:
        cat_metrics = categorical_metrics(name, *discrete, config)
        metrics += [m for m in cat_metrics if m.metric in ("chi2", "z_test", "tvd")]
        available |= {m.metric for m in cat_metrics}
    return metrics, available


def _discrete(
    profile: NumericProfile, col: NumericSummary, config: DriftConfig
) -> tuple[int, tuple[list[float], np.ndarray, np.ndarray] | None]:
    """Distinct values of reference and window (a lower bound), and their counts if few."""
    values, amounts, resolved = distinct_values(
        np.asarray(col.counts, dtype=np.float64), np.asarray(col.bin_min), np.asarray(col.bin_max)
    )
    ref_values, ref_counts = np.unique(profile.sorted_values, return_counts=True)
    union = np.union1d(ref_values, values)
    if not resolved or union.size > config.discrete_max_unique:
        return int(union.size), None
    ref_c = np.zeros(union.size, dtype=np.int64)
    ref_c[np.searchsorted(union, ref_values)] = ref_counts
    cur_c = np.zeros(union.size, dtype=np.int64)
    cur_c[np.searchsorted(union, values)] = amounts.astype(np.int64)
    return int(union.size), ([float(v) for v in union], ref_c, cur_c)


def numeric_from_summary(
    profile: NumericProfile,
    col: NumericSummary,
    fine_edges: FloatArray,
    sample: pd.DataFrame | None,
    config: DriftConfig,
) -> ColumnDrift:
    """Drift of a numeric column from its summary against the reference profile."""
    name = profile.column
    n_ref, n_cur = profile.n, col.n
    details: dict[str, Any] = {
        "n_infinite_current": col.n_posinf + col.n_neginf,
        "n_infinite_reference": profile.n_infinite,
    }
    counts = (n_ref, n_cur, profile.n_missing, col.n_missing)
    if min(n_ref, n_cur) < config.min_rows:
        reason = _too_few(n_ref, n_cur, config)
        kind = Kind.NUMERIC.value
        return insufficient(name, kind, NUMERIC_METRICS, config, reason, *counts, details)
    n_unique, discrete = _discrete(profile, col, config)
    metrics, available = _numeric_metrics(profile, col, fine_edges, discrete, sample, config)
    decision = decide(
        name, "numeric", n_ref, n_unique, discrete is not None, True, available, config
    )
    details["discrete"] = discrete is not None
    return _finish(name, Kind.NUMERIC.value, metrics, decision, counts, details, config)


def categorical_from_summary(
    profile: CategoricalProfile, col: CategoricalSummary, config: DriftConfig
) -> ColumnDrift:
    """Drift of a categorical or boolean column from its category counts."""
    name = profile.column
    pairs = sorted(
        zip(col.values, col.counts, strict=True), key=lambda item: (-item[1], str(item[0]))
    )
    cats: list[Any] = [v for v, _ in pairs]
    counts = [int(n) for _, n in pairs]
    if col.other_count:
        cats.append(binning.other_label(col.other_distinct))
        counts.append(col.other_count)
    n_ref, n_cur = profile.n, int(sum(counts))
    sizes = (n_ref, n_cur, profile.n_missing, col.n_missing)
    if min(n_ref, n_cur) < config.min_rows:
        reason = _too_few(n_ref, n_cur, config)
        return insufficient(name, profile.kind, CATEGORICAL_METRICS, config, reason, *sizes)
    categories, ref_counts, cur_counts, unseen = _aligned_counts(profile, cats, counts)
    metrics = categorical_metrics(name, categories, ref_counts, cur_counts, config)
    available = {m.metric for m in metrics}
    decision = decide(name, profile.kind, n_ref, len(categories), True, False, available, config)
    details: dict[str, Any] = {
        "unseen_categories": [json_scalar(c) for c, _ in unseen],
        "n_unseen_current": int(sum(n for _, n in unseen)),
    }
    if col.other_count:
        details["from_summary"] = (
            f"approximate: {col.other_distinct} unseen categories beyond the top "
            f"{len(col.values) - col.n_known} pooled into one"
        )
    return _finish(name, profile.kind, metrics, decision, sizes, details, config)


def _absent(name: str, kind: Kind, profile: Any, where: str, config: DriftConfig) -> ColumnDrift:
    """``insufficient_data`` for a column absent from the reference or the window."""
    metric_names = NUMERIC_METRICS if kind is Kind.NUMERIC else CATEGORICAL_METRICS
    return insufficient(
        name,
        kind.value,
        metric_names,
        config,
        f"insufficient data: column {name!r} is absent from the {where}",
        0 if profile is None else profile.n,
        0,
        0,
        0,
    )


def column_result_from_summary(
    name: str,
    kind: Kind,
    profile: NumericProfile | CategoricalProfile | None,
    summary: WindowSummary,
    spec: SummarySpec,
    sample: pd.DataFrame | None,
    config: DriftConfig,
) -> ColumnDrift:
    """Drift of column ``name`` from the summary; absent columns are ``insufficient_data``."""
    if profile is None:
        return _absent(name, kind, profile, "reference", config)
    if isinstance(profile, NumericProfile):
        col = summary.numeric_column(name)
        num_spec = spec.numeric_spec(name)
        if col is None or num_spec is None:
            return _absent(name, kind, profile, "window", config)
        edges = np.asarray(num_spec.edges, dtype=np.float64)
        return numeric_from_summary(profile, col, edges, sample, config)
    cat = summary.categorical_column(name)
    if cat is None:
        return _absent(name, kind, profile, "window", config)
    return categorical_from_summary(profile, cat, config)


def column_drift_from_summary(
    profile: ReferenceProfile,
    summary: WindowSummary,
    spec: SummarySpec,
    *,
    schema: ModelSchema,
    config: DriftConfig,
    sample: pd.DataFrame | None = None,
) -> DriftReport:
    """:func:`monitors.analyzers.drift.column_drift` from a window summary."""
    names = [s.name for s in schema.drift_columns()]
    results = tuple(
        column_result_from_summary(
            n, drift_kind(schema, n), profile.columns.get(n), summary, spec, sample, config
        )
        for n in names
    )
    return _report(apply_policy(results, config), schema=schema, config=config)
