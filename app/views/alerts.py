"""Alerts: rules, current states, history and outbox; acknowledge and silence here."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from app import actions, auth, data, widgets

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
tables = data.alerts(url, model)
series, rules = tables["series"], tables["rules"]
if rules.empty:
    st.info(
        "No alert rules yet. Write a rule file and apply it: `driftwarden alerts apply "
        "rules.yaml` (see docs/alerts.md)."
    )
    st.stop()
firing = series[series["state"] == "firing"]
cols = st.columns(3)
cols[0].metric("Rules", len(rules))
cols[1].metric("Firing", len(firing))
cols[2].metric("Dead notifications", int((tables["outbox"]["status"] == "dead").sum()))
actions.show_flash()

st.subheader("Current states")
st.dataframe(series, hide_index=True)
if not firing.empty:
    with st.form("ack"):
        labels = {
            int(r.id): f"#{r.id} {r.rule} {r.feature or ''} {r.group or ''} (since {r.open_since})"
            for r in firing.itertuples()
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
    st.dataframe(tables["silences"], hide_index=True)

st.subheader("Rules")
st.dataframe(rules, hide_index=True)
st.subheader("History")
st.dataframe(tables["history"], hide_index=True)
st.subheader("Outbox (pending and dead)")
if tables["outbox"].empty:
    st.success("Nothing waiting: every notification was delivered.")
else:
    st.dataframe(tables["outbox"], hide_index=True)
