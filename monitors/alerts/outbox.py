"""Outbox delivery: send queued notifications with retries, backoff, ordering and dead-lettering.

The alert engine writes notifications into the ``outbox`` table in the same transaction
as the state change that caused them; :func:`deliver` sends them.

* **Claiming.** Each row is delivered in its own transaction. On PostgreSQL the row is
  claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent deliverers never send
  the same row at the same time; on SQLite the ``IMMEDIATE`` transaction makes
  deliverers take turns (one at a time). The row stays locked while it is sent and is
  marked in the same transaction, so a crash between sending and committing leaves it
  ``pending``: it is sent again with the same idempotency key (email ``Message-ID``,
  ``webhook-id`` header), which receivers can use to drop the copy.
* **Order.** A row is not sent while an older row of the same series and channel is still
  pending, so one series' notifications arrive in order. Channels are independent: a
  channel that fails is skipped for the rest of the pass, the others go on.
* **Failures.** Permanent failures (HTTP 4xx other than 408/425/429, SMTP 5xx, refused or
  unconfigured targets) make the row ``dead`` at once. Retryable ones are tried again
  after an exponential backoff with jitter (:func:`tenacity.wait_exponential_jitter`,
  default 30 s doubling up to 1 h, plus up to 30 s jitter), never sooner than an HTTP
  ``Retry-After``, until the row is older than ``max_age`` (default 24 h): then it is
  ``dead``. Dead rows are kept (``driftwarden alerts outbox``), never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine
from tenacity import RetryCallState, Retrying, wait_exponential_jitter

from monitors.alerts.message import Notification
from monitors.alerts.notifiers import Delivery, Notifier, build_notifier
from monitors.alerts.rules import channel_config
from monitors.errors import AlertRuleError
from storage import alerts as queries
from storage.engine import read_engine, session_scope
from storage.models import OutboxMessage, utcnow

log = logging.getLogger("driftwarden.alerts")

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
DEFAULT_MAX_AGE: Final = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry schedule: ``initial * 2**(attempt-1)`` seconds, capped, plus random jitter.

    Attributes
    ----------
    initial : float
        Wait after the first failed attempt, in seconds (default 30).
    maximum : float
        Longest wait, in seconds (default 3600).
    jitter : float
        Up to this many random seconds are added (default 30).
    """

    initial: float = 30.0
    maximum: float = 3600.0
    jitter: float = 30.0

    def wait(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        state = RetryCallState(Retrying(), None, (), {})
        state.attempt_number = max(1, attempt)
        strategy = wait_exponential_jitter(
            multiplier=self.initial, max=self.maximum, jitter=self.jitter
        )
        seconds = float(strategy(state))
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        return seconds


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """What one :func:`deliver` pass did."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0


@dataclass
class _Tally:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0


def _notifier(
    session_channels: Mapping[str, Notifier] | None, name: str, cache: dict[str, Notifier | str]
) -> Notifier | str:
    """The notifier for channel ``name``, or why there is none."""
    if session_channels is not None and name in session_channels:
        return session_channels[name]
    return cache.get(name, f"channel {name!r} is not defined")


def _load_channels(engine: Engine) -> dict[str, Notifier | str]:
    found: dict[str, Notifier | str] = {}
    with session_scope(read_engine(engine)) as session:
        for row in queries.channels(session):
            try:
                found[row.name] = build_notifier(row.name, channel_config(row))
            except (AlertRuleError, ValueError) as exc:
                found[row.name] = f"channel {row.name!r} is invalid: {type(exc).__name__}"
    return found


def _send(notifier: Notifier, message: OutboxMessage) -> Delivery:
    try:
        return notifier.send(Notification.from_payload(message.payload))
    except Exception as exc:  # a notifier bug must not stop the other channels
        log.error("outbox %s: notifier raised %s", message.id, type(exc).__name__)
        return Delivery.retry(f"notifier raised {type(exc).__name__}")


def _record(
    message: OutboxMessage,
    result: Delivery,
    *,
    at: datetime,
    max_age: timedelta,
    policy: Backoff,
    failing: set[str],
    tally: _Tally,
) -> None:
    """Mark ``message`` after the attempt that gave ``result``, and count it in ``tally``."""
    if result.ok:
        message.status = DELIVERED
        message.delivered_at = at
        message.last_error = None
        tally.delivered += 1
        log.info("outbox %s delivered to %s", message.id, message.channel)
        return
    message.last_error = result.error
    if not result.retryable:
        message.status = DEAD
        tally.dead += 1
        log.warning("outbox %s dead (permanent): %s", message.id, result.error)
        return
    failing.add(message.channel)
    if at - message.created_at >= max_age:
        message.status = DEAD
        message.last_error = (
            f"gave up after {message.attempts} attempts over {max_age}: {result.error}"
        )
        tally.dead += 1
        log.warning("outbox %s dead (expired): %s", message.id, result.error)
        return
    wait = policy.wait(message.attempts, retry_after=result.retry_after)
    message.next_attempt_at = at + timedelta(seconds=wait)
    tally.retrying += 1
    log.info("outbox %s retry in %.0f s: %s", message.id, wait, result.error)


def deliver(
    engine: Engine,
    *,
    now: datetime | None = None,
    channels: Mapping[str, Notifier] | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    backoff: Backoff | None = None,
) -> DeliverySummary:
    """Send the due outbox rows once each.

    Parameters
    ----------
    engine : Engine
        Database engine.
    now : datetime, optional
        Time of the pass (default: the wall clock). Rows whose ``next_attempt_at`` is
        later are left for a later pass.
    channels : mapping of str to Notifier, optional
        Notifiers by channel name, overriding the stored channels (tests, custom
        transports).
    max_age : timedelta
        Retryable failures of a row older than this make it ``dead`` (default 24 h).
    backoff : Backoff, optional
        Retry schedule (default :class:`Backoff`).

    Returns
    -------
    DeliverySummary
    """
    policy = backoff or Backoff()
    start = now or utcnow()
    with session_scope(read_engine(engine)) as session:
        ids = queries.due_outbox_ids(session, start)
    if not ids:
        return DeliverySummary()
    stored = _load_channels(engine)
    failing: set[str] = set()
    tally = _Tally()
    for message_id in ids:
        with session_scope(engine) as session:
            message = queries.claim_outbox(session, message_id)
            if message is None:  # done or claimed by another deliverer meanwhile
                continue
            if message.channel in failing or queries.has_earlier_pending(session, message):
                tally.deferred += 1
                continue
            at = now or utcnow()
            notifier = _notifier(channels, message.channel, stored)
            tally.attempted += 1
            message.attempts += 1
            if isinstance(notifier, str):
                result = Delivery.permanent(notifier)
            else:
                result = _send(notifier, message)
            _record(
                message,
                result,
                at=at,
                max_age=max_age,
                policy=policy,
                failing=failing,
                tally=tally,
            )
    return DeliverySummary(
        attempted=tally.attempted,
        delivered=tally.delivered,
        retrying=tally.retrying,
        dead=tally.dead,
        deferred=tally.deferred,
    )
