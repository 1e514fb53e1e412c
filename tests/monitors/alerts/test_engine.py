"""The alert state machine (pure) and the evaluation pass over stored metrics."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from alerts_support import T0, add_model, add_window, apply_text, outbox_count, window
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from monitors.alerts.engine import (
    AlertState,
    SeriesState,
    Window,
    check_repeat,
    evaluate,
    evaluate_rules,
)
from monitors.alerts.rules import Rule
from monitors.analyzers.base import MetricRecord
from monitors.analyzers.fairness import FairnessConfig, fairness_records, group_fairness
from storage.engine import get_engine, session_scope
from storage.metrics import store_window
from storage.models import AlertEvent, AlertRule, AlertSeries, Model, OutboxMessage, Silence
from storage.schema import infer_schema

HOUR = timedelta(hours=1)


def make_rule(**kwargs: object) -> Rule:
    base: dict[str, object] = dict(
        id=1, name="r", model="m", metric="psi", feature=None, group=None, op=">", threshold=0.2
    )
    base.update(kwargs)
    return Rule(**base)  # type: ignore[arg-type]


def run(
    rule: Rule, seq: list[bool | None], *, step: timedelta = HOUR
) -> list[tuple[str, str | None]]:
    """States and notifications for a sequence of windows evaluated ``step`` apart."""
    state = SeriesState()
    out = []
    for i, breaching in enumerate(seq):
        start, end = window(i)
        t = evaluate(rule, state, breaching, Window(start, end, 1.0), T0 + i * step)
        out.append((str(t.after.state), t.notify))
        state = t.after
    return out


def test_fires_once_then_resolves_then_ok() -> None:
    got = run(make_rule(), [False, True, True, True, False, False])
    assert got == [
        ("ok", None),
        ("firing", "firing"),
        ("firing", None),
        ("firing", None),
        ("resolved", "resolved"),
        ("ok", None),
    ]


def test_for_counts_consecutive_windows_and_since_is_first_breach() -> None:
    rule = make_rule(for_windows=3)
    state = SeriesState()
    for i in range(3):
        start, end = window(i)
        t = evaluate(rule, state, True, Window(start, end, 1.0), T0)
        state = t.after
    assert (state.state, t.notify, state.since, state.open_since) == (
        "firing",
        "firing",
        window(0)[0],
        window(0)[0],
    )


def test_flapping_with_for_2_never_notifies() -> None:
    got = run(make_rule(for_windows=2), [True, False] * 10)
    assert [n for _, n in got] == [None] * 20
    assert {s for s, _ in got} == {"pending", "ok"}


def test_repeat_after_interval_in_wall_clock_time_only() -> None:
    rule = make_rule(repeat_seconds=24 * 3600)
    # windows evaluated one hour apart: 30 breaching windows = 29 h -> one repeat at 24 h
    got = run(rule, [True] * 30, step=HOUR)
    notes = [(i, n) for i, (_, n) in enumerate(got) if n]
    assert notes == [(0, "firing"), (24, "repeat")]
    # the same 30 windows evaluated in one pass (same wall-clock time) -> no repeat
    got_one_pass = run(rule, [True] * 30, step=timedelta(0))
    assert [n for _, n in got_one_pass if n] == ["firing"]


def test_check_repeat_respects_acknowledgement() -> None:
    rule = make_rule(repeat_seconds=3600)
    firing = SeriesState("firing", T0, 1, T0, last_notified_at=T0)
    assert check_repeat(rule, firing, T0 + 2 * HOUR).notify == "repeat"
    acked = SeriesState("firing", T0, 1, T0, last_notified_at=T0, acknowledged=True)
    assert check_repeat(rule, acked, T0 + 2 * HOUR).notify is None
    assert check_repeat(rule, SeriesState(), T0 + 2 * HOUR).notify is None


def test_no_data_keeps_the_incident_open() -> None:
    got = run(make_rule(), [True, None, None, True, None, False, None, True])
    assert got == [
        ("firing", "firing"),
        ("no_data", None),
        ("no_data", None),
        ("firing", None),  # same incident: no second "firing"
        ("no_data", None),
        ("resolved", "resolved"),  # recovery after a gap is announced
        ("no_data", None),
        ("firing", "firing"),
    ]


def test_no_data_breaks_a_pending_streak() -> None:
    got = run(make_rule(for_windows=2), [True, None, True, True])
    assert got == [
        ("pending", None),
        ("no_data", None),
        ("pending", None),
        ("firing", "firing"),
    ]


def expected_firings(seq: list[bool | None], for_windows: int) -> int:
    """Incidents counted independently: maximal runs that reach ``for`` breaches, where
    no-data windows neither count nor end an open incident."""
    incidents, run_length, open_ = 0, 0, False
    for b in seq:
        if b is None:
            run_length = 0
        elif b:
            run_length += 1
            if not open_ and run_length >= for_windows:
                incidents, open_ = incidents + 1, True
        else:
            run_length, open_ = 0, False
    return incidents


@settings(max_examples=200, deadline=None)
@given(
    seq=st.lists(st.sampled_from([True, False, None]), max_size=40),
    for_windows=st.integers(1, 4),
)
def test_one_notification_per_transition(seq: list[bool | None], for_windows: int) -> None:
    got = run(make_rule(for_windows=for_windows, repeat_seconds=10**9), seq)
    notes = [n for _, n in got if n]
    assert notes.count("firing") == expected_firings(seq, for_windows)
    # firing and resolved alternate, starting with firing
    assert notes == ["firing", "resolved"] * (len(notes) // 2) + ["firing"] * (len(notes) % 2)
    states = [s for s, _ in got]
    assert set(states) <= {str(s) for s in AlertState}


# ----------------------------------------------------------------------------- database

RULES = """
channels:
  hook: {type: webhook, url_env: TEST_HOOK_URL}
  mail: {type: email, to: [oncall@example.com]}
