"""Explanations: global importance, attribution drift, one prediction explained by id."""

import streamlit as st

from app import charts, data, widgets

st.title("Explanations")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
if not info.has_artifact:
    st.info(
        f"Model {model!r} has no stored artifact, so there are no SHAP explanations. Store "
        "the fitted model with `Client(url).set_artifact(NAME, model)` and run "
        "`driftwarden run`."
    )
    st.stop()
values = data.analyzer_values(url, model, "explain", start, end)
if values.empty:
    st.info("No explanation results in this period. They appear after `driftwarden run`.")
else:
    importance = values[values["metric"] == "mean_abs_shap"]
    last = importance[importance["window_start"] == importance["window_start"].max()]
    newest = last["window_start"].max() if not last.empty else start
    about = data.metric_details(url, model, ("attribution_drift",), newest, end)
    method = (about["details"].iloc[-1] or {}) if not about.empty else {}
    st.subheader("Global importance (last window)")
    if method.get("reason"):
        st.caption(f"Explainer: {method.get('method')} — {method['reason']}")
    st.altair_chart(charts.bars(last, x="value", y="feature", title="mean |SHAP|"), width="stretch")
    st.subheader("Attribution drift")
    drift = values[values["metric"] == "attribution_drift"]
    shares = values[values["metric"] == "attribution_share"]
    if not drift.empty:
        latest = drift.iloc[-1]
        cols = st.columns(2)
        cols[0].metric(
            "Largest change of a feature's attribution share",
            f"{latest['value']:.3f}",
            help=f"threshold {latest['threshold']:.3f}",
        )
        cols[1].metric("Verdict (last window)", str(latest["status"]))
        st.altair_chart(charts.metric_over_time(drift, title="max |share change|"))
    if not shares.empty:
        st.altair_chart(
            charts.metric_over_time(
                shares, color="feature", title="attribution share", thresholds=False
            ),
            width="stretch",
        )

st.subheader("Explain one prediction")
prediction_id = st.text_input(
    f"Prediction id ({info.id_column})", value=st.query_params.get("id", ""), key="dw_pred_id"
)
if prediction_id:
    st.query_params["id"] = prediction_id
    explained = data.explain_prediction(url, model, prediction_id)
    if explained is None:
        st.warning(f"No logged prediction of {model!r} has the id {prediction_id!r}.")
    else:
        st.write(
            f"Prediction **{explained.prediction_id}** at {explained.at:%Y-%m-%d %H:%M:%S} UTC: "
            f"model output {explained.model_output:.4f} ({explained.output}) = base value "
            f"{explained.base_value:.4f} + the attributions below ({explained.method} explainer)."
        )
        st.altair_chart(
            charts.bars(explained.attributions, x="attribution", y="feature", title="SHAP value"),
            width="stretch",
        )
        st.dataframe(explained.attributions, hide_index=True)
