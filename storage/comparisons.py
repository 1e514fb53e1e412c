"""Comparisons of a candidate model with a baseline: definitions, compared windows, results.

A comparison's results are metric results of its *candidate* (analyzer ``comparison``),
so alert rules on the candidate model read them like any other metric; a model is the
candidate of at most one comparison. :class:`ComparisonWindow` rows remember the row and
label counts of both models each window was compared on, so a pass recomputes a window
only when either model's counts changed (new labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.errors import ComparisonError, UnknownComparisonError
from storage.metrics import RecordLike, metric_result_rows, metrics_frame
from storage.models import Comparison, ComparisonWindow, MetricResult, Model, WindowRun
from storage.registry import get_model
from storage.schema import validate_model_name

ANALYZER: Final = "comparison"


@dataclass(frozen=True, slots=True)
class ComparisonInfo:
    """A comparison as the rest of the code sees it (no ORM object outlives its session)."""

    id: int
    name: str
    baseline: str
    candidate: str
    mode: str
    split: float | None
    config: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Counts:
    """Rows and labels of both models in one window."""

    n_baseline: int
    n_candidate: int
    n_labels_baseline: int
    n_labels_candidate: int


def _info(session: Session, row: Comparison) -> ComparisonInfo:
    names = dict(
        session.execute(
            select(Model.id, Model.name).where(Model.id.in_([row.baseline_id, row.candidate_id]))
        ).all()
    )
    return ComparisonInfo(
        row.id,
        row.name,
        names[row.baseline_id],
        names[row.candidate_id],
        row.mode,
        row.split,
        dict(row.config or {}),
        row.created_at,
    )


def _row(session: Session, name: str) -> Comparison:
    row = session.scalars(select(Comparison).where(Comparison.name == name)).one_or_none()
    if row is None:
        known = session.scalars(select(Comparison.name).order_by(Comparison.name)).all()
        hint = f"; defined: {', '.join(known)}" if known else "; none is defined yet"
        raise UnknownComparisonError(f"unknown comparison {name!r}{hint}")
    return row


def create_comparison(
    session: Session,
    name: str,
    *,
    baseline: str,
    candidate: str,
    mode: str,
    split: float | None,
    config: dict[str, Any],
) -> ComparisonInfo:
    """Define a comparison (in the caller's transaction).

    Raises
    ------
    ComparisonError
        If the name is taken or invalid, the two models are one, differ in task or
        window size, or the candidate is already in another comparison.
    UnknownModelError
        If a model is not registered.
    """
    try:
        validate_model_name(name)
    except ValueError as exc:
        raise ComparisonError(f"comparison name: {exc}") from exc
    if session.scalar(select(Comparison.id).where(Comparison.name == name)) is not None:
        raise ComparisonError(f"comparison {name!r} is already defined")
    base, cand = get_model(session, baseline), get_model(session, candidate)
    if base.id == cand.id:
        raise ComparisonError(
            f"--baseline and --candidate are both {baseline!r}; expected two models"
        )
    if base.task != cand.task:
        raise ComparisonError(
            f"models {baseline!r} ({base.task}) and {candidate!r} ({cand.task}) differ in task"
        )
    if base.window != cand.window:
        raise ComparisonError(
            f"models {baseline!r} (window {base.window}) and {candidate!r} (window "
            f"{cand.window}) differ in window size; their windows must line up"
        )
    other = session.scalar(select(Comparison.name).where(Comparison.candidate_id == cand.id))
    if other is not None:
        raise ComparisonError(
            f"model {candidate!r} is already the candidate of comparison {other!r}; "
            "remove that one first (a model's comparison results are stored under it)"
        )
    row = Comparison(
        name=name,
        baseline_id=base.id,
        candidate_id=cand.id,
        mode=mode,
        split=split,
        config=config,
    )
    session.add(row)
    session.flush()
    return _info(session, row)


def get_comparison(session: Session, name: str) -> ComparisonInfo:
    """The comparison called ``name``; :class:`UnknownComparisonError` if there is none."""
    return _info(session, _row(session, name))


def list_comparisons(session: Session, *, model: str | None = None) -> list[ComparisonInfo]:
    """Every comparison by name (only those involving ``model``, if given)."""
    query = select(Comparison).order_by(Comparison.name)
    if model is not None:
        model_id = session.scalar(select(Model.id).where(Model.name == model))
        if model_id is None:
            return []
        query = query.where(
            or_(Comparison.baseline_id == model_id, Comparison.candidate_id == model_id)
        )
    return [_info(session, row) for row in session.scalars(query)]


def delete_comparison(session: Session, name: str) -> int:
    """Remove a comparison, its compared windows and its results; how many results went."""
    row = _row(session, name)
    gone = session.scalar(
        select(func.count()).where(
            MetricResult.model_id == row.candidate_id, MetricResult.analyzer == ANALYZER
        )
    )
    session.execute(
        delete(MetricResult).where(
            MetricResult.model_id == row.candidate_id, MetricResult.analyzer == ANALYZER
        )
    )
    session.execute(delete(ComparisonWindow).where(ComparisonWindow.comparison_id == row.id))
    session.delete(row)
    session.flush()
    return int(gone or 0)


def window_counts(
    session: Session, model_name: str
) -> dict[tuple[datetime, datetime], tuple[int, int]]:
    """Analysed windows of a model: ``(start, end) → (rows, labels)`` from its window runs."""
    model = get_model(session, model_name)
    rows = session.execute(
        select(
            WindowRun.window_start, WindowRun.window_end, WindowRun.n_rows, WindowRun.n_labels
        ).where(WindowRun.model_id == model.id)
    ).all()
    return {(s, e): (int(n), int(k)) for s, e, n, k in rows}


def compared_windows(
    session: Session, comparison_id: int
) -> dict[tuple[datetime, datetime], Counts]:
    """Windows already compared, with the counts they were compared on."""
    rows = session.scalars(
        select(ComparisonWindow).where(ComparisonWindow.comparison_id == comparison_id)
    )
    return {
        (r.window_start, r.window_end): Counts(
            r.n_baseline, r.n_candidate, r.n_labels_baseline, r.n_labels_candidate
        )
        for r in rows
    }


def forget_compared(
    session: Session, candidate: Model, *, window_start: datetime, window_end: datetime
) -> int:
    """Mark the window as not compared for every comparison whose candidate is ``candidate``.

    For a re-analysis that replaced the candidate's results of the window (comparison
    records included) without changing its counts: the next comparison pass computes
    the window again. Returns how many comparison windows were forgotten.
    """
    ids = select(Comparison.id).where(Comparison.candidate_id == candidate.id)
    result = session.execute(
        delete(ComparisonWindow).where(
            ComparisonWindow.comparison_id.in_(ids),
            ComparisonWindow.window_start == window_start,
            ComparisonWindow.window_end == window_end,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def store_comparison_window(
    session: Session,
    comparison: ComparisonInfo,
    *,
    window_start: datetime,
    window_end: datetime,
    records: Iterable[RecordLike],
    counts: Counts,
    verdict: str | None,
) -> int:
    """Store one compared window (replacing an earlier result); caller owns the transaction."""
    candidate = get_model(session, comparison.candidate)
    session.execute(
        delete(MetricResult).where(
            MetricResult.model_id == candidate.id,
            MetricResult.analyzer == ANALYZER,
            MetricResult.window_start == window_start,
            MetricResult.window_end == window_end,
        )
    )
    session.execute(
        delete(ComparisonWindow).where(
            ComparisonWindow.comparison_id == comparison.id,
            ComparisonWindow.window_start == window_start,
            ComparisonWindow.window_end == window_end,
        )
    )
    rows = metric_result_rows(
        candidate.id, window_start=window_start, window_end=window_end, records=records
    )
    session.add_all(rows)
    session.add(
        ComparisonWindow(
            comparison_id=comparison.id,
            window_start=window_start,
            window_end=window_end,
            n_baseline=counts.n_baseline,
            n_candidate=counts.n_candidate,
            n_labels_baseline=counts.n_labels_baseline,
            n_labels_candidate=counts.n_labels_candidate,
            verdict=verdict,
        )
    )
    session.flush()
    return len(rows)


def comparison_results(
    session: Session,
    comparison: ComparisonInfo,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The comparison's stored results (``metrics_frame`` columns, with ``details``)."""
    model = get_model(session, comparison.candidate)
    frame = metrics_frame(session, model=model, start=start, end=end, analyzer=ANALYZER)
    keep = frame["details"].map(lambda d: (d or {}).get("comparison") == comparison.name)
    return frame[keep.to_numpy(dtype=bool)].reset_index(drop=True)
