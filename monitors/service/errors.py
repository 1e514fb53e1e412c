"""Errors of the HTTP collector; each maps to one HTTP status in :mod:`.problems`."""

from __future__ import annotations

from monitors.errors import IngestError, MonitorError


class ServiceError(MonitorError):
    """Base class of the errors raised by :mod:`monitors.service`."""


class BodyError(ServiceError, IngestError):
    """Raised when a request body cannot be decoded; names the row (or line) and column.

    Nothing of the batch is stored (400).
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


class TooLargeError(ServiceError, ValueError):
    """Raised when a body has more bytes or rows than the service accepts (413)."""


class UnsupportedMediaError(ServiceError, ValueError):
    """Raised when a body's ``Content-Type`` is not one the service decodes (415)."""


class AuthenticationError(ServiceError, PermissionError):
    """Raised when a request has no valid API key (401)."""


class ForbiddenError(ServiceError, PermissionError):
    """Raised when a valid key lacks the scope or model a request needs (403)."""


class NotReadyError(ServiceError, RuntimeError):
    """Raised when the database schema is not at the newest migration (503 on ``/readyz``)."""


class ApiKeyError(ServiceError, ValueError):
    """Raised when a key cannot be created or revoked (bad name, scope, model)."""
