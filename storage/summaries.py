"""Stored window summaries, their specs, and where each model's summaries are computed.

Storage only keeps bytes (gzip-compressed JSON written by :mod:`monitors.summaries.store`)
and a few columns to find them; it does not know their layout. Functions take the
``Session`` first; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, delete, func, literal, select
from sqlalchemy.orm import Session

from storage.logs import log_table, role_column
from storage.models import Model, ModelSource, SummarySpecRow, WindowSummaryRow
from storage.schema import Role

EXECUTORS = ("memory", "postgres", "spark")


def set_model_source(
    session: Session, model: Model, *, executor: str, source: str | None = None
) -> None:
    """Choose the executor (and Spark source) of ``model``; ``memory`` removes the choice."""
    session.execute(delete(ModelSource).where(ModelSource.model_id == model.id))
    if executor != "memory":
        session.add(ModelSource(model_id=model.id, executor=executor, source=source))
    session.flush()


def model_source(session: Session, model: Model) -> ModelSource | None:
    """The executor choice of ``model``; ``None``: the in-memory path."""
    return session.scalar(select(ModelSource).where(ModelSource.model_id == model.id))


def store_spec(
    session: Session, model: Model, *, sha256: str, reference_version: int, data: bytes
) -> None:
    """Keep a summary spec once per model and hash."""
    found = session.scalar(
        select(SummarySpecRow.id).where(
            SummarySpecRow.model_id == model.id, SummarySpecRow.sha256 == sha256
        )
    )
    if found is None:
        session.add(
            SummarySpecRow(
                model_id=model.id, sha256=sha256, reference_version=reference_version, data=data
            )
        )
        session.flush()


def load_spec(session: Session, model: Model, sha256: str) -> bytes | None:
    """The stored spec of ``model`` with hash ``sha256``."""
    return session.scalar(
        select(SummarySpecRow.data).where(
            SummarySpecRow.model_id == model.id, SummarySpecRow.sha256 == sha256
        )
    )


def store_summary(
    session: Session,
    model: Model,
    *,
    window_start: datetime,
    window_end: datetime,
    reference_version: int,
    spec_sha256: str,
    format_version: int,
    executor: str,
    n_rows: int,
    data: bytes,
) -> None:
    """Keep one window's summary, replacing an earlier one of the same window."""
    session.execute(
        delete(WindowSummaryRow).where(
            WindowSummaryRow.model_id == model.id,
            WindowSummaryRow.window_start == window_start,
            WindowSummaryRow.window_end == window_end,
        )
    )
    session.add(
        WindowSummaryRow(
            model_id=model.id,
            window_start=window_start,
            window_end=window_end,
            reference_version=reference_version,
            spec_sha256=spec_sha256,
            format_version=format_version,
            executor=executor,
            n_rows=n_rows,
            data=data,
        )
    )
    session.flush()


def window_summaries(
    session: Session, model: Model, *, start: datetime | None = None, end: datetime | None = None
) -> list[WindowSummaryRow]:
    """Stored summaries of windows within ``[start, end)``, in time order."""
    query = select(WindowSummaryRow).where(WindowSummaryRow.model_id == model.id)
    if start is not None:
        query = query.where(WindowSummaryRow.window_start >= start)
    if end is not None:
        query = query.where(WindowSummaryRow.window_end <= end)
    return list(session.scalars(query.order_by(WindowSummaryRow.window_start)))


def log_counts(
    session: Session, model: Model, *, start_us: int, end_us: int, labels: bool = True
) -> tuple[int, int]:
    """Rows and labelled rows of ``model``'s log in ``[start_us, end_us)`` (epoch µs).

    What a stored summary is checked against: equal counts mean it is current, no rows
    that the window's rows were purged. The label count is ``0`` without a label column
    or with ``labels=False`` (then only the timestamp index is read).
    """
    table = log_table(model)
    ts = table.c[role_column(model, Role.TIMESTAMP).physical]
    label = next((c for c in model.columns if c.role == Role.LABEL.value), None)
    counted = [func.count()]
    if labels and label is not None:
        counted.append(func.count(table.c[label.physical]))
    row = session.execute(
        select(*counted).where(
            ts >= literal(int(start_us), BigInteger), ts < literal(int(end_us), BigInteger)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0) if len(row) > 1 else 0
