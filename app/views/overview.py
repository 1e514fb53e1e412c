"""Overview: every model with its status."""

import streamlit as st

from app import data, widgets

st.title("Overview")
url = data.database_url()
widgets.models(url)
frame = data.overview(url)
drifting = int((frame["drifting_features"] > 0).sum())
firing = int(frame["firing_alerts"].sum())
cols = st.columns(3)
cols[0].metric("Models", len(frame))
cols[1].metric("Models drifting (last window)", drifting)
cols[2].metric("Firing alerts", firing)
never = frame.loc[frame["windows"] == 0, "model"].tolist()
if never:
    st.info(
        f"Not analysed yet: {', '.join(never)}. Log predictions and run `driftwarden run` "
        "to analyse closed windows."
    )
st.dataframe(
    frame.assign(link="./drift?model=" + frame["model"]),
    hide_index=True,
    column_config={
        "model": "model",
        "task": "task",
        "window": "window",
        "windows": st.column_config.NumberColumn("windows analysed"),
        "first_window_start": st.column_config.DatetimeColumn("first window", format="YYYY-MM-DD"),
        "last_window_end": st.column_config.DatetimeColumn(
            "last window analysed (end)", format="YYYY-MM-DD HH:mm"
        ),
        "rows_logged": st.column_config.NumberColumn("rows logged"),
        "rows_analyzed": st.column_config.NumberColumn("rows analysed"),
        "label_coverage": st.column_config.ProgressColumn(
            "label coverage", format="percent", min_value=0.0, max_value=1.0
        ),
        "drifting_features": st.column_config.NumberColumn("drifting features (last window)"),
        "firing_alerts": st.column_config.NumberColumn("firing alerts"),
        "link": st.column_config.LinkColumn("drift", display_text="open"),
    },
)
