"""The backtest's reads: what the live pass reads, fetched for a whole history at once.

The live pass reads a few new windows at a time with :func:`storage.alerts.model_windows`
and :func:`storage.alerts.metric_points`; over a year of a large model those queries scan
every stored row of the model (``DISTINCT`` over all metrics; an ``ORDER BY`` that makes
SQLite walk the unique key instead of the metric index). These return the same rows
(tested against them) with index seeks only:

* windows: a recursive CTE that hops from one distinct ``window_start`` to the next
  through the ``(model_id, window_start, window_end, …)`` unique index (a "loose index
  scan"), taking each start's ends from the same index;
* points: the same selection (:func:`storage.alerts.series_selection`, the same interval bounds
  read from ``details``) without ``ORDER BY``, so the ``(model_id, metric,
  window_start)`` index serves it; the caller keys them by window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, func, null, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import NullType

from monitors.alerts._backtest_replay import SeriesKey, Stored
from monitors.alerts.rules import Rule
from storage.alerts import MetricPoint, series_selection
from storage.models import MetricResult

WindowKey = tuple[datetime, datetime]

#: Aliases of ``metric_result`` in the windows query (made once: ``aliased`` is not free).
_ALIASES: Final = (aliased(MetricResult), aliased(MetricResult), aliased(MetricResult))
_RAW: Final = NullType()
"""A column read as the driver returns it (no conversion): a key, not a value."""


def model_windows(
    session: Session, model_id: int, *, start: datetime | None, end: datetime | None
) -> dict[tuple[Any, Any], WindowKey]:
    """Distinct analysed windows of a model in the period, in window order.

    The same as :func:`storage.alerts.model_windows` restricted to windows starting at or
    after ``start`` and ending at or before ``end``; keyed by the window's bounds as the
    database driver returns them (:func:`metric_points` reads those, which saves
    converting the same two times on every row).
    """
    low = [MetricResult.model_id == model_id]
    if start is not None:
        low.append(MetricResult.window_start >= start)
    first = select(func.min(MetricResult.window_start).label("s")).where(*low)
    hops = first.cte("hops", recursive=True)
    step, lo_end, hi_end = _ALIASES
    following = (
        select(func.min(step.window_start))
        .where(step.model_id == model_id, step.window_start > hops.c.s)
        .scalar_subquery()
    )
    hops = hops.union_all(select(following).where(hops.c.s.is_not(None)))
    first_end, last_end = (
        select(agg(a.window_end))
        .where(a.model_id == model_id, a.window_start == hops.c.s)
        .scalar_subquery()
        for agg, a in ((func.min, lo_end), (func.max, hi_end))
    )
    query = select(
        hops.c.s.label("start"),
        type_coerce(hops.c.s, _RAW).label("raw_start"),
        first_end.label("first_end"),
        type_coerce(first_end, _RAW).label("raw_first_end"),
        last_end.label("last_end"),
    )
    rows = session.execute(query.where(hops.c.s.is_not(None)).order_by(hops.c.s)).all()
    windows: dict[tuple[Any, Any], WindowKey] = {}
    for window_start, raw_start, lo, raw_lo, hi in rows:
        if lo == hi:
            windows[(raw_start, raw_lo)] = (window_start, lo)
            continue
        column = MetricResult.window_end
        more = (
            select(column, type_coerce(column, _RAW).label("raw_end"))
            .where(MetricResult.model_id == model_id, MetricResult.window_start == window_start)
            .distinct()
            .order_by(column)
        )
        for window_end, raw_end in session.execute(more):
            windows[(raw_start, raw_end)] = (window_start, window_end)
    return {raw: w for raw, w in windows.items() if end is None or w[1] <= end}


def _interval(rule: Rule) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """``details.ci_low``/``ci_high`` as the live pass reads them, when the rule uses them.

    Only ``require_significant`` looks at the interval (:meth:`Rule.breaching`); for other
    rules it is not read (``NULL``), which spares parsing every row's ``details``.
    """
    if not rule.require_significant:
        return null(), null()
    return MetricResult.details["ci_low"].as_float(), MetricResult.details["ci_high"].as_float()


def series_values(
    session: Session,
    model_id: int,
    rule: Rule,
    *,
    windows: Mapping[tuple[Any, Any], WindowKey],
    start: datetime | None,
    end: datetime | None,
) -> dict[SeriesKey, dict[WindowKey, Stored]]:
    """A rule's stored rows in the period, by series ``(feature, group)`` and window.

    The same rows as :func:`storage.alerts.metric_points` (windows starting at or after
    ``start``, ending at or before ``end``; ``windows`` is :func:`model_windows`'s map):
    each a :class:`~storage.alerts.MetricPoint` for a ``require_significant`` rule, else
    just its value (all :meth:`Rule.breaching` then looks at).
    """
    query = select(
        type_coerce(MetricResult.window_start, _RAW),
        type_coerce(MetricResult.window_end, _RAW),
        MetricResult.feature,
        MetricResult.group,
        MetricResult.value,
        MetricResult.analyzer,
        *_interval(rule),
    ).where(MetricResult.model_id == model_id, MetricResult.metric == rule.metric)
    conditions = series_selection(rule.feature, rule.group)
    if start is not None:
        conditions.append(MetricResult.window_start >= start)
    if end is not None:
        conditions.append(MetricResult.window_end <= end)
    for condition in conditions:
        query = query.where(condition)
    values: dict[SeriesKey, dict[WindowKey, Stored]] = {}
    points = rule.require_significant
    for raw_start, raw_end, feature, group, value, *rest in (
        session.connection().execute(query).all()
    ):
        window = windows.get((raw_start, raw_end))
        if window is None:
            continue
        stored = MetricPoint(*window, feature, group, value, *rest) if points else value
        values.setdefault((feature, group), {})[window] = stored
    return values
