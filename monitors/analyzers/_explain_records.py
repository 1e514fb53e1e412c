"""Flattening explain results into :class:`~monitors.analyzers.base.MetricRecord` rows."""

from __future__ import annotations

from typing import Any

from monitors.analyzers._explain_types import ANALYZER, AttributionDrift, GlobalImportance
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, MetricRecord


def _share_records(importance: GlobalImportance, details: dict[str, Any]) -> list[MetricRecord]:
    """``attribution_share`` per feature when there is no reference to compare with."""
    records = []
    for feature, share in zip(importance.features, importance.shares, strict=True):
        status = importance.status if share is not None else INSUFFICIENT_DATA
        extra: dict[str, Any] = {"reference_share": None, "change": None}
        records.append(
            MetricRecord(
                ANALYZER,
                "attribution_share",
                feature,
                None,
                share,
                None,
                status,
                {**details, **extra},
            )
        )
    return records


def _shift_records(drift: AttributionDrift, drift_details: dict[str, Any]) -> list[MetricRecord]:
    """``attribution_share`` per feature, judged against the reference share."""
    records = []
    for shift in drift.features:
        extra = {"reference_share": shift.reference_share, "change": shift.change}
        records.append(
            MetricRecord(
                ANALYZER,
                "attribution_share",
                shift.feature,
                None,
                shift.current_share,
                shift.threshold,
                shift.status,
                {**drift_details, **extra},
            )
        )
    return records


def _drift_summary_records(
    drift: AttributionDrift, drift_details: dict[str, Any]
) -> list[MetricRecord]:
    """``attribution_rank_correlation`` and ``attribution_drift`` (max |share change|)."""
    worst = max(
        (s for s in drift.features if s.change is not None),
        key=lambda s: abs(s.change or 0.0),
        default=None,
    )
    return [
        MetricRecord(
            ANALYZER,
            "attribution_rank_correlation",
            None,
            None,
            drift.rank_correlation,
            drift.rank_correlation_threshold,
            drift.rank_status,
            dict(drift_details),
        ),
        MetricRecord(
            ANALYZER,
            "attribution_drift",
            None,
            None,
            drift.max_abs_change,
            drift.threshold,
            drift.status,
            {
                **drift_details,
                "feature": worst.feature if worst else None,
                "drifted_features": [s.feature for s in drift.features if s.status == DRIFT],
            },
        ),
    ]


def explain_records(
    importance: GlobalImportance, drift: AttributionDrift | None
) -> list[MetricRecord]:
    """Flatten a window's importance (and its drift from the reference) into metric records.

    Metrics: ``mean_abs_shap`` and ``attribution_share`` per feature, and with ``drift``
    also ``attribution_rank_correlation`` and ``attribution_drift`` (max |share change|).

    Parameters
    ----------
    importance : GlobalImportance
        The window's importance.
    drift : AttributionDrift or None
        Its comparison with the reference, if there is one.

    Returns
    -------
    list of MetricRecord
    """
    details = {
        "method": importance.method,
        "reason": importance.reason,
        "output": importance.output,
        "sample_size": importance.n_rows,
        "n_available": importance.n_available,
    }
    records = [
        MetricRecord(
            ANALYZER, "mean_abs_shap", feature, None, value, None, importance.status, dict(details)
        )
        for feature, value in zip(importance.features, importance.mean_abs_shap, strict=True)
    ]
    if drift is None:
        return records + _share_records(importance, details)
    drift_details = {**details, "reference_sample_size": drift.n_reference}
    return (
        records
        + _shift_records(drift, drift_details)
        + _drift_summary_records(drift, drift_details)
    )
