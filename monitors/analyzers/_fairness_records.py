"""Flattening a :class:`FairnessReport` into :class:`~monitors.analyzers.base.MetricRecord` rows."""

from __future__ import annotations

from typing import Any, Final

from monitors.analyzers._fairness_types import (
    DISPARITIES,
    Disparity,
    FairnessReport,
    GroupMetrics,
)
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord

ANALYZER: Final = "fairness"


def _group_records(g: GroupMetrics, common: dict[str, Any]) -> list[MetricRecord]:
    """One record per metric of one group."""
    records = []
    for est in g.estimates:
        details: dict[str, Any] = {
            "ci_low": est.ci_low,
            "ci_high": est.ci_high,
            "n": g.n,
            "n_labelled": g.n_labelled,
            "min_group_size": g.min_group_size,
            **common,
        }
        if est.interval_method is not None:
            details["interval"] = est.interval_method
        if est.reason is not None:
            details["reason"] = est.reason
        records.append(
            MetricRecord(
                analyzer=ANALYZER,
                metric=est.metric,
                feature=g.feature,
                group=g.group,
                value=est.value,
                threshold=None,
                status=INSUFFICIENT_DATA if est.insufficient_data else OK,
                details=details,
            )
        )
    return records


def _disparity_record(d: Disparity, common: dict[str, Any]) -> MetricRecord:
    """The record of one disparity of one attribute (``group`` is ``None``)."""
    details: dict[str, Any] = {
        "ci_low": d.ci_low,
        "ci_high": d.ci_high,
        "restricted_value": d.restricted_value,
        "excluded_groups": list(d.excluded_groups),
        "min_group_size": d.min_group_size,
        "n_groups": d.n_groups,
        "method": "between_groups",
        "breach_if": "value > threshold" if DISPARITIES[d.metric] else "value < threshold",
        "significant": d.significant,
        **common,
    }
    if d.interval_method is not None:
        details["interval"] = d.interval_method
    if d.metric == "disparate_impact_ratio":
        details["group_ratios"] = dict(d.group_ratios)
        details["restricted_group_ratios"] = dict(d.restricted_group_ratios)
        details["four_fifths_pass"] = d.four_fifths_pass
    if d.reason is not None:
        details["reason"] = d.reason
    status = INSUFFICIENT_DATA if d.breach is None else (BREACH if d.breach else OK)
    return MetricRecord(
        analyzer=ANALYZER,
        metric=d.metric,
        feature=d.feature,
        group=None,
        value=d.value,
        threshold=d.threshold,
        status=status,
        details=details,
    )


def fairness_records(report: FairnessReport) -> list[MetricRecord]:
    """Flatten a :class:`FairnessReport` into stored metric records.

    Parameters
    ----------
    report : FairnessReport
        The result of :func:`group_fairness`.

    Returns
    -------
    list of MetricRecord
        One record per group and metric (``feature`` the attribute or intersection,
        ``group`` like ``sex=F&age_band=25-34``, status ``insufficient_data`` for small
        groups or undefined values, else ``ok``; details ``ci_low``, ``ci_high``, ``n``,
        ``n_labelled``, ``interval``: how the interval was built), then one per
        attribute and disparity (``group`` ``None``, status
        ``breach``/``ok``/``insufficient_data``; details ``ci_low``, ``ci_high``,
        ``interval``, ``significant`` (a breach whose whole interval is past the
        threshold), ``restricted_value``, ``excluded_groups``, and for
        ``disparate_impact_ratio`` ``group_ratios`` and ``four_fifths_pass``).
    """
    records: list[MetricRecord] = []
    common = {"confidence": report.confidence, "n_bootstrap": report.n_bootstrap}
    for g in report.groups:
        records.extend(_group_records(g, common))
    records.extend(_disparity_record(d, common) for d in report.disparities)
    return records
