"""What the CLI and the dashboard do with comparisons: define, list, remove, report.

A report reads the stored windows of one comparison (analyzer ``comparison``, under the
candidate) for a period and pools them into the period's verdict
(:func:`monitors.compare.period_deltas`). Exports: JSON (one object: the comparison,
the period and every window's records) and CSV (one row per window or period and
compared value; text cells a spreadsheet would run as formulas get a leading ``'``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pandas as pd

from monitors.compare._config import MODES, ComparisonConfig
from monitors.compare._period import period_deltas
from monitors.compare._types import MetricDelta, Verdict
from monitors.errors import ConfigError
from monitors.spreadsheet import neutralise_value
from storage.comparisons import (
    ComparisonInfo,
    comparison_results,
    create_comparison,
    delete_comparison,
    get_comparison,
    list_comparisons,
)
from storage.engine import get_engine, read_engine, session_scope
from storage.registry import get_model
from storage.schema import Task

CSV_COLUMNS: Final = [
    "scope",
    "window_start",
    "window_end",
    "metric",
    "feature",
    "group",
    "baseline",
    "candidate",
    "delta",
    "ci_low",
    "ci_high",
    "p_value",
    "mde",
    "n",
    "verdict",
]
"""Columns of the CSV export (``scope`` is ``window`` or ``period``)."""


def add_comparison(
    url: str | None,
    name: str,
    *,
    baseline: str,
    candidate: str,
    mode: str,
    split: float | None = None,
    config: ComparisonConfig | None = None,
) -> ComparisonInfo:
    """Define a comparison; the next ``driftwarden run`` compares the analysed windows.

    Raises
    ------
    ConfigError
        If the mode is not ``shadow`` / ``split`` or the split is not in (0, 1).
    ComparisonError, UnknownModelError
        From :func:`storage.comparisons.create_comparison`.
    """
    if mode not in MODES:
        raise ConfigError(f"--mode {mode!r}: expected shadow or split")
    if mode == "split":
        split = 0.5 if split is None else split
        if not (math.isfinite(split) and 0.0 < split < 1.0):
            raise ConfigError(f"--split {split!r}: expected the candidate's share in (0, 1)")
    elif split is not None:
        raise ConfigError("--split applies to --mode split only (shadow: both score all rows)")
    settings = (config or ComparisonConfig()).model_dump(mode="json")
    with session_scope(get_engine(url)) as session:
        return create_comparison(
            session,
            name,
            baseline=baseline,
            candidate=candidate,
            mode=mode,
            split=split,
            config=settings,
        )


def remove_comparison(url: str | None, name: str) -> int:
    """Remove a comparison and its stored results; how many results went."""
    with session_scope(get_engine(url)) as session:
        return delete_comparison(session, name)


def comparisons(url: str | None, *, model: str | None = None) -> list[ComparisonInfo]:
    """Every defined comparison (involving ``model``, if given)."""
    with session_scope(read_engine(get_engine(url))) as session:
        return list_comparisons(session, model=model)


@dataclass(frozen=True)
class ComparisonReport:
    """One comparison over a period: its windows' records and the pooled verdict."""

    info: ComparisonInfo
    config: ComparisonConfig
    task: Task
    start: datetime | None
    end: datetime | None
    results: pd.DataFrame
    """Stored records (``metrics_frame`` columns, ``details`` included), window order."""
    period: tuple[MetricDelta, ...]
    verdict: Verdict

    @property
    def window_verdicts(self) -> pd.DataFrame:
        """One row per window: start, end, verdict, sentence, delta and interval."""
        rows = self.results[self.results["metric"] == "comparison_verdict"]
        out = pd.DataFrame(
            {
                "window_start": rows["window_start"],
                "window_end": rows["window_end"],
                "verdict": rows["details"].map(lambda d: (d or {}).get("verdict")),
                "sentence": rows["details"].map(lambda d: (d or {}).get("sentence")),
                "delta": rows["details"].map(lambda d: (d or {}).get("delta")),
                "ci_low": rows["details"].map(lambda d: (d or {}).get("ci_low")),
                "ci_high": rows["details"].map(lambda d: (d or {}).get("ci_high")),
                "basis": rows["details"].map(lambda d: (d or {}).get("basis")),
            }
        )
        return out.reset_index(drop=True)


