"""Loaders, frames and charts of the compare page (candidate versus baseline).

The page reads one comparison's stored windows (analyzer ``comparison``, stored under
the candidate) through :func:`monitors.compare.service.comparison_report`, cached like
every loader in :mod:`app.data`. The frame builders are pure (tested without
Streamlit); names from the data reach the browser only as Vega text or as cells of
``st.dataframe``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import altair as alt
import pandas as pd
import streamlit as st

from app import charts, data
from app import format as fmt
from monitors.compare import MetricDelta
from monitors.compare.service import ComparisonReport, comparison_report, comparisons
from storage.comparisons import ComparisonInfo

VERDICT_WORDS: Final = {
    "candidate_better": "candidate better",
    "candidate_worse": "candidate worse",
    "no_difference": "no difference",
    "insufficient_data": "not enough data",
}
MODEL_METRICS_ORDER: Final = (
    "accuracy",
    "roc_auc",
    "f1",
    "precision",
    "recall",
    "log_loss",
    "brier_score",
    "expected_calibration_error",
    "mae",
    "rmse",
    "r2",
    "mape",
)


@st.cache_data(ttl=data.TTL, show_spinner=False)
def defined(url: str) -> list[ComparisonInfo]:
    """Every comparison, by name."""
    return comparisons(url)


@st.cache_data(ttl=data.TTL, show_spinner=False)
def report(url: str, name: str, start: datetime, end: datetime) -> ComparisonReport:
    """The comparison's windows in the period and its pooled verdict."""
    return comparison_report(url, name, start=start, end=end)


