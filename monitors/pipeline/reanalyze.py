"""Re-analysis of analysed windows with today's settings (``driftwarden run --reanalyze``).

After a threshold, test or window setting changes, the stored results of past windows
still say what the old settings said. :func:`reanalyze` runs the analyzers again over
every window of ``[start, end)`` that a pass analysed before, with the model's current
settings and the reference version each window was analysed against:

* when the store still holds the window's rows (as many as were analysed) and the model
  uses the default in-memory executor, on those rows — every number as a first pass
  would give;
* otherwise on the window's stored summary (``window_summary``): the summary path of
  :mod:`monitors.pipeline._summarized` (a window that fits in its sample is analysed on
  the sample's rows, i.e. all of them). This is what works after ``purge`` has deleted
  the rows, and for models whose rows live in a Spark source;
* a window with neither is left as it is, and named in ``skipped``.

Each window's metric results, run and (from rows) summary are replaced in one
transaction; a window analysed from its summary keeps it. A comparison whose candidate is
the model has the window compared again at the end (its records were replaced too).
Alert rules are not evaluated: re-analysis rewrites history, while the alert engine walks
forward from each series' last evaluated window (``driftwarden alerts
backtest`` shows what a rule would have done over the re-analysed windows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitors.config import model_config
from monitors.errors import ConfigError
from monitors.pipeline._compare import compare_pass
from monitors.pipeline._summarized import (
    analyze_from_summary,
    store_analysed,
    stored_counts_of,
    window_quarantine,
)
from monitors.pipeline.run import _analyze, _prepare, _window_summary
from monitors.pipeline.windows import Window
from monitors.summaries.executor import executor_for
from monitors.summaries.spec import layout_matches
from monitors.summaries.store import stored_summaries
from monitors.windows import load_window
from storage.engine import get_engine, session_scope
from storage.locks import model_lock
from storage.metrics import window_runs
from storage.models import Model
from storage.registry import get_model, load_reference, model_schema

__all__ = ["ReanalysisSummary", "reanalyze"]


@dataclass
class ReanalysisSummary:
    """What one re-analysis did."""

    from_rows: int = 0
    from_summaries: int = 0
    metrics_stored: int = 0
    windows_compared: int = 0
    """Comparison windows computed again (this model as a comparison's candidate)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Window start (ISO) -> why it was left as it is."""

    def lines(self) -> list[str]:
        """The summary in words, one line each."""
        out = [
            f"re-analysed {self.from_rows + self.from_summaries} window(s) "
            f"({self.from_rows} from rows, {self.from_summaries} from stored summaries), "
            f"stored {self.metrics_stored} metric(s)"
        ]
        if self.windows_compared:
            out.append(f"compared {self.windows_compared} window(s) again")
        out += [f"left as it was: window {w}: {why}" for w, why in self.skipped.items()]
        return out


class _Contexts:
    """The per-model analysis context of each reference version, built once each."""

    def __init__(self, engine: Any, model: Model, scorer: Any) -> None:
        self.engine, self.model, self.scorer = engine, model, scorer
        self.schema = model_schema(model)
        self.config = model_config(model.name, model.config)
        self._built: dict[int, Any] = {}

    def get(self, version: int) -> Any | None:
        """The context for reference ``version``; ``None`` if that version is gone."""
        if version not in self._built:
            with session_scope(self.engine) as session:
                ref = load_reference(session, self.model, version)
            if ref is None:
                return None
            self._built[version] = _prepare(
                self.model, self.schema, self.config, ref[1], version, self.scorer, self.engine
            )
        return self._built[version]


def _summary_of(url: str | None, name: str, window: Window) -> Any:
    """The stored summary of exactly ``window`` with its spec, or ``None``."""
    found = stored_summaries(url, name, start=window.start, end=window.end)
    return next(
        ((sm, sp) for ws, we, sm, sp in found if (ws, we) == (window.start, window.end)), None
    )


def _from_summary(
    contexts: _Contexts, ctx: Any, run: Any, found: Any, quarantined: Any, stored_rows: int
) -> tuple[list[Any], int, int, Any, bool] | str:
    """The window's records from its stored summary, or why it cannot be used."""
    if found is None:
        if stored_rows:
            return (
                f"the store holds {stored_rows} of its rows where {run.n_rows} were "
                "analysed, and no summary of it is stored"
            )
        return "its rows are gone and no summary of it is stored"
    summary, spec = found
    if not layout_matches(spec, contexts.schema):
        return "its summary predates a change of the schema's columns"
    if spec.reference_version != run.reference_version:
        return f"its summary is of reference version {spec.reference_version}"
    records = analyze_from_summary(ctx, summary, spec, quarantined, _analyze)
    return records, summary.n_rows, summary.n_labelled, None, False


def _records(
    url: str | None, contexts: _Contexts, window: Window, run: Any, in_memory: bool
) -> tuple[list[Any], int, int, Any, bool] | str:
    """The window's new records, counts, new summary and whether they come from rows; or
    why the window cannot be re-analysed."""
    ctx = contexts.get(run.reference_version)
    if ctx is None:
        return f"reference version {run.reference_version} is no longer stored"
    engine, model = contexts.engine, contexts.model
    quarantined = window_quarantine(engine, model, window)
    stored_rows = stored_counts_of(engine, model, window)[0]
    if not (in_memory and stored_rows == run.n_rows > 0):
        found = _summary_of(url, model.name, window)
        return _from_summary(contexts, ctx, run, found, quarantined, stored_rows)
    frame = load_window(url, model.name, window.start, window.end)
    label = contexts.schema.label
    n_labels = int(frame[label.name].notna().sum()) if label else 0
    kept = _window_summary(ctx, frame)  # the summary follows its window's new run
    spec = getattr(ctx, "spec", None)
    return (
        _analyze(ctx, frame, quarantined),
        len(frame),
        n_labels,
        None if kept is None or spec is None else (kept, spec),
        True,
    )


def reanalyze(
    name: str,
    *,
    url: str | None = None,
    start: datetime,
    end: datetime,
    scorer: Callable[..., Any] | None = None,
    on_window: Callable[[str, Window], None] | None = None,
) -> ReanalysisSummary:
    """Analyse again, with the current settings, the analysed windows of ``[start, end)``.

    Raises
    ------
    ConfigError
        If ``end`` is not after ``start``.
    UnknownModelError
        If no model has that name.
    """
    if end <= start:
        raise ConfigError(
            f"--to: expected a time after --from ({start.isoformat()}); got {end.isoformat()}"
        )
    out = ReanalysisSummary()
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, name)
    in_memory = executor_for(url, name) is None
    with model_lock(engine, model.id):
        with session_scope(engine) as session:
            model = get_model(session, name)
            runs = window_runs(session, model)
        contexts = _Contexts(engine, model, scorer)
        for window_start in sorted(runs):
            run = runs[window_start]
            window = Window(run.window_start, run.window_end)
            if window.start < start or window.end > end:
                continue
            version = run.reference_version
            result = (
                "its reference version is not recorded"
                if version is None
                else _records(url, contexts, window, run, in_memory)
            )
            if isinstance(result, str):
                out.skipped[window.start.isoformat()] = result
                continue
            assert version is not None
            records, n_rows, n_labels, kept, from_rows = result
            out.metrics_stored += store_analysed(
                engine,
                model,
                window,
                records,
                counts=(n_rows, n_labels),
                reference_version=version,
                kept=kept,
                replace=True,
                recompare=True,  # its comparison records went with it
            )
            if from_rows:
                out.from_rows += 1
            else:
                out.from_summaries += 1
            if on_window is not None:
                on_window(name, window)
    if out.from_rows + out.from_summaries:
        out.windows_compared = compare_pass(url=url, model=name).windows
    return out
