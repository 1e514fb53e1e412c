"""Flattening drift results into :class:`~monitors.analyzers.base.MetricRecord` rows."""

from __future__ import annotations

import math
from typing import Any

from monitors.analyzers._drift_config import P_VALUE_METRICS
from monitors.analyzers._drift_json import json_clean
from monitors.analyzers._drift_policy import deciding_metrics
from monitors.analyzers._drift_types import ColumnDrift, DriftReport, MetricValue, MultivariateDrift
from monitors.analyzers.base import (
    DRIFT,
    INSUFFICIENT_DATA,
    OK,
    MetricRecord,
    finite_or_none,
)


def _metric_status(value: MetricValue, column: ColumnDrift) -> str:
    """Status of one metric of a column: its own verdict, or the column's lack of data."""
    if column.status == INSUFFICIENT_DATA or value.drifted is None:
        return INSUFFICIENT_DATA
    return DRIFT if value.drifted else OK


def _own_rule(value: MetricValue) -> str:
    """The rule a metric record's own status follows."""
    if value.metric in P_VALUE_METRICS:
        return f"p_value < {value.threshold:g} (this test alone, not adjusted)"
    return f"value >= {value.threshold:g} (this metric alone)"


def _metric_record(value: MetricValue, col: ColumnDrift) -> MetricRecord:
    """The record of one metric of one column.

    Its status is the metric's own verdict against its own threshold; ``decides`` says whether
    the metric enters the column's verdict (``drift_detected``), which alone is the verdict.
    """
    details: dict[str, Any] = {"p_value": finite_or_none(value.p_value)}
    details.update(json_clean(value.details))
    details["rule"] = _own_rule(value)
    details["decides"] = value.metric in deciding_metrics(col)
    if value.metric == col.p_metric and col.p_value_adjusted is not None:
        details["p_value_adjusted"] = finite_or_none(col.p_value_adjusted)
    if value.value is not None and not math.isfinite(value.value):
        details["value_not_finite"] = str(value.value)
    return MetricRecord(
        analyzer="drift",
        metric=value.metric,
        feature=col.column,
        group=None,
        value=finite_or_none(value.value),
        threshold=value.threshold,
        status=_metric_status(value, col),
        details=details,
    )


def _verdict_record(col: ColumnDrift) -> MetricRecord:
    """The ``drift_detected`` record of one column: its verdict and why."""
    return MetricRecord(
        analyzer="drift",
        metric="drift_detected",
        feature=col.column,
        group=None,
        value=None if col.status == INSUFFICIENT_DATA else float(col.drifted),
        threshold=col.threshold,
        status=col.status,
        details=json_clean(
            {
                "method": col.method,
                "reason": col.reason,
                "kind": col.kind,
                "policy": col.policy,
                "rule": col.rule,
                "statistic": finite_or_none(col.statistic),
                "p_value": finite_or_none(col.p_value),
                "p_metric": col.p_metric,
                "p_value_adjusted": finite_or_none(col.p_value_adjusted),
                "effect_metric": col.effect_metric,
                "effect_size": finite_or_none(col.effect_size),
                "effect_threshold": col.effect_threshold,
                "threshold": col.threshold,
                "n_reference": col.n_reference,
                "n_current": col.n_current,
                "n_missing_reference": col.n_missing_reference,
                "n_missing_current": col.n_missing_current,
                **col.details,
            }
        ),
    )


def _dataset_record(report: DriftReport) -> MetricRecord:
    """The model-level ``dataset_drift_share`` record."""
    return MetricRecord(
        analyzer="drift",
        metric="dataset_drift_share",
        feature=None,
        group=None,
        value=report.dataset_share,
        threshold=report.dataset_threshold,
        status=report.dataset_status,
        details={
            "drifted_columns": list(report.drifted_columns),
            "counted_columns": list(report.counted_columns),
            "n_drifted": len(report.drifted_columns),
            "n_counted": len(report.counted_columns),
            "rule": "share of drifted columns >= threshold",
        },
    )


def _multivariate_record(multivariate: MultivariateDrift) -> MetricRecord:
    """The model-level ``domain_classifier_auc`` record."""
    return MetricRecord(
        analyzer="drift",
        metric="domain_classifier_auc",
        feature=None,
        group=None,
        value=finite_or_none(multivariate.auc),
        threshold=multivariate.threshold,
        status=multivariate.status,
        details={
            "cv_folds": multivariate.folds,
            "n_reference": multivariate.n_reference,
            "n_current": multivariate.n_current,
            "top_features": [
                {"feature": name, "importance": finite_or_none(imp)}
                for name, imp in multivariate.top_features
            ],
            "importance": multivariate.importance,
            "features": list(multivariate.features),
            "reason": multivariate.reason,
            "ci_low": None if multivariate.auc_ci is None else multivariate.auc_ci[0],
            "ci_high": None if multivariate.auc_ci is None else multivariate.auc_ci[1],
            "confidence": multivariate.confidence,
            "ci_method": "DeLong",
            "n_duplicate_rows": multivariate.n_duplicate_rows,
        },
    )


def drift_records(
    report: DriftReport, multivariate: MultivariateDrift | None = None
) -> list[MetricRecord]:
    """Flatten drift results into :class:`MetricRecord` rows (``analyzer="drift"``).

    Per column: one record per metric (``ks``, ``wasserstein_normed``, ``psi``,
    ``jensenshannon``, ``kl``, ``anderson_darling`` for numeric columns; ``chi2``,
    ``z_test`` (two categories only), ``psi``, ``jensenshannon``, ``tvd`` for categorical
    and boolean ones; low-cardinality numeric columns add ``chi2``/``z_test``/``tvd``) and
    ``drift_detected`` (1.0/0.0). Model level: ``dataset_drift_share`` and, when given,
    ``domain_classifier_auc``.

    Parameters
    ----------
    report : DriftReport
    multivariate : MultivariateDrift, optional

    Returns
    -------
    list of MetricRecord
        ``details`` are JSON-serialisable (no NaN, no NumPy scalars).
    """
    out: list[MetricRecord] = []
    for col in report.columns:
        out.extend(_metric_record(value, col) for value in col.metrics)
        out.append(_verdict_record(col))
    out.append(_dataset_record(report))
    if multivariate is not None:
        out.append(_multivariate_record(multivariate))
    return out
