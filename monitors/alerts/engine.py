"""Alert evaluation: a pure state machine and the pass that applies it to stored metrics.

States of a series (one rule × feature/group)::

    ok ──breach──▶ pending ──(`for` consecutive breaches)──▶ firing ──ok──▶ resolved ──ok──▶ ok
     ▲                │ok                                    │  ▲ breach          │breach
     └────────────────┘                                      ▼  │                 ▼
                       no_data (a window without a value; from any state)      pending/firing

* A window counts for the series in window order, whether the windows were analysed in
  one pass or many (the series remembers ``last_window_end`` and its consecutive count).
* Notifications: exactly one on entering ``firing`` and one on entering ``resolved``, plus
  a ``repeat`` while firing once ``repeat`` seconds of wall-clock time have passed since
  the series' last notification (checked on every pass, with or without new windows).
* ``no_data`` breaks a breach streak. An open incident (firing) stays open through
  ``no_data`` windows: the next breaching window returns to ``firing`` without a new
  ``firing`` notification, the next clean window resolves it (with a ``resolved``
  notification).
* Silences (matching rule, model and/or feature) suppress notifications while active;
  the state change is still recorded (``alert_event.silenced``). An acknowledgement
  suppresses the repeats of the current incident and is cleared when it resolves.
* A new series starts at its first stored value; a new rule walks the stored history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitors.alerts.rules import Rule
from storage import alerts as queries
from storage.engine import session_scope
from storage.models import AlertEvent, AlertSeries, OutboxMessage, Silence

NotificationKind = Literal["firing", "resolved", "repeat"]


class AlertState(StrEnum):
    """State of one series."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class SeriesState:
    """What the state machine remembers about one series.

    Attributes
    ----------
    state : str
        One of :class:`AlertState`.
    since : datetime or None
        Start of the window that began the current state (for ``pending``/``firing``: of
        the first breaching window of the streak).
    consecutive : int
        Consecutive breaching windows up to now.
    open_since : datetime or None
        Start of the open incident (set on firing, kept through ``no_data``, cleared on
        resolve).
    last_notified_at : datetime or None
        Wall-clock time of the last notification queued for this series.
    acknowledged : bool
        Whether the open incident is acknowledged (repeats suppressed).
    """

    state: str = AlertState.OK
    since: datetime | None = None
    consecutive: int = 0
    open_since: datetime | None = None
    last_notified_at: datetime | None = None
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Window:
    """One analysed window of a series and its value (``None``: no value)."""

    start: datetime
    end: datetime
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """Result of evaluating one window (or a repeat check) of one series."""

    before: SeriesState
    after: SeriesState
    notify: NotificationKind | None = None

    @property
    def changed(self) -> bool:
        """Whether the state changed (an event for the history)."""
        return self.before.state != self.after.state


def _repeat_due(rule: Rule, state: SeriesState, now: datetime) -> bool:
    if state.acknowledged:
        return False
    if state.last_notified_at is None:
        return True
    return now - state.last_notified_at >= timedelta(seconds=rule.repeat_seconds)


