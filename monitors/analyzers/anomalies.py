"""Prediction anomalies of one window: volume, stuck scores, class collapse, jumps, outliers.

Metrics (``analyzer="anomalies"``, ``feature=None``), each with a threshold and a status
(``breach`` / ``ok`` / ``insufficient_data``) like every other metric; defaults in
:class:`AnomalyConfig` (``anomalies:`` in a model's config, ``docs/anomalies.md``):

* ``volume_zscore`` — rows in the window against the median of earlier windows of the
  same season (same hour and weekday for windows shorter than a day, same weekday for
  daily ones, falling back to the trailing windows), robust scale
  ``max(1.4826 × MAD, Poisson floor sqrt(median))``; breach when ``|z| > 4``;
* ``stuck_score_share`` — share of the most frequent score value; breach above
  ``max(0.2, reference top share + 0.2)`` and significantly above the reference's share
  (one-sided binomial test, ``alpha`` 0.001);
* ``class_collapse_share`` — share of the most frequent predicted class (classifiers);
  breach above ``max(0.9, r + (1 - r) / 2)`` (``r``: the reference's top class share),
  significantly above that class's reference share;
* ``score_mean_zscore`` and ``score_quantile_zscore`` — the score's mean and its 10th,
  50th and 90th percentiles against the trailing 12 windows (median/MAD, floored by the
  window's own standard error); the quantile record holds the largest ``|z|``;
* ``outlier_share`` — share of rows an ``IsolationForest`` fitted on the reference
  scores below the cut-off that 1 % of held-out reference rows fall below; breach above
  0.05 and significantly above 1 %; the most outlying ``prediction_id`` values are in
  ``details["top"]`` so an analyst can open them on the explanations page;
* ``latency_p99_zscore`` — p99 latency against the trailing windows' p99 (slower only).

The analyzer is pure: earlier windows come in as :class:`WindowStats` (the pipeline
reads them from the store), and the report hands back this window's own
:class:`WindowStats` for the windows after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._anomalies_checks import (
    collapse_check,
    latency_check,
    score_jump_checks,
    stuck_check,
    volume_check,
)
from monitors.analyzers._anomalies_config import AnomalyConfig
from monitors.analyzers._anomalies_outliers import fit_outliers, outlier_scores
from monitors.analyzers._anomalies_stats import binomial_sf
from monitors.analyzers._anomalies_types import (
    ANALYZER,
    METRICS,
    AnomalyMetric,
    AnomalyReference,
    AnomalyReport,
    OutlierModel,
    Seasonality,
    WindowStats,
)
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from storage.schema import ModelSchema, Task

__all__ = [
    "ANALYZER",
    "METRICS",
    "AnomalyConfig",
    "AnomalyMetric",
    "AnomalyReference",
    "AnomalyReport",
    "OutlierModel",
    "Seasonality",
    "WindowStats",
    "anomaly_records",
    "prediction_anomalies",
    "prepare_anomaly_reference",
    "stats_from_details",
]


def _score_column(schema: ModelSchema) -> str | None:
    """The score watched: ``score``, else a regression model's prediction."""
    if schema.score is not None:
        return schema.score.name
    if schema.task is Task.REGRESSION:
        return schema.prediction.name
    return None


