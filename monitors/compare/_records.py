"""Flattening a :class:`WindowComparison` into metric records (analyzer ``comparison``)."""

from __future__ import annotations

from typing import Any

from scipy import stats

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.compare._config import (
    ANALYZER,
    INSUFFICIENT,
    VERDICT_VALUE,
    WORSE,
    ComparisonConfig,
    delta_name,
)
from monitors.compare._types import MetricDelta, WindowComparison

VERDICT_METRIC = "comparison_verdict"
OTHER_METRICS = (
    VERDICT_METRIC,
    "prediction_agreement",
    "score_distribution_ks",
    "traffic_share",
    "sample_ratio_mismatch",
)
"""Names of the comparison records that are not ``<metric>_delta``."""


def _status(verdict: str) -> str:
    if verdict == INSUFFICIENT:
        return INSUFFICIENT_DATA
    return BREACH if verdict == WORSE else OK


def delta_details(d: MetricDelta, common: dict[str, Any]) -> dict[str, Any]:
    """The details of one ``<metric>_delta`` record."""
    return {
        **common,
        **{k: v for k, v in d.details.items() if k != "alpha"},
        "kind": d.kind,
        "metric": d.metric,
        "direction": d.direction,
        "baseline": finite_or_none(d.baseline),
        "candidate": finite_or_none(d.candidate),
        "ci_low": finite_or_none(d.ci_low),
        "ci_high": finite_or_none(d.ci_high),
        "p_value": finite_or_none(d.p_value),
        "se": finite_or_none(d.se),
        "mde": finite_or_none(d.mde),
        "n_baseline": d.n_baseline,
        "n_candidate": d.n_candidate,
        "n": min(d.n_baseline, d.n_candidate),
        "test": d.test,
        "verdict": d.verdict,
        "breach_if": "candidate significantly worse (interval past 0 on the bad side)",
    }


def _delta_record(d: MetricDelta, common: dict[str, Any], config: ComparisonConfig) -> MetricRecord:
    effect = config.min_effect.get(d.metric, 0.0)
    threshold = -effect if d.direction == "higher_is_better" else effect
    return MetricRecord(
        ANALYZER,
        delta_name(d.metric),
        d.feature,
        d.group,
        finite_or_none(d.delta),
        threshold,
        _status(d.verdict),
        delta_details(d, common),
    )


def _shadow_records(result: WindowComparison, common: dict[str, Any]) -> list[MetricRecord]:
    out = []
    if result.agreement is not None:
        a = result.agreement
        out.append(
            MetricRecord(
                ANALYZER,
                "prediction_agreement",
                None,
                None,
                finite_or_none(a.value),
                None,
                OK if a.value is not None else INSUFFICIENT_DATA,
                {
                    **common,
                    "ci_low": a.ci_low,
                    "ci_high": a.ci_high,
                    "n": a.n,
                    "interval": "wilson",
                },
            )
        )
    if result.score_drift is not None:
        s = result.score_drift
        out.append(
            MetricRecord(
                ANALYZER,
                "score_distribution_ks",
                None,
                None,
                finite_or_none(s.ks),
                None,
                OK if s.ks is not None else INSUFFICIENT_DATA,
                {
                    **common,
                    "column": s.column,
                    "p_value": finite_or_none(s.p_value),
                    "mean_abs_difference": finite_or_none(s.mean_abs_difference),
                    "correlation": finite_or_none(s.correlation),
                    "n": s.n,
                    "test": "two-sample Kolmogorov-Smirnov (the pairs are not independent: "
                    "read the statistic, not the p-value)",
                },
            )
        )
    return out


