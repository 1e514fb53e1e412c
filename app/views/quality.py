"""Quality: missing, out-of-range, new categories, label coverage and quarantined rows."""

import streamlit as st

from app import charts, data, widgets
from app import format as fmt
from app.estimated import calibration_notice

st.title("Data quality")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
calibration_notice(url, model, start=start, end=end)
values = data.analyzer_values(url, model, "quality", start, end)
if values.empty:
    st.info("No data-quality results in this period. They appear after `driftwarden run`.")
    st.stop()

SHARES = {
    "missing_share": "Missing values (share of rows)",
    "out_of_range_share": "Out of the reference range (share of rows)",
    "new_category_share": "Categories unseen in the reference (share of rows)",
}
METRIC_NAMES = {
    "missing_share": "missing values",
    "type_mismatch_share": "values of the wrong type",
    "out_of_range_share": "values out of the reference range",
    "new_category_share": "categories unseen in the reference",
    "constant": "column became constant",
    "quarantined_rows": "rows quarantined at ingest",
    "schema_mismatch": "columns missing from the data",
    "row_count_ratio": "rows against the expected count",
}
label = info.label
# labels arrive after the predictions: never shown as missing data (older results may hold it)
values = values[~((values["metric"] == "missing_share") & (values["feature"] == label))]
last = values[values["window_start"] == values["window_start"].max()]
breaches = last[last["status"].isin(["breach", "drift"])]
quarantined = values[values["metric"] == "quarantined_rows"]
runs = data.windows(url, model, start, end)
cols = st.columns(4)
cols[0].metric("Checks breached (last window)", len(breaches))
cols[1].metric("Quarantined rows in the period", fmt.count(quarantined["value"].fillna(0).sum()))
cols[2].metric("Columns checked", int(last["feature"].nunique()))
if label is not None and not runs.empty:
    n_rows, n_labels = int(runs["n_rows"].sum()), int(runs["n_labels"].sum())
    cols[3].metric(
        "Label coverage (period)",
        fmt.pct(n_labels / n_rows if n_rows else None, 1),
        help="Labels arrive after the predictions: a window without them is waiting, "
        "not missing data.",
    )
if not breaches.empty:
    st.dataframe(
        fmt.display_frame(
            breaches,
            {"metric": "check", "feature": "column", "value": "value", "threshold": "limit"},
            {
                "metric": lambda m: METRIC_NAMES.get(m, m),
                "feature": lambda f: "whole window" if fmt.missing(f) else str(f),
            },
        ),
        hide_index=True,
    )
else:
    st.success("Every check passes in the last window.")

if label is not None and not runs.empty:
    st.subheader("Label coverage")
    waiting = runs[runs["n_labels"] == 0]
    coverage = runs.assign(
        value=runs["n_labels"] / runs["n_rows"].where(runs["n_rows"] > 0),
        threshold=float("nan"),
        status="ok",
    )
    st.caption(
        f"Share of each window's rows whose label ({fmt.md(label)}) has arrived. "
        + (
            f"{len(waiting)} window(s) from {fmt.day(waiting['window_start'].min())} are "
            "waiting for labels; that is expected, not missing data."
            if not waiting.empty
            else "Every window has labels."
        )
    )
    st.altair_chart(
        charts.metric_over_time(
            coverage, title="label coverage", thresholds=False, window=info.window
        ),
        width="stretch",
    )

for metric, title in SHARES.items():
    part = values[(values["metric"] == metric) & values["feature"].notna()]
    if part.empty:
        continue
    st.subheader(title)
    st.altair_chart(
        charts.metric_over_time(part, color="feature", title="share", window=info.window),
        width="stretch",
    )
    if metric == "new_category_share" and (part["value"] > 0).any():
        found = data.metric_details(url, model, (metric,), start, end)
        new = found[found["details"].map(lambda d: bool((d or {}).get("new_categories")))]
        listed = new["details"].map(
            lambda d: ", ".join(
                f"{c.get('value')} ({fmt.count(c.get('count'))} rows)"
                if isinstance(c, dict)
                else str(c)
                for c in d["new_categories"]
            )
        )
        examples = fmt.display_frame(
            new.assign(new_categories=listed).iloc[::-1],
            {
                "window_start": "window (UTC)",
                "feature": "column",
                "value": "share",
                "new_categories": "new categories",
            },
            {"window_start": fmt.day, "value": lambda v: fmt.pct(v, 1)},
        )
        st.dataframe(examples, hide_index=True)

st.subheader("Quarantined rows")
total = quarantined["value"].fillna(0).sum()
if not quarantined.empty and total > 0:
    st.altair_chart(
        charts.counts_over_time(
            quarantined, title="rows quarantined", window=info.window, threshold_label="limit"
        ),
        width="stretch",
    )
examples = data.quarantine(url, model, start, end)
if examples.empty:
    st.success("No row was quarantined in this period.")
else:
    st.caption("Latest quarantined rows, with the reason and the original values.")
    st.dataframe(fmt.display_frame(examples), hide_index=True)
