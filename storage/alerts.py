"""Queries on the alert tables: rules, series, events, silences and the outbox.

Functions take the :class:`~sqlalchemy.orm.Session` first; the caller owns the
transaction. ``FOR UPDATE`` clauses are emitted on PostgreSQL and ignored on SQLite
(where write transactions begin ``IMMEDIATE`` and so are serialised anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from storage.models import (
    AlertChannel,
    AlertEvent,
    AlertRule,
    AlertSeries,
    MetricResult,
    Model,
    OutboxMessage,
    Silence,
)

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One stored value of a rule's metric."""

    window_start: datetime
    window_end: datetime
    feature: str
    group: str
    value: float | None
    analyzer: str
    ci_low: float | None = None
    ci_high: float | None = None


def rules(
    session: Session, *, model: str | None = None, enabled: bool | None = None
) -> list[AlertRule]:
    """Stored rules ordered by name, optionally for one model and/or enabled state."""
    query = select(AlertRule).order_by(AlertRule.name)
    if model is not None:
        query = query.where(AlertRule.model == model)
    if enabled is not None:
        query = query.where(AlertRule.enabled.is_(enabled))
    return list(session.scalars(query))


def rule_by_name(session: Session, name: str) -> AlertRule | None:
    """The rule called ``name``, or ``None``."""
    return session.scalar(select(AlertRule).where(AlertRule.name == name))


def lock_rule(session: Session, rule_id: int) -> AlertRule | None:
    """The rule, locked for this transaction (serialises evaluators of one rule)."""
    return session.scalar(select(AlertRule).where(AlertRule.id == rule_id).with_for_update())


def channels(session: Session) -> list[AlertChannel]:
    """Stored channels ordered by name."""
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.name)))


def channel_by_name(session: Session, name: str) -> AlertChannel | None:
    """The channel called ``name``, or ``None``."""
    return session.scalar(select(AlertChannel).where(AlertChannel.name == name))


def model_id(session: Session, name: str) -> int | None:
    """The id of the model called ``name``, or ``None``."""
    return session.scalar(select(Model.id).where(Model.name == name))


