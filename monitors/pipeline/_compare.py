"""The analysis pass's side of comparisons: compare each newly analysed window pair.

After every model of a pass is analysed, each comparison (``driftwarden compare add``)
is brought up to date under its candidate's analysis lock: a window is compared once
both models have analysed it, and again whenever either model's row or label count for
it changed since (labels arrived: the candidate's re-analysis also replaced its metric
results, comparison records included). The two windows are loaded (the stored summaries'
uniform samples once the rows are gone, see :func:`_rows`), compared
(:func:`monitors.compare.compare_window`, pure) and the records stored under the candidate
(analyzer ``comparison``) in one transaction with the window's counts, so a killed pass
leaves either the old or the new result. The estimators of both models
(CBPE / DLE, for windows without enough labels) are fitted only when such a window is
due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitors.analyzers.estimated import Estimator
from monitors.compare import ComparisonConfig, compare_window, comparison_records
from monitors.config import MonitorConfig, model_config
from monitors.errors import ConfigError, MonitorError
from monitors.pipeline._estimated import prepare_estimation
from monitors.windows import load_window
from storage.comparisons import (
    ComparisonInfo,
    Counts,
    compared_windows,
    list_comparisons,
    store_comparison_window,
    window_counts,
)
from storage.engine import get_engine, session_scope
from storage.errors import StorageError
from storage.locks import model_lock
from storage.registry import get_model, load_reference, model_schema
from storage.schema import ModelSchema

log = logging.getLogger(__name__)


@dataclass
class CompareSummary:
    """What the comparisons of one pass did."""

    windows: int = 0
    metrics: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class _Models:
    """Both models' schemas and configs, and their estimators once fitted."""

    schemas: tuple[ModelSchema, ModelSchema]
    configs: tuple[MonitorConfig, MonitorConfig]
    estimators: tuple[Estimator | None, Estimator | None] | None = None


def _estimator(engine: Any, name: str, schema: ModelSchema, config: MonitorConfig) -> Any:
    """One model's fitted CBPE / DLE estimator, or ``None``."""
    with session_scope(engine) as session:
        model = get_model(session, name)
        ref = load_reference(session, model)
        if ref is None:
            return None
        version, reference = ref
        stage = prepare_estimation(
            session,
            model,
            schema=schema,
            config=config.estimated,
            reference=reference,
            version=version,
        )
    return stage.estimator


def _due(comparison: ComparisonInfo, engine: Any) -> list[tuple[tuple[datetime, datetime], Counts]]:
    """Windows both models analysed whose counts differ from the last comparison."""
    with session_scope(engine) as session:
        base = window_counts(session, comparison.baseline)
        cand = window_counts(session, comparison.candidate)
        done = compared_windows(session, comparison.id)
    out = []
    for window in sorted(base.keys() & cand.keys()):
        counts = Counts(base[window][0], cand[window][0], base[window][1], cand[window][1])
        if done.get(window) != counts:
            out.append((window, counts))
    return out


def _rows(url: str | None, name: str, start: datetime, end: datetime, analysed: int) -> Any:
    """The window's rows; its stored summary's uniform sample once they are gone.

    When the store no longer holds the rows the model analysed (``purge``, or rows that
    live in a Spark source), the comparison runs on the window summaries' samples: each
    a uniform sample keyed by ``md5(salt || prediction id)``, so a shadow pair samples
    the same requests and stays paired. Smaller samples give wider intervals, never
    false precision; a window that fits its sample is compared on all its rows.
    """
    frame = load_window(url, name, start, end)
    if len(frame) >= analysed:
        return frame
    from monitors.summaries.sample import sample_frame
    from monitors.summaries.store import stored_summaries

    found = [
        (summary, spec)
        for ws, _, summary, spec in stored_summaries(url, name, start=start, end=end)
        if ws == start and summary.n_rows == analysed and summary.sample.ids
    ]
    if len(found) != 1:
        log.warning(
            "comparison of %s %s: %d of its %d analysed rows left and no sample of them "
            "(purge removes the samples' rows too); compared on what is left",
            name,
            start.isoformat(),
            len(frame),
            analysed,
        )
        return frame
    summary, spec = found[0]
    log.info("comparison of %s %s: on its summary's sample of %d rows", name, start,
             len(summary.sample.ids))  # fmt: skip
    return sample_frame(summary.sample, spec)


def _compare(
    url: str | None,
    engine: Any,
    comparison: ComparisonInfo,
    models: _Models,
    window: tuple[datetime, datetime],
    counts: Counts,
) -> int:
    """Compare and store one window; the number of records stored."""
    config = ComparisonConfig.model_validate(comparison.config)
    if models.estimators is None and min(counts.n_labels_baseline, counts.n_labels_candidate) < (
        config.min_rows
    ):
        models.estimators = (
            _estimator(engine, comparison.baseline, models.schemas[0], models.configs[0]),
            _estimator(engine, comparison.candidate, models.schemas[1], models.configs[1]),
        )
    start, end = window
    baseline = _rows(url, comparison.baseline, start, end, counts.n_baseline)
    candidate = _rows(url, comparison.candidate, start, end, counts.n_candidate)
    result = compare_window(
        baseline,
        candidate,
        baseline_schema=models.schemas[0],
        candidate_schema=models.schemas[1],
        mode="shadow" if comparison.mode == "shadow" else "split",
        config=config,
        performance=models.configs[1].performance,
        split=comparison.split,
        estimators=models.estimators or (None, None),
    )
    records = comparison_records(
        result,
        name=comparison.name,
        baseline=comparison.baseline,
        candidate=comparison.candidate,
        config=config,
    )
    with session_scope(engine) as session:
        return store_comparison_window(
            session,
            comparison,
            window_start=start,
            window_end=end,
            records=records,
            counts=counts,
            verdict=result.verdict.verdict,
        )


def _models(engine: Any, comparison: ComparisonInfo) -> tuple[_Models, int]:
    """Schemas and configs of both models, and the candidate's id (for its lock)."""
    with session_scope(engine) as session:
        base = get_model(session, comparison.baseline)
        cand = get_model(session, comparison.candidate)
        schemas = (model_schema(base), model_schema(cand))
        configs = (
            model_config(base.name, base.config),
            model_config(cand.name, cand.config),
        )
        return _Models(schemas, configs), cand.id


def compare_pass(*, url: str | None = None, model: str | None = None) -> CompareSummary:
    """Bring every comparison (or those involving ``model``) up to date.

    Parameters
    ----------
    url : str, optional
        Database URL (default: the configured one).
    model : str, optional
        Only comparisons whose baseline or candidate is this model.

    Returns
    -------
    CompareSummary
        Windows compared, records stored, and comparisons skipped with the reason.
    """
    summary = CompareSummary()
    engine = get_engine(url)
    with session_scope(engine) as session:
        comparisons = list_comparisons(session, model=model)
    for comparison in comparisons:
        try:
            models, candidate_id = _models(engine, comparison)
            with model_lock(engine, candidate_id):
                for window, counts in _due(comparison, engine):
                    summary.metrics += _compare(url, engine, comparison, models, window, counts)
                    summary.windows += 1
        except (MonitorError, StorageError, ConfigError) as exc:
            log.warning("comparison %r skipped: %s", comparison.name, exc)
            summary.skipped[f"comparison {comparison.name}"] = str(exc)
    return summary
