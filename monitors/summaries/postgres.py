"""The PostgreSQL push-down executor: a window's summary computed in the database.

One statement per window (:mod:`monitors.summaries._pg_statement`, built with SQLAlchemy
Core against the model's log table) returns four JSON columns — numeric bins,
category counts, cells, the sample — which :mod:`monitors.summaries._pg_results` turns into
a :class:`~monitors.summaries.types.WindowSummary` equal to the in-memory executor's on the
same rows (counts exactly; sums to floating-point rounding).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitors.summaries._pg_results import parse_summary
from monitors.summaries._pg_statement import LogColumns, summary_statement
from monitors.summaries.types import SummarySpec, WindowSummary
from storage.engine import get_engine, session_scope
from storage.logs import log_table
from storage.registry import get_model

__all__ = ["LogColumns", "PostgresExecutor", "log_columns", "summarize_window"]


def log_columns(url: str | None, model: str) -> LogColumns:
    """The log table of ``model`` with its user -> physical column map and dtypes."""
    with session_scope(get_engine(url)) as session:
        found = get_model(session, model)
        return LogColumns(
            table=log_table(found),
            physical={c.name: c.physical for c in found.columns},
            dtypes={c.name: c.dtype for c in found.columns},
        )


def summarize_window(
    conn: Any, cols: LogColumns, spec: SummarySpec, start: datetime | int, end: datetime | int
) -> WindowSummary:
    """The summary of ``[start, end)`` (aware datetimes or epoch µs), computed on ``conn``.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection to the PostgreSQL database holding the log table.
    cols : LogColumns
    spec : SummarySpec
    start, end : datetime or int

    Returns
    -------
    WindowSummary
    """
    from monitors.windows import to_micros

    start_us = start if isinstance(start, int) else to_micros(start)
    end_us = end if isinstance(end, int) else to_micros(end)
    statement, cells = summary_statement(cols, spec, start_us, end_us)
    row = conn.execute(statement).one()
    return parse_summary(row, cols, spec, cells)


class PostgresExecutor:
    """Summaries of one model's windows computed by PostgreSQL (one statement each)."""

    name = "postgres"

    def __init__(self, url: str | None, model: str) -> None:
        self.url = url
        self.model = model
        self._cols: LogColumns | None = None

    def summarize(self, spec: SummarySpec, start: datetime, end: datetime) -> WindowSummary:
        """The summary of the model's rows in ``[start, end)``."""
        if self._cols is None:
            self._cols = log_columns(self.url, self.model)
        with get_engine(self.url).connect() as conn:
            return summarize_window(conn, self._cols, spec, start, end)
