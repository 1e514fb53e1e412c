"""Export a fairness report: read inputs from the database, render, write, record.

This is the I/O side of :mod:`monitors.reports`; :func:`assemble_report` and the
renderers stay pure.

The fairness section is computed from the period's stored window summaries instead of
its rows when they give the identical report (classification: every per-group metric,
interval and disparity depends only on the cell counts): see :func:`stored_fairness`.
Which path was taken is logged, never part of the content (same hash on both).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from monitors import timeparse
from monitors.analyzers.fairness import FairnessConfig
from monitors.errors import ConfigError, ReportError
from monitors.reports._estimated import PERFORMANCE_ANALYZERS
from monitors.reports.assemble import (
    FAIRNESS_METRICS,
    AlertEventRow,
    AuditReport,
    ReportInputs,
    assemble_report,
)
from monitors.reports.render import FORMATS, RENDERERS, Format
from monitors.reports.signing import Signer
from monitors.summaries.spec import layout_matches
from monitors.summaries.store import merge_counts, stored_counts, stored_spec
from monitors.summaries.types import WindowSummary
from monitors.windows import load_window, to_micros
from storage.engine import get_engine, session_scope
from storage.metrics import metrics_frame, window_runs
from storage.models import AlertEvent, AlertRule, AlertSeries, Model, ReportExport
from storage.registry import get_model, model_schema, reference_version
from storage.schema import ModelSchema, Task
from storage.summaries import log_counts

#: Stored analyzers summarised in the report's drift and attribution section.
SUMMARISED_ANALYZERS: Final = ("drift", "explain")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What :func:`export_report` wrote and recorded."""

    report: AuditReport
    files: tuple[Path, ...]
    export_id: int
    signed: bool


def parse_time(value: str | datetime, *, option: str) -> datetime:
    """An ISO 8601 time as an aware UTC ``datetime`` (naive values are taken as UTC).

    The one parser of :mod:`monitors.timeparse`, kept here under its old name.

    Raises
    ------
    ConfigError
        If ``value`` is not an ISO 8601 time; the message names ``option``.
    """
    return timeparse.parse_time(value, option=option)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def report_filename(model: str, start: datetime, end: datetime, sha256: str, fmt: str) -> str:
    """The file name of an export: sanitised model name, period and hash prefix.

    Characters other than letters, digits, ``_``, ``.`` and ``-`` become ``_`` and
    leading dots are dropped, so the name has no path separator and cannot be ``..``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> report_filename("../etc/passwd", datetime(2024, 1, 1, tzinfo=UTC),
    ...                 datetime(2024, 2, 1, tzinfo=UTC), "ab" * 32, "json")
    'etc_passwd_20240101T000000Z_20240201T000000Z_abababababab.json'
    """
    safe = _UNSAFE.sub("_", model).lstrip("._")[:100] or "model"
    return f"{safe}_{_stamp(start)}_{_stamp(end)}_{sha256[:12]}.{fmt}"


def confined_path(out_dir: Path, filename: str) -> Path:
    """``out_dir / filename`` resolved, refusing anything that is not directly inside ``out_dir``.

    Raises
    ------
    ReportError
        If the resolved path is outside ``out_dir`` (``..``, absolute names, links).
    """
    root = out_dir.resolve()
    path = (root / filename).resolve()
    if path.parent != root:
        raise ReportError(
            f"report file {filename!r}: expected a file directly inside {str(root)!r}; "
            f"got a path to {str(path)!r}"
        )
    return path


def _fairness_rules(session: Session, model: str) -> list[AlertRule]:
    return list(
        session.scalars(
            select(AlertRule)
            .where(AlertRule.model == model, AlertRule.metric.in_(sorted(FAIRNESS_METRICS)))
            .order_by(AlertRule.name)
        )
    )


def _alert_events(
    session: Session, rule_ids: Sequence[int], start: datetime, end: datetime
) -> list[AlertEventRow]:
    if not rule_ids:
        return []
    in_window = and_(AlertEvent.window_start < end, AlertEvent.window_end > start)
    at_in_period = and_(
        AlertEvent.window_start.is_(None), AlertEvent.at >= start, AlertEvent.at < end
    )
    rows = session.execute(
        select(AlertEvent, AlertSeries, AlertRule)
        .join(AlertSeries, AlertEvent.series_id == AlertSeries.id)
        .join(AlertRule, AlertEvent.rule_id == AlertRule.id)
        .where(AlertEvent.rule_id.in_(list(rule_ids)), or_(in_window, at_in_period))
        .order_by(AlertEvent.at, AlertEvent.id)
    ).all()
    return [
        AlertEventRow(
            rule=rule.name,
            metric=rule.metric,
            feature=series.feature or None,
            group=series.group or None,
            severity=rule.severity,
            from_state=event.from_state,
            to_state=event.to_state,
            at=event.at,
            window_start=event.window_start,
            window_end=event.window_end,
            value=event.value,
            threshold=event.threshold,
        )
        for event, series, rule in rows
    ]


