"""Options and error handling shared by the ``driftwarden`` commands (not ``alerts``/``report``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer

from monitors.errors import MonitorError
from storage.errors import StorageError

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DRIFTWARDEN_DATABASE_URL",
        help="SQLAlchemy URL (default: sqlite:///driftwarden.db).",
        show_envvar=True,
    ),
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit (code 1) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def errors() -> Iterator[None]:
    """Turn expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except (MonitorError, StorageError, ValueError, LookupError) as exc:
        raise fail(str(exc)) from exc


def csv_list(value: str | None) -> list[str]:
    """``"a, b,"`` → ``["a", "b"]``; ``None`` or blank → ``[]``."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 option value as an aware UTC datetime (naive is UTC); exit 1 if invalid."""
    if value is None:
        return None
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise fail(f"{option}: expected an ISO 8601 time, got {value!r}") from exc
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()
