"""Fault test (b): the runner is SIGKILLed at random points of its passes, 50+ times.

Afterwards no metric is stored twice, no state change is lost, no outbox row is
duplicated, and every delivered copy of a notification carries the same idempotency key
(a duplicate the key reveals is allowed: it is what a kill between sending and
committing produces).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from alerts_support import add_model, apply_text
from sqlalchemy import func, select

from storage.engine import dispose_all, get_engine, session_scope
from storage.models import AlertEvent, AlertSeries, MetricResult, OutboxMessage

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))
import crash_worker  # noqa: E402

KILLS = 50
RULES = """
channels:
  hook: {type: webhook, url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET}
  chat: {type: slack, webhook_url_env: TEST_SLACK_URL}
  mail: {type: email, to: [oncall@example.com]}
rules:
  - {name: psi-high, model: credit, metric: psi, feature: "*", op: ">", threshold: 0.2,
     for: 2, channels: [hook, chat, mail]}
"""


class Zygote:
    """The pre-imported runner process (see ``crash_worker.py``)."""

    def __init__(self, url: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "crash_worker.py"), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )

    def start(self) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().split()
        assert line[0] == "pid", line
        return int(line[1])

    def wait(self) -> int:
        assert self.proc.stdout
        watchdog = threading.Timer(90, self.proc.kill)  # a hung runner fails, never hangs
        watchdog.start()
        try:
            line = self.proc.stdout.readline().split()
        finally:
            watchdog.cancel()
        assert line and line[0] == "exit", line
        return int(line[1])

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _state(engine) -> dict[str, object]:
    with session_scope(engine) as session:
        metrics = session.execute(
            select(MetricResult.window_start, MetricResult.feature, func.count()).group_by(
                MetricResult.window_start, MetricResult.feature
            )
        ).all()
        events = session.execute(
            select(
                AlertSeries.feature,
                AlertEvent.from_state,
                AlertEvent.to_state,
                AlertEvent.window_end,
            )
            .join(AlertSeries, AlertEvent.series_id == AlertSeries.id)
            .order_by(AlertEvent.id)
        ).all()
        outbox = session.execute(
            select(
                OutboxMessage.idempotency_key,
                OutboxMessage.channel,
                OutboxMessage.status,
                OutboxMessage.payload,
            )
        ).all()
    per_series: dict[str, list[tuple[str, str, object]]] = {}
    for feature, a, b, end in events:
        per_series.setdefault(feature, []).append((a, b, end))
    return {"metrics": metrics, "events": per_series, "outbox": outbox}


def test_sigkill_at_random_points(
    database_url: str, tmp_path: Path, http_server, smtp_server, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", http_server.url("/hook"))
    monkeypatch.setenv("TEST_HOOK_SECRET", "secret")
    monkeypatch.setenv("TEST_SLACK_URL", http_server.url("/slack"))
    engine = get_engine(database_url)
    add_model(engine)
    apply_text(engine, RULES)
    dispose_all()  # the runners open their own connections

    rng = random.Random(20260301)
    zygote = Zygote(database_url)
    kills = 0
    started = time.monotonic()
    try:
        while kills < KILLS:
            pid = zygote.start()
            time.sleep(rng.uniform(0.0, 0.25))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status = zygote.wait()
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                kills += 1
            else:  # finished before the kill (or died of its deadline alarm: a failure)
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        zygote.start()  # finish without interruption
        status = zygote.wait()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        zygote.close()
    assert time.monotonic() - started < 120

    got = _state(get_engine(database_url))
    # the same windows, one pass each, without kills, in a fresh database
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    ref_engine = get_engine(reference_url)
    add_model(ref_engine)
    apply_text(ref_engine, RULES.replace("[hook, chat, mail]", "[]"))
    from datetime import UTC, datetime

    from monitors.alerts.engine import evaluate_rules

    with session_scope(ref_engine) as session:
        model_id = session.scalar(select(func.min(MetricResult.model_id))) or 1
    for i in range(crash_worker.N_WINDOWS):
        crash_worker.store_window(ref_engine, model_id, i)
        evaluate_rules(ref_engine, now=datetime.now(UTC))
    expected = _state(ref_engine)

    # no metric stored twice, every window stored
    assert all(n == 1 for *_, n in got["metrics"])
    assert len(got["metrics"]) == crash_worker.N_WINDOWS * len(crash_worker.FEATURES)
    # no state change lost (or added)
    assert got["events"] == expected["events"]
    transitions = sum(
        1
        for series in expected["events"].values()
        for _, b, _ in series
        if b in ("firing", "resolved")
    )
    assert transitions > 4
    # one outbox row per notification and channel, all delivered
    outbox = got["outbox"]
    assert len(outbox) == 3 * transitions
    assert {status for _, _, status, _ in outbox} == {"delivered"}
    kinds = Counter((channel, payload["kind"]) for _, channel, _, payload in outbox)
    assert kinds["hook", "firing"] + kinds["hook", "resolved"] == transitions

    # what arrived: every notification, duplicates only under the same key and body
    for path, channel in (("/hook", "hook"), ("/slack", "chat")):
        keys = {key for key, ch, _, _ in outbox if ch == channel}
        arrived: dict[str, set[bytes]] = {}
        for request in http_server.ok_requests(path):
            arrived.setdefault(request.headers["webhook-id"], set()).add(request.body)
        assert set(arrived) == keys
        assert all(len(bodies) == 1 for bodies in arrived.values())
        if channel == "hook":
            kinds_in = {json.loads(next(iter(b)))["kind"] for b in arrived.values()}
            assert kinds_in <= {"firing", "resolved"}
    mail_keys = {key for key, ch, _, _ in outbox if ch == "mail"}
    message_ids = Counter(m["X-Driftwarden-Idempotency-Key"] for m in smtp_server.messages)
    assert set(message_ids) == mail_keys