def evaluate(
    rule: Rule, state: SeriesState, breaching: bool | None, window: Window, now: datetime
) -> Transition:
    """Apply one window to a series' state (pure; ``now`` is the wall-clock time).

    Parameters
    ----------
    rule : Rule
        The rule (``for_windows`` and ``repeat_seconds`` are used).
    state : SeriesState
        The state before this window.
    breaching : bool or None
        Whether the window's value breaches the rule; ``None`` when it has no value.
    window : Window
        The window (its start is recorded as ``since`` on state changes).
    now : datetime
        Wall-clock time of the evaluation (for repeats and ``last_notified_at``).

    Returns
    -------
    Transition
        The new state and the notification to send, if any.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> rule = Rule(id=1, name="r", model="m", metric="psi", feature=None, group=None,
    ...             op=">", threshold=0.2, for_windows=2)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> w = Window(t0, t0, 0.5)
    >>> first = evaluate(rule, SeriesState(), True, w, t0)
    >>> str(first.after.state), first.notify
    ('pending', None)
    >>> second = evaluate(rule, first.after, True, w, t0)
    >>> str(second.after.state), second.notify
    ('firing', 'firing')
    """
    if breaching is None:
        if state.state == AlertState.NO_DATA:
            return Transition(state, replace(state, consecutive=0))
        after = replace(state, state=AlertState.NO_DATA, since=window.start, consecutive=0)
        return Transition(state, after)

    if breaching:
        count = state.consecutive + 1
        if state.open_since is not None:  # firing, or a data gap during an incident
            since = state.since if state.state == AlertState.FIRING else window.start
            after = replace(state, state=AlertState.FIRING, since=since, consecutive=count)
            if state.state == AlertState.FIRING and _repeat_due(rule, state, now):
                return Transition(state, replace(after, last_notified_at=now), "repeat")
            return Transition(state, after)
        since = state.since if state.state == AlertState.PENDING else window.start
        if count >= rule.for_windows:
            after = SeriesState(
                state=AlertState.FIRING,
                since=since,
                consecutive=count,
                open_since=since,
                last_notified_at=now,
                acknowledged=False,
            )
            return Transition(state, after, "firing")
        after = replace(state, state=AlertState.PENDING, since=since, consecutive=count)
        return Transition(state, after)

    if state.open_since is not None:
        after = SeriesState(
            state=AlertState.RESOLVED,
            since=window.start,
            consecutive=0,
            open_since=None,
            last_notified_at=now,
            acknowledged=False,
        )
        return Transition(state, after, "resolved")
    if state.state == AlertState.OK:
        return Transition(state, replace(state, consecutive=0))
    after = replace(state, state=AlertState.OK, since=window.start, consecutive=0)
    return Transition(state, after)


def check_repeat(rule: Rule, state: SeriesState, now: datetime) -> Transition:
    """A repeat notification for a firing series when its repeat interval has passed (pure).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> rule = Rule(id=1, name="r", model="m", metric="psi", feature=None, group=None,
    ...             op=">", threshold=0.2, repeat_seconds=3600)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> firing = SeriesState("firing", t0, 1, t0, last_notified_at=t0)
    >>> check_repeat(rule, firing, t0 + timedelta(minutes=59)).notify is None
    True
    >>> check_repeat(rule, firing, t0 + timedelta(hours=1)).notify
    'repeat'
    """
    if state.state == AlertState.FIRING and _repeat_due(rule, state, now):
        return Transition(state, replace(state, last_notified_at=now), "repeat")
    return Transition(state, state)


def suppressed(transition: Transition) -> Transition:
    """``transition`` without its notification (silenced, or no channel to send it to).

    Nothing was announced, so the repeat clock (``last_notified_at``) does not restart.
    Shared by the live pass and the backtest (:mod:`monitors.alerts.backtest`).
    """
    after = replace(transition.after, last_notified_at=transition.before.last_notified_at)
    return Transition(transition.before, after)


def silenced_by(
    silences: Iterable[Silence], rule: Rule, feature: str, now: datetime
) -> Silence | None:
    """The first active silence matching the rule (by name, model and feature), if any."""
    for silence in silences:
        if silence.until <= now:
            continue
        if silence.rule is not None and silence.rule != rule.name:
            continue
        if silence.model is not None and silence.model != rule.model:
            continue
        if silence.feature is not None and silence.feature != feature:
            continue
        return silence
    return None


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    """What one :func:`evaluate_rules` pass did."""

    rules: int = 0
    series: int = 0
    windows: int = 0
    transitions: int = 0
    notifications: int = 0
    suppressed: int = 0


def idempotency_key(rule_id: int, series_id: int, kind: str, stamp: datetime, channel: str) -> str:
    """Deterministic key of one notification on one channel.

    ``stamp`` is the window end for transitions (and repeats decided on a window), or
    the previous notification time for repeats decided without a new window.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> idempotency_key(3, 7, "firing", datetime(2026, 1, 2, tzinfo=UTC), "oncall")
    'dw-3-7-firing-1767312000-776b17088dc5'
    """
    digest = hashlib.sha256(channel.encode()).hexdigest()[:12]
    return f"dw-{rule_id}-{series_id}-{kind}-{int(stamp.timestamp())}-{digest}"


