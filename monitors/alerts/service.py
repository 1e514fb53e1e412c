"""Operations behind ``driftwarden alerts …``: apply a rule file, silence, acknowledge, test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from monitors.alerts.message import Notification
from monitors.alerts.notifiers import Delivery, build_notifier
from monitors.alerts.rules import (
    ApplySummary,
    apply_rules,
    channel_config,
    load_rule_file,
    parse_duration,
)
from monitors.errors import AlertRuleError
from storage import alerts as queries
from storage.engine import session_scope
from storage.models import AlertRule, AlertSeries, Silence


def apply_rule_file(engine: Engine, path: str | Path) -> ApplySummary:
    """Validate a rule file and make the stored rules match it, in one transaction.

    Raises
    ------
    AlertRuleError
        If the file is invalid (nothing is changed).
    """
    rule_file = load_rule_file(path)
    with session_scope(engine) as session:
        return apply_rules(session, rule_file)


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A rule with its series (for ``alerts list``)."""

    rule: AlertRule
    series: tuple[AlertSeries, ...]


def rule_statuses(engine: Engine, *, model: str | None = None) -> list[RuleStatus]:
    """Every rule with its series' current states."""
    with session_scope(engine) as session:
        return [
            RuleStatus(rule, tuple(queries.series_for_rule(session, rule.id)))
            for rule in queries.rules(session, model=model)
        ]


def parse_until(text: str, *, now: datetime) -> datetime:
    """An aware time from ISO 8601 (naive means UTC) or a duration from ``now`` (``2h``).

    Examples
    --------
    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> parse_until("2h", now=now).isoformat()
    '2026-01-01T02:00:00+00:00'
    >>> parse_until("2026-01-03T08:00", now=now).isoformat()
    '2026-01-03T08:00:00+00:00'
    """
    try:
        return now + timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AlertRuleError(
            f"until must be an ISO 8601 time or a duration like '2h'; got {text!r}."
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def add_silence(
    engine: Engine,
    *,
    rule: str | None,
    until: datetime,
    reason: str,
    author: str,
    now: datetime,
    model: str | None = None,
    feature: str | None = None,
) -> Silence:
    """Silence notifications of a rule (and/or model, feature) until a time.

    Raises
    ------
    AlertRuleError
        If the rule does not exist, nothing is selected, ``until`` is not in the future
        or the reason is empty.
    """
    if rule is None and model is None:
        raise AlertRuleError("Silence: give a rule or a model to silence.")
    if until <= now:
        raise AlertRuleError(f"Silence: until must be in the future; got {until.isoformat()}.")
    if not reason.strip():
        raise AlertRuleError("Silence: reason must not be empty.")
    with session_scope(engine) as session:
        if rule is not None and queries.rule_by_name(session, rule) is None:
            raise AlertRuleError(f"Silence: rule {rule!r} does not exist.")
        silence = Silence(
            rule=rule,
            model=model,
            feature=feature,
            until=until,
            reason=reason,
            author=author,
            created_at=now,
        )
        session.add(silence)
        session.flush()
        return silence


def acknowledge(engine: Engine, series_id: int, *, by: str, now: datetime) -> AlertSeries:
    """Acknowledge the open incident of a series: its repeats stop until it resolves.

    Raises
    ------
    AlertRuleError
        If the series does not exist or has no open incident.
    """
    with session_scope(engine) as session:
        row = queries.series_by_id(session, series_id)
        if row is None:
            raise AlertRuleError(f"Ack: alert series {series_id} does not exist.")
        if row.open_since is None:
            raise AlertRuleError(
                f"Ack: alert series {series_id} is not firing (state {row.state!r})."
            )
        row.acknowledged_at = now
        row.acknowledged_by = by
        return row


def send_test(engine: Engine, channel: str, *, now: datetime) -> Delivery:
    """Send a test notification to a stored channel, directly (not through the outbox).

    Raises
    ------
    AlertRuleError
        If the channel does not exist.
    """
    with session_scope(engine) as session:
        row = queries.channel_by_name(session, channel)
        if row is None:
            raise AlertRuleError(f"Channel {channel!r} does not exist; apply a rule file first.")
        config = channel_config(row)
    notifier = build_notifier(channel, config)
    stamp = int(now.timestamp())
    message = Notification(
        kind="test",
        rule="test",
        model="test",
        metric="test",
        op=">",
        threshold=0.0,
        value=None,
        severity="info",
        state="test",
        at=now,
        idempotency_key=f"dw-test-{stamp}-{channel}"[:128],
        channel=channel,
    )
    return notifier.send(message)
