"""Altair charts shared by the pages. Each function takes a DataFrame, returns a chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

STATUS_COLORS = alt.Scale(
    domain=["ok", "drift", "breach", "insufficient_data"],
    range=["#4c78a8", "#e45756", "#e45756", "#bab0ac"],
)


def drift_heatmap(frame: pd.DataFrame) -> alt.Chart:
    """Feature × window heatmap of the drift score; drifted cells carry a dot.

    ``frame`` has ``window_start``, ``feature``, ``score``, ``drifted``, ``status``.
    """
    base = alt.Chart(frame).encode(
        x=alt.X("yearmonthdate(window_start):O", title="window"),
        y=alt.Y("feature:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "score:Q", title="Jensen-Shannon", scale=alt.Scale(scheme="orangered", domain=[0, 0.5])
        ),
        tooltip=[
            alt.Tooltip("feature:N"),
            alt.Tooltip("window_start:T", title="window"),
            alt.Tooltip("score:Q", format=".3f", title="Jensen-Shannon"),
            alt.Tooltip("status:N", title="verdict"),
        ],
    )
    dots = (
        base.transform_filter(alt.datum.drifted == 1)
        .mark_point(shape="circle", filled=True, size=18, color="black")
        .encode(tooltip=[alt.Tooltip("feature:N"), alt.Tooltip("status:N", title="verdict")])
    )
    return (cells + dots).properties(height=max(120, 30 * frame["feature"].nunique()))


def metric_over_time(
    frame: pd.DataFrame, *, color: str | None = None, title: str = "value", thresholds: bool = True
) -> alt.LayerChart | alt.Chart:
    """Line of ``value`` per window (one line per ``color``), dashed ``threshold`` if any."""
    enc: dict[str, Any] = {
        "x": alt.X("window_start:T", title="window"),
        "y": alt.Y("value:Q", title=title),
        "tooltip": [
            alt.Tooltip("window_start:T", title="window"),
            alt.Tooltip("value:Q", format=".4f"),
            alt.Tooltip("status:N"),
        ],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N")
        enc["tooltip"].insert(0, alt.Tooltip(f"{color}:N"))
    line = alt.Chart(frame).mark_line(point=True).encode(**enc)
    if not thresholds or frame["threshold"].isna().all():
        return line
    rule = (
        alt.Chart(frame)
        .mark_line(strokeDash=[6, 3], color="#e45756")
        .encode(
            x="window_start:T", y="threshold:Q", detail=f"{color}:N" if color else alt.Undefined
        )
    )
    return line + rule


def distribution_comparison(details: Mapping[str, Any]) -> alt.Chart:
    """Reference vs window proportions per bin or category (from ``psi`` details)."""
    labels = _bin_labels(details)
    frame = pd.DataFrame(
        {
            "bin": labels * 2,
            "order": list(range(len(labels))) * 2,
            "sample": ["reference"] * len(labels) + ["window"] * len(labels),
            "proportion": list(details.get("reference_proportions", []))
            + list(details.get("current_proportions", [])),
        }
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=alt.SortField("order"), title=None),
            xOffset="sample:N",
            y=alt.Y("proportion:Q", axis=alt.Axis(format="%")),
            color=alt.Color("sample:N", scale=alt.Scale(range=["#9ecae9", "#e45756"])),
            tooltip=["bin:N", "sample:N", alt.Tooltip("proportion:Q", format=".1%")],
        )
    )


def _bin_labels(details: Mapping[str, Any]) -> list[str]:
    if details.get("categories") is not None:
        return [str(c) for c in details["categories"]]
    edges: Sequence[float] = details.get("edges") or []
    n = len(details.get("reference_proportions") or [])
    if not edges:
        return [f"bin {i + 1}" for i in range(n)]
    labels = [f"< {edges[0]:,.4g}"]
    labels += [f"{lo:,.4g} – {hi:,.4g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"≥ {edges[-1]:,.4g}")
    return labels[:n] if len(labels) >= n else labels + [f"bin {i}" for i in range(len(labels), n)]


def confusion_matrix(matrix: Sequence[Sequence[float]], classes: Sequence[Any]) -> alt.Chart:
    """Counts by true (rows) and predicted (columns) class."""
    cells = [
        {"true": str(t), "predicted": str(p), "count": matrix[i][j]}
        for i, t in enumerate(classes)
        for j, p in enumerate(classes)
    ]
    base = alt.Chart(pd.DataFrame(cells)).encode(
        x=alt.X("predicted:N", title="predicted class"), y=alt.Y("true:N", title="true class")
    )
    return (
        base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")))
        + base.mark_text(fontSize=16).encode(text="count:Q")
    ).properties(width=260, height=220)


def calibration_curve(curve: Sequence[Mapping[str, Any]]) -> alt.LayerChart:
    """Fraction positive vs mean predicted score per bin, with the diagonal."""
    frame = pd.DataFrame([c for c in curve if c.get("count")])
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="x:Q", y="y:Q")
    )
    points = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "mean_predicted:Q", title="mean predicted score", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y(
                "fraction_positive:Q", title="fraction positive", scale=alt.Scale(domain=[0, 1])
            ),
            tooltip=["bin_low:Q", "bin_high:Q", "count:Q", "fraction_positive:Q"],
        )
    )
    return (diagonal + points).properties(width=300, height=300)


def group_intervals(frame: pd.DataFrame, *, title: str) -> alt.LayerChart:
    """Per-group value with its confidence interval over time; insufficient data in grey.

    ``frame``: ``window_start``, ``group``, ``value``, ``ci_low``, ``ci_high``, ``status``.
    """
    base = alt.Chart(frame).encode(
        x=alt.X("window_start:T", title="window"), color=alt.Color("group:N")
    )
    band = base.mark_area(opacity=0.15).encode(y="ci_low:Q", y2="ci_high:Q")
    line = base.mark_line().encode(y=alt.Y("value:Q", title=title))
    points = base.mark_point(filled=True).encode(
        y="value:Q",
        shape=alt.Shape("status:N", title="status"),
        opacity=alt.condition(
            alt.datum.status == "insufficient_data", alt.value(0.35), alt.value(1)
        ),
        tooltip=[
            "group:N",
            alt.Tooltip("window_start:T", title="window"),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("ci_low:Q", format=".3f"),
            alt.Tooltip("ci_high:Q", format=".3f"),
            "n:Q",
            "status:N",
        ],
    )
    return band + line + points


def disparity_over_time(frame: pd.DataFrame, *, four_fifths: float | None) -> alt.LayerChart:
    """Disparities with confidence intervals, their thresholds and the four-fifths line."""
    base = alt.Chart(frame).encode(x=alt.X("window_start:T", title="window"))
    band = base.mark_area(opacity=0.15).encode(y="ci_low:Q", y2="ci_high:Q", color="metric:N")
    line = base.mark_line(point=True).encode(
        y=alt.Y("value:Q", title="disparity"),
        color="metric:N",
        tooltip=["metric:N", alt.Tooltip("value:Q", format=".3f"), "threshold:Q", "status:N"],
    )
    layers: list[Any] = [band, line]
    if four_fifths is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"y": [four_fifths], "label": ["four-fifths rule"]}))
            .mark_rule(color="#e45756", strokeDash=[6, 3])
            .encode(y="y:Q", tooltip=["label:N", "y:Q"])
        )
    return alt.layer(*layers)


def bars(frame: pd.DataFrame, *, x: str, y: str, title: str, color: str | None = None) -> alt.Chart:
    """Horizontal bars of ``x`` by ``y``, largest first (signed values keep their sign)."""
    enc: dict[str, Any] = {
        "x": alt.X(f"{x}:Q", title=title),
        "y": alt.Y(f"{y}:N", sort="-x", title=None),
        "tooltip": [f"{y}:N", alt.Tooltip(f"{x}:Q", format=".4f")],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame).mark_bar().encode(**enc)