def _state_of(row: AlertSeries) -> SeriesState:
    return SeriesState(
        state=row.state,
        since=row.since,
        consecutive=row.consecutive,
        open_since=row.open_since,
        last_notified_at=row.last_notified_at,
        acknowledged=row.acknowledged_at is not None,
    )


def _store_state(row: AlertSeries, state: SeriesState) -> None:
    row.state = str(state.state)
    row.since = state.since
    row.consecutive = state.consecutive
    row.open_since = state.open_since
    row.last_notified_at = state.last_notified_at
    if not state.acknowledged:
        row.acknowledged_at = None
        row.acknowledged_by = None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def notification_payload(
    rule: Rule,
    *,
    kind: str,
    state: SeriesState,
    feature: str,
    group: str,
    analyzer: str | None,
    window: Window | None,
    value: float | None,
    now: datetime,
) -> dict[str, Any]:
    """The JSON payload stored in the outbox (everything a message needs, no secrets)."""
    since = state.open_since or state.since
    if kind == "resolved":
        since = state.since
    return {
        "version": 1,
        "kind": kind,
        "state": str(state.state),
        "rule": rule.name,
        "severity": rule.severity,
        "model": rule.model,
        "metric": rule.metric,
        "analyzer": analyzer,
        "feature": feature or None,
        "group": group or None,
        "op": rule.op,
        "threshold": rule.threshold,
        "value": value,
        "for": rule.for_windows,
        "window_start": _iso(window.start if window else None),
        "window_end": _iso(window.end if window else None),
        "since": _iso(since),
        "at": now.isoformat(),
        "labels": dict(rule.labels),
    }


@dataclass
class _Counter:
    series: int = 0
    windows: int = 0
    transitions: int = 0
    notifications: int = 0
    suppressed: int = 0


def _queue(
    session: Session,
    rule: Rule,
    row: AlertSeries,
    *,
    kind: str,
    stamp: datetime,
    payload: dict[str, Any],
    event: AlertEvent | None,
) -> int:
    keys = {
        channel: idempotency_key(rule.id, row.id, kind, stamp, channel) for channel in rule.channels
    }
    present = queries.existing_keys(session, list(keys.values()))
    queued = 0
    for channel, key in keys.items():
        if key in present:
            continue
        session.add(
            OutboxMessage(
                event_id=event.id if event is not None else None,
                channel=channel,
                idempotency_key=key,
                series_key=f"{rule.id}:{row.id}",
                payload={**payload, "idempotency_key": key, "channel": channel},
                status="pending",
                attempts=0,
                next_attempt_at=payload_time(payload),
                created_at=payload_time(payload),
            )
        )
        queued += 1
    return queued


def payload_time(payload: dict[str, Any]) -> datetime:
    """The evaluation time recorded in a payload."""
    return datetime.fromisoformat(str(payload["at"]))


def _apply(
    session: Session,
    rule: Rule,
    row: AlertSeries,
    transition: Transition,
    *,
    window: Window | None,
    analyzer: str | None,
    silences: Sequence[Silence],
    now: datetime,
    counter: _Counter,
) -> None:
    notify = transition.notify
    after = transition.after
    silenced = notify is not None and silenced_by(silences, rule, row.feature, now) is not None
    if notify is not None and (silenced or not rule.channels):
        after = suppressed(transition).after
        if silenced:
            counter.suppressed += 1
    event: AlertEvent | None = None
    value = window.value if window is not None else row.last_value
    if transition.changed:
        event = AlertEvent(
            series_id=row.id,
            rule_id=rule.id,
            from_state=str(transition.before.state),
            to_state=str(after.state),
            at=now,
            window_start=window.start if window else None,
            window_end=window.end if window else None,
            value=value,
            threshold=rule.threshold,
            silenced=silenced,
        )
        session.add(event)
        session.flush()
        counter.transitions += 1
    if notify is not None and not silenced and rule.channels:
        stamp = window.end if window is not None else transition.before.last_notified_at or now
        payload = notification_payload(
            rule,
            kind=notify,
            state=after,
            feature=row.feature,
            group=row.group,
            analyzer=analyzer,
            window=window,
            value=value,
            now=now,
        )
        counter.notifications += _queue(
            session, rule, row, kind=notify, stamp=stamp, payload=payload, event=event
        )
    _store_state(row, after)


