"""Stored analysis results: write a window's metrics, read them back as DataFrames."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from storage.models import (
    IngestBatch,
    MetricResult,
    Model,
    QuarantinedRow,
    WindowRun,
)

#: Columns of a stored result as read back (``details`` apart: it is only read when needed).
VALUE_COLUMNS = [
    "window_start",
    "window_end",
    "analyzer",
    "metric",
    "feature",
    "group",
    "value",
    "threshold",
    "status",
]
#: Fields of one exported record (``driftwarden metrics``).
EXPORT_COLUMNS = ["model", *VALUE_COLUMNS, "details"]


class RecordLike(Protocol):
    """What :func:`store_window` needs of a metric record (read-only attributes)."""

    @property
    def analyzer(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def feature(self) -> str | None: ...
    @property
    def group(self) -> str | None: ...
    @property
    def value(self) -> float | None: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...


def metric_result_rows(
    model_id: int, *, window_start: datetime, window_end: datetime, records: Iterable[RecordLike]
) -> list[MetricResult]:
    """Unsaved :class:`MetricResult` rows of one window's records.

    Parameters
    ----------
    model_id : int
        Model the results belong to.
    window_start, window_end : datetime
        The window.
    records : iterable of RecordLike
        Metric records; ``None`` feature/group are stored as ``""``.

    Returns
    -------
    list of MetricResult
        One row per record, not yet added to a session.
    """
    return [
        MetricResult(
            model_id=model_id,
            window_start=window_start,
            window_end=window_end,
            analyzer=r.analyzer,
            metric=r.metric,
            feature=r.feature or "",
            group=r.group or "",
            value=r.value,
            threshold=r.threshold,
            status=r.status,
            details=r.details,
        )
        for r in records
    ]


def value_select(model: Model, *, details: bool) -> tuple[Select[*tuple[Any, ...]], list[str]]:
    """The unfiltered select of a model's stored metric values, and its column names.

    Parameters
    ----------
    model : Model
    details : bool
        Also select the ``details`` JSON.

    Returns
    -------
    tuple of (Select, list of str)
        The select (only ``model_id`` filtered) and :data:`VALUE_COLUMNS`
        (plus ``"details"``).
    """
    columns = [
        MetricResult.window_start,
        MetricResult.window_end,
        MetricResult.analyzer,
        MetricResult.metric,
        MetricResult.feature,
        MetricResult.group,
        MetricResult.value,
        MetricResult.threshold,
        MetricResult.status,
    ]
    names = list(VALUE_COLUMNS)
    if details:
        columns.append(MetricResult.details)
        names.append("details")
    return select(*columns).where(MetricResult.model_id == model.id), names


def store_window(
    session: Session,
    model: Model,
    *,
    window_start: datetime,
    window_end: datetime,
    records: Iterable[RecordLike],
    n_rows: int,
    n_labels: int,
    reference_version: int | None,
    replace: bool = False,
) -> int:
    """Store one window's results and its run record (caller owns the transaction).

    With ``replace`` (a re-analysis because more labels arrived), the window's previous
    results are deleted first, so the unique key (model, window, analyzer, metric,
    feature, group) never holds a value twice.
    """
    if replace:
        session.execute(
            delete(MetricResult).where(
                MetricResult.model_id == model.id,
                MetricResult.window_start == window_start,
                MetricResult.window_end == window_end,
            )
        )
        session.execute(
            delete(WindowRun).where(
                WindowRun.model_id == model.id,
                WindowRun.window_start == window_start,
                WindowRun.window_end == window_end,
            )
        )
    rows = metric_result_rows(
        model.id, window_start=window_start, window_end=window_end, records=records
    )
    session.add_all(rows)
    session.add(
        WindowRun(
            model_id=model.id,
            window_start=window_start,
            window_end=window_end,
            n_rows=n_rows,
            n_labels=n_labels,
            reference_version=reference_version,
        )
    )
    session.flush()
    return len(rows)


def window_runs(session: Session, model: Model) -> dict[datetime, WindowRun]:
    """Analysed windows of a model by start."""
    runs = session.scalars(select(WindowRun).where(WindowRun.model_id == model.id))
    return {r.window_start: r for r in runs}


def metrics_frame(
    session: Session,
    *,
    model: Model,
    start: datetime | None = None,
    end: datetime | None = None,
    analyzer: str | None = None,
    metrics: Sequence[str] | None = None,
    feature: str | None = None,
) -> pd.DataFrame:
    """Stored results of one model as a DataFrame with :data:`EXPORT_COLUMNS`.

    ``start``/``end`` select windows with ``window_start >= start`` and
    ``window_end <= end``. ``feature`` and ``group`` are ``None`` where not applicable.
    """
    query, names = value_select(model, details=True)
    if start is not None:
        query = query.where(MetricResult.window_start >= start)
    if end is not None:
        query = query.where(MetricResult.window_end <= end)
    if analyzer is not None:
        query = query.where(MetricResult.analyzer == analyzer)
    if metrics:
        query = query.where(MetricResult.metric.in_(list(metrics)))
    if feature is not None:
        query = query.where(MetricResult.feature == feature)
    query = query.order_by(
        MetricResult.window_start,
        MetricResult.analyzer,
        MetricResult.metric,
        MetricResult.feature,
        MetricResult.group,
    )
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=names)
    frame.insert(0, "model", model.name)
    for col in ("feature", "group"):
        frame[col] = frame[col].astype(object).where(frame[col] != "", None)
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["value"] = frame["value"].astype("float64")
    frame["threshold"] = frame["threshold"].astype("float64")
    return frame[EXPORT_COLUMNS]


def quarantine_counts(
    session: Session, model: Model, *, start_us: int, end_us: int
) -> dict[str, int]:
    """Quarantined prediction rows whose timestamp falls in a window, by kind."""
    rows = session.execute(
        select(QuarantinedRow.kind, func.count())
        .where(
            QuarantinedRow.model_id == model.id,
            QuarantinedRow.ts >= start_us,
            QuarantinedRow.ts < end_us,
            QuarantinedRow.kind.in_(["invalid", "conflict"]),
        )
        .group_by(QuarantinedRow.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}


def quarantine_examples(
    session: Session,
    model: Model,
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int = 20,
) -> pd.DataFrame:
    """Latest quarantined rows (reason and original values) of a model."""
    query = select(
        QuarantinedRow.row_number,
        QuarantinedRow.prediction_id,
        QuarantinedRow.kind,
        QuarantinedRow.column,
        QuarantinedRow.reason,
        QuarantinedRow.values,
    ).where(QuarantinedRow.model_id == model.id)
    if start_us is not None:
        query = query.where(QuarantinedRow.ts >= start_us)
    if end_us is not None:
        query = query.where(QuarantinedRow.ts < end_us)
    rows = session.execute(query.order_by(QuarantinedRow.id.desc()).limit(limit)).all()
    return pd.DataFrame(
        rows, columns=["row", "prediction_id", "kind", "column", "reason", "values"]
    )


def ingest_totals(session: Session, model: Model) -> dict[str, int]:
    """Rows received, stored, already present and quarantined over all batches."""
    row = session.execute(
        select(
            func.coalesce(func.sum(IngestBatch.n_rows), 0),
            func.coalesce(func.sum(IngestBatch.stored), 0),
            func.coalesce(func.sum(IngestBatch.already_present), 0),
            func.coalesce(func.sum(IngestBatch.quarantined), 0),
        ).where(IngestBatch.model_id == model.id, IngestBatch.kind == "predictions")
    ).one()
    return dict(
        zip(("received", "stored", "already_present", "quarantined"), map(int, row), strict=True)
    )


def coerced_to_missing(
    session: Session,
    model: Model,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Values stored as missing because they were sent as missing-value text, per column.

    Summed over the model's batches received in ``[since, until)`` (each batch counts
    the rows it stored: a re-sent row is not counted again). Columns without any are
    left out.
    """
    query = select(IngestBatch.coerced_to_missing).where(
        IngestBatch.model_id == model.id, IngestBatch.coerced_to_missing.is_not(None)
    )
    if since is not None:
        query = query.where(IngestBatch.received_at >= since)
    if until is not None:
        query = query.where(IngestBatch.received_at < until)
    totals: dict[str, int] = {}
    for text in session.scalars(query):
        for column, n in json.loads(text or "{}").items():
            totals[column] = totals.get(column, 0) + int(n)
    return totals


def last_window(session: Session, model: Model) -> WindowRun | None:
    """The most recent analysed window of a model."""
    return session.scalars(
        select(WindowRun)
        .where(WindowRun.model_id == model.id)
        .order_by(WindowRun.window_start.desc())
        .limit(1)
    ).one_or_none()
