"""Altair charts shared by the pages. Each function takes a DataFrame, returns a chart.

Time axes follow the model's window size (:func:`time_axis`: daily windows get day
ticks, never 6-hourly ones) and show UTC; every threshold line carries a text label.
Names from the data (features, groups, categories) are drawn by Vega as text, never
as Markdown or HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

STATUS_COLORS = alt.Scale(
    domain=["ok", "drift", "breach", "insufficient_data"],
    range=["#4c78a8", "#e45756", "#e45756", "#bab0ac"],
)
THRESHOLD_COLOR = "#b00020"
DISADVANTAGED_COLOR = "#c62828"
"""The strongest colour: the group a breaching disparity puts at a disadvantage."""
REFERENCE_COLOR = "#1f4e79"
"""The group the disadvantaged one is compared with (highest rate)."""
OTHER_COLORS = ("#9ecae9", "#b8b8b8", "#c5b0d5", "#a1d99b", "#fdd0a2", "#d9d9d9")
"""Muted colours of the groups that are neither."""
_UNITS = {"m": ("minute", "%H:%M"), "h": ("hour", "%b %d %H:%M"), "d": ("day", "%b %d")}
_MAX_TICKS = 10


def _window_unit(window: str | None) -> tuple[str, int, str]:
    """Vega time interval, its step and the label format of a window size like ``1d``."""
    match = re.fullmatch(r"(\d+)(m|h|d|w|mo)", window or "1d")
    size, unit = (int(match.group(1)), match.group(2)) if match else (1, "d")
    if unit == "w":
        return "day", 7 * size, "%b %d"
    if unit == "mo":
        return "month", size, "%b %Y"
    interval, fmt = _UNITS[unit]
    return interval, size, fmt


def time_axis(window: str | None, n_windows: int, *, title: str = "window (UTC)") -> alt.Axis:
    """An x axis with one tick every ``k`` windows (at most about ten ticks), in UTC."""
    interval, step, fmt = _window_unit(window)
    every = max(1, math.ceil(max(n_windows, 1) / _MAX_TICKS))
    return alt.Axis(
        title=title,
        format=fmt,  # a utc scale formats in UTC; formatType="utc" would drop the format
        tickCount={"interval": interval, "step": step * every},
        labelOverlap=True,
    )


def _x(frame: pd.DataFrame, window: str | None, field: str = "window_start") -> alt.X:
    n = frame[field].nunique() if field in frame else 1
    return alt.X(f"{field}:T", axis=time_axis(window, n), scale=alt.Scale(type="utc"))


def _when() -> alt.Tooltip:
    """The tooltip of a window: the ``when`` text of :func:`_stamped`."""
    return alt.Tooltip("when:N", title="window")


def _stamped(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``when``: the window start as ``2026-03-01 00:00 UTC`` text."""
    if "window_start" not in frame or frame.empty:
        return frame.assign(when="")
    starts = pd.to_datetime(frame["window_start"], utc=True)
    return frame.assign(when=starts.dt.strftime("%Y-%m-%d %H:%M UTC"))


def window_labels(starts: pd.Series, window: str | None) -> pd.Series:
    """Window starts as short text labels (``Feb 03``, or ``Feb 03 14:00`` below a day)."""
    _, _, fmt = _window_unit(window)
    return pd.to_datetime(starts, utc=True).dt.strftime(fmt if "%H" in fmt else "%b %d")


