"""Fairness: the worst breach first, who it disadvantages, per-group metrics with intervals."""

import streamlit as st

from app import charts, data, widgets
from app import disparities as dsp
from app import format as fmt

st.title("Fairness")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
if not info.sensitive:
    st.info(
        f"Model {fmt.md(model)} has no sensitive attributes. Register it with "
        "`--sensitive sex,age_band` (columns kept for fairness analysis only)."
    )
    st.stop()
attributes = data.fairness_attributes(url, model)
last = data.last_window(url, model, start, end)
if not attributes or last is None:
    st.info("No fairness results in this period. They appear after `driftwarden run`.")
    st.stop()
last_start = last["window_start"]
coverage = last["n_labels"] / last["n_rows"] if last["n_rows"] else None
everywhere = data.window_disparities(url, model, last_start, end)
worst = dsp.most_severe(everywhere)
requested = st.query_params.get("feature")
attribute = widgets.choice_param(
    "Attribute or intersection",
    attributes,
    param="feature",
    where="attributes with results",
    default=worst.feature if worst else None,
)
rates = data.attribute_values(url, model, attribute, data.GROUP_METRICS, last_start, end)
rates = rates[rates["window_start"] == last_start]
own = everywhere[everywhere["feature"] == attribute]
breaches = dsp.breaches(own)
findings = {b.metric: dsp.finding(b.metric, rates) for b in breaches}
window_text = f"the last window ({fmt.day(last_start)})"


def _breach_text(b: dsp.Breach) -> str:
    """``disparate impact ratio 0.22 (interval 0.07–0.37; must be ≥ 0.80)`` in Markdown."""
    rule = "≤" if b.metric in dsp.HIGHER_IS_WORSE else "≥"
    interval = (
        f"interval {fmt.fixed(b.ci_low)}–{fmt.fixed(b.ci_high)}; " if b.ci_low is not None else ""
    )
    return (
        f"**{dsp.metric_name(b.metric)} {fmt.fixed(b.value)}** "
        f"({interval}must be {rule} {fmt.fixed(b.threshold)})"
    )


if worst is None:
    st.success(f"No disparity of any attribute breaches its threshold in {window_text}.")
elif worst.feature == attribute:
    found = findings.get(worst.metric)
    opened = "Opened on" if requested in (None, worst.feature) else "Showing"
    st.error(
        f"{opened} **{fmt.md(attribute)}**: the most severe fairness breach in {window_text}. "
        f"{_breach_text(worst)}" + (f": {found.sentence()}." if found else ".")
    )
else:
    st.warning(
        f"The most severe fairness breach in {window_text} is on **{fmt.md(worst.feature)}** "
        f"({_breach_text(worst)}); choose it above. Shown here: {fmt.md(attribute)}."
    )

st.subheader("Disparities between groups")
if breaches:
    lines = []
    for b in breaches:
        found = findings.get(b.metric)
        lines.append(f"- {_breach_text(b)}" + (f": {found.sentence()}" if found else ""))
    st.markdown(f"In {window_text}:\n" + "\n".join(lines))
elif own.empty:
    st.info(f"No disparities of {fmt.md(attribute)} in {window_text}.")
else:
    st.success(f"No disparity of {fmt.md(attribute)} breaches its threshold in {window_text}.")
if not own.empty:
    table = own.assign(
        interval=[
            f"{fmt.fixed((d or {}).get('ci_low'))}–{fmt.fixed((d or {}).get('ci_high'))}"
            if (d or {}).get("ci_low") is not None
            else fmt.DASH
            for d in own["details"]
        ],
        verdict=[dsp.disparity_status(r, coverage) for r in own.to_dict("records")],
    )
    st.dataframe(
        fmt.display_frame(
            table,
            {"metric": "disparity", "value": "value", "interval": "interval", "verdict": "status"},
            {"metric": dsp.metric_name, "value": fmt.fixed},
        ),
        hide_index=True,
        width="stretch",
        column_config={"status": st.column_config.TextColumn(width="large")},
    )
series = data.with_intervals(
    data.attribute_values(url, model, attribute, tuple(dsp.BASE_RATES), start, end)
)
disp_metrics = sorted(series["metric"].unique())
default = [b.metric for b in breaches[:1]] or [
    m for m in ("disparate_impact_ratio",) if m in disp_metrics
]
shown = st.multiselect("Disparities over time", disp_metrics, default=default)
if shown:
    part = series[series["metric"].isin(shown)]
    four_fifths = 0.8 if "disparate_impact_ratio" in shown else None
    st.altair_chart(
        charts.disparity_over_time(part, four_fifths=four_fifths, window=info.window),
        width="stretch",
    )
    st.caption(
        "Shaded: 95 % interval (simultaneous pairwise score intervals; bootstrap for "
        "regression). Dashed red: thresholds, labelled."
    )

st.subheader("Per group")
rate_default = next((f.rate for f in findings.values() if f), "selection_rate")
metric = st.selectbox(
    "Metric",
    data.GROUP_METRICS,
    index=data.GROUP_METRICS.index(rate_default),
    format_func=dsp.metric_name,
)
roles = dsp.roles([f for f in findings.values() if f], metric)
per_group = data.with_intervals(data.attribute_values(url, model, attribute, (metric,), start, end))
per_group = per_group[per_group["group"].notna() & (per_group["metric"] == metric)]
groups = sorted(per_group["group"].unique())
focus = widgets.choice_param("Group", ["all groups", *groups], param="group", where="groups")
part = per_group if focus in (None, "all groups") else per_group[per_group["group"] == focus]
if roles:
    named = [
        f"**{fmt.md(g)}** (strongest colour)" for g, r in roles.items() if r == "disadvantaged"
    ]
    st.caption(f"Disadvantaged in {window_text}: {', '.join(named)}.")
st.altair_chart(
    charts.group_intervals(part, title=dsp.metric_name(metric), window=info.window, roles=roles),
    width="stretch",
)
ratios = {}
dir_rows = own[own["metric"] == "disparate_impact_ratio"]
if not dir_rows.empty:
    ratios = (dir_rows.iloc[0]["details"] or {}).get("group_ratios") or {}
now = part[part["window_start"] == last_start]
explained = now.assign(
    explanation=[
        dsp.group_status(r, metric, [f for f in findings.values() if f], ratios)
        for r in now.to_dict("records")
    ],
    interval=[
        f"{fmt.fixed(lo)}–{fmt.fixed(hi)}" if not fmt.missing(lo) else fmt.DASH
        for lo, hi in zip(now["ci_low"], now["ci_high"], strict=True)
    ],
)
st.dataframe(
    fmt.display_frame(
        explained,
        {
            "group": "group",
            "value": dsp.metric_name(metric),
            "interval": "interval",
            "n": "rows",
            "explanation": "status",
        },
        {"value": fmt.fixed if metric != "count" else fmt.count, "n": fmt.count},
    ),
    hide_index=True,
    width="stretch",
    column_config={"status": st.column_config.TextColumn(width="large")},
)
small = now[now["status"] == "insufficient_data"]
if not small.empty and len(small) < len(now):
    st.caption(
        f"Faded in the chart (insufficient data in {window_text}): {fmt.names(small['group'])}. "
        "Their values are unreliable; the disparities' restricted values leave them out."
    )
