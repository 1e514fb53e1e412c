"""The pure half of the backtest: replay one rule over a series' stored windows.

No I/O: windows and values in, :class:`SeriesBacktest` out. Each window goes through
:func:`monitors.alerts.engine.evaluate` — the live state machine — with ``now`` set to the
window's end (as if ``driftwarden run`` had evaluated each window when it closed), and
through :func:`monitors.alerts.engine.suppressed` when a notification is silenced or the
rule has no channel, exactly as the live pass does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from monitors.alerts.engine import (
    AlertState,
    NotificationKind,
    SeriesState,
    Transition,
    Window,
    evaluate,
    point_breaching,
    silenced_by,
    suppressed,
)
from monitors.alerts.rules import Rule
from storage.alerts import MetricPoint
from storage.models import Silence

WindowKey = tuple[datetime, datetime]
"""``(window_start, window_end)`` of one analysed window."""
SeriesKey = tuple[str, str]
"""``(feature, group)`` of one series as stored (``""`` for none)."""
Stored = MetricPoint | float | None
"""A stored row of a series: as read by the live pass, or just its value (``None``: null)."""

KINDS: Final[tuple[NotificationKind, ...]] = ("firing", "resolved", "repeat")


@dataclass(frozen=True, slots=True)
class Episode:
    """One firing incident of a series in a backtest.

    Attributes
    ----------
    start : datetime
        Start of the first breaching window of the streak that fired (``from``; with
        ``for: 3`` the two pending windows before the firing one belong to the episode).
    end : datetime
        Start of the last breaching window of the incident (``to``).
    peak : float
        The most extreme breaching value: the largest for ``>``/``>=``, the smallest for
        ``<``/``<=``.
    open : bool
        Whether the incident was still open (not resolved) at the end of the period.
    """

    start: datetime
    end: datetime
    peak: float
    open: bool = False

    def record(self) -> dict[str, Any]:
        """``{"from", "to", "peak"}`` with ISO 8601 times."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "peak": self.peak}


@dataclass(frozen=True, slots=True)
class SeriesBacktest:
    """What one rule would have done on one series (model × feature × group).

    Attributes
    ----------
    rule, model, metric : str
        The rule and what it reads.
    feature, group : str or None
        The series (``None``: none).
    windows : int
        Windows evaluated (from the series' first stored value to the end of the period).
    episodes : tuple of Episode
        Firing incidents, in time order.
    notifications : Mapping[str, int]
        Notifications each channel of the rule would have received (none without channels).
    kinds : Mapping[str, int]
        Notifications announced by kind (``firing``, ``resolved``, ``repeat``), before the
        fan-out to channels.
    suppressed : int
        Notifications a silence suppressed (with ``with_silences``).
    pending_windows : tuple of datetime
        Starts of the windows spent in ``pending`` by streaks that never fired.
    no_data_windows : tuple of datetime
        Starts of the windows without a value for the series.
    """

    rule: str
    model: str
    metric: str
    feature: str | None
    group: str | None
    windows: int
    episodes: tuple[Episode, ...] = ()
    notifications: Mapping[str, int] = field(default_factory=dict)
    kinds: Mapping[str, int] = field(default_factory=dict)
    suppressed: int = 0
    pending_windows: tuple[datetime, ...] = ()
    no_data_windows: tuple[datetime, ...] = ()

    @property
    def label(self) -> str:
        """``feature/group``, or ``(model)`` for a model-level series."""
        return "/".join(p for p in (self.feature, self.group) if p) or "(model)"

    def record(self) -> dict[str, Any]:
        """The JSON record of ``driftwarden alerts backtest --format json``."""
        return {
            "rule": self.rule,
            "model": self.model,
            "feature": self.feature,
            "group": self.group,
            "episodes": [e.record() for e in self.episodes],
            "notifications": dict(self.notifications),
            "pending_windows": [w.isoformat() for w in self.pending_windows],
            "no_data_windows": [w.isoformat() for w in self.no_data_windows],
        }


