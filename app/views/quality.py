"""Quality: missing, out-of-range, new categories and quarantined rows over time."""

import streamlit as st

from app import charts, data, widgets

st.title("Data quality")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
values = data.analyzer_values(url, model, "quality", start, end)
if values.empty:
    st.info("No data-quality results in this period. They appear after `driftwarden run`.")
    st.stop()

SHARES = {
    "missing_share": "Missing values (share of rows)",
    "out_of_range_share": "Out of the reference range (share of rows)",
    "new_category_share": "Categories unseen in the reference (share of rows)",
}
last = values[values["window_start"] == values["window_start"].max()]
breaches = last[last["status"].isin(["breach", "drift"])]
quarantined = values[values["metric"] == "quarantined_rows"]
cols = st.columns(3)
cols[0].metric("Checks breached (last window)", len(breaches))
cols[1].metric("Quarantined rows in the period", int(quarantined["value"].fillna(0).sum()))
cols[2].metric("Columns checked", int(last["feature"].nunique()))
if not breaches.empty:
    st.dataframe(breaches[["metric", "feature", "value", "threshold", "status"]], hide_index=True)
for metric, title in SHARES.items():
    part = values[(values["metric"] == metric) & values["feature"].notna()]
    if part.empty:
        continue
    st.subheader(title)
    st.altair_chart(charts.metric_over_time(part, color="feature", title="share"), width="stretch")
    if metric == "new_category_share" and (part["value"] > 0).any():
        found = data.metric_details(url, model, (metric,), start, end)
        new = found[found["details"].map(lambda d: bool((d or {}).get("new_categories")))]
        examples = new.assign(
            new_categories=new["details"].map(lambda d: ", ".join(map(str, d["new_categories"])))
        )[["window_start", "feature", "value", "new_categories"]]
        st.dataframe(examples.iloc[::-1], hide_index=True)

st.subheader("Quarantined rows")
if not quarantined.empty:
    st.altair_chart(charts.metric_over_time(quarantined, title="rows quarantined"), width="stretch")
examples = data.quarantine(url, model, start, end)
if examples.empty:
    st.success("No quarantined rows in this period.")
else:
    st.caption("Latest quarantined rows, with the reason and the original values.")
    st.dataframe(examples, hide_index=True)