def _deltas(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored ``<metric>_delta`` records with their details spread into columns."""
    rows = frame[frame["metric"].str.endswith("_delta")]
    if rows.empty:
        return pd.DataFrame(
            columns=[
                "window_start",
                "metric",
                "feature",
                "group",
                "kind",
                "baseline",
                "candidate",
                "delta",
                "ci_low",
                "ci_high",
                "verdict",
                "n",
            ]
        )
    details = pd.DataFrame(list(rows["details"].map(lambda d: d or {})), index=rows.index)
    out = pd.DataFrame(
        {
            "window_start": rows["window_start"],
            "metric": details.get("metric"),
            "feature": rows["feature"],
            "group": rows["group"],
            "kind": details.get("kind"),
            "baseline": details.get("baseline"),
            "candidate": details.get("candidate"),
            "delta": rows["value"],
            "ci_low": details.get("ci_low"),
            "ci_high": details.get("ci_high"),
            "verdict": details.get("verdict"),
            "n": details.get("n"),
        }
    )
    return out.reset_index(drop=True)


def model_metrics(rep: ComparisonReport) -> list[str]:
    """Model-level metrics compared in the period (realized first, in a reading order)."""
    d = _deltas(rep.results)
    found = set(d.loc[d["feature"].isna(), "metric"].dropna())
    ordered = [m for m in MODEL_METRICS_ORDER if m in found]
    return ordered + sorted(found - set(ordered))


def both_over_time(rep: ComparisonReport, metric: str) -> pd.DataFrame:
    """``window_start``, ``model`` (baseline / candidate name), ``value`` of one metric."""
    d = _deltas(rep.results)
    d = d[(d["metric"] == metric) & d["feature"].isna()]
    parts = [
        d[["window_start"]].assign(model=f"{role}: {name}", value=d[role].astype("float64"))
        for role, name in (("baseline", rep.info.baseline), ("candidate", rep.info.candidate))
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def delta_over_time(rep: ComparisonReport, metric: str) -> pd.DataFrame:
    """One metric's candidate − baseline per window with its interval and verdict."""
    d = _deltas(rep.results)
    d = d[(d["metric"] == metric) & d["feature"].isna()].copy()
    for col in ("delta", "ci_low", "ci_high"):
        d[col] = d[col].astype("float64")
    d["verdict_text"] = d["verdict"].map(lambda v: VERDICT_WORDS.get(v, str(v)))
    return d.reset_index(drop=True)


def delta_chart(frame: pd.DataFrame, *, window: str | None) -> alt.LayerChart:
    """The difference per window: interval band, line, points coloured by verdict, zero."""
    frame = frame.assign(
        when=pd.to_datetime(frame["window_start"], utc=True).dt.strftime("%Y-%m-%d %H:%M UTC")
    )
    x = alt.X(
        "window_start:T", axis=charts.time_axis(window, len(frame)), scale=alt.Scale(type="utc")
    )
    band = (
        alt.Chart(frame)
        .mark_area(opacity=0.25, color="#4c78a8")
        .encode(x=x, y=alt.Y("ci_low:Q", title="candidate − baseline"), y2="ci_high:Q")
    )
    line = alt.Chart(frame).mark_line(color="#4c78a8").encode(x=x, y="delta:Q")
    points = (
        alt.Chart(frame)
        .mark_point(filled=True, size=50)
        .encode(
            x=x,
            y="delta:Q",
            color=alt.Color(
                "verdict_text:N",
                title="verdict",
                scale=alt.Scale(
                    domain=list(VERDICT_WORDS.values()),
                    range=["#2e7d32", "#c62828", "#9e9e9e", "#d0d0d0"],
                ),
            ),
            tooltip=[
                alt.Tooltip("when:N", title="window"),
                alt.Tooltip("delta:Q", format="+.4f"),
                alt.Tooltip("ci_low:Q", format="+.4f", title="interval low"),
                alt.Tooltip("ci_high:Q", format="+.4f", title="interval high"),
                alt.Tooltip("verdict_text:N", title="verdict"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 3]).encode(y="y:Q")
    return alt.LayerChart(layer=[band, line, points, zero])


def _interval(low: Any, high: Any) -> str:
    if fmt.missing(low) or fmt.missing(high):
        return fmt.DASH
    return f"[{float(low):+.4f}, {float(high):+.4f}]"


def _signed(value: Any) -> str:
    return fmt.DASH if fmt.missing(value) else f"{float(value):+.4f}"


def period_table(
    deltas: list[MetricDelta] | tuple[MetricDelta, ...], kinds: tuple[str, ...]
) -> pd.DataFrame:
    """The period's pooled differences of some kinds, as plain-text cells."""
    rows = [
        {
            "metric": d.metric,
            "attribute": d.feature,
            "group": d.group,
            "baseline": fmt.num(d.baseline, 4),
            "candidate": fmt.num(d.candidate, 4),
            "candidate − baseline": _signed(d.delta),
            "interval": _interval(d.ci_low, d.ci_high),
            "p-value": fmt.num(d.p_value, 2),
            "detectable ≈": fmt.num(None if d.mde is None else abs(d.mde), 2),
            "rows": fmt.count(min(d.n_baseline, d.n_candidate)),
            "verdict": VERDICT_WORDS.get(d.verdict, d.verdict),
        }
        for d in deltas
        if d.kind in kinds
    ]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    if "group" not in kinds:  # model-level: no attribute or group to show
        frame = frame.drop(columns=["attribute", "group"])
    return fmt.display_frame(frame)


def disparity_table(rep: ComparisonReport, attribute: str) -> pd.DataFrame:
    """Disparities of one attribute side by side over the period (pooled)."""
    rows = [
        {
            "disparity": d.metric,
            "baseline": fmt.num(d.baseline, 3),
            "candidate": fmt.num(d.candidate, 3),
            "candidate − baseline": _signed(d.delta),
            "interval": _interval(d.ci_low, d.ci_high),
            "verdict": VERDICT_WORDS.get(d.verdict, d.verdict),
        }
        for d in rep.period
        if d.kind == "disparity" and d.feature == attribute
    ]
    return fmt.display_frame(pd.DataFrame(rows)) if rows else pd.DataFrame()


def attributes(rep: ComparisonReport) -> list[str]:
    """Sensitive attributes with compared groups or disparities."""
    return sorted({d.feature for d in rep.period if d.feature is not None})


def windows_table(rep: ComparisonReport) -> pd.DataFrame:
    """One row per window: start, verdict, the sentence."""
    w = rep.window_verdicts
    if w.empty:
        return w
    return fmt.display_frame(
        w,
        {"window_start": "window", "verdict": "verdict", "sentence": "in words"},
        {"verdict": lambda v: VERDICT_WORDS.get(v, fmt.text(v))},
    )


def extras(rep: ComparisonReport) -> pd.DataFrame:
    """Shadow: agreement and score KS per window; split: traffic share and the SRM test."""
    wanted = (
        "prediction_agreement",
        "score_distribution_ks",
        "traffic_share",
        "sample_ratio_mismatch",
    )
    rows = rep.results[rep.results["metric"].isin(wanted)]
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(
        index="window_start", columns="metric", values="value", aggfunc="first"
    )
    table = table.reset_index()
    names = {
        "window_start": "window",
        "prediction_agreement": "same prediction",
        "score_distribution_ks": "score KS distance",
        "traffic_share": "candidate traffic share",
        "sample_ratio_mismatch": "SRM chi-square",
    }
    formats = {
        "prediction_agreement": lambda v: fmt.pct(v, 1),
        "traffic_share": lambda v: fmt.pct(v, 1),
        "score_distribution_ks": lambda v: fmt.num(v, 3),
        "sample_ratio_mismatch": lambda v: fmt.num(v, 3),
    }
    return fmt.display_frame(table, {k: v for k, v in names.items() if k in table}, formats)
