"""Estimated beside realized performance, for the performance page.

Performance estimated without labels (analyzer ``estimated_performance``: CBPE for
classifiers, DLE for regressors, see ``docs/estimated-performance.md``) is stored for
every window; the realized metric (analyzer ``performance``) only once labels arrive.
:func:`side_by_side` puts both on one frame per window with the estimate's band and
threshold and the window's label coverage; :func:`estimate_only_text` says in words
which windows have an estimate only; :func:`chart` draws them; :func:`section` is the
page's part (one cached loader call, no SQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import altair as alt
import pandas as pd
import streamlit as st

from app import charts, data
from app import format as fmt
from monitors.analyzers.estimated import CBPE_METRICS, DLE_METRICS

ESTIMATES: Final = CBPE_METRICS + DLE_METRICS
"""Estimated metrics shown, in order."""
TITLES: Final = {
    "estimated_accuracy": "accuracy",
    "estimated_precision": "precision",
    "estimated_recall": "recall",
    "estimated_f1": "F1",
    "estimated_specificity": "specificity",
    "estimated_roc_auc": "ROC AUC",
    "estimated_mae": "MAE",
    "estimated_rmse": "RMSE",
}
ESTIMATED, REALIZED = "estimated", "realized"
_Y_AXIS: Final = alt.Axis(minExtent=40)
"""Same y-axis width on both charts, so their time axes line up."""
_COLUMNS: Final = [
    "window_start",
    "kind",
    "value",
    "ci_low",
    "ci_high",
    "threshold",
    "status",
    "n_rows",
    "n_labels",
    "coverage",
    "labels",
]


def realized_name(metric: str) -> str:
    """The realized metric an estimate stands beside (``estimated_f1`` → ``f1``).

    Examples
    --------
    >>> realized_name("estimated_roc_auc")
    'roc_auc'
    """
    return metric.removeprefix("estimated_")


def _labels_word(n_rows: float, n_labels: float) -> str:
    if not n_rows or n_labels <= 0:
        return "estimate only"
    return "labelled" if n_labels >= n_rows else "partly labelled"


def side_by_side(
    estimated: pd.DataFrame, realized: pd.DataFrame, runs: pd.DataFrame, metric: str
) -> pd.DataFrame:
    """One row per window and kind (``estimated``, ``realized``) of one metric.

    Parameters
    ----------
    estimated : pandas.DataFrame
        Stored ``estimated_performance`` values with ``details``.
    realized : pandas.DataFrame
        Stored ``performance`` values.
    runs : pandas.DataFrame
        Analysed windows with ``n_rows`` and ``n_labels``.
    metric : str
        An estimated metric (``estimated_f1``).

    Returns
    -------
    pandas.DataFrame
        ``window_start``, ``kind``, ``value``, ``ci_low``, ``ci_high`` and ``threshold``
        (the estimate's band and bad-side threshold; empty for realized rows),
        ``status``, ``n_rows``, ``n_labels``, ``coverage`` and ``labels``
        (``estimate only``, ``partly labelled`` or ``labelled``).
    """
    est = estimated[estimated["metric"] == metric]
    band = est["details"].map(lambda d: d if isinstance(d, Mapping) else {})
    est = est.assign(
        kind=ESTIMATED,
        ci_low=band.map(lambda d: d.get("ci_low")).astype("float64"),
        ci_high=band.map(lambda d: d.get("ci_high")).astype("float64"),
    )
    real = realized[
        (realized["metric"] == realized_name(metric)) & realized["feature"].isna()
    ].assign(kind=REALIZED, ci_low=float("nan"), ci_high=float("nan"), threshold=float("nan"))
    both = pd.concat(
        [
            frame[["window_start", "kind", "value", "ci_low", "ci_high", "threshold", "status"]]
            for frame in (est, real)
        ],
        ignore_index=True,
    )
    counts = runs[["window_start", "n_rows", "n_labels"]]
    both = both.merge(counts, on="window_start", how="left")
    rows = both["n_rows"].astype("float64")
    both["coverage"] = both["n_labels"].astype("float64") / rows.where(rows > 0)
    both["labels"] = [
        _labels_word(r, lab)
        for r, lab in zip(rows.fillna(0), both["n_labels"].fillna(0), strict=True)
    ]
    return both.sort_values(["window_start", "kind"], ignore_index=True)[_COLUMNS]


def _ranges(starts: list[pd.Timestamp], runs: pd.DataFrame) -> list[tuple[Any, Any, int]]:
    """Consecutive runs of the given window starts, as ``(first, last, count)``."""
    order = list(runs["window_start"])
    position = {s: i for i, s in enumerate(order)}
    out: list[tuple[Any, Any, int]] = []
    for s in sorted(starts, key=lambda s: position[s]):
        if out and position[out[-1][1]] + 1 == position[s]:
            out[-1] = (out[-1][0], s, out[-1][2] + 1)
        else:
            out.append((s, s, 1))
    return out


def estimate_only_text(runs: pd.DataFrame, *, daily: bool = True) -> str:
    """Which windows have an estimate only (no label yet) and which are partly labelled.

    Examples
    --------
    >>> runs = pd.DataFrame({"window_start": pd.to_datetime(
    ...     ["2026-02-01", "2026-02-02", "2026-02-03"], utc=True),
    ...     "n_rows": [10, 10, 10], "n_labels": [10, 0, 0]})
    >>> estimate_only_text(runs)
    'Estimate only (no labels yet): 2026-02-02 – 2026-02-03 (2 windows).'
    """
    if runs.empty:
        return "No analysed window in this period."
    ordered = runs.sort_values("window_start", ignore_index=True)
    none = list(ordered.loc[ordered["n_labels"] <= 0, "window_start"])
    partial = list(
        ordered.loc[
            (ordered["n_labels"] > 0) & (ordered["n_labels"] < ordered["n_rows"]), "window_start"
        ]
    )

    def spans(starts: list[Any]) -> str:
        parts = []
        for first, last, n in _ranges(starts, ordered):
            label = fmt.window(first, daily=daily)
            if n > 1:
                label += f" – {fmt.window(last, daily=daily)}"
            parts.append(f"{label} ({n} window{'s' if n > 1 else ''})")
        return ", ".join(parts)

    words = []
    if none:
        words.append(f"Estimate only (no labels yet): {spans(none)}.")
    if partial:
        words.append(f"Partly labelled, realized on the labelled rows only: {spans(partial)}.")
    if not words:
        words.append("Every window has all its labels: estimate and realized side by side.")
    return " ".join(words)


def _axes(frame: pd.DataFrame, window: str | None) -> tuple[alt.X, alt.Tooltip]:
    """The shared time axis and window tooltip of the two charts."""
    n = max(int(frame["window_start"].nunique()), 1)
    x = alt.X("window_start:T", axis=charts.time_axis(window, n), scale=alt.Scale(type="utc"))
    when = alt.Tooltip(
        "window_start:T", title="window", format="%Y-%m-%d %H:%M UTC", formatType="utc"
    )
    return x, when


def chart(frame: pd.DataFrame, *, title: str, window: str | None = None) -> alt.LayerChart:
    """Estimated and realized lines with the estimate's band and threshold."""
    x, when = _axes(frame, window)
    kinds = alt.Scale(domain=[ESTIMATED, REALIZED], range=["#f58518", "#4c78a8"])
    est = frame[frame["kind"] == ESTIMATED]
    band = (
        alt.Chart(est)
        .mark_area(opacity=0.2, color="#f58518")
        .encode(
            x=x,
            y=alt.Y("ci_low:Q", title=title, scale=alt.Scale(zero=False), axis=_Y_AXIS),
            y2="ci_high:Q",
        )
    )
    lines = (
        alt.Chart(frame[frame["value"].notna()])
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False), axis=_Y_AXIS),
            color=alt.Color("kind:N", scale=kinds, title=None, legend=alt.Legend(orient="top")),
            strokeDash=alt.StrokeDash(
                "kind:N", scale=alt.Scale(domain=[ESTIMATED, REALIZED], range=[[5, 3], [1, 0]])
            ),
            tooltip=[
                alt.Tooltip("kind:N", title=""),
                when,
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("ci_low:Q", title="band from", format=".3f"),
                alt.Tooltip("ci_high:Q", title="band to", format=".3f"),
                alt.Tooltip("labels:N", title="labels"),
                alt.Tooltip("coverage:Q", title="label coverage", format=".0%"),
                alt.Tooltip("status:N"),
            ],
        )
    )
    layers: list[Any] = [band, lines]
    limit = est[est["threshold"].notna()]
    if not limit.empty:
        layers.append(
            alt.Chart(limit)
            .mark_line(strokeDash=[6, 3], color=charts.THRESHOLD_COLOR)
            .encode(x=x, y="threshold:Q", tooltip=[when, alt.Tooltip("threshold:Q", format=".3f")])
        )
        last = limit.sort_values("window_start").tail(1)
        last = last.assign(text=[f"threshold {v:.3g}" for v in last["threshold"]])
        layers.append(
            alt.Chart(last)
            .mark_text(
                align="right", baseline="top", dy=3, color=charts.THRESHOLD_COLOR, fontSize=11
            )
            .encode(x=x, y="threshold:Q", text="text:N")
        )
    return alt.layer(*layers).properties(height=280)


