"""Drift analyzer: reference vs window, per column, for the whole dataset and multivariate.

The reference does not change between windows, so the work is split:

* :func:`prepare_reference` — once per reference version: per numeric column the sorted
  finite values, quantile bin edges and reference bin shares, mean/std/min/max; per
  categorical/boolean column the category counts (:class:`ReferenceProfile`);
* :func:`column_drift` — per window: sorts each numeric window column once and derives KS,
  Wasserstein, Anderson–Darling and the bin counts from the two sorted arrays (see
  :mod:`monitors.analyzers._drift_stats`); counts each categorical column once;
* :func:`multivariate_drift` — a domain classifier on seeded subsamples;
* :func:`drift_records` — flattens the results into :class:`MetricRecord` rows.

Defaults (Evidently's, see ``docs/analyzers-drift.md``): with a reference of at most
``size_split`` = 1000 non-missing values, p-value tests decide (numeric with more than 5
distinct values: KS; categorical or <= 5 distinct values: chi-square, or the two-proportion
Z-test when there are exactly two values; drift when p < 0.05). With a larger reference,
effect sizes decide (numeric: Wasserstein distance / reference std >= 0.1; categorical or
<= 5 distinct values: Jensen–Shannon distance >= 0.1). Every metric is computed and reported
for every column whatever decides. Missing values (NaN/None, and +-inf for numeric columns)
are excluded from the tests and counted in the details. A side with fewer than ``min_rows``
= 30 non-missing values gives ``insufficient_data``.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_config import (
    CATEGORICAL_METRICS,
    NUMERIC_METRICS,
    P_VALUE_METRICS,
    DriftConfig,
    DriftThresholds,
    FeatureDriftOverride,
    MethodChoice,
    drift_config,
)
from monitors.analyzers._drift_multivariate import MultivariateDrift, multivariate_drift
from monitors.analyzers._drift_results import (
    CategoricalProfile,
    ColumnDrift,
    DriftReport,
    MetricValue,
    NumericProfile,
    ReferenceProfile,
    _python,
    drift_records,
)
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from storage.schema import Kind, ModelSchema

__all__ = [
    "CategoricalProfile",
    "ColumnDrift",
    "DriftConfig",
    "DriftReport",
    "DriftThresholds",
    "FeatureDriftOverride",
    "MethodChoice",
    "MetricValue",
    "MultivariateDrift",
    "NumericProfile",
    "ReferenceProfile",
    "column_drift",
    "drift_config",
    "drift_records",
    "multivariate_drift",
    "prepare_reference",
]


def _sort_key(item: tuple[Any, int]) -> tuple[int, str]:
    return (-item[1], str(item[0]))


def _category_counts(series: pd.Series) -> tuple[list[Any], list[int], int]:
    counts = series.value_counts(dropna=True, sort=False)
    pairs = sorted(
        (
            (_python(k), int(v))
            for k, v in zip(counts.index.tolist(), counts.to_numpy(), strict=True)
        ),
        key=_sort_key,
    )
    n_missing = int(series.isna().sum())
    return [p[0] for p in pairs], [p[1] for p in pairs], n_missing


def _finite_values(series: pd.Series) -> tuple[NDArray[np.float64], int, int]:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    if finite.all():
        return values, 0, 0
    n_nan = int(np.isnan(values).sum())
    return values[finite], n_nan, int(values.size - finite.sum() - n_nan)


def _quantile_edges(sorted_values: NDArray[np.float64], n_bins: int) -> NDArray[np.float64]:
    if sorted_values.size == 0:
        return np.empty(0)
    edges = np.unique(np.quantile(sorted_values, np.linspace(0.0, 1.0, n_bins + 1)))
    return np.asarray(edges[1:-1], dtype=np.float64)


def _numeric_profile(name: str, series: pd.Series, n_bins: int) -> NumericProfile:
    values, n_missing, n_inf = _finite_values(series)
    ordered = np.sort(values)
    edges = _quantile_edges(ordered, n_bins)
    n = ordered.size
    return NumericProfile(
        column=name,
        sorted_values=ordered,
        n_missing=n_missing,
        n_infinite=n_inf,
        mean=float(ordered.mean()) if n else None,
        std=float(ordered.std()) if n else None,
        min=float(ordered[0]) if n else None,
        max=float(ordered[-1]) if n else None,
        n_unique=int(np.count_nonzero(np.diff(ordered))) + 1 if n else 0,
        edges=edges,
        counts=st.bin_counts(ordered, edges),
        n_bins=n_bins,
    )


def prepare_reference(
    reference: pd.DataFrame, *, schema: ModelSchema, config: DriftConfig
) -> ReferenceProfile:
    """Summarise the reference once for every later window.

    Parameters
    ----------
    reference : DataFrame
        Reference rows with the user's column names. Columns of
        ``schema.drift_columns()`` that are absent are skipped (their windows report
        ``insufficient_data``).
    schema : ModelSchema
    config : DriftConfig
        ``n_bins`` sets the quantile bins.

    Returns
    -------
    ReferenceProfile
    """
    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    for spec in schema.drift_columns():
        if spec.name not in reference.columns:
            continue
        kind = schema.kind_of(spec.name)
        if kind is Kind.NUMERIC:
            columns[spec.name] = _numeric_profile(spec.name, reference[spec.name], config.n_bins)
        else:
            cats, counts, n_missing = _category_counts(reference[spec.name])
            columns[spec.name] = CategoricalProfile(
                column=spec.name,
                kind=kind.value,
                categories=tuple(cats),
                counts=np.asarray(counts, dtype=np.int64),
                n_missing=n_missing,
            )
    return ReferenceProfile(n_rows=len(reference), columns=columns, n_bins=config.n_bins)


# --------------------------------------------------------------------------- column drift
def _verdict(
    metric: str, value: float | None, p_value: float | None, threshold: float
) -> bool | None:
    if metric in P_VALUE_METRICS:
        return None if p_value is None else bool(p_value < threshold)
    if value is None or math.isnan(value):
        return None
    return bool(value >= threshold)


def _bins_details_numeric(
    edges: NDArray[np.float64], ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> dict[str, Any]:
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
    n_ref = max(int(ref_counts.sum()), 1)
    n_cur = max(int(cur_counts.sum()), 1)
    return {
        "binning": "categories",
        "categories": [_json_scalar(c) for c in categories],
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "reference_proportions": [float(c) / n_ref for c in ref_counts],
        "current_proportions": [float(c) / n_cur for c in cur_counts],
    }


def _json_scalar(value: Any) -> Any:
    value = _python(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _categorical_metrics(
    column: str,
    categories: list[Any],
    ref_counts: NDArray[np.int64],
    cur_counts: NDArray[np.int64],
    config: DriftConfig,
) -> list[MetricValue]:
    eps = config.epsilon
    ref_p = ref_counts / ref_counts.sum()
    cur_p = cur_counts / cur_counts.sum()
    out: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **details: Any) -> None:
        thr = config.threshold_for(column, metric)
        out.append(MetricValue(metric, value, p, thr, _verdict(metric, value, p, thr), details))

    unseen = [
        {"category": _json_scalar(c), "count": int(n)}
        for c, r, n in zip(categories, ref_counts, cur_counts, strict=True)
        if r == 0 and n > 0
    ]
    if config.chi2_variant == "contingency":
        chi, chi_p = st.chi2_homogeneity(ref_counts, cur_counts)
        test = "scipy.stats.chi2_contingency([reference, current], correction=False)"
        handling = "unseen categories are cells with reference count 0 (no smoothing needed)"
    else:
        chi, chi_p = st.chi2_goodness_of_fit(ref_counts, cur_counts, eps)
        test = "scipy.stats.chisquare(current, reference proportions * n_current)"
        handling = f"reference proportion {eps} for unseen categories, renormalised"
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
        add("z_test", z, z_p, category=_json_scalar(categories[0]), test="pooled two-proportion")
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


def _choose(
    column: str,
    kind_label: str,
    n_ref: int,
    n_distinct: int,
    discrete: bool,
    numeric: bool,
    available: set[str],
    config: DriftConfig,
) -> tuple[str, str]:
    override = config.features.get(column)
    split = config.size_split
    if override is not None and override.size_split is not None:
        split = override.size_split
    if override is not None and override.method is not None:
        if override.method in available:
            return override.method, f"{override.method} (set in config features[{column!r}].method)"
        fallback_reason = (
            f"; features[{column!r}].method={override.method!r} does not apply to this column"
        )
    else:
        fallback_reason = ""
    small = n_ref <= split
    size = f"reference n={n_ref} {'<=' if small else '>'} {split}: " + (
        "p-value test" if small else "effect size"
    )
    method: str
    if numeric and not discrete:
        method = config.methods.numeric_small if small else config.methods.numeric_large
        why = f"{kind_label}, {n_distinct} distinct values > {config.discrete_max_unique}, {size}"
    else:
        if small and n_distinct == 2:
            method = config.methods.binary_small
            what = "binary"
        elif small:
            method = config.methods.categorical_small
            what = f"{n_distinct} categories"
        else:
            method = config.methods.categorical_large
            what = f"{n_distinct} categories"
        if numeric:
            what = f"{n_distinct} distinct values <= {config.discrete_max_unique}"
        why = f"{kind_label}, {what}, {size}"
    if method not in available:  # e.g. z_test asked for but more than two categories
        fallback = "chi2" if small else "jensenshannon"
        why += f"; {method} does not apply, using {fallback}"
        method = fallback
    return method, f"{method} ({why}{fallback_reason})"


def _too_few(n_ref: int, n_cur: int, config: DriftConfig) -> str:
    return f"insufficient data: reference n={n_ref}, current n={n_cur} (min_rows={config.min_rows})"


def _insufficient(
    column: str,
    kind: str,
    metrics: tuple[str, ...],
    config: DriftConfig,
    reason: str,
    n_ref: int,
    n_cur: int,
    n_missing_ref: int,
    n_missing_cur: int,
    details: dict[str, Any] | None = None,
) -> ColumnDrift:
    values = tuple(
        MetricValue(m, None, None, config.threshold_for(column, m), None, {}) for m in metrics
    )
    method = metrics[0]
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method,
        reason=reason,
        statistic=None,
        p_value=None,
        threshold=config.threshold_for(column, method),
        drifted=False,
        status=INSUFFICIENT_DATA,
        n_reference=n_ref,
        n_current=n_cur,
        n_missing_reference=n_missing_ref,
        n_missing_current=n_missing_cur,
        metrics=values,
        details=dict(details or {}),
    )


def _finish(
    column: str,
    kind: str,
    metrics: list[MetricValue],
    method: str,
    reason: str,
    n_ref: int,
    n_cur: int,
    n_missing_ref: int,
    n_missing_cur: int,
    details: dict[str, Any],
) -> ColumnDrift:
    decider = next(m for m in metrics if m.metric == method)
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method,
        reason=reason,
        statistic=decider.value,
        p_value=decider.p_value,
        threshold=decider.threshold,
        drifted=bool(decider.drifted),
        status=DRIFT if decider.drifted else OK,
        n_reference=n_ref,
        n_current=n_cur,
        n_missing_reference=n_missing_ref,
        n_missing_current=n_missing_cur,
        metrics=tuple(metrics),
        details=details,
    )


def _numeric_column(
    profile: NumericProfile, series: pd.Series, config: DriftConfig, n_bins: int
) -> ColumnDrift:
    name = profile.column
    cur, n_missing, n_inf = _finite_values(series)
    n_ref, n_cur = profile.n, int(cur.size)
    details: dict[str, Any] = {
        "n_infinite_current": n_inf,
        "n_infinite_reference": profile.n_infinite,
    }
    if min(n_ref, n_cur) < config.min_rows:
        return _insufficient(
            name,
            Kind.NUMERIC.value,
            NUMERIC_METRICS,
            config,
            _too_few(n_ref, n_cur, config),
            n_ref,
            n_cur,
            profile.n_missing,
            n_missing,
            details,
        )
    cur_sorted = np.sort(cur)
    cmp = st.compare_sorted(
        profile.sorted_values, cur_sorted, keep_values_up_to=config.discrete_max_unique
    )
    discrete = cmp.values is not None
    metrics: list[MetricValue] = []

    def add(metric: str, value: float | None, p: float | None, **extra: Any) -> None:
        thr = config.threshold_for(name, metric)
        metrics.append(MetricValue(metric, value, p, thr, _verdict(metric, value, p, thr), extra))

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
    if discrete:
        assert cmp.values is not None and cmp.ref_counts is not None and cmp.cur_counts is not None
        ref_b, cur_b = cmp.ref_counts, cmp.cur_counts
        bins = _bins_details_categories([float(v) for v in cmp.values], ref_b, cur_b)
    else:
        if n_bins == profile.n_bins:
            edges, ref_b = profile.edges, profile.counts
        else:  # the config asks for other bins than the profile was built with
            edges = _quantile_edges(profile.sorted_values, n_bins)
            ref_b = st.bin_counts(profile.sorted_values, edges)
        cur_b = st.bin_counts(cur_sorted, edges)
        bins = _bins_details_numeric(edges, ref_b, cur_b)
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
    if discrete:
        assert cmp.values is not None
        cat_metrics = _categorical_metrics(
            name, [float(v) for v in cmp.values], ref_b, cur_b, config
        )
        metrics += [m for m in cat_metrics if m.metric in ("chi2", "z_test", "tvd")]
        available |= {m.metric for m in cat_metrics}
    method, reason = _choose(
        name, "numeric", n_ref, cmp.n_unique, discrete, True, available, config
    )
    details["discrete"] = discrete
    return _finish(
        name,
        Kind.NUMERIC.value,
        metrics,
        method,
        reason,
        n_ref,
        n_cur,
        profile.n_missing,
        n_missing,
        details,
    )


def _categorical_column(
    profile: CategoricalProfile, series: pd.Series, config: DriftConfig
) -> ColumnDrift:
    name = profile.column
    cats, counts, n_missing = _category_counts(series)
    n_ref, n_cur = profile.n, int(sum(counts))
    if min(n_ref, n_cur) < config.min_rows:
        return _insufficient(
            name,
            profile.kind,
            CATEGORICAL_METRICS,
            config,
            _too_few(n_ref, n_cur, config),
            n_ref,
            n_cur,
            profile.n_missing,
            n_missing,
        )
    index = {c: i for i, c in enumerate(profile.categories)}
    cur_counts = np.zeros(len(profile.categories), dtype=np.int64)
    unseen: list[tuple[Any, int]] = []
    for cat, cnt in zip(cats, counts, strict=True):
        pos = index.get(cat)
        if pos is None:
            unseen.append((cat, cnt))
        else:
            cur_counts[pos] = cnt
    categories = list(profile.categories) + [c for c, _ in unseen]
    ref_counts = np.concatenate([profile.counts, np.zeros(len(unseen), dtype=np.int64)])
    cur_counts = np.concatenate([cur_counts, np.asarray([n for _, n in unseen], dtype=np.int64)])
    present = (ref_counts > 0) | (cur_counts > 0)
    categories = [c for c, keep in zip(categories, present, strict=True) if keep]
    ref_counts, cur_counts = ref_counts[present], cur_counts[present]
    metrics = _categorical_metrics(name, categories, ref_counts, cur_counts, config)
    method, reason = _choose(
        name,
        profile.kind,
        n_ref,
        len(categories),
        True,
        False,
        {m.metric for m in metrics},
        config,
    )
    details = {
        "unseen_categories": [_json_scalar(c) for c, _ in unseen],
        "n_unseen_current": int(sum(n for _, n in unseen)),
    }
    return _finish(
        name,
        profile.kind,
        metrics,
        method,
        reason,
        n_ref,
        n_cur,
        profile.n_missing,
        n_missing,
        details,
    )


def _n_workers(config: DriftConfig) -> int:
    if config.workers is not None:
        return config.workers
    return max(1, min(4, os.cpu_count() or 1))


def column_drift(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: DriftConfig,
) -> DriftReport:
    """Drift of every column of ``schema.drift_columns()`` and the dataset drift share.

    Parameters
    ----------
    profile : ReferenceProfile
        From :func:`prepare_reference`.
    current : DataFrame
        The window's rows (user column names). Empty frames and absent columns give
        ``insufficient_data`` results, never an error.
    schema : ModelSchema
    config : DriftConfig

    Returns
    -------
    DriftReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from storage.schema import infer_schema
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"id": "a", "ts": pd.Timestamp("2024-01-01", tz="UTC"),
    ...                     "x": rng.normal(size=2000), "y_hat": rng.normal(size=2000)})
    >>> schema = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y_hat")
    >>> config = DriftConfig()
    >>> prof = prepare_reference(ref, schema=schema, config=config)
    >>> cur = ref.assign(x=ref["x"] + 1.0)
    >>> report = column_drift(prof, cur, schema=schema, config=config)
    >>> report.column("x").method, report.column("x").drifted
    ('wasserstein_normed', True)
    """
    specs = schema.drift_columns()

    def one(spec_name: str) -> ColumnDrift:
        kind = schema.kind_of(spec_name)
        col_profile = profile.columns.get(spec_name)
        metric_names = NUMERIC_METRICS if kind is Kind.NUMERIC else CATEGORICAL_METRICS
        if col_profile is None or spec_name not in current.columns:
            where = "reference" if col_profile is None else "window"
            return _insufficient(
                spec_name,
                kind.value,
                metric_names,
                config,
                f"insufficient data: column {spec_name!r} is absent from the {where}",
                0 if col_profile is None else col_profile.n,
                0,
                0,
                0,
            )
        if isinstance(col_profile, NumericProfile):
            return _numeric_column(col_profile, current[spec_name], config, config.n_bins)
        return _categorical_column(col_profile, current[spec_name], config)

    names = [s.name for s in specs]
    numeric = [n for n in names if isinstance(profile.columns.get(n), NumericProfile)]
    results: dict[str, ColumnDrift] = {}
    workers = _n_workers(config)
    if workers > 1 and len(numeric) > 1 and len(current) >= 50_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for name, res in zip(numeric, pool.map(one, numeric), strict=True):
                results[name] = res
    for name in names:
        if name not in results:
            results[name] = one(name)
    columns = tuple(results[n] for n in names)

    feature_names = {s.name for s in schema.features}
    counted = [
        c
        for c in columns
        if (config.dataset_columns == "all" or c.column in feature_names)
        and c.status != INSUFFICIENT_DATA
    ]
    drifted = [c.column for c in counted if c.drifted]
    share = len(drifted) / len(counted) if counted else None
    dataset_drifted = share is not None and share >= config.dataset_drift_share
    return DriftReport(
        columns=columns,
        dataset_share=share,
        dataset_threshold=config.dataset_drift_share,
        dataset_drifted=dataset_drifted,
        dataset_status=INSUFFICIENT_DATA if share is None else (DRIFT if dataset_drifted else OK),
        counted_columns=tuple(c.column for c in counted),
        drifted_columns=tuple(drifted),
    )
