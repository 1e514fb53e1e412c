"""Read-only queries behind the dashboard pages.

Every function takes the :class:`~sqlalchemy.orm.Session` first, selects only the
columns a page needs (``details`` JSON only on request, since decoding it dominates
the cost of wide reads) and returns a DataFrame or a plain value. The caller owns the
transaction. The indexes that keep these fast on a large database are named in each
docstring; see ``docs/dashboard.md`` for the benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage.logs import log_table, role_column
from storage.metrics import VALUE_COLUMNS, value_select
from storage.models import (
    AlertRule,
    AlertSeries,
    IngestBatch,
    MetricResult,
    Model,
    WindowRun,
)
from storage.schema import Role

#: Columns of :func:`model_overview`.
OVERVIEW_COLUMNS = [
    "model",
    "task",
    "window",
    "windows",
    "first_window_start",
    "last_window_end",
    "rows_logged",
    "rows_analyzed",
    "label_coverage",
    "drifting_features",
    "firing_alerts",
]


def _utc(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for col in columns:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def model_overview(session: Session) -> pd.DataFrame:
    """One row per registered model with its status, in five grouped queries.

    Returns
    -------
    pandas.DataFrame
        :data:`OVERVIEW_COLUMNS`: analysed windows, first start and last end, rows
        logged (stored prediction rows over all ingest batches), rows analysed, label
        coverage (labels / rows over all analysed windows, ``NaN`` without rows),
        features with ``drift_detected == 1`` in the last analysed window, and alert
        series currently ``firing``.

    Notes
    -----
    The drifting-features count joins the last window of each model to
    ``metric_result`` on ``(model_id, metric, window_start)``, which is the index
    ``ix_metric_result_model_metric_window``.
    """
    models = session.execute(
        select(Model.id, Model.name, Model.task, Model.window).order_by(Model.name)
    ).all()
    frame = pd.DataFrame(models, columns=["id", "model", "task", "window"])
    for part in _overview_parts(session):
        frame = frame.merge(part, on="id", how="left")
    for col in ("windows", "rows", "labels", "rows_logged", "drifting_features", "firing_alerts"):
        frame[col] = frame[col].fillna(0).astype("int64")
    rows = frame["rows"].astype("float64")
    frame["label_coverage"] = (frame["labels"] / rows.where(rows > 0)).astype("float64")
    frame = frame.rename(columns={"rows": "rows_analyzed"})
    return _utc(frame, ["first_window_start", "last_window_end"])[OVERVIEW_COLUMNS]


def _overview_parts(session: Session) -> list[pd.DataFrame]:
    """Per-model ``id`` frames of window totals, rows logged, drifting features, firing alerts."""
    runs = pd.DataFrame(
        session.execute(
            select(
                WindowRun.model_id,
                func.count(),
                func.min(WindowRun.window_start),
                func.max(WindowRun.window_end),
                func.sum(WindowRun.n_rows),
                func.sum(WindowRun.n_labels),
            ).group_by(WindowRun.model_id)
        ).all(),
        columns=["id", "windows", "first_window_start", "last_window_end", "rows", "labels"],
    )
    logged = pd.DataFrame(
        session.execute(
            select(IngestBatch.model_id, func.sum(IngestBatch.stored))
            .where(IngestBatch.kind == "predictions")
            .group_by(IngestBatch.model_id)
        ).all(),
        columns=["id", "rows_logged"],
    )
    last = (
        select(WindowRun.model_id, func.max(WindowRun.window_start).label("start"))
        .group_by(WindowRun.model_id)
        .subquery()
    )
    drifting = pd.DataFrame(
        session.execute(
            select(MetricResult.model_id, func.count())
            .join(
                last,
                and_(
                    MetricResult.model_id == last.c.model_id,
                    MetricResult.window_start == last.c.start,
                ),
            )
            .where(MetricResult.metric == "drift_detected", MetricResult.value == 1.0)
            .group_by(MetricResult.model_id)
        ).all(),
        columns=["id", "drifting_features"],
    )
    firing = pd.DataFrame(
        session.execute(
            select(Model.id, func.count())
            .join(AlertRule, AlertRule.model == Model.name)
            .join(AlertSeries, AlertSeries.rule_id == AlertRule.id)
            .where(AlertSeries.state == "firing")
            .group_by(Model.id)
        ).all(),
        columns=["id", "firing_alerts"],
    )
    return [runs, logged, drifting, firing]


def analysed_range(session: Session, model: Model) -> tuple[datetime, datetime] | None:
    """First analysed window start and last analysed window end, or ``None``."""
    row = session.execute(
        select(func.min(WindowRun.window_start), func.max(WindowRun.window_end)).where(
            WindowRun.model_id == model.id
        )
    ).one()
    if row[0] is None:
        return None
    return row[0], row[1]


def window_counts(
    session: Session, model: Model, *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Analysed windows of a model: ``window_start``, ``window_end``, ``n_rows``, ``n_labels``.

    ``start``/``end`` select windows with ``window_start >= start`` and
    ``window_end <= end`` (as :func:`storage.metrics.metrics_frame`).
    """
    query = select(
        WindowRun.window_start, WindowRun.window_end, WindowRun.n_rows, WindowRun.n_labels
    ).where(WindowRun.model_id == model.id)
    if start is not None:
        query = query.where(WindowRun.window_start >= start)
    if end is not None:
        query = query.where(WindowRun.window_end <= end)
    rows = session.execute(query.order_by(WindowRun.window_start)).all()
    frame = pd.DataFrame(rows, columns=["window_start", "window_end", "n_rows", "n_labels"])
    return _utc(frame, ["window_start", "window_end"])


