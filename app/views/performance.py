"""Performance: metrics over time with label coverage, confusion matrix, calibration."""

import streamlit as st

from app import charts, data, widgets
from app import format as fmt
from app.estimated import section as estimated_section

st.title("Performance")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
if not info.has_label:
    st.info(
        f"Model {fmt.md(model)} has no label column, so only latency can be measured. Register "
        "the model with `--label COLUMN` to get accuracy, ROC AUC and calibration."
    )
values = data.analyzer_values(url, model, "performance", start, end)
if values.empty:
    st.info("No performance results in this period. They appear after `driftwarden run`.")
    st.stop()

coverage = values[values["metric"] == "label_coverage"]
shapes = data.metric_details(
    url, model, ("confusion_matrix", "expected_calibration_error"), start, end
)
labelled = shapes[
    (shapes["metric"] == "confusion_matrix")
    & shapes["details"].map(lambda d: bool((d or {}).get("matrix")))
]
runs = data.windows(url, model, start, end)
n_rows, n_labels = int(runs["n_rows"].sum()), int(runs["n_labels"].sum())
cols = st.columns(3)
cols[0].metric("Label coverage (period)", fmt.pct(n_labels / n_rows if n_rows else None, 1))
cols[1].metric("Labelled rows", f"{n_labels:,} of {n_rows:,}")
cols[2].metric("Windows with labels", f"{int((runs['n_labels'] > 0).sum())} of {len(runs)}")
if n_labels == 0 and info.has_label:
    st.warning(
        "No labels yet in this period: accuracy, ROC AUC and calibration need the true "
        "outcomes. Backfill them with `driftwarden labels NAME FILE` or "
        "`Client.log_labels(...)`, then `driftwarden run` re-analyses the windows."
    )
unlabelled = runs.loc[runs["n_labels"] == 0, "window_start"]
if n_labels and not unlabelled.empty:
    st.caption(
        f"No labels yet for {len(unlabelled)} window(s) from "
        f"{unlabelled.min():%Y-%m-%d}: their performance is shown as soon as labels arrive."
    )

estimated_section(url, model, window=info.window, start=start, end=end, realized=values, runs=runs)
available = [m for m in values["metric"].unique() if m not in ("confusion_matrix",)]
default = [m for m in ("accuracy", "roc_auc", "f1", "label_coverage") if m in available]
chosen = st.multiselect("Metrics", sorted(available), default=default or sorted(available)[:3])
if chosen:
    st.altair_chart(
        charts.metric_over_time(
            values[values["metric"].isin(chosen)], color="metric", window=info.window
        ),
        width="stretch",
    )
left, right = st.columns(2)
if not labelled.empty:
    last = labelled.iloc[-1]
    with left:
        st.subheader("Confusion matrix")
        st.caption(f"Window starting {last['window_start']:%Y-%m-%d} (last with labels).")
        st.altair_chart(
            charts.confusion_matrix(last["details"]["matrix"], last["details"]["classes"])
        )
ece = shapes[
    (shapes["metric"] == "expected_calibration_error")
    & shapes["details"].map(lambda d: bool((d or {}).get("curve")))
]
if not ece.empty:
    last = ece.iloc[-1]
    with right:
        st.subheader("Calibration")
        st.caption(
            f"Window starting {last['window_start']:%Y-%m-%d}: expected calibration error "
            f"{last['value']:.3f}."
        )
        st.altair_chart(charts.calibration_curve(last["details"]["curve"]))