def model_fairness_config(model: Model) -> FairnessConfig:
    """The model's effective fairness settings (defaults < driftwarden.yaml < stored config)."""
    from monitors.config import model_config

    return model_config(model.name, model.config).fairness


def _current(
    session: Session,
    model: Model,
    schema: ModelSchema,
    found: list[tuple[datetime, datetime, WindowSummary]],
) -> bool:
    """Whether the summaries can stand for their windows: no two overlap (a window size
    changed), each is of the layout the schema reads (no sensitive column added since) and
    each holds what its window's run says was analysed (counts equal)."""
    runs = window_runs(session, model)
    layouts: dict[str, bool] = {}
    previous_end: datetime | None = None
    for window_start, window_end, summary in found:
        if previous_end is not None and window_start < previous_end:
            return False
        previous_end = window_end
        if summary.spec_sha256 not in layouts:
            spec = stored_spec(session, model, summary.spec_sha256)
            layouts[summary.spec_sha256] = spec is not None and layout_matches(spec, schema)
        run = runs.get(window_start)
        if not layouts[summary.spec_sha256] or run is None or run.window_end != window_end:
            return False
        if (run.n_rows, run.n_labels) != (summary.n_rows, summary.n_labelled):
            return False  # re-analysed since without a new summary
    return True


def stored_fairness(
    session: Session, model: Model, schema: ModelSchema, *, start: datetime, end: datetime
) -> WindowSummary | None:
    """The period's stored window summaries merged, if they give the row path's report.

    They do for a classifier with sensitive attributes when every window that holds rows
    in ``[start, end)`` lies inside the period and has a current stored summary: of the
    schema's layout, holding what the window's run analysed, and the store's row and
    label counts of the window equal to the summary's, or the window's rows purged (none
    left). Otherwise (a regression task, a window cut by the period, a stale, unreadable,
    overlapping or missing summary, rows outside the summarised windows, an analysed
    window without a summary) ``None``: the report reads the rows.
    """
    if schema.task is Task.REGRESSION or not schema.sensitive:
        return None
    try:
        found = stored_counts(session, model, start=start, end=end)
        if not found or not _current(session, model, schema, found):
            return None
    except (ConfigError, ValueError, OSError, EOFError) as exc:  # damaged: read the rows
        log.warning("report %s: stored summaries unreadable (%s); reading rows", model.name, exc)
        return None
    summarised = {window_start for window_start, _, _ in found}
    for run in window_runs(session, model).values():
        inside = run.window_start >= start and run.window_end <= end
        if inside and run.n_rows and run.window_start not in summarised:
            return None  # analysed before summaries were kept: its rows may be gone
    covered = 0
    for window_start, window_end, summary in found:
        counts = log_counts(
            session, model, start_us=to_micros(window_start), end_us=to_micros(window_end)
        )
        if counts[0] and counts != (summary.n_rows, summary.n_labelled):
            return None  # rows or labels changed since the window was summarised
        covered += counts[0]
    total, _ = log_counts(
        session, model, start_us=to_micros(start), end_us=to_micros(end), labels=False
    )
    if total != covered:
        return None  # rows in windows without a summary, or in windows the period cuts
    return merge_counts([summary for _, _, summary in found])


def gather_inputs(
    database_url: str | None, model: str, *, start: datetime, end: datetime
) -> tuple[ReportInputs, FairnessConfig]:
    """Read what a report of ``model`` over ``[start, end)`` needs from the database.

    The fairness section's input is the period's merged stored summaries when
    :func:`stored_fairness` finds them equivalent (``summary``; ``frame`` then has no
    rows), else the period's rows (``frame``).

    Returns
    -------
    (ReportInputs, FairnessConfig)
        The inputs, and the model's stored fairness config (defaults if none).

    Raises
    ------
    UnknownModelError
        If no model has that name.
    """
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        stored_model = get_model(session, model)
        schema = model_schema(stored_model)
        ref_version = reference_version(session, stored_model)
        config = model_fairness_config(stored_model)
        stored = pd.concat(
            [
                metrics_frame(session, model=stored_model, start=start, end=end, analyzer=a)
                for a in SUMMARISED_ANALYZERS
            ],
            ignore_index=True,
        )
        performance = pd.concat(
            [
                metrics_frame(session, model=stored_model, start=start, end=end, analyzer=a)
                for a in PERFORMANCE_ANALYZERS
            ],
            ignore_index=True,
        )
        rules = _fairness_rules(session, model)
        events = _alert_events(session, [r.id for r in rules], start, end)
        rule_names = tuple(r.name for r in rules)
        summary = stored_fairness(session, stored_model, schema, start=start, end=end)
    columns = [schema.prediction.name, *(s.name for s in schema.sensitive)]
    if schema.label is not None:
        columns.append(schema.label.name)
    if summary is None:
        log.info("report %s: fairness from the period's rows", model)
        frame = load_window(database_url, model, start, end, columns=columns)
    else:
        log.info("report %s: fairness from stored window summaries", model)
        frame = pd.DataFrame(columns=columns)
    inputs = ReportInputs(
        model=model,
        schema=schema,
        reference_version=ref_version,
        start=start,
        end=end,
        frame=frame,
        stored_metrics=stored,
        performance_metrics=performance,
        fairness_rules=rule_names,
        alert_events=tuple(events),
        summary=summary,
    )
    return inputs, config


