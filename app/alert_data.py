"""Loaders of the alerts page: rules, series with what happened to their notifications.

Every series says what became of its notification, in words: the rule has no channel
(nothing is sent), silenced until a time, queued (attempt, next try, last error),
delivered (where, when) or failed (the reason), from the rule's channels, the active
silences and the outbox rows of the series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from app import data
from app import format as fmt
from storage import alerts as alert_queries
from storage.engine import session_scope
from storage.models import AlertRule, AlertSeries, OutboxMessage, Silence

NO_CHANNEL = "no channel configured"
SILENCED = "silenced"
QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"
NOTHING = "nothing sent"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to a series' notifications: a short state and a sentence."""

    state: str
    text: str


def delivery(
    channels: Sequence[str],
    messages: Sequence[OutboxMessage],
    silence: Silence | None,
    *,
    firing: bool,
) -> Delivery:
    """The notification outcome of one series (``messages``: its outbox rows, oldest first).

    Examples
    --------
    >>> delivery([], [], None, firing=True).text
    'not sent: the rule has no notification channel configured'
    """
    if not channels:
        return Delivery(NO_CHANNEL, "not sent: the rule has no notification channel configured")
    latest: dict[str, OutboxMessage] = {}
    for m in messages:
        latest[m.channel] = m
    parts, states = [], []
    for channel in channels:
        m = latest.get(str(channel))
        if m is None:
            continue
        if m.status == "delivered":
            states.append(DELIVERED)
            parts.append(f"delivered to {channel} at {fmt.when(m.delivered_at)} UTC")
        elif m.status == "dead":
            states.append(FAILED)
            parts.append(f"failed on {channel}: {m.last_error or 'no reason recorded'}")
        else:
            states.append(QUEUED)
            error = f"; last error: {m.last_error}" if m.last_error else ""
            parts.append(
                f"queued for {channel} (attempt {m.attempts + 1}, next try "
                f"{fmt.when(m.next_attempt_at)} UTC{error})"
            )
    if silence is not None and (not parts or firing):
        until = f"{fmt.when(silence.until)} UTC"
        parts.insert(0, f"silenced until {until} ({silence.reason})")
        states.insert(0, SILENCED)
    if not parts:
        return Delivery(NOTHING, "nothing sent yet" if firing else "nothing to send")
    for state in (FAILED, QUEUED, SILENCED, DELIVERED):
        if state in states:
            return Delivery(state, "; ".join(parts))
    return Delivery(states[0], "; ".join(parts))


def _silence_of(
    silences: Sequence[Silence], rule: AlertRule, feature: str, now: datetime
) -> Silence | None:
    """The first active silence that matches the rule and feature, as the engine applies it."""
    for s in silences:
        until = s.until if s.until.tzinfo else s.until.replace(tzinfo=UTC)
        if until <= now:
            continue
        if (s.rule not in (None, rule.name)) or (s.model not in (None, rule.model)):
            continue
        if s.feature is not None and s.feature != feature:
            continue
        return s
    return None


def _series_rows(
    session: Session, name: str | None, pairs: list[tuple[AlertSeries, AlertRule]]
) -> list[dict[str, Any]]:
    """One dict per series with its delivery outcome."""
    now = datetime.now(UTC)
    silences = alert_queries.active_silences(session, now)
    by_series: dict[str, list[OutboxMessage]] = {}
    keys = [f"{r.id}:{s.id}" for s, r in pairs]
    for m in alert_queries.latest_outbox(session, keys):  # what delivery() reads
        by_series.setdefault(m.series_key, []).append(m)
    rows = []
    for s, r in pairs:
        firing = s.state == "firing"
        outcome = delivery(
            [str(c) for c in r.channels],
            by_series.get(f"{r.id}:{s.id}", []),
            _silence_of(silences, r, s.feature, now),
            firing=firing,
        )
        rows.append(
            {
                "id": s.id,
                "rule": r.name,
                "model": r.model,
                "severity": r.severity,
                "metric": r.metric,
                "feature": s.feature or None,
                "group": s.group or None,
                "state": s.state,
                "since": s.open_since or s.since,
                "last_window_end": s.last_window_end,
                "last_value": s.last_value,
                "condition": f"{r.metric} {r.op} {r.threshold:g} for {r.for_windows} window(s)",
                "channels": [str(c) for c in r.channels],
                "notification": outcome.state,
                "notification_detail": outcome.text,
                "acknowledged_by": s.acknowledged_by,
                "acknowledged_at": s.acknowledged_at,
            }
        )
    return rows


SERIES_COLUMNS = [
    "id",
    "rule",
    "model",
    "severity",
    "metric",
    "feature",
    "group",
    "state",
    "since",
    "last_window_end",
    "last_value",
    "condition",
    "channels",
    "notification",
    "notification_detail",
    "acknowledged_by",
    "acknowledged_at",
]


def _frames(session: Session, name: str | None) -> dict[str, pd.DataFrame]:
    """Rules, series, history, silences and outbox of one model (or all)."""
    rules = [
        {
            "rule": r.name,
            "model": r.model,
            "metric": r.metric,
            "feature": r.feature,
            "group": r.group,
            "condition": f"{r.op} {r.threshold:g} for {r.for_windows} window(s)",
            "severity": r.severity,
            "channels": ", ".join(map(str, r.channels)) or "none",
            "enabled": r.enabled,
        }
        for r in alert_queries.rules(session, model=name)
    ]
    pairs = alert_queries.series(session, model=name)
    history = [
        {
            "at": e.at,
            "rule": r.name,
            "feature": s.feature or None,
            "group": s.group or None,
            "change": f"{e.from_state} → {e.to_state}" + (" (silenced)" if e.silenced else ""),
            "window_start": e.window_start,
            "value": e.value,
            "threshold": e.threshold,
            "silenced": e.silenced,
        }
        for e, s, r in alert_queries.events(session, model=name, limit=500)
    ]
    silences = [
        {
            "rule": s.rule or "every rule",
            "model": s.model or "every model",
            "feature": s.feature or "every feature",
            "until": s.until,
            "reason": s.reason,
            "author": s.author,
        }
        for s in alert_queries.silences(session)
        if name is None or s.model in (None, name)
    ]
    return {
        "rules": pd.DataFrame(rules, columns=list(rules[0]) if rules else ["rule"]),
        "series": pd.DataFrame(_series_rows(session, name, pairs), columns=SERIES_COLUMNS),
        "history": pd.DataFrame(history).iloc[::-1].reset_index(drop=True),
        "silences": pd.DataFrame(silences),
    }


@st.cache_data(ttl=data.TTL, show_spinner=False)
def alerts(url: str, name: str | None) -> dict[str, pd.DataFrame]:
    """Rules, series (with their notification outcome), history and silences."""
    with session_scope(data.read_only(url)) as session:
        return _frames(session, name)
