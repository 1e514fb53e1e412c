"""The executor interface and the choice of executor per model.

Every executor turns a window of rows it can reach into a :class:`WindowSummary` on a
given spec; everything after the summary is shared. Per model (``model_source`` table,
set by ``driftwarden models register --executor`` / ``--source``):

* ``memory`` (default, no row): today's path — the window is loaded into pandas;
* ``postgres``: push-down, one statement per window in the store's PostgreSQL database;
* ``spark``: the model's ``--source`` (``parquet:PATH`` or ``spark:TABLE``) summarised by
  Spark (``DRIFTWARDEN_SPARK_MASTER``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from monitors.errors import ConfigError
from monitors.summaries.memory import summarize_frame
from monitors.summaries.types import SummarySpec, WindowSummary
from storage import summaries as stored
from storage.engine import get_engine, session_scope
from storage.registry import get_model

EXECUTORS = stored.EXECUTORS


class Executor(Protocol):
    """Computes the summary of one model's rows in a window."""

    name: str

    def summarize(self, spec: SummarySpec, start: datetime, end: datetime) -> WindowSummary:
        """The summary of the rows timed in ``[start, end)``."""
        ...


class MemoryExecutor:
    """Loads the window into pandas (:func:`monitors.windows.load_window`) and summarises it."""

    name = "memory"

    def __init__(self, url: str | None, model: str) -> None:
        self.url = url
        self.model = model

    def summarize(self, spec: SummarySpec, start: datetime, end: datetime) -> WindowSummary:
        """The summary of the model's rows in ``[start, end)``."""
        from monitors.windows import load_window

        return summarize_frame(load_window(self.url, self.model, start, end), spec)


def check_executor(url: str | None, executor: str, source: str | None) -> str:
    """The executor a choice means (a source implies ``spark``); errors for bad choices.

    Raises
    ------
    ConfigError
        For an unknown executor, a Spark executor without a valid source, a source with
        another executor, or ``postgres`` on a database that is not PostgreSQL.
    """
    if source is not None and executor == "memory":
        executor = "spark"
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor: expected one of {list(EXECUTORS)!r}; got {executor!r}")
    if executor == "spark":
        from monitors.summaries.spark import parse_source

        if source is None:
            raise ConfigError("--executor spark: expected --source parquet:PATH or spark:TABLE")
        parse_source(source)
    elif source is not None:
        raise ConfigError(f"--source: only the spark executor reads a source; got {executor!r}")
    dialect = get_engine(url).dialect.name
    if executor == "postgres" and dialect != "postgresql":
        raise ConfigError(f"--executor postgres: the database is {dialect}; expected PostgreSQL")
    return executor


def set_executor(url: str | None, name: str, *, executor: str, source: str | None = None) -> None:
    """Choose where model ``name``'s window summaries are computed (:func:`check_executor`)."""
    executor = check_executor(url, executor, source)
    with session_scope(get_engine(url)) as session:
        stored.set_model_source(session, get_model(session, name), executor=executor, source=source)


def executor_for(url: str | None, name: str) -> Executor | None:
    """The chosen executor of model ``name``; ``None`` for the default in-memory path."""
    with session_scope(get_engine(url)) as session:
        row = stored.model_source(session, get_model(session, name))
        choice = None if row is None else (row.executor, row.source)
    if choice is None:
        return None
    executor, source = choice
    if executor == "postgres":
        from monitors.summaries.postgres import PostgresExecutor

        return PostgresExecutor(url, name)
    if executor == "spark":
        from monitors.summaries.spark import SparkExecutor

        assert source is not None
        return SparkExecutor(source)
    return MemoryExecutor(url, name)
