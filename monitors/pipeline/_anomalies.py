"""The analysis pass's side of prediction anomalies: the reference model and the history.

Once per model per pass, :func:`prepare_anomalies` fits what the checks need on the
reference (score and class shares, the ``IsolationForest``) and reads the history of
earlier windows from the store: row counts from the ``window_run`` rows, score mean and
quantiles from the details of earlier ``anomalies`` records, p99 latency from the
``performance`` analyzer's ``latency_p99``. Per window, :meth:`AnomalyStage.records`
runs the pure analyzer with that history and remembers the window's own statistics for
the windows after it in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from monitors.analyzers import anomalies
from monitors.analyzers.anomalies import (
    AnomalyConfig,
    AnomalyReference,
    Seasonality,
    WindowStats,
    stats_from_details,
)
from monitors.analyzers.base import MetricRecord
from monitors.pipeline.windows import window_start
from storage.metrics import window_runs
from storage.models import Model
from storage.queries import metric_values
from storage.registry import WINDOW_RE
from storage.schema import ModelSchema


def seasonality(size: str) -> Seasonality:
    """The volume season of a window size: sub-daily ``hour_weekday``, daily ``weekday``.

    Examples
    --------
    >>> seasonality("15m"), seasonality("1d"), seasonality("7d")
    ('hour_weekday', 'weekday', 'none')
    """
    match = WINDOW_RE.match(size)
    if match is None:
        return "none"
    n, unit = int(match.group(1)), match.group(2)
    if unit in ("m", "h") and (unit == "m" or n < 24):
        return "hour_weekday"
    if (unit == "d" and n == 1) or (unit == "h" and n == 24):
        return "weekday"
    return "none"


@dataclass
class AnomalyStage:
    """Per-model state of one pass: the reference model and the earlier windows' stats."""

    reference: AnomalyReference
    schema: ModelSchema
    config: AnomalyConfig
    window: str
    history: dict[datetime, WindowStats] = field(default_factory=dict)

    def records(self, frame: pd.DataFrame, n_rows: int | None = None) -> list[MetricRecord]:
        """The window's ``anomalies`` records (none for an empty window); ``n_rows``: the
        window's rows when ``frame`` is a uniform sample of it."""
        ts = self.schema.timestamp.name
        if frame.empty or ts not in frame.columns:
            return []
        first = pd.Timestamp(frame[ts].min())
        first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
        start = window_start(first.to_pydatetime(), self.window)
        report = anomalies.prediction_anomalies(
            self.reference,
            frame,
            schema=self.schema,
            config=self.config,
            window_start=start,
            history=[h for s, h in self.history.items() if s < start],
            seasonality=seasonality(self.window),
            n_rows=n_rows,
        )
        self.history[start] = report.stats
        return anomalies.anomaly_records(report)


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime().astimezone(UTC)


def _history(session: Session, model: Model) -> dict[datetime, WindowStats]:
    """Earlier windows' statistics from the store."""
    runs = window_runs(session, model)
    stored = metric_values(
        session,
        model=model,
        metrics=["score_mean_zscore", "score_quantile_zscore"],
        analyzer=anomalies.ANALYZER,
        details=True,
    )
    by_start: dict[datetime, dict[str, dict[str, Any]]] = {}
    for row in stored.to_dict("records"):
        by_start.setdefault(_utc(row["window_start"]), {})[row["metric"]] = row["details"] or {}
    latency = metric_values(session, model=model, metrics=["latency_p99"], analyzer="performance")
    p99 = {
        _utc(row["window_start"]): row["value"]
        for row in latency.to_dict("records")
        if row["value"] is not None and pd.notna(row["value"])
    }
    out = {}
    for start, run in runs.items():
        key = _utc(start)
        out[key] = stats_from_details(key, run.n_rows, by_start.get(key, {}), p99.get(key))
    return out


def prepare_anomalies(
    session: Session,
    model: Model,
    *,
    schema: ModelSchema,
    config: AnomalyConfig,
    reference: pd.DataFrame,
) -> AnomalyStage | None:
    """Fit the anomaly checks on the reference and read the history; ``None`` if disabled.

    Parameters
    ----------
    session : Session
        Reads the window runs and earlier records of the model.
    model : Model
    schema : ModelSchema
    config : AnomalyConfig
    reference : pandas.DataFrame

    Returns
    -------
    AnomalyStage or None
    """
    if not config.enabled:
        return None
    fitted = anomalies.prepare_anomaly_reference(reference, schema=schema, config=config)
    return AnomalyStage(fitted, schema, config, model.window, _history(session, model))