def coverage_chart(frame: pd.DataFrame, *, window: str | None = None) -> alt.Chart:
    """Label coverage of each window (bars), on the same time axis as :func:`chart`."""
    x, when = _axes(frame, window)
    windows = frame[frame["kind"] == ESTIMATED].drop_duplicates("window_start")
    return (
        alt.Chart(windows)
        .mark_bar(color="#9ecae9")
        .encode(
            x=x,
            y=alt.Y(
                "coverage:Q",
                title="labels",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", tickCount=2, minExtent=_Y_AXIS.minExtent),
            ),
            tooltip=[when, alt.Tooltip("coverage:Q", title="label coverage", format=".0%")],
        )
        .properties(height=120)
    )


def table(frame: pd.DataFrame, *, daily: bool = True) -> pd.DataFrame:
    """Plain-text rows per window: estimate with band, realized, coverage, status."""
    est = frame[frame["kind"] == ESTIMATED].set_index("window_start")
    real = frame[frame["kind"] == REALIZED].set_index("window_start")["value"]
    rows = []
    for start, row in est.sort_index(ascending=False).iterrows():
        band = (
            f"{fmt.fixed(row['ci_low'], 3)} – {fmt.fixed(row['ci_high'], 3)}"
            if not fmt.missing(row["ci_low"])
            else fmt.DASH
        )
        rows.append(
            {
                "window (UTC)": fmt.window(start, daily=daily),
                "estimated": fmt.fixed(row["value"], 3),
                "band": band,
                "threshold": fmt.fixed(row["threshold"], 3),
                "realized": fmt.fixed(real.get(start), 3),
                "label coverage": fmt.pct(row["coverage"], 0),
                "labels": row["labels"],
                "status": row["status"].replace("_", " ")
                if isinstance(row["status"], str)
                else fmt.DASH,
            }
        )
    return pd.DataFrame(rows)