def model_windows(
    session: Session, model_id: int, *, after: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """Distinct analysed windows of a model (any metric), in window order."""
    query = (
        select(MetricResult.window_start, MetricResult.window_end)
        .where(MetricResult.model_id == model_id)
        .distinct()
        .order_by(MetricResult.window_start, MetricResult.window_end)
    )
    if after is not None:
        query = query.where(MetricResult.window_end > after)
    return [(start, end) for start, end in session.execute(query)]


def _match(
    column: InstrumentedAttribute[str], wanted: str | None, *, any_when_none: bool = False
) -> ColumnElement[bool] | None:
    if wanted is None:
        return None if any_when_none else (column == "")
    if wanted == WILDCARD:
        return column != ""
    return column == wanted


def series_selection(feature: str | None, group: str | None) -> list[ColumnElement[bool]]:
    """The conditions on ``metric_result`` of a rule's feature/group selection.

    ``None`` means "none" (stored as ``''``), ``"*"`` any non-empty value, otherwise that
    value; when ``group`` is given and ``feature`` is ``None`` any feature matches (a group
    key already names its attribute). Shared by the live engine and the backtest.
    """
    conditions = [
        _match(MetricResult.feature, feature, any_when_none=group is not None),
        _match(MetricResult.group, group),
    ]
    return [c for c in conditions if c is not None]


def metric_points(
    session: Session,
    model_id: int,
    metric: str,
    *,
    feature: str | None,
    group: str | None,
    after: datetime | None = None,
) -> list[MetricPoint]:
    """Stored values of ``metric`` for a rule's feature/group selection, in window order.

    ``feature``/``group``: ``None`` means "none" (stored as ``''``), ``"*"`` any non-empty
    value, otherwise that value. When ``group`` is given and ``feature`` is ``None`` any
    feature matches (a group key already names its attribute).
    """
    query = (
        select(
            MetricResult.window_start,
            MetricResult.window_end,
            MetricResult.feature,
            MetricResult.group,
            MetricResult.value,
            MetricResult.analyzer,
            MetricResult.details["ci_low"].as_float(),
            MetricResult.details["ci_high"].as_float(),
        )
        .where(MetricResult.model_id == model_id, MetricResult.metric == metric)
        .order_by(MetricResult.window_start, MetricResult.window_end)
    )
    for condition in series_selection(feature, group):
        query = query.where(condition)
    if after is not None:
        query = query.where(MetricResult.window_end > after)
    return [
        MetricPoint(start, end, feat, grp, value, analyzer, low, high)
        for start, end, feat, grp, value, analyzer, low, high in session.execute(query)
    ]


def series_for_rule(session: Session, rule_id: int, *, lock: bool = False) -> list[AlertSeries]:
    """Series of one rule, ordered by feature and group."""
    query = (
        select(AlertSeries)
        .where(AlertSeries.rule_id == rule_id)
        .order_by(AlertSeries.feature, AlertSeries.group)
    )
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def series(session: Session, *, model: str | None = None) -> list[tuple[AlertSeries, AlertRule]]:
    """Every series with its rule, optionally for one model."""
    query = (
        select(AlertSeries, AlertRule)
        .join(AlertRule, AlertSeries.rule_id == AlertRule.id)
        .order_by(AlertRule.name, AlertSeries.feature, AlertSeries.group)
    )
    if model is not None:
        query = query.where(AlertRule.model == model)
    return [(s, r) for s, r in session.execute(query)]


def series_by_id(session: Session, series_id: int) -> AlertSeries | None:
    """One series, locked for update."""
    return session.scalar(select(AlertSeries).where(AlertSeries.id == series_id).with_for_update())


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences whose ``until`` is after ``now``."""
    return list(session.scalars(select(Silence).where(Silence.until > now).order_by(Silence.id)))


def silences(session: Session) -> list[Silence]:
    """Every silence, newest first."""
    return list(session.scalars(select(Silence).order_by(Silence.id.desc())))


def events(
    session: Session,
    *,
    model: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[tuple[AlertEvent, AlertSeries, AlertRule]]:
    """State changes (history), oldest first, with their series and rule."""
    query = (
        select(AlertEvent, AlertSeries, AlertRule)
        .join(AlertSeries, AlertEvent.series_id == AlertSeries.id)
        .join(AlertRule, AlertEvent.rule_id == AlertRule.id)
        .order_by(AlertEvent.id)
    )
    if model is not None:
        query = query.where(AlertRule.model == model)
    if rule is not None:
        query = query.where(AlertRule.name == rule)
    if since is not None:
        query = query.where(AlertEvent.at >= since)
    if limit is not None:
        query = query.order_by(None).order_by(AlertEvent.id.desc()).limit(limit)
    found = [(event, series, rule) for event, series, rule in session.execute(query)]
    if limit is not None:
        found.reverse()
    return found


def outbox_messages(
    session: Session, *, statuses: Iterable[str] | None = None, limit: int | None = None
) -> list[OutboxMessage]:
    """Outbox rows (optionally of some statuses), oldest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if statuses is not None:
        query = query.where(OutboxMessage.status.in_(list(statuses)))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def latest_outbox(session: Session, series_keys: Iterable[str]) -> list[OutboxMessage]:
    """The newest outbox row of each (series, channel) of ``series_keys``, oldest first.

    What a series' delivery outcome needs, read without the rest of the outbox (which grows
    with every notification ever sent).
    """
    keys = sorted(set(series_keys))
    if not keys:
        return []
    newest = (
        select(func.max(OutboxMessage.id))
        .where(OutboxMessage.series_key.in_(keys))
        .group_by(OutboxMessage.series_key, OutboxMessage.channel)
    )
    query = select(OutboxMessage).where(OutboxMessage.id.in_(newest)).order_by(OutboxMessage.id)
    return list(session.scalars(query))


def due_outbox_ids(session: Session, now: datetime) -> list[int]:
    """Ids of pending rows whose next attempt is due, oldest first."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
    )
    return list(session.scalars(query))


def claim_outbox(session: Session, message_id: int) -> OutboxMessage | None:
    """Lock a pending row for delivery, or ``None`` if it is gone, done or claimed elsewhere.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: the ``IMMEDIATE`` transaction
    already excludes other writers.
    """
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def has_earlier_pending(session: Session, message: OutboxMessage) -> bool:
    """Whether an older row of the same series and channel is still pending."""
    older = aliased(OutboxMessage)
    query = select(
        exists().where(
            and_(
                older.series_key == message.series_key,
                older.channel == message.channel,
                older.status == "pending",
                older.id < message.id,
            )
        )
    )
    return bool(session.scalar(query))


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox."""
    if not keys:
        return set()
    query = select(OutboxMessage.idempotency_key).where(OutboxMessage.idempotency_key.in_(keys))
    return set(session.scalars(query))
