"""Explanations: global importance, attribution drift, one prediction explained by id."""

import streamlit as st

from app import charts, data, widgets
from app import format as fmt

st.title("Explanations")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
if not info.has_artifact:
    st.info(
        f"Model {fmt.md(model)} has no stored artifact, so there are no SHAP explanations. Store "
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
        st.caption(f"Explainer: {fmt.md(method.get('method'))} — {fmt.md(method['reason'])}")
    st.altair_chart(charts.bars(last, x="value", y="feature", title="mean |SHAP|"), width="stretch")
    st.subheader("Attribution drift")
    drift = values[values["metric"] == "attribution_drift"]
    shares = values[values["metric"] == "attribution_share"]
    if not drift.empty:
        latest = drift.iloc[-1]
        cols = st.columns(2)
        cols[0].metric(
            "Largest change of a feature's attribution share",
            fmt.fixed(latest["value"], 3),
            help=f"threshold {fmt.fixed(latest['threshold'], 3)}",
        )
        cols[1].metric("Verdict (last window)", str(latest["status"]))
        st.altair_chart(
            charts.metric_over_time(drift, title="max |share change|", window=info.window),
            width="stretch",
        )
    if not shares.empty:
        st.altair_chart(
            charts.metric_over_time(
                shares,
                color="feature",
                title="attribution share",
                thresholds=False,
                window=info.window,
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
        st.warning(f"No logged prediction of {fmt.md(model)} has the id '{fmt.md(prediction_id)}'.")
    else:
        st.markdown(
            f"Prediction **{fmt.md(explained.prediction_id)}** at "
            f"{fmt.when(explained.at, seconds=True)} UTC: model output "
            f"{explained.model_output:.4f} ({fmt.md(explained.output)}) = base value "
            f"{explained.base_value:.4f} + the attributions below "
            f"({fmt.md(explained.method)} explainer)."
        )
        st.altair_chart(
            charts.bars(explained.attributions, x="attribution", y="feature", title="SHAP value"),
            width="stretch",
        )
        st.dataframe(
            fmt.display_frame(
                explained.attributions, formats={"attribution": lambda v: fmt.fixed(v, 4)}
            ),
            hide_index=True,
        )
