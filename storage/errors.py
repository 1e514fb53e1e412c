"""Errors raised by :mod:`storage`. Each also subclasses the builtin it resembles."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by :mod:`storage`."""


class SchemaError(StorageError, ValueError):
    """Raised when a model schema or a column specification is invalid."""


class SchemaConflictError(SchemaError):
    """Raised when a change to a model's schema conflicts with what is stored."""


class ConcurrentSchemaChangeError(SchemaConflictError):
    """Raised when a model's schema changed between reading it and writing a batch."""


class UnknownModelError(StorageError, LookupError):
    """Raised when a model name is not registered."""


class DuplicateModelError(StorageError, ValueError):
    """Raised when registering a model name that already exists."""


class DatabaseUnavailableError(StorageError, ConnectionError):
    """Raised when the database cannot be reached."""


class UnknownComparisonError(StorageError, LookupError):
    """Raised when a comparison name is not defined."""


class ComparisonError(StorageError, ValueError):
    """Raised when a comparison cannot be defined (name taken, models unfit)."""
