"""Drift: feature × window heatmap, and one feature's distributions and statistic."""

import streamlit as st

from app import charts, data, widgets
from app import format as fmt

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
is_feature = latest["feature"].isin(info.features)
is_sensitive = latest["feature"].isin(info.sensitive)
drifting = sorted(latest.loc[is_feature & (latest["drifted"] == 1), "feature"])
population = sorted(latest.loc[is_sensitive & (latest["drifted"] == 1), "feature"])
outputs = sorted(latest.loc[~is_feature & ~is_sensitive & (latest["drifted"] == 1), "feature"])
cols = st.columns(3)
cols[0].metric(
    "Features drifting in the last window", f"{len(drifting)} of {int(is_feature.sum())}"
)
cols[1].metric(
    "Prediction, score or label drifting",
    fmt.names(outputs) if outputs else "none",
    help="Columns that are not model inputs; not counted among the features.",
)
cols[2].metric(
    "Population make-up drifting",
    fmt.names(population) if population else "none",
    help="Sensitive attributes whose distribution changed; not counted among the features.",
)
if drifting:
    st.markdown(
        f"Drifting now (window of {fmt.day(latest['window_start'].max())}): "
        + fmt.names(drifting, bold=True)
    )
st.subheader("Drift score by feature and window")
st.caption("Colour: Jensen-Shannon distance to the reference; a dot marks a detected drift.")
st.altair_chart(charts.drift_heatmap(scores, window=info.window), width="stretch")
share = data.dataset_drift(url, model, start, end)
if not share.empty:
    st.subheader("Dataset drift")
    st.caption(
        "dataset_drift_share: share of the features that drift; domain_classifier_auc: how "
        "well a classifier tells the window from the reference (0.5 = not at all). Dashed: "
        "each metric's threshold."
    )
    st.altair_chart(
        charts.metric_over_time(
            share, color="metric", title="dataset drift", window=info.window, value_format=".3f"
        ),
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
    st.info(f"No drift verdicts for {fmt.md(feature)} in this period.")
    st.stop()
last = detected.iloc[-1]
d = last["details"] or {}
since = data.drift_since(detected)
cols = st.columns([1, 1, 1, 2])
cols[0].metric("Verdict (last window)", "drift" if last["value"] == 1 else str(last["status"]))
cols[1].metric("Statistic", fmt.num(d.get("statistic"), 4))
cols[2].metric("Threshold", fmt.num(last["threshold"], 4))
cols[3].markdown(f"**Test used**  \n{fmt.md(d.get('method', '—'))}")
st.markdown(f"**Why this test:** {fmt.md(d.get('reason', 'not recorded'))}")
if d.get("p_value_adjusted") is not None:
    st.markdown(
        f"Rule: {fmt.md(d.get('rule', '—'))}. p-value {fmt.num(d.get('p_value'), 4)}, "
        f"adjusted for the window's columns (Benjamini–Hochberg) "
        f"{fmt.num(d['p_value_adjusted'], 4)}; effect size {fmt.num(d.get('effect_size'), 4)}."
    )
elif d.get("p_value") is not None:
    st.markdown(f"p-value {fmt.num(d['p_value'], 4)} (drift when below the threshold).")
if since is not None:
    st.markdown(f"Drifting since the window starting **{since:%Y-%m-%d}**.")
method = d.get("method")
series = detail[detail["metric"] == method] if method else detail.iloc[0:0]
if not series.empty:
    st.altair_chart(
        charts.metric_over_time(series, title=f"{method} ({feature})", window=info.window),
        width="stretch",
    )
psi = detail[(detail["metric"] == "psi") & detail["details"].map(bool)]
if not psi.empty:
    windows = psi["window_start"].dt.strftime("%Y-%m-%d").tolist()
    chosen = st.select_slider("Window to compare with the reference", windows, value=windows[-1])
    row = psi.iloc[windows.index(chosen)]
    st.altair_chart(charts.distribution_comparison(row["details"]), width="stretch")
    if row["details"].get("edges"):
        st.caption("Bins are the reference's quantiles (outer bins open-ended).")