def _check_formats(formats: Sequence[Format]) -> None:
    """Raise :class:`ConfigError` unless ``formats`` is a non-empty list of known formats."""
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown or not formats:
        raise ConfigError(
            f"--format: expected one or more of {', '.join(FORMATS)}; got {list(formats)!r}"
        )


def _render_files(
    report: AuditReport,
    model: str,
    start: datetime,
    end: datetime,
    out_dir: Path,
    formats: Sequence[Format],
    signer: Signer | None,
) -> list[tuple[Path, str, bytes]]:
    """Each distinct format's confined output path, name and rendered bytes, in order."""
    rendered: list[tuple[Path, str, bytes]] = []
    for fmt in dict.fromkeys(formats):
        name = report_filename(model, start, end, report.content_sha256, fmt)
        rendered.append((confined_path(out_dir, name), fmt, RENDERERS[fmt](report, signer=signer)))
    return rendered


def _record_export(
    database_url: str | None,
    model: str,
    report: AuditReport,
    rendered: Sequence[tuple[Path, str, bytes]],
    *,
    created_by: str,
    signer: Signer | None,
) -> int:
    """Store the ``report_export`` row for the written files and return its id."""
    files = {
        path.name: {"format": fmt, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        for path, fmt, data in rendered
    }
    with session_scope(get_engine(database_url)) as session:
        row = ReportExport(
            model=model,
            content_sha256=report.content_sha256,
            parameters=dict(report.parameters),
            files=files,
            software_version=importlib.metadata.version("driftwarden"),
            signature=signer.sign_content(report.content_sha256) if signer else None,
            created_by=created_by,
        )
        session.add(row)
        session.flush()
        return row.id


def export_report(
    database_url: str | None,
    model: str,
    *,
    start: datetime,
    end: datetime,
    out_dir: Path,
    formats: Sequence[Format] = FORMATS,
    sensitive: Sequence[str] | None = None,
    config: FairnessConfig | None = None,
    created_by: str = "unknown",
    signer: Signer | None = None,
) -> ExportResult:
    """Assemble, render and write a fairness report, and record the export.

    Parameters
    ----------
    database_url : str or None
        SQLAlchemy URL (``None``: ``DRIFTWARDEN_DATABASE_URL`` or the default).
    model : str
        Registered model name.
    start, end : datetime
        The period ``[start, end)`` (aware).
    out_dir : Path
        Directory the files are written to (created if missing); names come from
        :func:`report_filename` and are checked by :func:`confined_path`.
    formats : sequence of {"html", "pdf", "json", "csv"}
        Formats to write.
    sensitive : sequence of str, optional
        Only these sensitive attributes.
    config : FairnessConfig, optional
        Settings; default the model's stored fairness config.
    created_by : str
        Who exported it (kept in the ``report_export`` row, not in the content).
    signer : Signer, optional
        Sign the exports (see :mod:`monitors.reports.signing`).

    Returns
    -------
    ExportResult
        The report, the written paths and the id of the ``report_export`` row, whose
        ``files`` map each file name to its format, SHA-256 and size.

    Raises
    ------
    ConfigError
        If a format is unknown.
    ReportError
        If the period has no rows, or an output path would leave ``out_dir``.
    """
    _check_formats(formats)
    inputs, stored_config = gather_inputs(database_url, model, start=start, end=end)
    report = assemble_report(inputs, config=config or stored_config, sensitive=sensitive)
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = _render_files(report, model, start, end, out_dir, formats, signer)
    for path, _, data in rendered:
        path.write_bytes(data)
    export_id = _record_export(
        database_url, model, report, rendered, created_by=created_by, signer=signer
    )
    return ExportResult(
        report=report,
        files=tuple(p for p, _, _ in rendered),
        export_id=export_id,
        signed=signer is not None,
    )
