"""The anomaly checks of one window, each an :class:`AnomalyMetric` with its evidence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._anomalies_config import AnomalyConfig
from monitors.analyzers._anomalies_stats import (
    RobustZ,
    binomial_sf,
    quantile_se,
    robust_z,
    seasonal_history,
)
from monitors.analyzers._anomalies_types import (
    AnomalyMetric,
    AnomalyReference,
    Seasonality,
    WindowStats,
)
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, finite_or_none


def _median_inflation(n_history: int) -> float:
    """``sqrt(1 + π / (2h))``: the baseline median of ``h`` windows has its own error."""
    return math.sqrt(1 + math.pi / (2 * max(n_history, 1)))


def _z_details(z: RobustZ, season: str, history: Sequence[WindowStats]) -> dict[str, Any]:
    return {
        "baseline_median": finite_or_none(z.median),
        "baseline_scale": finite_or_none(z.scale),
        "mad_scale": finite_or_none(z.mad_scale),
        "floor": finite_or_none(z.floor),
        "n_history": z.n_history,
        "season": season,
        "history_from": history[0].start.isoformat() if history else None,
        "history_to": history[-1].start.isoformat() if history else None,
    }


def _judge_z(
    metric: str,
    z: float | None,
    threshold: float,
    n: int,
    details: dict[str, Any],
    *,
    two_sided: bool = True,
) -> AnomalyMetric:
    """Status of a z-score: ``breach`` past the threshold, ``insufficient_data`` without z."""
    details = {**details, "breach_if": "|value| > threshold" if two_sided else "value > threshold"}
    if z is None or not math.isfinite(z):
        return AnomalyMetric(metric, None, threshold, INSUFFICIENT_DATA, n, details)
    past = abs(z) > threshold if two_sided else z > threshold
    return AnomalyMetric(metric, float(z), threshold, BREACH if past else OK, n, details)


def volume_check(
    n_rows: int,
    history: Sequence[WindowStats],
    start: datetime,
    *,
    seasonality: Seasonality,
    config: AnomalyConfig,
) -> AnomalyMetric:
    """``volume_zscore``: rows in the window against the seasonal median of earlier windows."""
    used, season = seasonal_history(
        history,
        start,
        seasonality=seasonality,
        keep=config.volume_history,
        min_history=config.min_history,
    )
    details: dict[str, Any] = {"n_rows": n_rows, "season": season, "n_history": len(used)}
    if len(used) < config.min_history:
        details["reason"] = (
            f"{len(used)} earlier window(s); the baseline needs {config.min_history}"
        )
        return _judge_z("volume_zscore", None, config.volume_zscore, n_rows, details)
    counts = [float(h.n_rows) for h in used]
    median = float(np.median(counts))
    floor = math.sqrt(max(median, 1.0)) * _median_inflation(len(used))  # Poisson noise
    z = robust_z(float(n_rows), counts, floor=floor)
    details.update(_z_details(z, season, used))
    return _judge_z("volume_zscore", z.z, config.volume_zscore, n_rows, details)


def _share_status(share: float, threshold: float, p_value: float, alpha: float) -> str:
    return BREACH if share > threshold and p_value < alpha else OK


def stuck_check(
    scores: np.ndarray, reference: AnomalyReference, *, config: AnomalyConfig
) -> AnomalyMetric:
    """``stuck_score_share``: share of the window's most frequent score value."""
    n = int(scores.size)
    ref_share = reference.score_top_share or 0.0
    threshold = min(0.99, max(config.stuck_share, ref_share + config.stuck_margin))
    details: dict[str, Any] = {
        "column": reference.score_column,
        "reference_top_share": finite_or_none(ref_share),
        "alpha": config.alpha,
    }
    if n < config.min_rows:
        details["reason"] = f"{n} row(s) with a score; the check needs {config.min_rows}"
        share = None if n == 0 else _top(scores)[1] / n
        return AnomalyMetric("stuck_score_share", share, threshold, INSUFFICIENT_DATA, n, details)
    value, count = _top(scores)
    share = count / n
    p_value = binomial_sf(count, n, max(ref_share, 1.0 / n))
    details.update({"value": float(value), "count": count, "p_value": p_value})
    status = _share_status(share, threshold, p_value, config.alpha)
    return AnomalyMetric("stuck_score_share", share, threshold, status, n, details)


def _top(values: np.ndarray) -> tuple[Any, int]:
    """The most frequent value and its count."""
    uniq, counts = np.unique(values, return_counts=True)
    i = int(np.argmax(counts))
    return uniq[i], int(counts[i])


