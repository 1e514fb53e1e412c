"""Drift: feature × window heatmap, and one feature's distributions and statistic."""

import streamlit as st

from app import charts, data, widgets

st.title("Drift")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
scores = data.drift_scores(url, model, start, end)
if scores.empty:
    st.info("No drift results in this period. Analysed windows appear after `driftwarden run`.")
    st.stop()

latest = scores[scores["window_start"] == scores["window_start"].max()]
drifting = sorted(latest.loc[latest["drifted"] == 1, "feature"])
st.metric("Features drifting in the last window", f"{len(drifting)} of {len(latest)}")
if drifting:
    st.write("Drifting now: " + ", ".join(f"**{f}**" for f in drifting))
st.subheader("Drift score by feature and window")
st.caption("Colour: Jensen-Shannon distance to the reference; a dot marks a detected drift.")
st.altair_chart(charts.drift_heatmap(scores), width="stretch")
share = data.dataset_drift(url, model, start, end)
if not share.empty:
    st.altair_chart(
        charts.metric_over_time(share, color="metric", title="dataset drift"),
        width="stretch",
    )

st.subheader("Feature drill-down")
features = sorted(scores["feature"].unique())
feature = widgets.choice_param(
    "Feature",
    features,
    param="feature",
    where="features with drift results",
    default=drifting[0] if drifting else None,
)
detail = data.feature_drift(url, model, feature, start, end)
detected = detail[detail["metric"] == "drift_detected"]
if detected.empty:
    st.info(f"No drift verdicts for {feature!r} in this period.")
    st.stop()
last = detected.iloc[-1]
d = last["details"] or {}
since = data.drift_since(detected)
cols = st.columns(4)
cols[0].metric("Verdict (last window)", "drift" if last["value"] == 1 else str(last["status"]))
cols[1].metric("Test used", str(d.get("method", "—")))
cols[2].metric("Statistic", "—" if d.get("statistic") is None else f"{d['statistic']:.4g}")
cols[3].metric(
    "Threshold", "—" if last["threshold"] != last["threshold"] else f"{last['threshold']:.4g}"
)
st.write(f"**Why this test:** {d.get('reason', 'not recorded')}")
if d.get("p_value") is not None:
    st.write(f"p-value {d['p_value']:.4g} (drift when below the threshold).")
if since is not None:
    st.write(f"Drifting since the window starting **{since:%Y-%m-%d}**.")
method = d.get("method")
series = detail[detail["metric"] == method] if method else detail.iloc[0:0]
if not series.empty:
    st.altair_chart(charts.metric_over_time(series, title=f"{method} ({feature})"), width="stretch")
psi = detail[(detail["metric"] == "psi") & detail["details"].map(bool)]
if not psi.empty:
    windows = psi["window_start"].dt.strftime("%Y-%m-%d").tolist()
    chosen = st.select_slider("Window to compare with the reference", windows, value=windows[-1])
    row = psi.iloc[windows.index(chosen)]
    st.altair_chart(charts.distribution_comparison(row["details"]), width="stretch")
    if row["details"].get("edges"):
        st.caption("Bins are the reference's quantiles (outer bins open-ended).")
