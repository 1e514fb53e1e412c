"""Alerts: what fires, what became of each notification; acknowledge and silence here."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from app import actions, alert_data, auth, data, widgets
from app import format as fmt
from app.views import _backtest_panel

st.title("Alerts")
url = data.database_url()
names = widgets.models(url)
scope = st.sidebar.selectbox(
    "Model",
    ["all models", *names],
    index=(names.index(st.query_params["model"]) + 1)
    if st.query_params.get("model") in names
    else 0,
)
model = None if scope == "all models" else scope
if model:
    st.query_params["model"] = model
tables = alert_data.alerts(url, model)
series, rules = tables["series"], tables["rules"]
if rules.empty:
    st.info(
        "No alert rules yet. Write a rule file and apply it: `driftwarden alerts apply "
        "rules.yaml` (see docs/alerts.md)."
    )
    _backtest_panel.render(url, names, model)
    st.stop()
firing = series[series["state"] == "firing"]
outcome = firing["notification"].value_counts()
cols = st.columns(4)
cols[0].metric("Rules", len(rules))
cols[1].metric("Firing", len(firing))
cols[2].metric("Notifications delivered", int(outcome.get(alert_data.DELIVERED, 0)))
cols[3].metric("Notifications failed", int(outcome.get(alert_data.FAILED, 0)))
actions.show_flash()

unsent = firing[firing["notification"] == alert_data.NO_CHANNEL]
if not unsent.empty:
    st.warning(
        f"{len(unsent)} firing alert(s) notified nobody: their rules have no notification "
        f"channel configured ({fmt.names(sorted(set(unsent['rule'])))}). Add `channels:` to "
        "the rules and `driftwarden alerts apply` them (docs/alerts.md)."
    )
failed = firing[firing["notification"] == alert_data.FAILED]
if not failed.empty:
    st.error(
        f"{len(failed)} notification(s) failed: "
        + "; ".join(fmt.md(t) for t in failed["notification_detail"])
    )
queued = firing[firing["notification"] == alert_data.QUEUED]
if not queued.empty:
    st.info(f"{len(queued)} notification(s) queued, not delivered yet.")


def _series_label(row: dict) -> str:
    """``rule · feature · group`` of one series (plain text)."""
    parts = [row["rule"], row["feature"], row["group"]]
    return " · ".join(str(p) for p in parts if not fmt.missing(p))


st.subheader("Current states")
st.caption("Click a row for its details: condition, channels and what was sent.")
shown = fmt.display_frame(
    series.assign(what=[_series_label(r) for r in series.to_dict("records")]),
    {
        "what": "alert",
        "severity": "severity",
        "state": "state",
        "since": "since (UTC)",
        "last_value": "last value",
        "notification": "notification",
    },
    {"since": fmt.when, "last_value": fmt.num},
)
picked = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="dw_alert_series",
    row_height=72,  # taller rows wrap long text (Streamlit wraps above 4 rem)
    column_config={
        "alert": st.column_config.TextColumn(width=250),
        "severity": st.column_config.TextColumn(width=70),
        "state": st.column_config.TextColumn(width=64),
        "since (UTC)": st.column_config.TextColumn(width=90),
        "last value": st.column_config.TextColumn(width=70),
        "notification": st.column_config.TextColumn(width=150),
    },
)
rows = picked.selection.rows if picked is not None else []
if rows:
    row = series.iloc[rows[0]]
    st.markdown(
        f"**{fmt.md(_series_label(row.to_dict()))}** — {fmt.md(row['condition'])}; "
        f"severity {fmt.md(row['severity'])}; state **{row['state']}** since "
        f"{fmt.when(row['since'])} UTC; last value {fmt.num(row['last_value'])} "
        f"(window ending {fmt.when(row['last_window_end'])} UTC)."
    )
    st.markdown(f"**Notification:** {fmt.md(row['notification_detail'])}")
    channels = row["channels"]
    st.markdown(f"**Channels:** {fmt.names(channels) if channels else 'none configured'}")
    if not fmt.missing(row["acknowledged_by"]):
        st.markdown(
            f"Acknowledged by {fmt.md(row['acknowledged_by'])} at "
            f"{fmt.when(row['acknowledged_at'])} UTC."
        )

if not firing.empty:
    with st.form("ack"):
        labels = {
            int(r["id"]): f"#{r['id']} {_series_label(r)} (since {fmt.when(r['since'])} UTC)"
            for r in firing.to_dict("records")
        }
        chosen = st.selectbox("Firing series", list(labels), format_func=labels.get)
        if st.form_submit_button("Acknowledge"):
            actions.acknowledge(url, int(chosen), by=auth.current_user())

st.subheader("Silence")
with st.form("silence"):
    rule = st.selectbox("Rule", rules["rule"].tolist())
    hours = st.number_input("For (hours)", min_value=1, max_value=24 * 30, value=24)
    reason = st.text_input("Reason")
    if st.form_submit_button("Silence"):
        now = datetime.now(UTC)
        actions.silence(
            url,
            rule=rule,
            until=now + timedelta(hours=int(hours)),
            reason=reason,
            author=auth.current_user(),
            now=now,
        )
if not tables["silences"].empty:
    st.dataframe(
        fmt.display_frame(tables["silences"], formats={"until": fmt.when}),
        hide_index=True,
        width="stretch",
    )

st.subheader("Rules")
st.dataframe(
    fmt.display_frame(
        rules,
        {
            "rule": "rule",
            "metric": "metric",
            "feature": "feature",
            "condition": "condition",
            "severity": "severity",
            "channels": "channels",
        },
        {"feature": lambda f: "none" if fmt.missing(f) else str(f)},
    ),
    hide_index=True,
    width="stretch",
)
st.subheader("History")
history = tables["history"]
if history.empty:
    st.caption("No state change yet.")
else:
    st.dataframe(
        fmt.display_frame(
            history.assign(what=[_series_label(r) for r in history.to_dict("records")]),
            {
                "at": "at (UTC)",
                "what": "alert",
                "change": "change",
                "window_start": "window (UTC)",
                "value": "value",
                "threshold": "threshold",
            },
            {"window_start": fmt.day, "value": fmt.num, "threshold": fmt.num},
        ),
        hide_index=True,
        width="stretch",
    )

_backtest_panel.render(url, names, model)