def collapse_check(
    predictions: pd.Series, reference: AnomalyReference, *, config: AnomalyConfig
) -> AnomalyMetric:
    """``class_collapse_share``: share of the window's most frequent predicted class."""
    values = predictions.dropna().astype(object)
    n = len(values)
    ref_top = max(reference.class_shares.values(), default=0.0)
    threshold = max(config.collapse_share, ref_top + (1 - ref_top) / 2)
    details: dict[str, Any] = {
        "reference_top_share": finite_or_none(ref_top),
        "reference_balanced": ref_top <= config.collapse_share,
        "alpha": config.alpha,
    }
    if n == 0:
        details["reason"] = "no predictions in the window"
        return AnomalyMetric("class_collapse_share", None, threshold, INSUFFICIENT_DATA, 0, details)
    counts = values.value_counts(sort=True)
    top_class, count = counts.index[0], int(counts.iloc[0])
    share = count / n
    ref_rate = _reference_rate(reference.class_shares, top_class)
    p_value = binomial_sf(count, n, max(ref_rate, 1.0 / n))
    details.update(
        {
            "class": top_class.item() if hasattr(top_class, "item") else top_class,
            "count": count,
            "reference_share": finite_or_none(ref_rate),
            "p_value": p_value,
        }
    )
    if n < config.min_rows:
        details["reason"] = f"{n} prediction(s); the check needs {config.min_rows}"
        return AnomalyMetric(
            "class_collapse_share", share, threshold, INSUFFICIENT_DATA, n, details
        )
    status = _share_status(share, threshold, p_value, config.alpha)
    return AnomalyMetric("class_collapse_share", share, threshold, status, n, details)


def _reference_rate(shares: dict[Any, float], value: Any) -> float:
    """Reference share of a class (matching ``1`` and ``"1"``)."""
    if value in shares:
        return shares[value]
    by_text = {str(k): v for k, v in shares.items()}
    return by_text.get(str(value), 0.0)


def score_jump_checks(
    scores: np.ndarray,
    history: Sequence[WindowStats],
    start: datetime,
    *,
    config: AnomalyConfig,
) -> list[AnomalyMetric]:
    """``score_mean_zscore`` and ``score_quantile_zscore`` against the trailing windows."""
    n = int(scores.size)
    used = [h for h in history if h.start < start and h.score_mean is not None]
    used = sorted(used, key=lambda h: h.start)[-config.trailing_windows :]
    base: dict[str, Any] = {"n_history": len(used)}
    reason = None
    if n < config.min_rows:
        reason = f"{n} row(s) with a score; the check needs {config.min_rows}"
    elif len(used) < config.min_history:
        reason = (
            f"{len(used)} earlier window(s) with a score; the baseline needs {config.min_history}"
        )
    if reason is not None:
        details = {**base, "reason": reason}
        return [
            _judge_z("score_mean_zscore", None, config.score_zscore, n, details),
            _judge_z("score_quantile_zscore", None, config.score_zscore, n, details),
        ]
    inflate = _median_inflation(len(used))
    ordered = np.sort(scores)
    mean = float(ordered.mean())
    floor = float(ordered.std(ddof=1)) / math.sqrt(n) * inflate
    z_mean = robust_z(mean, [h.score_mean for h in used if h.score_mean is not None], floor=floor)
    mean_details = {"mean": mean, **_z_details(z_mean, "trailing", used)}
    worst: tuple[float, float] | None = None
    per_q: dict[str, dict[str, float | None]] = {}
    for q in config.score_quantiles:
        past = [v for h in used for hq, v in h.score_quantiles if math.isclose(hq, q)]
        if len(past) < config.min_history:
            continue
        value = float(np.quantile(ordered, q))
        zq = robust_z(value, past, floor=quantile_se(ordered, q) * inflate)
        per_q[f"{q:g}"] = {"value": value, "baseline_median": zq.median, "z": finite_or_none(zq.z)}
        if worst is None or abs(zq.z) > abs(worst[1]):
            worst = (q, zq.z)
    q_details: dict[str, Any] = {**base, "quantiles": per_q}
    if worst is not None:
        q_details["worst_quantile"] = worst[0]
    return [
        _judge_z("score_mean_zscore", z_mean.z, config.score_zscore, n, mean_details),
        _judge_z(
            "score_quantile_zscore",
            None if worst is None else worst[1],
            config.score_zscore,
            n,
            q_details,
        ),
    ]


def latency_check(
    latency: np.ndarray,
    history: Sequence[WindowStats],
    start: datetime,
    *,
    config: AnomalyConfig,
) -> AnomalyMetric:
    """``latency_p99_zscore``: the window's p99 latency against the trailing windows' p99."""
    n = int(latency.size)
    used = [h for h in history if h.start < start and h.latency_p99 is not None]
    used = sorted(used, key=lambda h: h.start)[-config.trailing_windows :]
    details: dict[str, Any] = {"unit": "ms", "n_history": len(used)}
    if n < config.latency_min_rows:
        details["reason"] = f"{n} row(s) with a latency; the p99 needs {config.latency_min_rows}"
        return _judge_z(
            "latency_p99_zscore", None, config.latency_zscore, n, details, two_sided=False
        )
    ordered = np.sort(latency)
    p99 = float(np.quantile(ordered, 0.99))
    details["p99"] = p99
    if len(used) < config.min_history:
        details["reason"] = (
            f"{len(used)} earlier window(s); the baseline needs {config.min_history}"
        )
        return _judge_z(
            "latency_p99_zscore", None, config.latency_zscore, n, details, two_sided=False
        )
    floor = quantile_se(ordered, 0.99) * _median_inflation(len(used))
    z = robust_z(p99, [h.latency_p99 for h in used if h.latency_p99 is not None], floor=floor)
    details.update(_z_details(z, "trailing", used))
    return _judge_z("latency_p99_zscore", z.z, config.latency_zscore, n, details, two_sided=False)
