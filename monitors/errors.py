"""Errors raised by :mod:`monitors`.

Every error subclasses :class:`MonitorError` and the builtin it resembles, and its
message says what, where, what was expected and what was found.
"""

from __future__ import annotations

from storage.errors import (
    DuplicateModelError,
    SchemaConflictError,
    SchemaError,
    StorageError,
    UnknownModelError,
)

__all__ = [
    "AlertRuleError",
    "ConfigError",
    "DeliveryError",
    "DuplicateModelError",
    "IngestError",
    "MonitorError",
    "ReportError",
    "SchemaConflictError",
    "SchemaError",
    "StorageError",
    "UnknownModelError",
    "ValidationError",
]


class MonitorError(Exception):
    """Base class of every error raised by :mod:`monitors`."""


class ConfigError(MonitorError, ValueError):
    """Raised when a configuration value is invalid; the message names the key."""


class IngestError(MonitorError, ValueError):
    """Raised when a whole batch is rejected (structural error or ``strict`` mode)."""


class ValidationError(IngestError):
    """Raised in strict mode when a row fails validation; names row and column."""


class AlertRuleError(MonitorError, ValueError):
    """Raised when an alert rule or channel is invalid; names the rule and key."""


class DeliveryError(MonitorError, RuntimeError):
    """Raised when a notification cannot be delivered."""


class ReportError(MonitorError, ValueError):
    """Raised when a report cannot be assembled, rendered or verified."""
