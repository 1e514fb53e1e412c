"""The analysis pass: closed windows → analyzers → stored results → alert engine → outbox.

One pass of ``driftwarden run``, for each model (under its analysis lock):

1. apply the model's retention, if it has one;
2. find the closed windows that hold logged rows (asking the store, so empty windows
   between far-apart rows are never walked);
3. analyse each window not analysed yet, or whose label count changed since (so a
   window's performance is recomputed as labels arrive); results of one window and its
   summary (:func:`monitors.summaries.memory.summarize_frame`, unless the model's
   ``summaries: {store: false}``) are stored in one transaction, replacing that window's
   earlier ones, so that reports read summaries and still work after ``purge``;
4. then evaluate the alert rules and deliver the outbox.

Passes are idempotent: a second pass finds nothing new and stores nothing.
The reference profiles (sorted columns, bins, category counts, reference SHAP
importance, the summary spec) are computed once per model per pass, not per window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers import drift as drift_analyzer
from monitors.analyzers import explain as explain_analyzer
from monitors.analyzers import fairness as fairness_analyzer
from monitors.analyzers import performance as performance_analyzer
from monitors.analyzers import quality as quality_analyzer
from monitors.analyzers.base import MetricRecord
from monitors.config import MonitorConfig, model_config
from monitors.pipeline._anomalies import AnomalyStage, prepare_anomalies
from monitors.pipeline._compare import compare_pass
from monitors.pipeline._estimated import EstimationStage, prepare_estimation
from monitors.pipeline._summarized import (
    analyze_summarized,
    executor_for,
    needs_analysis,
    next_row,
    store_analysed,
    window_quarantine,
)
from monitors.pipeline.windows import Window, occupied_windows
from monitors.summaries.memory import summarize_frame
from monitors.summaries.spec import build_spec
from monitors.summaries.types import SummarySpec, WindowSummary
from monitors.windows import load_window, purge
from storage.engine import get_engine, session_scope
from storage.locks import model_lock
from storage.metrics import window_runs
from storage.models import Model
from storage.registry import get_model, list_models, load_reference, model_schema
from storage.schema import ModelSchema

log = logging.getLogger(__name__)
Scorer = Callable[[pd.DataFrame], np.ndarray]


@dataclass
class PassSummary:
    """What one pass did."""

    windows_analyzed: int = 0
    windows_reanalyzed: int = 0
    windows_compared: int = 0
    metrics_stored: int = 0
    rows_purged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    alerts: Any = None
    delivery: Any = None

    def lines(self) -> list[str]:
        out = [
            f"analysed {self.windows_analyzed} window(s), re-analysed {self.windows_reanalyzed} "
            f"with new labels, stored {self.metrics_stored} metric(s)"
        ]
        if self.rows_purged:
            out.append(f"purged {self.rows_purged} row(s) past retention")
        if self.windows_compared:
            out.append(f"compared {self.windows_compared} window(s) of candidate models")
        out += [f"skipped {name}: {why}" for name, why in self.skipped.items()]
        return out


@dataclass
class _Context:
    """Per-model state reused across windows of one pass."""

    model: Model
    schema: ModelSchema
    config: MonitorConfig
    reference: pd.DataFrame
    reference_version: int
    drift_profile: Any
    quality_reference: Any
    explainer: Any = None
    reference_importance: Any = None
    estimated: EstimationStage | None = None
    anomalies: AnomalyStage | None = None
    spec: SummarySpec | None = None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _explainer(ctx: _Context, session: Any, scorer: Scorer | None) -> None:
    """Build the SHAP explainer and reference importance if the model has an artifact."""
    from monitors.explanations import artifact_model

    model_obj = scorer if scorer is not None else artifact_model(session, ctx.model)
    if model_obj is None:
        return
    cfg = ctx.config.explain
    ctx.explainer = explain_analyzer.make_explainer(
        model_obj, ctx.reference, schema=ctx.schema, config=cfg
    )
    ctx.reference_importance = explain_analyzer.global_importance(
        ctx.explainer, ctx.reference, config=cfg
    )


def _analyze(
    ctx: _Context, frame: pd.DataFrame, quarantined: Mapping[str, int]
) -> list[MetricRecord]:
    """Every analyzer on one window: pure functions, no I/O."""
    cfg, schema = ctx.config, ctx.schema
    records: list[MetricRecord] = []
    report = drift_analyzer.column_drift(ctx.drift_profile, frame, schema=schema, config=cfg.drift)
    multivariate = None
    if cfg.drift.multivariate and len(frame):
        multivariate = drift_analyzer.multivariate_drift(
            ctx.reference, frame, schema=schema, config=cfg.drift
        )
    records += drift_analyzer.drift_records(report, multivariate)
    missing = [c.name for c in schema.columns if c.name not in frame.columns]
    records += quality_analyzer.quality_records(
        quality_analyzer.data_quality(
            ctx.quality_reference,
            frame,
            schema=schema,
            config=cfg.quality,
            quarantined=quarantined,
            missing_columns=missing,
        )
    )
    records += performance_analyzer.performance_records(
        performance_analyzer.model_performance(frame, schema=schema, config=cfg.performance)
    )
    if schema.sensitive and len(frame):
        records += fairness_analyzer.fairness_records(
            fairness_analyzer.group_fairness(frame, schema=schema, config=cfg.fairness)
        )
    if ctx.explainer is not None and len(frame):
        ordered = frame.sort_values([schema.timestamp.name, schema.id.name], kind="stable")
        importance = explain_analyzer.global_importance(ctx.explainer, ordered, config=cfg.explain)
        shift = explain_analyzer.attribution_drift(
            ctx.reference_importance, importance, config=cfg.explain
        )
        records += explain_analyzer.explain_records(importance, shift)
    if ctx.estimated is not None:
        records += ctx.estimated.records(frame)
    if ctx.anomalies is not None:
        records += ctx.anomalies.records(frame)
    return records


def _window_summary(ctx: _Context, frame: pd.DataFrame) -> WindowSummary | None:
    """The window's summary on the reference's spec (built once per pass), if kept."""
    if not ctx.config.summaries.store:
        return None
    if ctx.spec is None:
        ctx.spec = build_spec(
            ctx.reference,
            schema=ctx.schema,
            reference_version=ctx.reference_version,
            drift=ctx.config.drift,
            calibration_bins=ctx.config.performance.calibration_bins,
        )
    return summarize_frame(frame, ctx.spec)


def _store(
    engine: Any,
    ctx: _Context,
    window: Window,
    frame: pd.DataFrame,
    records: list[MetricRecord],
    *,
    replace: bool,
) -> int:
    """The window's records, run and summary, in one transaction; records stored."""
    label = ctx.schema.label
    n_labels = int(frame[label.name].notna().sum()) if label else 0
    window_summary = _window_summary(ctx, frame)
    kept = None if window_summary is None or ctx.spec is None else (window_summary, ctx.spec)
    return store_analysed(
        engine,
        ctx.model,
        window,
        records,
        counts=(len(frame), n_labels),
        reference_version=ctx.reference_version,
        kept=kept,
        replace=replace,
    )