def drift_heatmap(frame: pd.DataFrame, *, window: str | None = None) -> alt.Chart:
    """Feature × window heatmap of the drift score; drifted cells carry a dot.

    ``frame`` has ``window_start``, ``feature``, ``score``, ``drifted``, ``status``.
    """
    frame = _stamped(frame)
    frame = frame.assign(window=window_labels(frame["window_start"], window))
    order = list(dict.fromkeys(frame.sort_values("window_start")["window"]))
    base = alt.Chart(frame).encode(
        x=alt.X(
            "window:O",
            sort=order,
            title="window (UTC)",
            axis=alt.Axis(labelAngle=-45, labelOverlap=True),
        ),
        y=alt.Y("feature:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "score:Q", title="Jensen-Shannon", scale=alt.Scale(scheme="orangered", domain=[0, 0.5])
        ),
        tooltip=[
            alt.Tooltip("feature:N"),
            _when(),
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


def _threshold_layers(
    frame: pd.DataFrame, *, color: str | None, window: str | None, label: str
) -> list[Any]:
    """Dashed threshold line(s), each labelled; labels alternate between the right and left
    end so that two close thresholds do not print over each other."""
    keep = frame[frame["threshold"].notna()]
    if keep.empty:
        return []
    per_color = color is not None and keep.groupby("window_start")["threshold"].nunique().max() > 1
    group = [color] if per_color and color else []
    lines = keep[["window_start", "threshold", *group]].drop_duplicates()
    ordered = lines.sort_values("window_start")
    parts = [g for _, g in ordered.groupby(group)] if group else [ordered]
    ends = [pd.DataFrame(), pd.DataFrame()]  # labelled at the last window / the first
    for i, part in enumerate(parts):
        row = part.tail(1) if i % 2 == 0 else part.head(1)
        prefix = f"{row[color].iloc[0]}: " if group and color else ""
        text = row.assign(text=f"{prefix}{label} {row['threshold'].iloc[0]:.3g}")
        ends[i % 2] = pd.concat([ends[i % 2], text], ignore_index=True)
    x = _x(frame, window)
    layers: list[Any] = [
        alt.Chart(lines)
        .mark_line(strokeDash=[6, 3], color=THRESHOLD_COLOR)
        .encode(
            x=x,
            y="threshold:Q",
            detail=f"{color}:N" if group else alt.Undefined,
            tooltip=[alt.Tooltip("threshold:Q", title=label, format=".4g")],
        )
    ]
    for labels, align in zip(ends, ("right", "left"), strict=True):
        if labels.empty:
            continue
        layers.append(
            alt.Chart(labels)
            .mark_text(align=align, baseline="bottom", dy=-3, color=THRESHOLD_COLOR, fontSize=11)
            .encode(x=x, y="threshold:Q", text="text:N")
        )
    return layers


def metric_over_time(
    frame: pd.DataFrame,
    *,
    color: str | None = None,
    title: str = "value",
    thresholds: bool = True,
    window: str | None = None,
    threshold_label: str = "threshold",
    value_format: str = ".4f",
) -> alt.LayerChart | alt.Chart:
    """Line of ``value`` per window (one line per ``color``), labelled dashed thresholds."""
    frame = _stamped(frame)
    enc: dict[str, Any] = {
        "x": _x(frame, window),
        "y": alt.Y("value:Q", title=title),
        "tooltip": [
            _when(),
            alt.Tooltip("value:Q", format=value_format),
            alt.Tooltip("status:N"),
        ],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N")
        enc["tooltip"].insert(0, alt.Tooltip(f"{color}:N"))
    line = alt.Chart(frame).mark_line(point=True).encode(**enc)
    if not thresholds or "threshold" not in frame:
        return line
    layers = _threshold_layers(frame, color=color, window=window, label=threshold_label)
    return alt.layer(line, *layers) if layers else line


def counts_over_time(
    frame: pd.DataFrame, *, title: str, window: str | None = None, threshold_label: str = "limit"
) -> alt.LayerChart | alt.Chart:
    """Bars of a count per window (integer axis), with its labelled threshold if any."""
    frame = _stamped(frame)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=_x(frame, window),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format="d", tickMinStep=1)),
            tooltip=[_when(), alt.Tooltip("value:Q", title=title, format=",d")],
        )
    )
    layers = _threshold_layers(frame, color=None, window=window, label=threshold_label)
    return alt.layer(bars, *layers) if layers else bars


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
    """Category names, or ``< a``, ``a – b``, ``≥ b`` labels of the reference's quantile bins."""
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