def _numbers(frame: pd.DataFrame, name: str | None) -> np.ndarray:
    """Finite values of a numeric column (empty if absent)."""
    if name is None or name not in frame.columns:
        return np.empty(0)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def prepare_anomaly_reference(
    reference: pd.DataFrame, *, schema: ModelSchema, config: AnomalyConfig
) -> AnomalyReference:
    """What the checks need from the reference: score and class shares, the outlier model.

    Parameters
    ----------
    reference : pandas.DataFrame
        The model's reference dataset.
    schema : ModelSchema
    config : AnomalyConfig

    Returns
    -------
    AnomalyReference
        ``outliers`` is ``None`` (with ``outlier_reason``) when no forest can be fitted.

    Examples
    --------
    >>> from storage.schema import infer_schema
    >>> ref = pd.DataFrame({"id": [str(i) for i in range(100)],
    ...                     "ts": pd.Timestamp("2024-01-01", tz="UTC"),
    ...                     "x": np.arange(100.0), "p": [0, 1] * 50, "s": np.linspace(0, 1, 100)})
    >>> schema = infer_schema(ref, task="binary_classification", id="id", timestamp="ts",
    ...                       prediction="p", score="s")
    >>> r = prepare_anomaly_reference(ref, schema=schema, config=AnomalyConfig())
    >>> r.score_top_share, r.class_shares
    (0.01, {0: 0.5, 1: 0.5})
    """
    column = _score_column(schema)
    scores = _numbers(reference, column)
    top = None
    if scores.size:
        _, counts = np.unique(scores, return_counts=True)
        top = float(counts.max() / scores.size)
    shares: dict[Any, float] = {}
    pred = schema.prediction.name
    if schema.task.is_classification and pred in reference.columns:
        counts_by_class = reference[pred].dropna().astype(object).value_counts(normalize=True)
        shares = {
            (k.item() if hasattr(k, "item") else k): float(v) for k, v in counts_by_class.items()
        }
    outliers, reason = fit_outliers(reference, schema=schema, config=config)
    return AnomalyReference(column, top, shares, outliers, reason)


def _outlier_check(
    reference: AnomalyReference,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: AnomalyConfig,
) -> AnomalyMetric:
    """``outlier_share`` and the most outlying prediction ids."""
    model = reference.outliers
    assert model is not None
    scores = outlier_scores(model, current)
    n = int(scores.size)
    flagged = scores < model.cutoff
    k = int(flagged.sum())
    p_value = binomial_sf(k, n, config.outlier_rate) if n else 1.0
    order = np.argsort(scores, kind="stable")[: min(k, config.outlier_top)]
    ids = current[schema.id.name].astype(str).to_numpy() if n else np.empty(0)
    details: dict[str, Any] = {
        "count": k,
        "expected_rate": config.outlier_rate,
        "p_value": p_value,
        "alpha": config.alpha,
        "cutoff": model.cutoff,
        "features": list(model.features),
        "method": f"isolation_forest ({config.outlier_trees} trees, fitted on {model.n_fit} "
        f"reference rows, cut-off from {model.n_calibration} held-out rows)",
        "top": [{"prediction_id": str(ids[i]), "score": float(scores[i])} for i in order],
    }
    if n < config.min_rows:
        details["reason"] = f"{n} row(s); the check needs {config.min_rows}"
        return AnomalyMetric(
            "outlier_share",
            k / n if n else None,
            config.outlier_share,
            INSUFFICIENT_DATA,
            n,
            details,
        )
    share = k / n
    status = BREACH if share > config.outlier_share and p_value < config.alpha else OK
    return AnomalyMetric("outlier_share", share, config.outlier_share, status, n, details)


def _stats(
    start: datetime, n_rows: int, scores: np.ndarray, latency: np.ndarray, config: AnomalyConfig
) -> WindowStats:
    """This window's statistics, for the baselines of the windows after it."""
    quantiles: tuple[tuple[float, float], ...] = ()
    mean = None
    if scores.size:
        mean = float(scores.mean())
        quantiles = tuple(
            (q, float(v))
            for q, v in zip(
                config.score_quantiles, np.quantile(scores, config.score_quantiles), strict=True
            )
        )
    p99 = float(np.quantile(latency, 0.99)) if latency.size else None
    return WindowStats(start, n_rows, mean, quantiles, p99)