rules:
  - name: psi-high
    model: credit
    metric: psi
    feature: "*"
    op: ">"
    threshold: 0.2
    for: FOR
    repeat: 24h
    severity: critical
    channels: [hook, mail]
"""


def events(url: str) -> list[tuple[str, str, str, object]]:
    with session_scope(get_engine(url)) as session:
        rows = session.execute(
            select(
                AlertSeries.feature,
                AlertEvent.from_state,
                AlertEvent.to_state,
                AlertEvent.window_end,
            )
            .join(AlertSeries, AlertEvent.series_id == AlertSeries.id)
            .order_by(AlertEvent.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_evaluate_rules_fires_once_and_is_idempotent(database_url: str) -> None:
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(engine, RULES.replace("FOR", "1"))
    for i, (age, income) in enumerate([(0.1, 0.1), (0.5, 0.1), (0.6, 0.1), (0.1, 0.1)]):
        add_window(engine, mid, i, {("psi", "age", ""): age, ("psi", "income", ""): income})
    summary = evaluate_rules(engine, now=T0 + 10 * timedelta(days=1))
    assert (summary.rules, summary.series, summary.transitions, summary.notifications) == (
        1,
        2,
        2,
        4,
    )
    assert events(database_url) == [
        ("age", "ok", "firing", window(1)[1]),
        ("age", "firing", "resolved", window(3)[1]),
    ]
    again = evaluate_rules(engine, now=T0 + 10 * timedelta(days=1))
    assert (again.transitions, again.notifications, again.windows) == (0, 0, 0)
    assert outbox_count(engine) == 4
    with session_scope(engine) as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
        payloads = session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id)).all()
    assert len(set(keys)) == 4
    assert [p["kind"] for p in payloads] == ["firing", "firing", "resolved", "resolved"]
    assert payloads[0]["value"] == 0.5 and payloads[0]["feature"] == "age"


def test_for_counts_windows_across_passes(database_url: str) -> None:
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(engine, RULES.replace("FOR", "3"))
    values = [0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5]
    for i, v in enumerate(values):  # one window per pass
        add_window(engine, mid, i, {("psi", "age", ""): v})
        evaluate_rules(engine, now=T0 + i * HOUR)
    per_pass = events(database_url)
    assert [(f, a, b) for f, a, b, _ in per_pass] == [
        ("age", "ok", "pending"),
        ("age", "pending", "ok"),
        ("age", "ok", "pending"),
        ("age", "pending", "firing"),
    ]
    assert per_pass[-1][3] == window(5)[1]


def test_flapping_series_sends_nothing(database_url: str, http_server, monkeypatch) -> None:
    from monitors.alerts.outbox import deliver

    monkeypatch.setenv("TEST_HOOK_URL", http_server.url())
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(engine, RULES.replace("FOR", "2").replace("[hook, mail]", "[hook]"))
    for i in range(12):
        add_window(engine, mid, i, {("psi", "age", ""): 0.5 if i % 2 == 0 else 0.1})
        evaluate_rules(engine, now=T0 + i * HOUR)
        deliver(engine, now=T0 + i * HOUR)
    assert outbox_count(engine) == 0
    assert http_server.requests == []
    assert len(events(database_url)) == 12  # every change kept


def test_silence_suppresses_notifications_but_records_state(database_url: str) -> None:
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(engine, RULES.replace("FOR", "1"))
    with session_scope(engine) as session:
        session.add(
            Silence(
                rule="psi-high",
                model=None,
                feature="age",
                until=T0 + 2 * HOUR,
                reason="known issue",
                author="test",
            )
        )
    add_window(engine, mid, 0, {("psi", "age", ""): 0.5, ("psi", "income", ""): 0.5})
    summary = evaluate_rules(engine, now=T0)
    assert (summary.transitions, summary.suppressed, summary.notifications) == (2, 1, 2)
    with session_scope(engine) as session:
        rows = session.execute(
            select(AlertSeries.feature, AlertEvent.silenced)
            .join(AlertSeries)
            .order_by(AlertSeries.feature)
        ).all()
        features = {p["feature"] for p in session.scalars(select(OutboxMessage.payload))}
    assert [tuple(r) for r in rows] == [("age", True), ("income", False)]
    assert features == {"income"}
    # once the silence is over, the still-firing series is announced (a repeat)
    after = evaluate_rules(engine, now=T0 + 3 * HOUR)
    assert after.notifications == 2


def test_repeat_without_new_windows_and_acknowledgement(database_url: str) -> None:
    from monitors.alerts.service import acknowledge

    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(engine, RULES.replace("FOR", "1"))
    add_window(engine, mid, 0, {("psi", "age", ""): 0.5})
    assert evaluate_rules(engine, now=T0).notifications == 2
    assert evaluate_rules(engine, now=T0 + 23 * HOUR).notifications == 0
    assert evaluate_rules(engine, now=T0 + 24 * HOUR).notifications == 2
    assert evaluate_rules(engine, now=T0 + 24 * HOUR).notifications == 0  # idempotent
    with session_scope(engine) as session:
        series_id = session.scalars(select(AlertSeries.id)).one()
    acknowledge(engine, series_id, by="alice", now=T0 + 25 * HOUR)
    assert evaluate_rules(engine, now=T0 + 60 * HOUR).notifications == 0
    add_window(engine, mid, 1, {("psi", "age", ""): 0.1})
    assert evaluate_rules(engine, now=T0 + 61 * HOUR).notifications == 2  # resolved
    with session_scope(engine) as session:
        series = session.scalars(select(AlertSeries)).one()
    assert (series.state, series.acknowledged_at) == ("resolved", None)


def test_no_data_window_and_model_level_rule(database_url: str) -> None:
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(
        engine,
        """
