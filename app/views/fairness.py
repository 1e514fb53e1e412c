"""Fairness: per-group and intersectional metrics with confidence intervals, disparities."""

import streamlit as st

from app import charts, data, widgets
from monitors.analyzers.fairness import DISPARITIES

st.title("Fairness")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
if not info.sensitive:
    st.info(
        f"Model {model!r} has no sensitive attributes. Register it with "
        "`--sensitive sex,age_band` (columns kept for fairness analysis only)."
    )
    st.stop()
attributes = data.fairness_attributes(url, model)
attribute = widgets.choice_param(
    "Attribute or intersection", attributes, param="feature", where="attributes with results"
)
if attribute is None:
    st.info("No fairness results yet. They appear after `driftwarden run`.")
    st.stop()
disparities = data.with_intervals(
    data.attribute_values(url, model, attribute, tuple(DISPARITIES), start, end)
)
if disparities.empty:
    st.info(f"No fairness results for {attribute!r} in this period.")
    st.stop()

st.subheader("Disparities between groups")
last_disp = disparities[disparities["window_start"] == disparities["window_start"].max()]
breached = last_disp[last_disp["status"] == "breach"]
if breached.empty:
    st.success(f"No disparity of {attribute!r} breaches its threshold in the last window.")
else:
    st.error(
        f"{len(breached)} disparity metric(s) of {attribute!r} breach their threshold in the "
        f"last window: {', '.join(breached['metric'])}."
    )
table = last_disp[["metric", "value", "ci_low", "ci_high", "threshold", "status"]]
st.dataframe(table, hide_index=True)
disp_metrics = sorted(disparities["metric"].unique())
default = [m for m in ("disparate_impact_ratio",) if m in disp_metrics] or disp_metrics[:1]
shown = st.multiselect("Disparity metrics", disp_metrics, default=default)
if shown:
    part = disparities[disparities["metric"].isin(shown)]
    four_fifths = 0.8 if "disparate_impact_ratio" in shown else None
    st.altair_chart(charts.disparity_over_time(part, four_fifths=four_fifths), width="stretch")
    st.caption("Shaded: bootstrap confidence interval. Dashed red: the four-fifths rule (0.8).")

st.subheader("Per group")
metric = st.selectbox("Metric", data.GROUP_METRICS)
per_group = data.with_intervals(data.attribute_values(url, model, attribute, (metric,), start, end))
per_group = per_group[per_group["group"].notna()]
groups = sorted(per_group["group"].unique())
focus = widgets.choice_param("Group", ["all groups", *groups], param="group", where="groups")
part = per_group[per_group["metric"] == metric]
if focus and focus != "all groups":
    part = part[part["group"] == focus]
st.altair_chart(charts.group_intervals(part, title=metric), width="stretch")
last_groups = part[part["window_start"] == part["window_start"].max()]
small = last_groups[last_groups["status"] == "insufficient_data"]
if not small.empty:
    st.warning(
        "Insufficient data (group smaller than the minimum size, or value undefined) in the "
        f"last window: {', '.join(small['group'])}. Their values are shown faded and are "
        "left out of the disparities."
    )
st.dataframe(last_groups[["group", "value", "ci_low", "ci_high", "n", "status"]], hide_index=True)