def analyze_model(
    name: str,
    *,
    url: str | None = None,
    now: datetime,
    scorer: Scorer | None = None,
    summary: PassSummary | None = None,
    on_window: Callable[[str, Window], None] | None = None,
) -> PassSummary:
    """Analyse every closed, not yet analysed (or newly labelled) window of one model."""
    summary = summary or PassSummary()
    if (executor := executor_for(url, name)) is not None:  # summaries where rows live
        stages = (_prepare, _analyze, scorer, on_window)
        return analyze_summarized(name, executor, stages, summary, url=url, now=now)
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
        if model.retention_days:
            cutoff = now - timedelta(days=model.retention_days)
            summary.rows_purged += purge(url, name, cutoff)
        if ref is None:
            summary.skipped[name] = "no reference dataset (set one with Client.set_reference)"
            return summary
        ask = next_row(engine, model)
        if ask(None) is None:
            summary.skipped[name] = "no predictions logged yet"
            return summary
        version, reference = ref
        ctx: _Context | None = None
        for window in occupied_windows(ask, model.window, now=now):
            previous = runs.get(window.start)
            if not needs_analysis(engine, model, schema, window, previous):
                continue
            frame = load_window(url, name, window.start, window.end)
            if previous is None and frame.empty:
                continue
            if ctx is None:
                ctx = _prepare(model, schema, config, reference, version, scorer, engine)
                if ctx.estimated is not None and ctx.estimated.skipped:
                    summary.skipped[f"{name} (estimated performance)"] = ctx.estimated.skipped
            quarantined = window_quarantine(engine, model, window)
            records = _analyze(ctx, frame, quarantined)
            summary.metrics_stored += _store(
                engine, ctx, window, frame, records, replace=previous is not None
            )
            if previous is None:
                summary.windows_analyzed += 1
            else:
                summary.windows_reanalyzed += 1
            if on_window is not None:
                on_window(name, window)
    return summary


def _prepare(
    model: Model,
    schema: ModelSchema,
    config: MonitorConfig,
    reference: pd.DataFrame,
    version: int,
    scorer: Scorer | None,
    engine: Any,
) -> _Context:
    ctx = _Context(
        model=model,
        schema=schema,
        config=config,
        reference=reference,
        reference_version=version,
        drift_profile=drift_analyzer.prepare_reference(
            reference, schema=schema, config=config.drift
        ),
        quality_reference=quality_analyzer.prepare_quality_reference(reference, schema=schema),
    )
    with session_scope(engine) as session:
        _explainer(ctx, session, scorer)
        ctx.estimated = prepare_estimation(
            session,
            model,
            schema=schema,
            config=config.estimated,
            reference=reference,
            version=version,
        )
        ctx.anomalies = prepare_anomalies(
            session, model, schema=schema, config=config.anomalies, reference=reference
        )
    return ctx


def run_pass(
    *,
    url: str | None = None,
    model: str | None = None,
    now: datetime | None = None,
    scorers: Mapping[str, Scorer] | None = None,
    alerts: bool = True,
    on_window: Callable[[str, Window], None] | None = None,
) -> PassSummary:
    """One full pass: analyse every model (or one), evaluate alert rules, deliver the outbox."""
    now = _utc(now or datetime.now(UTC))
    summary = PassSummary()
    engine = get_engine(url)
    with session_scope(engine) as session:
        names = [model] if model else [m.name for m in list_models(session)]
        if model:
            get_model(session, model)
    for name in names:
        analyze_model(
            name,
            url=url,
            now=now,
            scorer=(scorers or {}).get(name),
            summary=summary,
            on_window=on_window,
        )
    compared = compare_pass(url=url, model=model)  # windows both models analysed
    summary.windows_compared += compared.windows
    summary.metrics_stored += compared.metrics
    summary.skipped.update(compared.skipped)
    if alerts:
        from monitors.alerts.engine import evaluate_rules
        from monitors.alerts.outbox import deliver

        summary.alerts = evaluate_rules(engine, now=now, model=model)
        summary.delivery = deliver(engine, now=now)
    return summary