def _warning(estimated: pd.DataFrame) -> str | None:
    """The calibration warning of the latest estimate, if any."""
    if estimated.empty:
        return None
    last = estimated.sort_values("window_start").iloc[-1]["details"]
    return (last or {}).get("calibration_warning") if isinstance(last, Mapping) else None


def calibration_notice(url: str, model: str, *, start: datetime, end: datetime) -> None:
    """A warning when the estimate rests on a poor calibration on the reference."""
    estimated = data.metric_details(url, model, ESTIMATES, start, end)
    warning = _warning(estimated)
    if warning:
        st.warning(
            f"Estimated performance may not be trusted: {fmt.md(warning)}. The model's "
            "scores on the reference are not good probabilities even after calibration "
            "(see the performance page and docs/estimated-performance.md)."
        )


def section(
    url: str,
    model: str,
    *,
    window: str,
    start: datetime,
    end: datetime,
    realized: pd.DataFrame,
    runs: pd.DataFrame,
) -> None:
    """The performance page's "Estimated and realized" part (nothing if nothing is stored)."""
    estimated = data.metric_details(url, model, ESTIMATES, start, end)
    estimated = estimated[estimated["feature"].isna()] if not estimated.empty else estimated
    if estimated.empty:
        return
    st.subheader("Estimated and realized performance")
    daily = window.endswith("d") or window.endswith("w") or window.endswith("mo")
    st.caption(
        "Estimated from the model's scores alone (no labels used), for every window; "
        "the realized value appears as labels arrive. The shaded band is the estimate's "
        "sampling error, the dashed line its threshold from the reference. "
        + estimate_only_text(runs, daily=daily)
    )
    warning = _warning(estimated)
    if warning:
        st.warning(f"The estimate may not be trusted: {fmt.md(warning)}.")
    present = [m for m in ESTIMATES if m in set(estimated["metric"])]
    default = "estimated_f1" if "estimated_f1" in present else present[0]
    metric = st.selectbox(
        "Estimated metric",
        present,
        index=present.index(default),
        format_func=lambda m: TITLES.get(m, m),
    )
    frame = side_by_side(estimated, realized, runs, metric)
    st.altair_chart(chart(frame, title=TITLES.get(metric, metric), window=window), width="stretch")
    st.caption("Label coverage of each window (share of its rows whose label has arrived).")
    st.altair_chart(coverage_chart(frame, window=window), width="stretch")
    st.dataframe(table(frame, daily=daily), hide_index=True)
