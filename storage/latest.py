"""The latest stored value of every metric series, for the Prometheus exposition.

A series is one ``(model, analyzer, metric, feature, group)``; its latest value is the
one of the newest window (``window_start``) that has it — a metric computed only when
labels arrived keeps its last value instead of vanishing in windows without labels.
One grouped query over ``metric_result`` (optionally only windows starting at or after
``since``), joined back to the rows; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage.models import MetricResult, Model, WindowRun

#: Columns of :func:`latest_values`.
LATEST_COLUMNS = [
    "model",
    "analyzer",
    "metric",
    "feature",
    "group",
    "value",
    "status",
    "window_end",
]

__all__ = ["LATEST_COLUMNS", "last_window_ends", "latest_values"]


def latest_values(
    session: Session, *, since: datetime | None = None, models: list[str] | None = None
) -> pd.DataFrame:
    """The newest value of every series, ordered by model, analyzer, metric, feature, group.

    Parameters
    ----------
    since
        Only windows starting at or after this time are considered (``None``: all).
    models
        Only these model names (``None``: every model).

    Returns
    -------
    pandas.DataFrame
        :data:`LATEST_COLUMNS`; ``feature``/``group`` are ``""`` where not applicable,
        ``value`` is ``NaN`` where none was stored, ``window_end`` is aware UTC.
    """
    mr = MetricResult
    newest = select(
        mr.model_id,
        mr.analyzer,
        mr.metric,
        mr.feature,
        mr.group.label("group_key"),
        func.max(mr.window_start).label("start"),
    )
    if since is not None:
        newest = newest.where(mr.window_start >= since)
    if models is not None:
        newest = newest.join(Model, Model.id == mr.model_id).where(Model.name.in_(models))
    last = newest.group_by(mr.model_id, mr.analyzer, mr.metric, mr.feature, mr.group).subquery()
    query = (
        select(
            Model.name,
            mr.analyzer,
            mr.metric,
            mr.feature,
            mr.group,
            mr.value,
            mr.status,
            mr.window_end,
        )
        .join(
            last,
            and_(
                mr.model_id == last.c.model_id,
                mr.analyzer == last.c.analyzer,
                mr.metric == last.c.metric,
                mr.feature == last.c.feature,
                mr.group == last.c.group_key,
                mr.window_start == last.c.start,
            ),
        )
        .join(Model, Model.id == mr.model_id)
        .order_by(Model.name, mr.analyzer, mr.metric, mr.feature, mr.group)
    )
    frame = pd.DataFrame(session.execute(query).all(), columns=LATEST_COLUMNS)
    frame["value"] = frame["value"].astype("float64")
    frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
    return frame


def last_window_ends(session: Session, *, models: list[str] | None = None) -> dict[str, datetime]:
    """End of the newest analysed window of each model that has one, by model name."""
    query = (
        select(Model.name, func.max(WindowRun.window_end))
        .join(WindowRun, WindowRun.model_id == Model.id)
        .group_by(Model.name)
    )
    if models is not None:
        query = query.where(Model.name.in_(models))
    return {name: end for name, end in session.execute(query).all() if end is not None}