@dataclass(frozen=True, slots=True)
class RuleBacktest:
    """A rule's backtest over the stored windows of its model in a period.

    Attributes
    ----------
    rule : Rule
        The rule as replayed (after ``--set`` overrides).
    windows : int
        Analysed windows of the model in the period.
    first, last : datetime or None
        Start of the first and end of the last of those windows.
    series : tuple of SeriesBacktest
        One per series with a stored value in the period, by feature and group.
    model_known : bool
        Whether the rule's model is registered.
    """

    rule: Rule
    windows: int
    first: datetime | None
    last: datetime | None
    series: tuple[SeriesBacktest, ...]
    model_known: bool = True

    @property
    def episodes(self) -> int:
        """Firing episodes over every series."""
        return sum(len(s.episodes) for s in self.series)

    @property
    def notifications(self) -> int:
        """Notifications over every series and channel."""
        return sum(sum(s.notifications.values()) for s in self.series)

    @property
    def pending_windows(self) -> int:
        """Pending windows that never fired, over every series."""
        return sum(len(s.pending_windows) for s in self.series)

    @property
    def no_data_windows(self) -> int:
        """Windows without a value, over every series."""
        return sum(len(s.no_data_windows) for s in self.series)


class _Tracker:
    """Collects episodes, pending streaks, gaps and notifications while a series is walked."""

    def __init__(self, rule: Rule) -> None:
        self.largest = rule.op in (">", ">=")
        self.episodes: list[Episode] = []
        self.current: Episode | None = None
        self.streak: list[tuple[datetime, float]] = []
        self.pending: list[datetime] = []
        self.no_data: list[datetime] = []
        self.kinds: Counter[str] = Counter()
        self.suppressed = 0

    def _peak(self, a: float, b: float) -> float:
        return max(a, b) if self.largest else min(a, b)

    def step(
        self, start: datetime, value: float | None, breaching: bool | None, t: Transition
    ) -> None:
        """Account for one evaluated window."""
        if breaching is None:
            self.no_data.append(start)
        if t.after.open_since is not None and t.before.open_since is None:
            assert value is not None  # only a breaching window fires
            peak = value
            for _, earlier in self.streak:
                peak = self._peak(peak, earlier)
            self.current = Episode(t.after.open_since, start, peak)
            self.streak = []
        elif self.current is not None and breaching:
            assert value is not None
            peak = self._peak(self.current.peak, value)
            self.current = Episode(self.current.start, start, peak)
        if t.after.state == AlertState.PENDING:
            assert value is not None
            self.streak.append((start, value))
        else:
            self._drop_streak()
        if t.before.open_since is not None and t.after.open_since is None:
            self._close(open_=False)

    def _drop_streak(self) -> None:
        self.pending.extend(s for s, _ in self.streak)
        self.streak = []

    def _close(self, *, open_: bool) -> None:
        if self.current is not None:
            current = self.current
            self.episodes.append(Episode(current.start, current.end, current.peak, open_))
        self.current = None

    def finish(self) -> None:
        """End of the period: an open incident stays open, a pending streak never fired."""
        self._close(open_=True)
        self._drop_streak()


def _announce(
    rule: Rule, transition: Transition, feature: str, silences: Sequence[Silence], now: datetime
) -> tuple[Transition, NotificationKind | None, bool]:
    """As the live pass: the transition kept, the kind announced, whether a silence hid it."""
    kind = transition.notify
    if kind is None:
        return transition, None, False
    # a silence exists from its creation until ``until`` (the live pass sees only those
    # created before it runs); silenced_by skips the expired ones
    active = [s for s in silences if s.created_at <= now]
    silenced = silenced_by(active, rule, feature, now) is not None
    if silenced or not rule.channels:
        return suppressed(transition), None, silenced
    return transition, kind, False


def _quiet_until(
    state: SeriesState, judged: Sequence[tuple[float | None, bool | None]], i: int
) -> int:
    """End of the run of windows from ``i`` that :func:`evaluate` leaves ``state`` unchanged by.

    ``ok`` stays ``ok`` (``consecutive`` 0, no incident) on clean windows and ``no_data``
    stays ``no_data`` on windows without a value: :func:`evaluate` returns the same state
    and no notification, so skipping those calls changes nothing (checked against a call
    per window in ``tests/monitors/alerts/test_backtest.py``).
    """
    if state.state == AlertState.OK:
        skip: bool | None = False
    elif state.state == AlertState.NO_DATA:
        skip = None
    else:
        return i
    j = i
    while j < len(judged) and judged[j][1] is skip:
        j += 1
    return j


