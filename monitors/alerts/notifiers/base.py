"""The notifier contract: ``send(notification) -> Delivery``, and helpers shared by notifiers.

A notifier never raises for a failed delivery: it returns a :class:`Delivery` that says
whether the failure is worth retrying (SMTP 4xx, connection refused, timeouts, HTTP
5xx/408/429) or permanent (HTTP other 4xx, SMTP 5xx, a refused target). Error texts never
contain secrets: URLs and passwords are replaced by ``***``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, Protocol

from monitors.alerts.message import Notification

ALLOW_PRIVATE_ENV: Final = "DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS"
REDACTED: Final = "***"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """Outcome of one send.

    Attributes
    ----------
    ok : bool
        Delivered (accepted by the server).
    retryable : bool
        For failures: whether trying again later may succeed.
    error : str or None
        What went wrong, with secrets redacted.
    retry_after : float or None
        Seconds the server asked us to wait (HTTP ``Retry-After``).
    """

    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def delivered(cls) -> Delivery:
        """A successful delivery."""
        return cls(ok=True)

    @classmethod
    def retry(cls, error: str, *, retry_after: float | None = None) -> Delivery:
        """A failure worth retrying."""
        return cls(ok=False, retryable=True, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str) -> Delivery:
        """A failure that retrying will not fix."""
        return cls(ok=False, retryable=False, error=error)


class Notifier(Protocol):
    """Sends one notification to one channel."""

    def send(self, message: Notification) -> Delivery:
        """Send ``message``; never raises for delivery failures."""
        ...


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret (and its URL-quoted forms) replaced by ``***``.

    Examples
    --------
    >>> redact("POST https://hooks.example/T0/abc failed", ["https://hooks.example/T0/abc"])
    'POST *** failed'
    """
    from urllib.parse import quote

    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in (secret, quote(secret, safe=""), quote(secret)):
            text = text.replace(form, REDACTED)
    return text


def env_value(name: str) -> str | None:
    """The value of environment variable ``name`` (``None`` if unset or empty)."""
    value = os.environ.get(name)
    return value or None


def env_flag(name: str, *, default: bool = False) -> bool:
    """A ``true``/``false`` environment variable (also ``1``/``0``, ``yes``/``no``)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
