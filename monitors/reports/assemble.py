"""Assemble the fairness audit report: one plain, canonical structure for every format.

:func:`assemble_report` is pure (frames, schema and config in, :class:`AuditReport`
out); :func:`monitors.reports.export.gather_inputs` does the database reads. The
content holds no "now" time, so the same parameters on the same data give the same
hash; when and by whom a report was exported is kept in the ``report_export`` row.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import pandas as pd

from monitors.analyzers._from_summary import group_fairness_from_summary
from monitors.analyzers.base import BREACH, DRIFT
from monitors.analyzers.fairness import (
    DISPARITIES,
    FairnessConfig,
    FairnessReport,
    group_fairness,
)
from monitors.errors import ReportError
from monitors.reports._estimated import performance_section
from monitors.reports.canonical import canonical_value, content_sha256
from monitors.reports.findings import findings
from monitors.reports.methodology import methodology
from monitors.summaries.types import WindowSummary
from storage.schema import ModelSchema

FORMAT_VERSION: Final = 1
TITLE: Final = "Fairness audit report"
#: Distributions whose versions are reported (``importlib.metadata``).
SOFTWARE: Final = (
    "driftwarden",
    "fairlearn",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "shap",
)
#: Metric names the fairness analyzer stores; alert rules on these are fairness rules.
FAIRNESS_METRICS: Final = frozenset(
    {
        "count",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "precision",
        "accuracy",
        "mean_prediction",
        "mae",
        *DISPARITIES,
    }
)


@dataclass(frozen=True, slots=True)
class AlertEventRow:
    """One state change of a fairness alert rule."""

    rule: str
    metric: str
    feature: str | None
    group: str | None
    severity: str
    from_state: str
    to_state: str
    at: datetime
    window_start: datetime | None
    window_end: datetime | None
    value: float | None
    threshold: float | None


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything a report is computed from (read by ``gather_inputs``).

    ``frame`` holds the window's rows (prediction, label, sensitive columns);
    ``stored_metrics`` the stored ``drift`` and ``explain`` metrics of the period
    (columns of :func:`storage.metrics.metrics_frame`); ``fairness_rules`` the names
    of the model's alert rules on fairness metrics and ``alert_events`` their history;
    ``performance_metrics`` the stored ``performance`` and ``estimated_performance``
    metrics of the period (the report's performance section). ``summary``, when set,
    holds the period's merged stored window summaries (their counts: see
    :func:`monitors.summaries.store.stored_counts`): the fairness section is computed from
    its cells, which gives the identical content, and ``frame`` is not read.
    """

    model: str
    schema: ModelSchema
    reference_version: int | None
    start: datetime
    end: datetime
    frame: pd.DataFrame
    stored_metrics: pd.DataFrame | None = None
    fairness_rules: tuple[str, ...] = ()
    alert_events: tuple[AlertEventRow, ...] = field(default_factory=tuple)
    performance_metrics: pd.DataFrame | None = None
    summary: WindowSummary | None = None


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The assembled report: canonical content and its SHA-256."""

    content: Mapping[str, Any]
    content_sha256: str

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The report's parameters section."""
        params: Mapping[str, Any] = self.content["parameters"]
        return params


def software_versions() -> dict[str, str]:
    """Versions of driftwarden and the libraries the numbers come from."""
    out = {}
    for name in SOFTWARE:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _parameters(
    inputs: ReportInputs, report: FairnessReport, config: FairnessConfig
) -> dict[str, Any]:
    attrs = [f for f in report.features if "&" not in f]
    return {
        "model": inputs.model,
        "task": inputs.schema.task.value,
        "reference_version": inputs.reference_version,
        "period": {"start": inputs.start, "end": inputs.end, "interval": "[start, end)"},
        "sensitive_attributes": attrs,
        "analysed_features": list(report.features),
        "prediction": inputs.schema.prediction.name,
        "label": inputs.schema.label.name if inputs.schema.label is not None else None,
        "positive_class": report.positive_class,
        "thresholds": {
            **config.thresholds.model_dump(mode="json"),
            "four_fifths": config.four_fifths,
        },
        "overrides": {k: v.model_dump(mode="json") for k, v in sorted(config.features.items())},
        "min_group_size": config.min_group_size,
        "intersections": config.intersections,
        "max_intersection_size": config.max_intersection_size,
        "missing_sensitive": config.missing_sensitive,
        "bootstrap": {
            "n_resamples": config.n_bootstrap,
            "confidence": config.confidence,
            "seed": config.seed,
            "method": "classification: Wilson per group, simultaneous pairwise score "
            "intervals (Bonferroni) per disparity; regression: percentile bootstrap",
        },
    }