def comparison_report(
    url: str | None,
    name: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ComparisonReport:
    """The comparison's stored windows in ``[start, end]`` and the period's verdict.

    Raises
    ------
    UnknownComparisonError
        If no comparison has that name.
    """
    with session_scope(read_engine(get_engine(url))) as session:
        info = get_comparison(session, name)
        task = Task(get_model(session, info.candidate).task)
        results = comparison_results(session, info, start=start, end=end)
    config = ComparisonConfig.model_validate(info.config)
    deltas, verdict = period_deltas(results, config=config, task=task)
    return ComparisonReport(info, config, task, start, end, results, tuple(deltas), verdict)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _delta_dict(d: MetricDelta) -> dict[str, Any]:
    return {
        "metric": d.metric,
        "feature": d.feature,
        "group": d.group,
        "kind": d.kind,
        "direction": d.direction,
        "baseline": _clean(d.baseline),
        "candidate": _clean(d.candidate),
        "delta": _clean(d.delta),
        "ci_low": _clean(d.ci_low),
        "ci_high": _clean(d.ci_high),
        "p_value": _clean(d.p_value),
        "mde": _clean(d.mde),
        "n_baseline": d.n_baseline,
        "n_candidate": d.n_candidate,
        "test": d.test,
        "verdict": d.verdict,
    }


def report_dict(report: ComparisonReport) -> dict[str, Any]:
    """The JSON export as a plain dictionary."""
    info = report.info
    v = report.verdict
    return {
        "comparison": {
            "name": info.name,
            "baseline": info.baseline,
            "candidate": info.candidate,
            "mode": info.mode,
            "split": info.split,
            "config": report.config.model_dump(mode="json"),
        },
        "period": {
            "from": _clean(report.start),
            "to": _clean(report.end),
            "verdict": v.verdict,
            "sentence": v.sentence,
            "primary_metric": v.metric,
            "basis": v.basis,
            "worse_on": list(v.worse_on),
            "better_on": list(v.better_on),
            "metrics": [_delta_dict(d) for d in report.period],
        },
        "windows": [
            {k: _clean(row[k]) for k in report.results.columns}
            for row in report.results.to_dict("records")
        ],
    }


def report_json(report: ComparisonReport) -> str:
    """The JSON export (one object)."""
    return json.dumps(report_dict(report), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _csv_rows(report: ComparisonReport) -> list[dict[str, Any]]:
    rows = []
    for rec in report.results.to_dict("records"):
        details = rec["details"] or {}
        if not str(rec["metric"]).endswith("_delta") and rec["metric"] != "comparison_verdict":
            continue
        rows.append(
            {
                "scope": "window",
                "window_start": _clean(rec["window_start"]),
                "window_end": _clean(rec["window_end"]),
                "metric": details.get("metric", rec["metric"]),
                "feature": rec["feature"],
                "group": rec["group"],
                "baseline": details.get("baseline"),
                "candidate": details.get("candidate"),
                "delta": details.get("delta", _clean(rec["value"])),
                "ci_low": details.get("ci_low"),
                "ci_high": details.get("ci_high"),
                "p_value": details.get("p_value"),
                "mde": details.get("mde"),
                "n": details.get("n"),
                "verdict": details.get("verdict"),
            }
        )
    for d in report.period:
        rows.append(
            {
                "scope": "period",
                "window_start": _clean(report.start),
                "window_end": _clean(report.end),
                **{k: v for k, v in _delta_dict(d).items() if k in CSV_COLUMNS},
                "n": min(d.n_baseline, d.n_candidate),
            }
        )
    return rows


def report_csv(report: ComparisonReport) -> str:
    """The CSV export: one row per window (or the period) and compared value."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _csv_rows(report):
        writer.writerow({k: neutralise_value(row.get(k)) for k in CSV_COLUMNS})
    return buffer.getvalue()


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{float(value):+.{digits}g}"


def report_text(report: ComparisonReport) -> str:
    """The report for a terminal: the period's verdict, then one line per window."""
    info, v = report.info, report.verdict
    mode = f"split {info.split:g}" if info.mode == "split" and info.split else info.mode
    lines = [
        f"comparison {info.name}: candidate {info.candidate} vs baseline {info.baseline} "
        f"({mode}, α = {report.config.alpha:g})",
        f"period: {v.sentence}",
    ]
    if v.worse_on:
        lines.append(f"  candidate significantly worse on: {', '.join(v.worse_on)}")
    if v.better_on:
        lines.append(f"  candidate significantly better on: {', '.join(v.better_on)}")
    windows = report.window_verdicts
    if windows.empty:
        lines.append("no compared windows in this period (they appear after driftwarden run)")
        return "\n".join(lines) + "\n"
    lines.append("window                 verdict            delta      interval")
    for row in windows.to_dict("records"):
        start = pd.Timestamp(row["window_start"]).strftime("%Y-%m-%d %H:%M")
        basis = " (estimated)" if row["basis"] == "estimated" else ""
        lines.append(
            f"{start:<22} {str(row['verdict']):<18} {_num(row['delta']):>9}  "
            f"[{_num(row['ci_low'])}, {_num(row['ci_high'])}]{basis}"
        )
    return "\n".join(lines) + "\n"
