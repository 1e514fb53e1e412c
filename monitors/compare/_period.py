"""A period's verdict from the stored windows of a comparison.

Each compared metric is pooled over the windows with enough data: the period's
difference is the average of the windows' differences weighted by their effective size
``w = 1 / (1/n_baseline + 1/n_candidate)`` (rows, for a paired window: ``n / 2``), its
standard error ``sqrt(sum w² se²) / sum w`` (windows are independent samples), the
interval normal at ``1 - alpha`` and the p-value two-sided. For shadow-mode accuracy the
discordant pairs of every window are added up and McNemar's exact test decides, as it
does per window. A metric that is not additive over windows (ROC AUC, percentiles) is
thus the average of its per-window values, which is what the dashboard plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from monitors.compare._bootstrap import verdict
from monitors.compare._config import (
    BETTER,
    INSUFFICIENT,
    NO_DIFFERENCE,
    WORSE,
    ComparisonConfig,
)
from monitors.compare._overall import overall_verdict
from monitors.compare._types import MetricDelta, Verdict
from storage.schema import Task


def _name(value: Any) -> str | None:
    """A feature or group key: ``None`` for a missing one (``None`` or NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _usable(details: dict[str, Any]) -> bool:
    return (
        details.get("verdict") not in (None, INSUFFICIENT)
        and details.get("se") is not None
        and details.get("baseline") is not None
        and details.get("candidate") is not None
    )


def _mcnemar(
    rows: Sequence[dict[str, Any]], delta: float, config: ComparisonConfig
) -> tuple[float, str]:
    """Pooled McNemar test of shadow-mode accuracy: (p-value, verdict)."""
    b = sum(int(r["baseline_only_correct"]) for r in rows)
    c = sum(int(r["candidate_only_correct"]) for r in rows)
    p = 1.0 if b + c == 0 else float(stats.binomtest(c, b + c, 0.5).pvalue)
    effect = config.min_effect.get("accuracy", 0.0)
    if p < config.alpha and abs(delta) >= effect:
        return p, BETTER if delta > 0 else WORSE
    return p, NO_DIFFERENCE


def _pooled(
    key: tuple[str, Any, Any], rows: list[dict[str, Any]], config: ComparisonConfig
) -> MetricDelta:
    """One metric over the period."""
    metric, feature, group = key
    usable = [r for r in rows if _usable(r)]
    first = rows[0]
    base_details: dict[str, Any] = {"n_windows": len(rows), "n_windows_used": len(usable)}
    if not usable:
        return MetricDelta(
            first.get("kind", "performance"),
            metric,
            feature,
            group,
            first.get("direction", ""),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            0,
            0,
            "pooled over windows",
            INSUFFICIENT,
            {**base_details, "reason": "no window with enough data"},
        )
    n_b = np.array([float(r["n_baseline"]) for r in usable])
    n_c = np.array([float(r["n_candidate"]) for r in usable])
    w = 1.0 / (1.0 / np.maximum(n_b, 1) + 1.0 / np.maximum(n_c, 1))
    d = np.array([float(r["candidate"]) - float(r["baseline"]) for r in usable])
    se_w = np.array([float(r["se"]) for r in usable])
    total = w.sum()
    delta = float((w * d).sum() / total)
    se = float(math.sqrt(float((w**2 * se_w**2).sum())) / total)
    z = stats.norm.ppf(1 - config.alpha / 2)
    low, high = delta - z * se, delta + z * se
    p = 1.0 if delta == 0 else 0.0  # no spread at all: identical, or surely different
    if se > 0:
        p = float(2 * stats.norm.sf(abs(delta) / se))
    direction = str(first.get("direction", "higher_is_better"))
    result = verdict(
        delta, low, high, direction=direction, min_effect=config.min_effect.get(metric, 0.0)
    )
    test = f"pooled over {len(usable)} window(s), weighted by rows; normal interval"
    if key == ("accuracy", None, None) and all("baseline_only_correct" in r for r in usable):
        p, result = _mcnemar(usable, delta, config)
        test = f"McNemar exact test over {len(usable)} window(s); interval: {test}"
    mde = (stats.norm.ppf(1 - config.alpha / 2) + stats.norm.ppf(config.power)) * se
    return MetricDelta(
        kind=str(first.get("kind", "performance")),
        metric=metric,
        feature=feature,
        group=group,
        direction=direction,
        baseline=float((w * np.array([float(r["baseline"]) for r in usable])).sum() / total),
        candidate=float((w * np.array([float(r["candidate"]) for r in usable])).sum() / total),
        delta=delta,
        ci_low=float(low),
        ci_high=float(high),
        p_value=p,
        se=se,
        mde=float(mde),
        n_baseline=int(n_b.sum()),
        n_candidate=int(n_c.sum()),
        test=test,
        verdict=result,
        details={**base_details, "alpha": config.alpha},
    )


def period_deltas(
    results: pd.DataFrame, *, config: ComparisonConfig, task: Task
) -> tuple[list[MetricDelta], Verdict]:
    """Every compared metric pooled over the stored windows, and the period's verdict.

    Parameters
    ----------
    results : pandas.DataFrame
        Stored records of one comparison (``metric``, ``feature``, ``group``,
        ``details``), e.g. from :func:`storage.comparisons.comparison_results`.
    config : ComparisonConfig
        The comparison's settings (alpha, power, primary metric, minimum effects).
    task : Task
        The models' task (for the default primary metric).

    Returns
    -------
    (list of MetricDelta, Verdict)
    """
    deltas: list[MetricDelta] = []
    if not results.empty:
        rows = results[results["metric"].str.endswith("_delta")]
        grouped: dict[tuple[str, Any, Any], list[dict[str, Any]]] = {}
        for rec in rows.to_dict("records"):
            details = dict(rec["details"] or {})
            key = (str(details.get("metric")), _name(rec["feature"]), _name(rec["group"]))
            grouped.setdefault(key, []).append(details)
        for key in sorted(grouped, key=lambda k: (k[1] or "", k[2] or "", k[0])):
            deltas.append(_pooled(key, grouped[key], config))
    return deltas, overall_verdict(deltas, task=task, config=config)