def _groups(report: FairnessReport) -> list[dict[str, Any]]:
    return [
        {
            "feature": g.feature,
            "group": g.group,
            "intersectional": "&" in g.feature,
            "values": dict(g.values),
            "n": g.n,
            "n_labelled": g.n_labelled,
            "min_group_size": g.min_group_size,
            "insufficient_data": g.insufficient_data,
            "metrics": {
                e.metric: {
                    "value": e.value,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "n": e.n,
                    "insufficient_data": e.insufficient_data,
                    "reason": e.reason,
                }
                for e in g.estimates
            },
        }
        for g in report.groups
    ]


def _disparities(report: FairnessReport) -> list[dict[str, Any]]:
    out = []
    for d in report.disparities:
        higher_is_worse = DISPARITIES[d.metric]
        out.append(
            {
                "feature": d.feature,
                "intersectional": "&" in d.feature,
                "metric": d.metric,
                "value": d.value,
                "threshold": d.threshold,
                "rule": "value <= threshold" if higher_is_worse else "value >= threshold",
                "passed": None if d.breach is None else not d.breach,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "restricted_value": d.restricted_value,
                "excluded_groups": list(d.excluded_groups),
                "n_groups": d.n_groups,
                "reason": d.reason,
            }
        )
    return out


def _impact_ratios(report: FairnessReport, config: FairnessConfig) -> dict[str, Any]:
    by_group = {(g.feature, g.group): g for g in report.groups}
    tables: dict[str, list[dict[str, Any]]] = {
        "by_category": [],
        "by_intersectional_category": [],
    }
    for d in report.disparities:
        if d.metric != "disparate_impact_ratio":
            continue
        key = "by_intersectional_category" if "&" in d.feature else "by_category"
        threshold = d.threshold
        rates = {
            grp: by_group[(d.feature, grp)].estimate("selection_rate").value
            for grp, _ in d.group_ratios
        }
        best = max((r for r in rates.values() if r is not None), default=None)
        for grp, ratio in d.group_ratios:
            g = by_group[(d.feature, grp)]
            tables[key].append(
                {
                    "feature": d.feature,
                    "category": grp,
                    "n": g.n,
                    "n_selected": round((rates[grp] or 0.0) * g.n),
                    "selection_rate": rates[grp],
                    "impact_ratio": ratio,
                    "most_selected": rates[grp] is not None and rates[grp] == best,
                    "threshold": threshold,
                    "passed": None if ratio is None else ratio >= threshold,
                    "insufficient_data": g.insufficient_data,
                }
            )
    return {**tables, "four_fifths": config.four_fifths}


