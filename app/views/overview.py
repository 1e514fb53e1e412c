"""Overview: every model, what is wrong with it in its last window, and where to look."""

from urllib.parse import quote

import streamlit as st

from app import data, widgets
from app import format as fmt

st.title("Overview")
url = data.database_url()
widgets.models(url)
frame = data.overview(url)
drifting = int((frame["drifting_features"] > 0).sum())
firing = int(frame["firing"].map(len).sum())
cols = st.columns(3)
cols[0].metric("Models", len(frame))
cols[1].metric("Models with drifting features (last window)", drifting)
cols[2].metric("Firing alerts", firing)
never = frame.loc[frame["windows"] == 0, "model"].tolist()
if never:
    st.info(
        f"Not analysed yet: {fmt.names(never)}. Log predictions and run `driftwarden run` "
        "to analyse closed windows."
    )

link = frame["model"].map(lambda m: quote(str(m), safe=""))
status = fmt.display_frame(
    frame.assign(
        drifting_text=[
            ", ".join(d) + (f" (also {', '.join(o)})" if o else "") if d or o else "none"
            for d, o in zip(frame["drifting"], frame["drifting_outputs"], strict=True)
        ],
        firing_text=frame["firing"].map(lambda f: ", ".join(f) if f else "none"),
    ),
    {
        "model": "model",
        "drifting_text": "drifting features",
        "firing_text": "firing alerts",
        "label_coverage": "labels",
    },
    {"label_coverage": fmt.pct},
)
status["drift"] = "./drift?model=" + link
status["fairness"] = "./fairness?model=" + link
status["alerts"] = "./alerts?model=" + link
# fixed widths that add up to less than the main column at 1280 px; taller rows wrap text
st.dataframe(
    status,
    hide_index=True,
    width="stretch",
    row_height=72,
    column_config={
        "model": st.column_config.TextColumn("model", width=90),
        "drifting features": st.column_config.TextColumn(
            "drifting features", width=200, help="Features drifting in the last analysed window."
        ),
        "firing alerts": st.column_config.TextColumn("firing alerts", width=230),
        "labels": st.column_config.TextColumn(
            "labels", width=64, help="Label coverage: labelled rows / analysed rows."
        ),
        "drift": st.column_config.LinkColumn("drift", display_text="drift", width=60),
        "fairness": st.column_config.LinkColumn("fairness", display_text="fairness", width=72),
        "alerts": st.column_config.LinkColumn("alerts", display_text="alerts", width=60),
    },
)
with st.expander("Windows and rows per model"):
    st.dataframe(
        fmt.display_frame(
            frame,
            {
                "model": "model",
                "task": "task",
                "window": "window",
                "windows": "windows analysed",
                "first_window_start": "first window (UTC)",
                "last_window_end": "analysed up to (UTC)",
                "rows_logged": "rows logged",
                "rows_analyzed": "rows analysed",
            },
            {
                "first_window_start": fmt.day,
                "last_window_end": fmt.when,
                "rows_logged": fmt.count,
                "rows_analyzed": fmt.count,
            },
        ),
        hide_index=True,
    )
