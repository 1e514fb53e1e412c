"""The analysis pass of a model whose windows are summarised where the rows live.

For a model with an executor chosen (``postgres`` push-down or ``spark`` over its
``--source``; see :mod:`monitors.summaries.executor`), :func:`analyze_summarized` replaces
the window loading of :func:`monitors.pipeline.run.analyze_model`:

1. the windows that hold rows come from the store (PostgreSQL) or from one Spark job
   (row and label counts per window, for a Spark source);
2. each window not analysed yet (or with new labels) is summarised by the executor on the
   reference's spec (built once per pass);
3. a window that fits in its sample (at most ``sample_size`` rows) is analysed on those
   rows by the row path — identical numbers; a larger one by the analyzers from summaries
   (:mod:`monitors.analyzers._from_summary`), with the domain classifier, SHAP, estimated
   performance and anomaly checks on the sample;
4. the metric records and the summary are stored in one transaction, so reports and
   re-analysis can read the summary after ``purge``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from monitors.analyzers import drift as drift_analyzer
from monitors.analyzers import explain as explain_analyzer
from monitors.analyzers import fairness as fairness_analyzer
from monitors.analyzers import performance as performance_analyzer
from monitors.analyzers import quality as quality_analyzer
from monitors.analyzers._from_summary import (
    column_drift_from_summary,
    data_quality_from_summary,
    group_fairness_from_summary,
    model_performance_from_summary,
)
from monitors.analyzers.base import MetricRecord
from monitors.config import model_config
from monitors.pipeline.windows import Window, next_start, occupied_windows
from monitors.summaries.executor import Executor, executor_for
from monitors.summaries.sample import sample_frame
from monitors.summaries.spec import build_spec
from monitors.summaries.store import save_summary
from monitors.summaries.types import SummarySpec, WindowSummary
from monitors.windows import purge, to_micros
from storage.comparisons import forget_compared
from storage.engine import get_engine, session_scope
from storage.locks import model_lock
from storage.logs import next_timestamp
from storage.metrics import quarantine_counts, store_window, window_runs
from storage.models import Model
from storage.registry import get_model, load_reference, model_schema
from storage.schema import ModelSchema
from storage.summaries import log_counts

__all__ = [
    "analyze_from_summary",
    "analyze_summarized",
    "due_again",
    "needs_analysis",
    "next_row",
    "window_quarantine",
    "executor_for",
    "store_analysed",
    "stored_counts_of",
]

Prepare = Callable[..., Any]
Analyze = Callable[[Any, pd.DataFrame, Mapping[str, int]], list[MetricRecord]]


@dataclass(frozen=True, slots=True)
class _Occupied:
    """A closed window holding rows; its counts when the executor knows them up front."""

    window: Window
    n_rows: int | None = None
    n_labels: int | None = None


_FIRST_WINDOWABLE = datetime(2, 1, 1, tzinfo=UTC)  # rows before year 1 are never analysed


def next_row(engine: Any, model: Model) -> Callable[[datetime | None], datetime | None]:
    """Asks the store for its first row at or after a time: the windows that hold rows."""

    def ask(at: datetime | None) -> datetime | None:
        with engine.connect() as conn:
            value = next_timestamp(conn, model, None if at is None else to_micros(at))
        if value is None:
            return None
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))
        except OverflowError:  # beyond the years datetime holds: no window can close there
            return None if value > 0 else ask(_FIRST_WINDOWABLE)

    return ask


def window_quarantine(engine: Any, model: Model, window: Window) -> Mapping[str, int]:
    """Quarantined rows of a window by reason (the quality analyzer's input)."""
    with session_scope(engine) as session:
        return quarantine_counts(
            session, model, start_us=to_micros(window.start), end_us=to_micros(window.end)
        )


def _store_windows(engine: Any, model: Model, now: datetime) -> list[_Occupied]:
    """Closed windows holding rows in the store's log table (one index seek each)."""
    ask = next_row(engine, model)
    return [_Occupied(w) for w in occupied_windows(ask, model.window, now=now)]


def _source_windows(
    executor: Executor, schema: ModelSchema, size: str, now: datetime
) -> list[_Occupied]:
    """Closed windows holding rows in a Spark source, with their counts (one job)."""
    from monitors.summaries.spark import SparkExecutor, window_counts

    assert isinstance(executor, SparkExecutor)
    counts = window_counts(
        executor.dataframe(),
        timestamp=schema.timestamp.name,
        label=schema.label.name if schema.label else None,
        size=size,
    )
    out = []
    for start in sorted(counts):
        end = next_start(start, size)
        if end <= now:
            out.append(_Occupied(Window(start, end), *counts[start]))
    return out


def stored_counts_of(engine: Any, model: Model, window: Window) -> tuple[int, int]:
    """Rows and labelled rows of a window in the store's log table."""
    with session_scope(engine) as session:
        return log_counts(
            session, model, start_us=to_micros(window.start), end_us=to_micros(window.end)
        )


def due_again(previous: Any, counts: tuple[int, int]) -> bool:
    """Whether an analysed window is analysed again: its label count changed, and none of
    the rows it was analysed on were purged since (a window that retention cut in two
    keeps the results and summary of all its rows)."""
    rows, labels = counts
    return labels != previous.n_labels and rows >= previous.n_rows


def summary_records(
    ctx: Any, summary: WindowSummary, spec: SummarySpec, quarantined: Mapping[str, int]
) -> list[MetricRecord]:
    """Every analyzer on a window summary; the domain classifier, SHAP, estimated performance
    and anomaly checks on its uniform sample."""
    cfg, schema = ctx.config, ctx.schema
    sample = sample_frame(summary.sample, spec)
    report = column_drift_from_summary(
        ctx.drift_profile, summary, spec, schema=schema, config=cfg.drift, sample=sample
    )
    multivariate = None
    if cfg.drift.multivariate and len(sample):
        multivariate = drift_analyzer.multivariate_drift(
            ctx.reference, sample, schema=schema, config=cfg.drift
        )
    records = drift_analyzer.drift_records(report, multivariate)
    records += quality_analyzer.quality_records(
        data_quality_from_summary(
            ctx.quality_reference,
            summary,
            schema=schema,
            config=cfg.quality,
            quarantined=quarantined,
        )
    )
    records += performance_analyzer.performance_records(
        model_performance_from_summary(summary, spec, schema=schema, config=cfg.performance)
    )
    if schema.sensitive and summary.n_rows:
        records += fairness_analyzer.fairness_records(
            group_fairness_from_summary(summary, schema=schema, config=cfg.fairness, spec=spec)
        )
    if ctx.explainer is not None and len(sample):
        ordered = sample.sort_values([schema.timestamp.name, schema.id.name], kind="stable")
        importance = explain_analyzer.global_importance(ctx.explainer, ordered, config=cfg.explain)
        shift = explain_analyzer.attribution_drift(
            ctx.reference_importance, importance, config=cfg.explain
        )
        records += explain_analyzer.explain_records(importance, shift)
    if (estimated := getattr(ctx, "estimated", None)) is not None:  # on the sample
        records += estimated.records(sample)
    if (anomalies := getattr(ctx, "anomalies", None)) is not None:  # volume: the window's
        records += anomalies.records(sample, n_rows=summary.n_rows)
    return records


def needs_analysis(
    engine: Any,
    model: Model,
    schema: ModelSchema,
    window: Window,
    previous: Any,
    counts: tuple[int, int] | None = None,
) -> bool:
    """A window not analysed yet, or due again (:func:`due_again`); ``counts`` (rows,
    labels) when the executor knows them up front, else they are read from the store."""
    if previous is None:
        return True
    if previous.n_labels >= previous.n_rows or schema.label is None:
        return False
    return due_again(previous, counts or stored_counts_of(engine, model, window))


def analyze_from_summary(
    ctx: Any,
    summary: WindowSummary,
    spec: SummarySpec,
    quarantined: Mapping[str, int],
    analyze: Analyze,
) -> list[MetricRecord]:
    """The row path on a window that fits in its sample; the summary path otherwise."""
    if summary.sample.complete:
        return analyze(ctx, sample_frame(summary.sample, spec), quarantined)
    return summary_records(ctx, summary, spec, quarantined)


def _windows(
    engine: Any, model: Model, schema: ModelSchema, executor: Executor, now: datetime
) -> list[_Occupied]:
    """The closed windows that hold rows, from wherever the rows live."""
    if executor.name == "spark":
        return _source_windows(executor, schema, model.window, now)
    return _store_windows(engine, model, now)


def store_analysed(
    engine: Any,
    model: Model,
    window: Window,
    records: list[MetricRecord],
    *,
    counts: tuple[int, int],
    reference_version: int,
    kept: tuple[WindowSummary, SummarySpec] | None,
    replace: bool,
    recompare: bool = False,
) -> int:
    """A window's records, run (``counts``: rows, labels) and summary (``kept``, if any),
    in one transaction; the number of records stored. Shared by every pass.

    ``recompare``: also mark the window not compared for the comparisons whose candidate
    is ``model`` (a re-analysis replaced their records without changing the counts).
    """
    with session_scope(engine) as session:
        stored = store_window(
            session,
            model,
            window_start=window.start,
            window_end=window.end,
            records=records,
            n_rows=counts[0],
            n_labels=counts[1],
            reference_version=reference_version,
            replace=replace,
        )
        if kept is not None:
            save_summary(
                session, model, kept[0], kept[1], window_start=window.start, window_end=window.end
            )
        if recompare:
            forget_compared(session, model, window_start=window.start, window_end=window.end)
    return stored


def analyze_summarized(
    name: str,
    executor: Executor,
    stages: tuple[Prepare, Analyze, Any, Callable[[str, Window], None] | None],
    summary: Any,
    *,
    url: str | None,
    now: datetime,
) -> Any:
    """One model's part of a pass with summaries computed by ``executor``.

    ``stages`` are ``(prepare, analyze, scorer, on_window)`` of
    :func:`monitors.pipeline.run.analyze_model` (passed in so that this module does not
    import it): ``prepare(model, schema, config, reference, version, scorer, engine)``
    builds the per-model context, ``analyze(ctx, frame, quarantined)`` runs the row
    analyzers. ``summary`` is the pass's ``PassSummary``, updated and returned.
    """
    prepare, analyze, scorer, on_window = stages
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, name)
    with model_lock(engine, model.id):
        with session_scope(engine) as session:
            model = get_model(session, name)
            schema = model_schema(model)
            config = model_config(name, model.config)
            ref = load_reference(session, model)
            runs = window_runs(session, model)
        if model.retention_days and executor.name != "spark":
            summary.rows_purged += purge(url, name, now - timedelta(days=model.retention_days))
        if ref is None:
            summary.skipped[name] = "no reference dataset (set one with Client.set_reference)"
            return summary
        version, reference = ref
        spec: SummarySpec | None = None
        ctx: Any = None
        for occupied in _windows(engine, model, schema, executor, now):
            window, previous = occupied.window, runs.get(occupied.window.start)
            known = None if occupied.n_rows is None else (occupied.n_rows, occupied.n_labels or 0)
            if not needs_analysis(engine, model, schema, window, previous, known):
                continue
            if spec is None:
                spec = build_spec(
                    reference,
                    schema=schema,
                    reference_version=version,
                    drift=config.drift,
                    calibration_bins=config.performance.calibration_bins,
                )
            window_summary = executor.summarize(spec, window.start, window.end)
            if previous is None and window_summary.n_rows == 0:
                continue
            if ctx is None:
                ctx = prepare(model, schema, config, reference, version, scorer, engine)
            quarantined = window_quarantine(engine, model, window)
            records = analyze_from_summary(ctx, window_summary, spec, quarantined, analyze)
            summary.metrics_stored += store_analysed(
                engine,
                model,
                window,
                records,
                counts=(window_summary.n_rows, window_summary.n_labelled),
                reference_version=spec.reference_version,
                kept=(window_summary, spec),
                replace=previous is not None,
            )
            if previous is None:
                summary.windows_analyzed += 1
            else:
                summary.windows_reanalyzed += 1
            if on_window is not None:
                on_window(name, window)
    return summary
