"""Compare: a candidate model against the baseline, over time, overall and by group."""

import streamlit as st

from app import charts, comparison, data, widgets
from app import format as fmt

st.title("Compare")
url = data.database_url()
defined = comparison.defined(url)
if not defined:
    st.info(
        "No comparisons yet. Register the candidate model, log its predictions (shadow: "
        "for the same prediction ids as the baseline), then:\n\n"
        "```bash\n"
        "driftwarden compare add NAME --baseline MODEL --candidate NEW_MODEL --mode shadow\n"
        "driftwarden run\n"
        "```"
    )
    st.stop()
by_name = {c.name: c for c in defined}
name = widgets.choice_param(
    "Comparison", list(by_name), param="comparison", where="defined comparisons"
)
assert name is not None
info = by_name[name]
model = data.model_info(url, info.candidate)
start, end = widgets.period_picker(model)
mode = f"split, {info.split:.0%} to the candidate" if info.split else "shadow"
st.caption(
    f"Candidate **{fmt.md(info.candidate)}** against baseline **{fmt.md(info.baseline)}** "
    f"({mode}) · windows from {fmt.when(start)} to {fmt.when(end)} UTC"
)
rep = comparison.report(url, name, start, end)
if rep.results.empty:
    st.info("No compared windows in this period yet. They appear after `driftwarden run`.")
    st.stop()

verdict = rep.verdict
box = {"candidate_better": st.success, "candidate_worse": st.error}.get(verdict.verdict, st.info)
box(f"Over the period: {fmt.md(verdict.sentence)}")
if verdict.worse_on:
    st.warning(f"Candidate significantly worse on: {fmt.names(verdict.worse_on)}")
if verdict.better_on:
    st.caption(f"Candidate significantly better on: {fmt.names(verdict.better_on)}")
st.caption(
    f"α = {rep.config.alpha:g}; each line is its own test, not corrected for the number of "
    "metrics and groups. Intervals: paired bootstrap (shadow) or unpaired (split) per "
    "window, pooled over the period weighted by rows."
)

st.subheader("Both models over time")
metrics = comparison.model_metrics(rep)
if metrics:
    metric = st.selectbox("Metric", metrics, index=0)
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.metric_over_time(
                comparison.both_over_time(rep, metric),
                color="model",
                title=metric,
                thresholds=False,
                window=model.window,
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            comparison.delta_chart(comparison.delta_over_time(rep, metric), window=model.window),
            width="stretch",
        )

st.subheader("Differences over the period")
table = comparison.period_table(rep.period, ("performance", "estimated"))
if not table.empty:
    st.dataframe(table, hide_index=True, width="stretch")

attributes = comparison.attributes(rep)
if attributes:
    st.subheader("Fairness side by side")
    attribute = widgets.choice_param(
        "Sensitive attribute", attributes, param="attribute", where="compared attributes"
    )
    assert attribute is not None
    disparities = comparison.disparity_table(rep, attribute)
    if not disparities.empty:
        st.dataframe(disparities, hide_index=True, width="stretch")
    groups = comparison.period_table([d for d in rep.period if d.feature == attribute], ("group",))
    if not groups.empty:
        st.caption("Per-group metrics over the period")
        st.dataframe(groups, hide_index=True, width="stretch")

st.subheader("Windows")
extras = comparison.extras(rep)
if not extras.empty:
    st.dataframe(extras, hide_index=True, width="stretch")
st.dataframe(comparison.windows_table(rep), hide_index=True, width="stretch")