rules:
  - {name: acc, model: credit, metric: accuracy, op: "<", threshold: 0.8}
""",
    )
    add_window(engine, mid, 0, {("accuracy", "", ""): 0.7}, analyzer="performance")
    add_window(engine, mid, 1, {("psi", "age", ""): 0.1})  # no accuracy: no labels yet
    add_window(engine, mid, 2, {("accuracy", "", ""): None}, analyzer="performance")
    add_window(engine, mid, 3, {("accuracy", "", ""): 0.9}, analyzer="performance")
    evaluate_rules(engine, now=T0)
    assert [(a, b) for _, a, b, _ in events(database_url)] == [
        ("ok", "firing"),
        ("firing", "no_data"),
        ("no_data", "resolved"),
    ]


def test_group_wildcard_and_disabled_rules(database_url: str) -> None:
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(
        engine,
        """
rules:
  - {name: sel, model: credit, metric: selection_rate, group: "*", op: "<", threshold: 0.3}
""",
    )
    add_window(
        engine,
        mid,
        0,
        {
            ("selection_rate", "sex", "sex=F"): 0.2,
            ("selection_rate", "sex", "sex=M"): 0.5,
            ("demographic_parity_difference", "sex", ""): 0.3,
        },
        analyzer="fairness",
    )
    summary = evaluate_rules(engine, now=T0)
    assert (summary.series, summary.transitions) == (2, 1)
    apply_text(engine, "rules: []")  # the rule is disabled, not deleted
    add_window(engine, mid, 1, {("selection_rate", "sex", "sex=F"): 0.5}, analyzer="fairness")
    assert evaluate_rules(engine, now=T0).rules == 0
    assert len(events(database_url)) == 1


def _fairness_window(n_per_group: int, selected: tuple[int, int]) -> list[MetricRecord]:
    """Fairness records of a real window: groups F and M with the given selected counts."""
    rows = []
    for sex, k in zip(("F", "M"), selected, strict=True):
        rows += [(sex, 1 if i < k else 0) for i in range(n_per_group)]
    frame = pd.DataFrame(rows, columns=["sex", "p"]).assign(
        id=[f"r{i}" for i in range(len(rows))], ts=T0, y=0
    )
    frame["sex"] = frame["sex"].astype("str")
    frame.loc[::3, "y"] = 1
    schema = infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        sensitive=["sex"],
        features=[],
        positive_class=1,
    )
    report = group_fairness(frame, schema=schema, config=FairnessConfig(n_bootstrap=0))
    return fairness_records(report)


def test_require_significant_breaches_only_on_significant_fairness_records(
    database_url: str,
) -> None:
    """A small window's breach is "possible" (interval reaches 0.1), a large one's "certain"."""
    engine = get_engine(database_url)
    mid = add_model(engine)
    apply_text(
        engine,
        """