def prediction_anomalies(
    reference: AnomalyReference,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: AnomalyConfig,
    window_start: datetime,
    history: Sequence[WindowStats] = (),
    seasonality: Seasonality = "none",
    n_rows: int | None = None,
) -> AnomalyReport:
    """The anomaly checks of one window.

    Parameters
    ----------
    reference : AnomalyReference
        From :func:`prepare_anomaly_reference`.
    current : pandas.DataFrame
        The window's rows, with the user's column names.
    schema : ModelSchema
    config : AnomalyConfig
    window_start : datetime
        Start of the window (its season, and which history is earlier).
    history : sequence of WindowStats
        Earlier windows' statistics; entries at or after ``window_start`` are ignored.
    seasonality : {"hour_weekday", "weekday", "none"}
        Which earlier windows the volume is compared with (see :data:`Seasonality`).
    n_rows : int, optional
        The window's row count when ``current`` is a uniform sample of it (a window
        analysed from its summary): the volume check counts the window, not the sample.

    Returns
    -------
    AnomalyReport
        The checks that apply to the model (no class collapse for regression, no latency
        without a latency column, no outliers without an outlier model) and this window's
        :class:`WindowStats`.
    """
    n_rows = len(current) if n_rows is None else n_rows
    scores = _numbers(current, reference.score_column)
    latency = _numbers(current, schema.latency.name if schema.latency else None)
    metrics = [volume_check(n_rows, history, window_start, seasonality=seasonality, config=config)]
    if reference.score_column is not None:
        metrics.append(stuck_check(scores, reference, config=config))
    if schema.task.is_classification and schema.prediction.name in current.columns:
        metrics.append(collapse_check(current[schema.prediction.name], reference, config=config))
    if reference.score_column is not None:
        metrics.extend(score_jump_checks(scores, history, window_start, config=config))
    if reference.outliers is not None:
        metrics.append(_outlier_check(reference, current, schema=schema, config=config))
    if schema.latency is not None:
        metrics.append(latency_check(latency, history, window_start, config=config))
    return AnomalyReport(tuple(metrics), _stats(window_start, n_rows, scores, latency, config))


def anomaly_records(report: AnomalyReport) -> list[MetricRecord]:
    """Flatten an :class:`AnomalyReport` into stored metric records.

    Every record is model-level; the details carry the evidence (baseline median and
    scale, p-value, the stuck value, the collapsed class, the top outlying ids) and
    ``n``. The score statistics of the window ride along in the details of
    ``score_mean_zscore`` (``mean``) and ``score_quantile_zscore`` (``window_quantiles``),
    so later passes can rebuild the trailing baseline from the store.

    Parameters
    ----------
    report : AnomalyReport

    Returns
    -------
    list of MetricRecord
    """
    stats = report.stats
    extra: dict[str, dict[str, Any]] = {
        "score_mean_zscore": {"window_mean": finite_or_none(stats.score_mean)},
        "score_quantile_zscore": {
            "window_quantiles": {f"{q:g}": finite_or_none(v) for q, v in stats.score_quantiles}
        },
    }
    return [
        MetricRecord(
            ANALYZER,
            m.metric,
            None,
            None,
            finite_or_none(m.value),
            m.threshold,
            m.status,
            {"n": m.n, **m.details, **extra.get(m.metric, {})},
        )
        for m in report.metrics
    ]


def stats_from_details(
    start: datetime, n_rows: int, details: dict[str, dict[str, Any]], latency_p99: float | None
) -> WindowStats:
    """Rebuild a stored window's :class:`WindowStats` from its records' details.

    ``details`` maps ``score_mean_zscore`` / ``score_quantile_zscore`` to the details
    stored by :func:`anomaly_records` (either may be missing).

    Examples
    --------
    >>> from datetime import UTC
    >>> s = stats_from_details(datetime(2026, 1, 1, tzinfo=UTC), 10,
    ...     {"score_quantile_zscore": {"window_quantiles": {"0.5": 0.4}}}, None)
    >>> s.score_quantiles
    ((0.5, 0.4),)
    """
    mean = (details.get("score_mean_zscore") or {}).get("window_mean")
    raw = (details.get("score_quantile_zscore") or {}).get("window_quantiles") or {}
    quantiles = tuple(sorted((float(q), float(v)) for q, v in raw.items() if v is not None))
    return WindowStats(
        start,
        n_rows,
        None if mean is None else float(mean),
        quantiles,
        latency_p99,
    )