def _split_records(
    result: WindowComparison, common: dict[str, Any], config: ComparisonConfig
) -> list[MetricRecord]:
    t = result.traffic
    if t is None:
        return []
    share = t.share
    critical = float(stats.chi2.isf(config.srm_alpha, 1))
    return [
        MetricRecord(
            ANALYZER,
            "traffic_share",
            None,
            None,
            finite_or_none(share.value),
            None,
            OK if share.value is not None else INSUFFICIENT_DATA,
            {
                **common,
                "expected": t.expected,
                "ci_low": share.ci_low,
                "ci_high": share.ci_high,
                "n": share.n,
                "interval": "wilson",
            },
        ),
        MetricRecord(
            ANALYZER,
            "sample_ratio_mismatch",
            None,
            None,
            finite_or_none(t.chi2),
            critical,
            INSUFFICIENT_DATA if t.chi2 is None else (BREACH if t.mismatch else OK),
            {
                **common,
                "p_value": finite_or_none(t.p_value),
                "srm_alpha": config.srm_alpha,
                "expected_share": t.expected,
                "observed_share": finite_or_none(share.value),
                "n": share.n,
                "test": "chi-square goodness of fit to the declared split (1 df)",
                "breach_if": "p_value < srm_alpha (value > threshold)",
            },
        ),
    ]


def _verdict_record(result: WindowComparison, common: dict[str, Any]) -> MetricRecord:
    v = result.verdict
    d = v.delta
    details: dict[str, Any] = {
        **common,
        "verdict": v.verdict,
        "sentence": v.sentence,
        "primary_metric": v.metric,
        "basis": v.basis,
        "worse_on": list(v.worse_on),
        "better_on": list(v.better_on),
        "warnings": list(v.warnings),
        "n_baseline_rows": result.n_baseline,
        "n_candidate_rows": result.n_candidate,
        "n_shared": result.n_shared,
        "n_labelled": result.n_labelled,
        "values": "1 candidate_better, 0 no_difference, -1 candidate_worse",
    }
    if d is not None:
        details.update(
            {
                "delta": finite_or_none(d.delta),
                "ci_low": finite_or_none(d.ci_low),
                "ci_high": finite_or_none(d.ci_high),
                "p_value": finite_or_none(d.p_value),
                "mde": finite_or_none(d.mde),
                "n": min(d.n_baseline, d.n_candidate),
            }
        )
    return MetricRecord(
        ANALYZER,
        VERDICT_METRIC,
        None,
        None,
        VERDICT_VALUE.get(v.verdict),
        0.0,
        _status(v.verdict),
        details,
    )


def comparison_records(
    result: WindowComparison,
    *,
    name: str,
    baseline: str,
    candidate: str,
    config: ComparisonConfig,
) -> list[MetricRecord]:
    """Flatten a :class:`WindowComparison` into stored metric records.

    Records (analyzer ``comparison``, stored under the candidate model):

    * ``<metric>_delta`` per compared metric — model level, per group (``feature`` the
      attribute, ``group`` like ``sex=F``) and per disparity (``feature`` the attribute):
      value candidate − baseline; details ``baseline``, ``candidate``, ``ci_low``,
      ``ci_high``, ``p_value``, ``se``, ``mde``, ``n``, ``test``, ``verdict``; status
      ``breach`` when the candidate is significantly worse;
    * shadow mode: ``prediction_agreement`` (share of requests given the same class,
      Wilson interval) and ``score_distribution_ks``;
    * split mode: ``traffic_share`` and ``sample_ratio_mismatch`` (chi-square statistic;
      threshold its critical value at ``srm_alpha``);
    * ``comparison_verdict``: 1 / 0 / -1 for better / no difference / worse on the
      primary metric (``None`` when there is not enough data), the sentence in details.

    Every record's details carry ``comparison``, ``baseline_model``, ``candidate_model``,
    ``mode``, ``alpha`` and ``confidence``.
    """
    common = {
        "comparison": name,
        "baseline_model": baseline,
        "candidate_model": candidate,
        "mode": result.mode,
        "alpha": result.alpha,
        "confidence": round(1 - result.alpha, 10),
        "n_bootstrap": result.n_bootstrap,
    }
    records = [_delta_record(d, common, config) for d in result.deltas]
    records += _shadow_records(result, common)
    records += _split_records(result, common, config)
    records.append(_verdict_record(result, common))
    return records