def group_colors(groups: Sequence[str], roles: Mapping[str, str]) -> alt.Scale:
    """Colour scale of the groups: the disadvantaged one strongest, its reference dark.

    ``roles`` maps a group to ``"disadvantaged"`` or ``"reference"``; the others get
    muted colours.
    """
    colors, others = [], 0
    for g in groups:
        role = roles.get(g)
        if role == "disadvantaged":
            colors.append(DISADVANTAGED_COLOR)
        elif role == "reference":
            colors.append(REFERENCE_COLOR)
        else:
            colors.append(OTHER_COLORS[others % len(OTHER_COLORS)])
            others += 1
    return alt.Scale(domain=list(groups), range=colors)


def group_intervals(
    frame: pd.DataFrame,
    *,
    title: str,
    window: str | None = None,
    roles: Mapping[str, str] | None = None,
) -> alt.LayerChart:
    """Per-group value with its confidence interval over time; insufficient data faded.

    ``frame``: ``window_start``, ``group``, ``value``, ``ci_low``, ``ci_high``, ``status``.
    ``roles`` highlights the disadvantaged group (strongest colour, thick line) and its
    reference (see :func:`group_colors`).
    """
    frame = _stamped(frame)
    roles = roles or {}
    groups = sorted(frame["group"].dropna().unique())
    color = alt.Color("group:N", scale=group_colors(groups, roles), title="group")
    width = alt.condition(
        alt.FieldOneOfPredicate(
            field="group", oneOf=[g for g, r in roles.items() if r == "disadvantaged"] or [""]
        ),
        alt.value(3.5),
        alt.value(1.5),
    )
    base = alt.Chart(frame).encode(x=_x(frame, window), color=color)
    band = base.mark_area(opacity=0.12).encode(y="ci_low:Q", y2="ci_high:Q")
    line = base.mark_line().encode(y=alt.Y("value:Q", title=title), strokeWidth=width)
    points = base.mark_point(filled=True).encode(
        y="value:Q",
        opacity=alt.condition(
            alt.datum.status == "insufficient_data", alt.value(0.35), alt.value(1)
        ),
        tooltip=[
            "group:N",
            _when(),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("ci_low:Q", format=".3f", title="interval low"),
            alt.Tooltip("ci_high:Q", format=".3f", title="interval high"),
            alt.Tooltip("n:Q", title="rows"),
            "status:N",
        ],
    )
    return band + line + points


def disparity_over_time(
    frame: pd.DataFrame, *, four_fifths: float | None, window: str | None = None
) -> alt.LayerChart:
    """Disparities with confidence intervals, their labelled thresholds and the four-fifths line."""
    frame = _stamped(frame)
    x = _x(frame, window)
    base = alt.Chart(frame).encode(x=x)
    band = base.mark_area(opacity=0.15).encode(y="ci_low:Q", y2="ci_high:Q", color="metric:N")
    line = base.mark_line(point=True).encode(
        y=alt.Y("value:Q", title="disparity"),
        color="metric:N",
        tooltip=[
            "metric:N",
            _when(),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("threshold:Q", format=".3g"),
            "status:N",
        ],
    )
    layers: list[Any] = [band, line]
    limits = frame[frame["threshold"].notna()]
    if four_fifths is not None:
        limits = limits[limits["metric"] != "disparate_impact_ratio"]
    if not limits.empty:
        layers += _threshold_layers(
            limits.assign(threshold_of=limits["metric"]),
            color="threshold_of",
            window=window,
            label="threshold",
        )
    if four_fifths is not None:
        rule = pd.DataFrame({"y": [four_fifths], "label": [f"four-fifths rule {four_fifths:g}"]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 3])
            .encode(y="y:Q", tooltip=["label:N"])
        )
        layers.append(
            alt.Chart(rule)
            .mark_text(
                align="left", baseline="bottom", dx=4, dy=-3, color=THRESHOLD_COLOR, fontSize=11
            )
            .encode(y="y:Q", x=alt.value(0), text="label:N")
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
