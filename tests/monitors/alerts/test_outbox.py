"""Outbox delivery: retries, backoff, ordering, dead rows, concurrent deliverers."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from alerts_support import T0, add_model, add_window, apply_text
from sqlalchemy import select

from monitors.alerts.engine import evaluate_rules
from monitors.alerts.outbox import Backoff, deliver
from storage.engine import get_engine, session_scope
from storage.models import OutboxMessage

HOUR = timedelta(hours=1)

RULES = """
channels:
  mail: {type: email, to: [oncall@example.com]}
  hook: {type: webhook, url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET}
  chat: {type: slack, webhook_url_env: TEST_SLACK_URL}
rules:
  - name: psi-high
    model: credit
    metric: psi
    feature: "*"
    op: ">"
    threshold: 0.2
    channels: [CHANNELS]
"""


@pytest.fixture
def setup(database_url, http_server, smtp_server, monkeypatch):
    monkeypatch.setenv("TEST_HOOK_URL", http_server.url("/hook"))
    monkeypatch.setenv("TEST_HOOK_SECRET", "secret")
    monkeypatch.setenv("TEST_SLACK_URL", http_server.url("/slack"))
    engine = get_engine(database_url)
    return engine, add_model(engine), http_server, smtp_server


def queue(
    engine,
    mid,
    values: list[float],
    channels: str = "mail, hook, chat",
    *,
    feature: str = "age",
    first: int = 0,
) -> None:
    apply_text(engine, RULES.replace("CHANNELS", channels))
    for i, v in enumerate(values, start=first):
        add_window(engine, mid, i, {("psi", feature, ""): v})
    evaluate_rules(engine, now=T0)


def rows(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def hook_kinds(http_server, path: str = "/hook") -> list[tuple[str, str | None]]:
    return [
        (r.headers["webhook-id"], json.loads(r.body).get("kind"))
        for r in http_server.ok_requests(path)
    ]


def test_servers_down_for_several_passes_then_back(setup) -> None:
    engine, mid, http, smtp = setup
    queue(engine, mid, [0.5, 0.1, 0.1, 0.5, 0.1])  # firing, resolved, firing, resolved
    http.stop()
    smtp.stop()
    now = T0
    for _ in range(4):
        now += 2 * HOUR  # past any backoff (at most 1 h + 30 s)
        summary = deliver(engine, now=now)
        assert summary.delivered == 0 and summary.retrying == 3  # one try per channel
    assert {r.status for r in rows(engine)} == {"pending"}
    http.start()
    smtp.start()
    summary = deliver(engine, now=now + 2 * HOUR)
    assert (summary.delivered, summary.dead) == (12, 0)
    assert deliver(engine, now=now + 4 * HOUR).attempted == 0
    stored = rows(engine)
    assert {r.status for r in stored} == {"delivered"}
    by_channel: dict[str, list[str]] = {}
    for r in stored:
        by_channel.setdefault(r.channel, []).append(r.idempotency_key)
    kinds = ["firing", "resolved", "firing", "resolved"]
    for path, channel in (("/hook", "hook"), ("/slack", "chat")):
        got = hook_kinds(http, path)
        assert [key for key, _ in got] == by_channel[channel]  # once each, in order
        if path == "/hook":
            assert [kind for _, kind in got] == kinds
    mail_ids = [m["X-Driftwarden-Idempotency-Key"] for m in smtp.messages]
    assert mail_ids == by_channel["mail"]


def test_failing_channel_does_not_block_others(setup) -> None:
    engine, mid, http, _ = setup
    http.modes["/hook"] = "500"
    queue(engine, mid, [0.5, 0.1, 0.5])
    summary = deliver(engine, now=T0)
    assert summary.delivered == 6  # mail 3 + chat 3
    assert len(http.ok_requests("/slack")) == 3
    assert len(http.requests) == 4  # hook tried once, then skipped for this pass
    pending = [r for r in rows(engine) if r.status == "pending"]
    assert [r.channel for r in pending] == ["hook"] * 3
    assert pending[0].attempts == 1 and pending[0].last_error.startswith(
        "Webhook channel 'hook': HTTP 500"
    )


def test_permanent_failure_is_dead_after_one_attempt(setup) -> None:
    engine, mid, http, _ = setup
    http.modes["/hook"] = "400"
    queue(engine, mid, [0.5, 0.1], channels="hook")
    summary = deliver(engine, now=T0)
    assert (summary.attempted, summary.dead, summary.delivered) == (2, 2, 0)
    assert [(r.status, r.attempts) for r in rows(engine)] == [("dead", 1), ("dead", 1)]
    assert deliver(engine, now=T0 + 48 * HOUR).attempted == 0


def test_retry_after_is_honoured_and_backoff_grows(setup) -> None:
    engine, mid, http, _ = setup
    http.modes["/hook"] = "429"
    http.retry_after = "600"
    queue(engine, mid, [0.5], channels="hook")
    deliver(engine, now=T0)
    [row] = rows(engine)
    assert row.next_attempt_at >= T0 + timedelta(seconds=600)
    assert deliver(engine, now=T0 + timedelta(seconds=599)).attempted == 0
    http.modes["/hook"] = "500"
    deliver(engine, now=row.next_attempt_at)
    [row2] = rows(engine)
    wait = (row2.next_attempt_at - row.next_attempt_at).total_seconds()
    assert 60 <= wait <= 90  # second failure: 30 * 2 s plus up to 30 s jitter
    http.modes["/hook"] = "ok"
    assert deliver(engine, now=row2.next_attempt_at).delivered == 1


def test_transient_failures_become_dead_after_max_age(setup) -> None:
    engine, mid, http, _ = setup
    http.stop()
    queue(engine, mid, [0.5], channels="hook")
    now = T0
    while now < T0 + 30 * HOUR:
        deliver(engine, now=now)
        now += 2 * HOUR
    [row] = rows(engine)
    assert row.status == "dead"
    assert row.last_error.startswith("gave up after 13 attempts over 1 day, 0:00:00: ")
    http.start()
    assert deliver(engine, now=now).attempted == 0


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_bounds(attempt: int) -> None:
    policy = Backoff(initial=30, maximum=3600, jitter=30)
    low = min(30 * 2 ** (attempt - 1), 3600)
    waits = [policy.wait(attempt) for _ in range(50)]
    assert all(low <= w <= min(low + 30, 3600) for w in waits)
    assert policy.wait(attempt, retry_after=7200) == 7200


def test_concurrent_deliverers_send_each_row_once(setup) -> None:
    engine, mid, http, _ = setup
    apply_text(engine, RULES.replace("CHANNELS", "hook, chat"))
    for i in range(4):
        add_window(
            engine, mid, i, {("psi", f"f{j}", ""): 0.5 if i % 2 == 0 else 0.1 for j in range(3)}
        )
    evaluate_rules(engine, now=T0)
    total = len(rows(engine))
    assert total == 2 * 3 * 4
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                deliver(engine, now=T0 + HOUR)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = [r.headers["webhook-id"] for r in http.ok_requests()]
    assert len(keys) == len(set(keys)) == total
    assert {r.status for r in rows(engine)} == {"delivered"}
    # per series and channel, the order of arrival is the order of the outbox
    order = {r.idempotency_key: r.id for r in rows(engine)}
    series = {r.idempotency_key: (r.series_key, r.channel) for r in rows(engine)}
    seen: dict[tuple[str, str], int] = {}
    for key in keys:
        assert order[key] > seen.get(series[key], -1)
        seen[series[key]] = order[key]


def test_unknown_channel_is_dead(setup) -> None:
    engine, mid, _, _ = setup
    queue(engine, mid, [0.5], channels="hook")
    apply_text(engine, "rules: []")  # removes the channel, the row stays
    deliver(engine, now=T0)
    [row] = rows(engine)
    assert (row.status, row.last_error) == ("dead", "channel 'hook' is not defined")


def test_latest_outbox_reads_the_newest_row_per_series_and_channel(database_url) -> None:
    from datetime import UTC, datetime

    from storage.alerts import latest_outbox

    engine = get_engine(database_url)
    stamp = datetime(2026, 3, 2, tzinfo=UTC)
    with session_scope(engine) as session:
        for i, (series, channel, status) in enumerate(
            [
                ("1:1", "ops", "dead"),
                ("1:1", "ops", "delivered"),  # newer: the one the page shows
                ("1:1", "chat", "pending"),
                ("1:2", "ops", "dead"),
                ("9:9", "ops", "delivered"),  # another series: not asked for
            ]
        ):
            session.add(
                OutboxMessage(
                    channel=channel,
                    idempotency_key=f"k{i}",
                    series_key=series,
                    payload={},
                    status=status,
                    attempts=1,
                    next_attempt_at=stamp,
                    created_at=stamp,
                )
            )
    with session_scope(engine) as session:
        got = [(m.series_key, m.channel, m.status) for m in latest_outbox(session, ["1:1", "1:2"])]
        assert latest_outbox(session, []) == []
    assert got == [("1:1", "ops", "delivered"), ("1:1", "chat", "pending"), ("1:2", "ops", "dead")]