def metric_values(
    session: Session,
    *,
    model: Model,
    metrics: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    analyzer: str | None = None,
    feature: str | None = None,
    group: str | None = None,
    details: bool = False,
) -> pd.DataFrame:
    """Stored values of some metrics of one model, in window order.

    Parameters
    ----------
    session : Session
    model : Model
    metrics : sequence of str, optional
        Metric names; the query then uses the index
        ``ix_metric_result_model_metric_window`` ``(model_id, metric, window_start)``.
    start, end : datetime, optional
        Windows with ``window_start >= start`` and ``window_end <= end``.
    analyzer : str, optional
        Only this analyzer; without ``metrics`` the query uses the index
        ``ix_metric_result_model_analyzer_window`` ``(model_id, analyzer, window_start)``.
    feature, group : str, optional
        Only this feature / group (``""`` selects "none").
    details : bool, default False
        Also return the ``details`` JSON (slower on wide reads).

    Raises
    ------
    ValueError
        If neither ``metrics`` nor ``analyzer`` is given (a whole-model scan).

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS` (plus ``details``); ``feature``/``group`` are ``None``
        where not applicable, times are aware UTC.
    """
    if not metrics and analyzer is None:
        raise ValueError("metric_values: expected metric names or an analyzer; got neither")
    query, names = value_select(model, details=details)
    if metrics:
        query = query.where(MetricResult.metric.in_(list(metrics)))
    if start is not None:
        query = query.where(MetricResult.window_start >= start)
    if end is not None:
        query = query.where(MetricResult.window_end <= end)
    if analyzer is not None:
        query = query.where(MetricResult.analyzer == analyzer)
    if feature is not None:
        query = query.where(MetricResult.feature == feature)
    if group is not None:
        query = query.where(MetricResult.group == group)
    query = query.order_by(
        MetricResult.window_start, MetricResult.metric, MetricResult.feature, MetricResult.group
    )
    frame = pd.DataFrame(session.execute(query).all(), columns=names)
    for col in ("feature", "group"):
        frame[col] = frame[col].astype(object).where(frame[col] != "", None)
    frame["value"] = frame["value"].astype("float64")
    frame["threshold"] = frame["threshold"].astype("float64")
    return _utc(frame, ["window_start", "window_end"])


def metric_features(
    session: Session, *, model: Model, metric: str, analyzer: str | None = None
) -> list[str]:
    """Distinct non-empty features that have values of ``metric`` (sorted)."""
    query = (
        select(MetricResult.feature)
        .where(
            MetricResult.model_id == model.id,
            MetricResult.metric == metric,
            MetricResult.feature != "",
        )
        .distinct()
        .order_by(MetricResult.feature)
    )
    if analyzer is not None:
        query = query.where(MetricResult.analyzer == analyzer)
    return list(session.scalars(query))


def prediction_time(session: Session, model: Model, prediction_id: str) -> datetime | None:
    """Timestamp of a logged prediction by its id, or ``None`` if there is no such row.

    Reads the model's log table through its generated column names (no SQL text).
    """
    table = log_table(model)
    id_col = table.c[role_column(model, Role.ID).physical]
    ts_col = table.c[role_column(model, Role.TIMESTAMP).physical]
    micros = session.scalar(select(ts_col).where(id_col == prediction_id).limit(1))
    if micros is None:
        return None
    return pd.Timestamp(int(micros), unit="us", tz="UTC").to_pydatetime()


__all__ = [
    "OVERVIEW_COLUMNS",
    "VALUE_COLUMNS",
    "analysed_range",
    "metric_features",
    "metric_values",
    "model_overview",
    "prediction_time",
    "window_counts",
]