def _judge(rule: Rule, stored: Stored) -> tuple[float | None, bool | None]:
    """The value of a stored row and whether it breaches, decided as by the live pass."""
    if isinstance(stored, MetricPoint):
        return stored.value, point_breaching(rule, stored)
    return stored, rule.breaching(stored)


def _walk(
    rule: Rule,
    todo: Sequence[WindowKey],
    judged: Sequence[tuple[float | None, bool | None]],
    *,
    feature: str,
    silences: Sequence[Silence],
) -> _Tracker:
    """Evaluate the windows in order, each at its end, as the live pass would."""
    tracker = _Tracker(rule)
    state = SeriesState()
    i = 0
    while i < len(todo):
        value, breaching = judged[i]
        quiet = _quiet_until(state, judged, i)
        if quiet > i:  # windows that leave the state as it is: no call can change anything
            if state.state == AlertState.NO_DATA:
                tracker.no_data.extend(w[0] for w in todo[i:quiet])
            i = quiet
            continue
        start, end = todo[i]
        transition = evaluate(rule, state, breaching, Window(start, end, value), end)
        transition, kind, silenced = _announce(rule, transition, feature, silences, end)
        tracker.suppressed += silenced
        if kind is not None:
            tracker.kinds[kind] += 1
        tracker.step(start, value, breaching, transition)
        state = transition.after
        i += 1
    tracker.finish()
    return tracker


def replay_series(
    rule: Rule,
    windows: Sequence[WindowKey],
    values: Mapping[WindowKey, Stored],
    *,
    key: SeriesKey = ("", ""),
    silences: Sequence[Silence] = (),
) -> SeriesBacktest:
    """Replay ``rule`` over one series, window by window, with the live state machine.

    The series starts, as in the live pass, at its first stored row (even a ``null``
    value); from there every window of the model counts, a window without a row being
    ``no_data``. Each window is evaluated at ``now = window end``.

    Parameters
    ----------
    rule : Rule
        The rule.
    windows : sequence of (datetime, datetime)
        The model's analysed windows in the period, in window order.
    values : Mapping[(datetime, datetime), MetricPoint or float or None]
        The series' stored rows by window (as :func:`storage.alerts.metric_points` reads
        them, or just their values; ``None``: a stored ``null``).
    key : (str, str)
        ``(feature, group)`` of the series as stored (``""``: none).
    silences : sequence of Silence
        Silences to apply (each active from ``created_at`` to ``until``); none by default.

    Returns
    -------
    SeriesBacktest

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> rule = Rule(id=0, name="r", model="m", metric="psi", feature=None, group=None,
    ...             op=">", threshold=0.2, for_windows=2, channels=("oncall",))
    >>> t0, day = datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=1)
    >>> windows = [(t0 + i * day, t0 + (i + 1) * day) for i in range(6)]
    >>> values = dict(zip(windows, [0.1, 0.3, 0.1, 0.3, 0.4, 0.1]))
    >>> result = replay_series(rule, windows, values)
    >>> [(e.start.day, e.end.day, e.peak) for e in result.episodes]
    [(4, 5, 0.4)]
    >>> dict(result.notifications), [w.day for w in result.pending_windows]
    ({'oncall': 2}, [2])
    """
    first = min(values)[0] if values else None
    todo = [w for w in windows if first is not None and w[0] >= first]
    judged = [_judge(rule, values.get(w)) for w in todo]
    tracker = _walk(rule, todo, judged, feature=key[0], silences=silences)
    channels = tuple(dict.fromkeys(rule.channels))
    sent = sum(tracker.kinds.values())
    return SeriesBacktest(
        rule=rule.name,
        model=rule.model,
        metric=rule.metric,
        feature=key[0] or None,
        group=key[1] or None,
        windows=len(todo),
        episodes=tuple(tracker.episodes),
        notifications={channel: sent for channel in channels},
        kinds={kind: tracker.kinds[kind] for kind in KINDS},
        suppressed=tracker.suppressed,
        pending_windows=tuple(tracker.pending),
        no_data_windows=tuple(tracker.no_data),
    )
