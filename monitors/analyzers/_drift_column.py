"""The drift of one column: count or sort the window, compute metrics, decide.

A ``significant_effect`` verdict taken here is provisional: the window's false-discovery
step (:func:`monitors.analyzers._drift_policy.apply_policy`) finishes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from monitors.analyzers import _drift_stats as st
from monitors.analyzers._drift_config import CATEGORICAL_METRICS, NUMERIC_METRICS, DriftConfig
from monitors.analyzers._drift_json import json_scalar
from monitors.analyzers._drift_metrics import categorical_metrics, numeric_metrics
from monitors.analyzers._drift_policy import Decision, decide, effect_value
from monitors.analyzers._drift_reference import category_counts, finite_values
from monitors.analyzers._drift_types import (
    CategoricalProfile,
    ColumnDrift,
    MetricValue,
    NumericProfile,
)
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from storage.schema import Kind


def _too_few(n_ref: int, n_cur: int, config: DriftConfig) -> str:
    """The reason given when a side has fewer than ``min_rows`` values."""
    return f"insufficient data: reference n={n_ref}, current n={n_cur} (min_rows={config.min_rows})"


def insufficient(
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
    """An ``insufficient_data`` result listing every metric without a value."""
    values = tuple(
        MetricValue(m, None, None, config.threshold_for(column, m), None, {}) for m in metrics
    )
    method = metrics[0]
    override = config.features.get(column)
    forced = override.method if override is not None else None
    effect = "wasserstein_normed" if kind == Kind.NUMERIC.value else "jensenshannon"
    policy = config.policy_for(column)
    return ColumnDrift(
        column=column,
        kind=kind,
        method=forced if forced in metrics else method,
        reason=reason,
        statistic=None,
        p_value=None,
        threshold=config.threshold_for(column, forced if forced in metrics else method),
        drifted=False,
        status=INSUFFICIENT_DATA,
        n_reference=n_ref,
        n_current=n_cur,
        n_missing_reference=n_missing_ref,
        n_missing_current=n_missing_cur,
        metrics=values,
        details=dict(details or {}),
        policy=policy,
        rule="method" if forced in metrics else policy,
        p_metric=method,
        effect_metric=effect,
        effect_threshold=config.effect_threshold_for(column, effect),
    )


def _finish(
    column: str,
    kind: str,
    metrics: list[MetricValue],
    decision: Decision,
    sizes: tuple[int, int, int, int],
    details: dict[str, Any],
    config: DriftConfig,
) -> ColumnDrift:
    """The column result. A ``significant_effect`` verdict is provisional (unadjusted p-value)
    until :func:`monitors.analyzers._drift_policy.apply_policy` runs over the window."""
    decider = next(m for m in metrics if m.metric == decision.method)
    effect = effect_value(metrics, decision.effect_metric)
    if decision.rule == "significant_effect":
        threshold = config.threshold_for(column, decision.p_metric)
        p = decider.p_value
        large = effect is not None and effect >= decision.effect_threshold
        drifted = p is not None and p < threshold and large
    else:
        threshold, drifted = decider.threshold, bool(decider.drifted)
    return ColumnDrift(
        column=column,
        kind=kind,
        method=decision.method,
        reason=decision.reason,
        statistic=decider.value,
        p_value=decider.p_value,
        threshold=threshold,
        drifted=bool(drifted),
        status=DRIFT if drifted else OK,
        n_reference=sizes[0],
        n_current=sizes[1],
        n_missing_reference=sizes[2],
        n_missing_current=sizes[3],
        metrics=tuple(metrics),
        details=details,
        policy=config.policy_for(column),
        rule=decision.rule,
        p_metric=decision.p_metric,
        effect_metric=decision.effect_metric,
        effect_size=effect,
        effect_threshold=decision.effect_threshold,
    )


def numeric_column(profile: NumericProfile, series: pd.Series, config: DriftConfig) -> ColumnDrift:
    """Drift of a numeric window column against its reference profile."""
    name = profile.column
    cur, n_missing, n_inf = finite_values(series)
    n_ref, n_cur = profile.n, int(cur.size)
    details: dict[str, Any] = {
        "n_infinite_current": n_inf,
        "n_infinite_reference": profile.n_infinite,
    }
    counts = (n_ref, n_cur, profile.n_missing, n_missing)
    if min(n_ref, n_cur) < config.min_rows:
        reason = _too_few(n_ref, n_cur, config)
        kind = Kind.NUMERIC.value
        return insufficient(name, kind, NUMERIC_METRICS, config, reason, *counts, details)
    cur_sorted = np.sort(cur)
    cmp = st.compare_sorted(
        profile.sorted_values, cur_sorted, keep_values_up_to=config.discrete_max_unique
    )
    discrete = cmp.values is not None
    metrics, available = numeric_metrics(profile, cur_sorted, cmp, config)
    decision = decide(name, "numeric", n_ref, cmp.n_unique, discrete, True, available, config)
    details["discrete"] = discrete
    return _finish(name, Kind.NUMERIC.value, metrics, decision, counts, details, config)


def _aligned_counts(
    profile: CategoricalProfile, cats: list[Any], counts: list[int]
) -> tuple[list[Any], NDArray[np.int64], NDArray[np.int64], list[tuple[Any, int]]]:
    """Categories seen on either side with both sides' counts, and the unseen ones."""
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
    return categories, ref_counts[present], cur_counts[present], unseen


def categorical_column(
    profile: CategoricalProfile, series: pd.Series, config: DriftConfig
) -> ColumnDrift:
    """Drift of a categorical or boolean window column against its reference counts."""
    name = profile.column
    cats, counts, n_missing = category_counts(series)
    n_ref, n_cur = profile.n, int(sum(counts))
    sizes = (n_ref, n_cur, profile.n_missing, n_missing)
    if min(n_ref, n_cur) < config.min_rows:
        reason = _too_few(n_ref, n_cur, config)
        return insufficient(name, profile.kind, CATEGORICAL_METRICS, config, reason, *sizes)
    categories, ref_counts, cur_counts, unseen = _aligned_counts(profile, cats, counts)
    metrics = categorical_metrics(name, categories, ref_counts, cur_counts, config)
    available = {m.metric for m in metrics}
    decision = decide(name, profile.kind, n_ref, len(categories), True, False, available, config)
    details = {
        "unseen_categories": [json_scalar(c) for c, _ in unseen],
        "n_unseen_current": int(sum(n for _, n in unseen)),
    }
    return _finish(name, profile.kind, metrics, decision, sizes, details, config)


def column_result(
    name: str,
    kind: Kind,
    profile: NumericProfile | CategoricalProfile | None,
    current: pd.DataFrame,
    config: DriftConfig,
) -> ColumnDrift:
    """Drift of column ``name``; ``insufficient_data`` if either side lacks the column."""
    metric_names = NUMERIC_METRICS if kind is Kind.NUMERIC else CATEGORICAL_METRICS
    if profile is None or name not in current.columns:
        where = "reference" if profile is None else "window"
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
    if isinstance(profile, NumericProfile):
        return numeric_column(profile, current[name], config)
    return categorical_column(profile, current[name], config)