def _flagged(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups flagged for insufficient data (the group, or any of its metrics)."""
    return [
        {
            "feature": g["feature"],
            "group": g["group"],
            "n": g["n"],
            "n_labelled": g["n_labelled"],
            "min_group_size": g["min_group_size"],
        }
        for g in groups
        if g["insufficient_data"] or any(m["insufficient_data"] for m in g["metrics"].values())
    ]


def _stored_summary(stored: pd.DataFrame | None) -> dict[str, Any]:
    out: dict[str, Any] = {"drift": [], "attribution": []}
    if stored is not None and len(stored):
        frame = stored.sort_values(["analyzer", "metric", "feature", "window_start"])
        for (analyzer, metric, feature), rows in frame.groupby(
            ["analyzer", "metric", "feature"], sort=True, dropna=False
        ):
            values = rows["value"].astype("float64")
            section = "drift" if analyzer == "drift" else "attribution"
            out[section].append(
                {
                    "analyzer": analyzer,
                    "metric": metric,
                    "feature": feature if isinstance(feature, str) else None,
                    "n_windows": int(len(rows)),
                    "n_flagged": int(rows["status"].isin([DRIFT, BREACH]).sum()),
                    "min": float(values.min()) if values.notna().any() else None,
                    "max": float(values.max()) if values.notna().any() else None,
                    "last": float(values.iloc[-1]),
                    "threshold": float(rows["threshold"].iloc[-1]),
                }
            )
    if not out["drift"] and not out["attribution"]:
        out["note"] = (
            "No drift or attribution metrics are stored for this model and period "
            "(run `driftwarden run` to analyse its windows)."
        )
    else:
        out["note"] = (
            "Per stored metric over the analysed windows of the period: number of windows, "
            "windows flagged (drift or breach), smallest, largest and last value."
        )
    return out


def _alert_history(inputs: ReportInputs) -> dict[str, Any]:
    events = [
        {
            "rule": e.rule,
            "metric": e.metric,
            "feature": e.feature,
            "group": e.group,
            "severity": e.severity,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "at": e.at,
            "window_start": e.window_start,
            "window_end": e.window_end,
            "value": e.value,
            "threshold": e.threshold,
        }
        for e in inputs.alert_events
    ]
    if not inputs.fairness_rules:
        note = "No alert rule is defined on a fairness metric of this model."
    elif not events:
        note = "Fairness alert rules exist, and none changed state during the period."
    else:
        note = "State changes of the model's fairness alert rules during the period."
    return {"rules": sorted(inputs.fairness_rules), "events": events, "note": note}


def _fairness(
    inputs: ReportInputs, config: FairnessConfig, sensitive: Sequence[str] | None
) -> tuple[FairnessReport, int]:
    """The fairness report and the rows with a prediction and a label: rows or summary."""
    schema, summary = inputs.schema, inputs.summary
    n_rows = len(inputs.frame) if summary is None else summary.n_rows
    if n_rows == 0:
        raise ReportError(
            f"model {inputs.model!r}: no logged rows between {inputs.start.isoformat()} and "
            f"{inputs.end.isoformat()}; expected at least one"
        )
    if summary is not None:
        report = group_fairness_from_summary(
            summary, schema=schema, config=config, sensitive=sensitive
        )
        cells = summary.fairness
        labelled = sum(
            n for key, n in zip(cells.keys, cells.counts, strict=True) if key[-2] is not None
        )
        return report, int(labelled) if schema.label is not None else 0
    frame = inputs.frame
    report = group_fairness(frame, schema=schema, config=config, sensitive=sensitive)
    has_pred = frame[schema.prediction.name].notna()
    label = schema.label
    return report, int((has_pred & frame[label.name].notna()).sum()) if label else 0


def assemble_report(
    inputs: ReportInputs,
    *,
    config: FairnessConfig,
    sensitive: Sequence[str] | None = None,
) -> AuditReport:
    """Compute the fairness audit report of one model and period.

    Parameters
    ----------
    inputs : ReportInputs
        The window's rows, schema, reference version, stored drift/explain metrics and
        fairness alert history.
    config : FairnessConfig
        Thresholds, minimum group size and bootstrap settings; every value used is
        recorded in the report's parameters.
    sensitive : sequence of str, optional
        Analyse only these sensitive attributes (default: all of the schema's).

    Returns
    -------
    AuditReport
        The canonical content (sections ``findings``, ``parameters``, ``data``, ``groups``,
        ``disparities``, ``impact_ratios``, ``insufficient_data``,
        ``drift_attribution_summary``, ``performance``, ``alert_history``, ``methodology``,
        ``software``) and its SHA-256.

    Raises
    ------
    ReportError
        If the period is empty or inverted, or it has no rows (nor summarised rows).
    ConfigError
        From :func:`~monitors.analyzers.fairness.group_fairness` (bad attribute names).
    """
    if inputs.end <= inputs.start:
        raise ReportError(
            f"report period: expected --from before --to; got {inputs.start.isoformat()} "
            f"to {inputs.end.isoformat()}"
        )
    report, n_labelled = _fairness(inputs, config, sensitive)
    groups = _groups(report)
    content = {
        "title": TITLE,
        "format_version": FORMAT_VERSION,
        "findings": findings(report),
        "parameters": _parameters(inputs, report, config),
        "data": {
            "n_rows": report.n_rows,
            "n_labelled": n_labelled,
            "n_missing_prediction": report.n_missing_prediction,
            "n_missing_sensitive": dict(report.n_missing_sensitive),
        },
        "groups": groups,
        "disparities": _disparities(report),
        "impact_ratios": _impact_ratios(report, config),
        "insufficient_data": _flagged(groups),
        "drift_attribution_summary": _stored_summary(inputs.stored_metrics),
        "performance": performance_section(inputs.performance_metrics),
        "alert_history": _alert_history(inputs),
        "methodology": methodology(),
        "software": software_versions(),
    }
    canonical = canonical_value(content)
    return AuditReport(content=canonical, content_sha256=content_sha256(canonical))