def point_breaching(rule: Rule, point: queries.MetricPoint | None) -> bool | None:
    """Whether a stored value (and, for ``require_significant``, its interval) breaches."""
    if point is None:
        return None
    return rule.breaching(point.value, ci_low=point.ci_low, ci_high=point.ci_high)


def _evaluate_rule(session: Session, rule_id: int, now: datetime, counter: _Counter) -> bool:
    rule_row = queries.lock_rule(session, rule_id)
    if rule_row is None or not rule_row.enabled:
        return False
    rule = Rule.from_row(rule_row)
    model_id = queries.model_id(session, rule.model)
    if model_id is None:
        return True
    existing = {
        (s.feature, s.group): s for s in queries.series_for_rule(session, rule.id, lock=True)
    }
    ends = [s.last_window_end for s in existing.values()]
    after = None if not existing or any(e is None for e in ends) else min(e for e in ends if e)
    points = queries.metric_points(
        session, model_id, rule.metric, feature=rule.feature, group=rule.group, after=after
    )
    windows = queries.model_windows(session, model_id, after=after)
    by_key: dict[tuple[str, str], dict[tuple[datetime, datetime], queries.MetricPoint]] = {}
    analyzers: dict[tuple[str, str], str] = {}
    for point in points:
        key = (point.feature, point.group)
        by_key.setdefault(key, {})[(point.window_start, point.window_end)] = point
        analyzers[key] = point.analyzer
    default_analyzer = points[-1].analyzer if points else None
    silences = queries.active_silences(session, now)
    for key in sorted(set(existing) | set(by_key)):
        row = existing.get(key)
        values = by_key.get(key, {})
        if row is None:
            row = AlertSeries(
                rule_id=rule.id, feature=key[0], group=key[1], state="ok", consecutive=0
            )
            session.add(row)
            session.flush()
        counter.series += 1
        analyzer = analyzers.get(key, default_analyzer)
        if row.last_window_end is None:
            first = min(values)[0] if values else None
            todo = [w for w in windows if first is not None and w[0] >= first]
        else:
            todo = [w for w in windows if w[1] > row.last_window_end]
        state = _state_of(row)
        for start, end in todo:
            stored = values.get((start, end))
            value = stored.value if stored is not None else None
            window = Window(start, end, value)
            transition = evaluate(rule, state, point_breaching(rule, stored), window, now)
            _apply(
                session,
                rule,
                row,
                transition,
                window=window,
                analyzer=analyzer,
                silences=silences,
                now=now,
                counter=counter,
            )
            row.last_window_end = end
            row.last_value = value
            state = _state_of(row)
            counter.windows += 1
        if not todo:
            transition = check_repeat(rule, state, now)
            if transition.notify is not None:
                _apply(
                    session,
                    rule,
                    row,
                    transition,
                    window=None,
                    analyzer=analyzer,
                    silences=silences,
                    now=now,
                    counter=counter,
                )
    return True


def evaluate_rules(engine: Engine, *, now: datetime, model: str | None = None) -> EvaluationSummary:
    """Evaluate every enabled rule over the stored windows it has not seen yet.

    Each rule is evaluated in its own transaction, with its row locked: the series' new
    state, the ``alert_event`` rows of the state changes and the outbox rows of the
    notifications are committed together. Re-running stores nothing new.

    Parameters
    ----------
    engine : Engine
        Database engine.
    now : datetime
        Aware wall-clock time of this pass (event times, repeat intervals).
    model : str, optional
        Only evaluate the rules of this model.

    Returns
    -------
    EvaluationSummary
    """
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware; got {now!r}")
    with session_scope(engine) as session:
        ids = [r.id for r in queries.rules(session, model=model, enabled=True)]
    counter = _Counter()
    evaluated = 0
    for rule_id in ids:
        with session_scope(engine) as session:
            evaluated += _evaluate_rule(session, rule_id, now, counter)
    return EvaluationSummary(
        rules=evaluated,
        series=counter.series,
        windows=counter.windows,
        transitions=counter.transitions,
        notifications=counter.notifications,
        suppressed=counter.suppressed,
    )
