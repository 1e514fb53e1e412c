"""Verdict policies: which numbers decide a column's drift, and the false-discovery step.

``significant_effect`` (the default): a column drifts when

* its p-value test — KS for numeric columns, the two-sample chi-square (on pooled sparse
  categories; Fisher's exact p-value for a table of two cells) for categorical, boolean and
  low-cardinality numeric ones — has a p-value that, adjusted by Benjamini–Hochberg across
  the window's drift columns, is below the test's threshold (alpha = 0.05), **and**
* its effect size reaches its threshold: ``wasserstein_normed`` >= 0.1 (numeric) or
  ``jensenshannon`` >= 0.05 (categorical).

Small windows are guarded by the p-value (a difference the sample cannot establish is not
drift), large ones by the effect size (a real but negligible difference is not drift).

``evidently``: Evidently's size split, one metric decides with its own threshold
(:func:`monitors.analyzers._drift_method.choose_method`). A ``method`` set for a column in
the config decides alone under either policy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import NDArray

from monitors.analyzers._drift_config import DriftConfig
from monitors.analyzers._drift_method import choose_method
from monitors.analyzers._drift_types import ColumnDrift, MetricValue
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """How one column is decided, before the false-discovery step."""

    rule: str
    method: str
    reason: str
    p_metric: str
    effect_metric: str
    effect_threshold: float


def benjamini_hochberg(p_values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (``statsmodels`` ``fdr_bh``), capped at 1.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    m = p_values.size
    if m == 0:
        return np.empty(0)
    order = np.argsort(p_values, kind="stable")
    scaled = p_values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def decide(
    column: str,
    kind_label: str,
    n_ref: int,
    n_distinct: int,
    categorical_like: bool,
    numeric: bool,
    available: set[str],
    config: DriftConfig,
) -> Decision:
    """The rule, deciding metric(s) and reason of one column."""
    p_metric = "chi2" if categorical_like else "ks"
    effect = "jensenshannon" if categorical_like else "wasserstein_normed"
    effect_thr = config.effect_threshold_for(column, effect)
    override = config.features.get(column)
    forced = override.method if override is not None else None
    if config.policy_for(column) == "evidently" or (forced is not None and forced in available):
        method, reason = choose_method(
            column, kind_label, n_ref, n_distinct, categorical_like, numeric, available, config
        )
        rule = "method" if forced is not None and method == forced else "evidently"
        return Decision(rule, method, reason, p_metric, effect, effect_thr)
    if numeric and categorical_like:
        what = f"{n_distinct} distinct values <= {config.discrete_max_unique}"
    elif numeric:
        what = f"{n_distinct} distinct values > {config.discrete_max_unique}"
    else:
        what = f"{n_distinct} categories"
    if forced is not None:
        what += f"; features[{column!r}].method={forced!r} does not apply to this column"
    reason = f"{p_metric} and {effect} ({kind_label}, {what}; policy significant_effect)"
    return Decision("significant_effect", p_metric, reason, p_metric, effect, effect_thr)


def _fmt(value: float | None) -> str:
    """A number for a reason sentence."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3g}"


def _verdict(col: ColumnDrift, q: float | None, family: int, fdr: str) -> ColumnDrift:
    """The ``significant_effect`` verdict of one column from its adjusted p-value."""
    alpha = col.threshold
    significant = q is not None and q < alpha
    effect = col.effect_size
    large = effect is not None and not math.isnan(effect) and effect >= (col.effect_threshold or 0)
    drifted = bool(significant and large)
    raw = col.p_value
    adjusted = (
        f"Benjamini–Hochberg-adjusted over {family} columns: {_fmt(q)}"
        if fdr == "benjamini_hochberg"
        else "not adjusted"
    )
    reason = col.reason.removesuffix(")") + (
        f": drift when the {col.p_metric} p-value ({_fmt(raw)}; {adjusted}) is < {alpha:g} and "
        f"{col.effect_metric} ({_fmt(effect)}) >= {col.effect_threshold:g})"
    )
    return dataclasses.replace(
        col,
        drifted=drifted,
        status=DRIFT if drifted else OK,
        p_value_adjusted=q,
        reason=reason,
    )


def apply_policy(columns: tuple[ColumnDrift, ...], config: DriftConfig) -> tuple[ColumnDrift, ...]:
    """Adjust the p-values across the window's columns and finish ``significant_effect`` ones.

    The family is every column with a verdict and a p-value; every such column reports its
    adjusted p-value, and the ``significant_effect`` columns are decided with it.
    """
    family = [
        i
        for i, c in enumerate(columns)
        if c.status != INSUFFICIENT_DATA and c.p_metric is not None and _p(c) is not None
    ]
    raw = np.array([_p(columns[i]) for i in family], dtype=np.float64)
    adjusted = benjamini_hochberg(raw) if config.fdr == "benjamini_hochberg" else raw
    q_of = {i: float(q) for i, q in zip(family, adjusted, strict=True)}
    out = []
    for i, col in enumerate(columns):
        q = q_of.get(i)
        if col.rule == "significant_effect" and col.status != INSUFFICIENT_DATA:
            out.append(_verdict(col, q, len(family), config.fdr))
        else:
            out.append(dataclasses.replace(col, p_value_adjusted=q))
    return tuple(out)


def _p(col: ColumnDrift) -> float | None:
    """Raw p-value of the column's p-value test."""
    for m in col.metrics:
        if m.metric == col.p_metric:
            return m.p_value
    return None


def deciding_metrics(col: ColumnDrift) -> set[str]:
    """Metrics whose values enter the column's verdict."""
    if col.rule == "significant_effect":
        return {m for m in (col.p_metric, col.effect_metric) if m is not None}
    return {col.method}


def effect_value(metrics: list[MetricValue], name: str) -> float | None:
    """Value of metric ``name`` among ``metrics``."""
    return next((m.value for m in metrics if m.metric == name), None)