rules:
  - {name: possible, model: credit, metric: demographic_parity_difference, feature: sex,
     op: ">", threshold: 0.1}
  - {name: certain, model: credit, metric: demographic_parity_difference, feature: sex,
     op: ">", threshold: 0.1, require_significant: true}
""",
    )
    windows = [
        _fairness_window(20, (4, 10)),  # 0.2 vs 0.5: breach, not significant
        _fairness_window(1000, (200, 500)),  # same rates: significant
        _fairness_window(1000, (480, 500)),  # no breach
    ]
    for i, records in enumerate(windows):
        dpd = next(r for r in records if r.metric == "demographic_parity_difference")
        assert dpd.status == "breach" if i < 2 else "ok"
        assert dpd.details["significant"] is (i == 1)
        start, end = window(i)
        with session_scope(engine) as session:
            model = session.get(Model, mid)
            assert model is not None
            store_window(
                session,
                model,
                window_start=start,
                window_end=end,
                records=records,
                n_rows=0,
                n_labels=0,
                reference_version=None,
            )
    evaluate_rules(engine, now=T0 + 10 * HOUR)
    with session_scope(engine) as session:
        rows = session.execute(
            select(AlertRule.name, AlertEvent.to_state, AlertEvent.window_end)
            .join(AlertRule, AlertEvent.rule_id == AlertRule.id)
            .order_by(AlertRule.name, AlertEvent.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("certain", "firing", window(1)[1]),
        ("certain", "resolved", window(2)[1]),
        ("possible", "firing", window(0)[1]),
        ("possible", "resolved", window(2)[1]),
    ]
