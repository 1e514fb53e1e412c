"""Fault test (b) on the real analysis pass: ``run_pass`` SIGKILLed at random points, 50+ times.

A small model (12 daily windows, ``x1`` drifting on some days) and three alert rules (two
with a webhook and a Slack channel on a local recording HTTP server) live in one database.
Round 0 runs one clean ``run_pass`` and keeps what it stored and sent: the expected
outcome. Every later round first removes what a pass writes (results, run records, alert
series, events, outbox), then runs the same pass in forked children killed with SIGKILL
after a random delay, a few times, and finally lets one pass complete. After each round:
the stored metrics, window runs, state changes and outbox equal the clean run's (none
lost, none twice), and every notification arrived, with the same body as in the clean
run; a copy arrives only under the same ``webhook-id`` with the same body (what a kill
between sending and committing produces, and what the idempotency key reveals).

Kills are sorted by where they landed (judged from the database afterwards) and the test
requires kills while loading or analysing, between stored windows, during the rule
evaluation and during delivery.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest
from pipeline_support import START, applicants
from sqlalchemy import Engine, delete, func, inspect, select, table

from monitors.alerts.rules import apply_rules, parse_rule_file
from monitors.collectors import Client
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import (
    AlertEvent,
    AlertRule,
    AlertSeries,
    MetricResult,
    OutboxMessage,
    SummarySpecRow,
    WindowRun,
    WindowSummaryRow,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
WORKER = HERE / "run_crash_worker.py"

MODEL = "crashy"
DAYS = 12
ROWS_PER_DAY = 150
DRIFT_DAYS = frozenset({3, 4, 5, 8, 9, 11})  # x1 shifted by 1.5 standard deviations
NOW = START + timedelta(days=DAYS, hours=1)
KILLS = 50
MAX_KILLS = 250  # with the phase requirement: never loops for ever
MAX_ROUNDS = 60
KILLS_PER_ROUND = 8  # then one pass runs to completion and the round is checked
TAIL_SCALE = 0.3  # share of a pass after its last window (evaluation, delivery), about
PHASES = ("load", "analysis", "evaluation", "delivery")
MIN_STRETCH = 0.1
MAX_STRETCH = 3.0  # delays grow at most to 3x a clean pass (unbounded growth slept for hours)

RULES = f"""
channels:
  hook: {{type: webhook, url_env: CRASH_HOOK_URL, secret_env: CRASH_HOOK_SECRET}}
  chat: {{type: slack, webhook_url_env: CRASH_SLACK_URL}}
rules:
  - {{name: x1-drift, model: {MODEL}, metric: drift_detected, feature: x1, op: ">=",
     threshold: 1, for: 1, channels: [hook, chat]}}
  - {{name: x1-drift-sustained, model: {MODEL}, metric: drift_detected, feature: x1,
     op: ">=", threshold: 1, for: 2, severity: critical, channels: [hook, chat]}}
  - {{name: any-drift, model: {MODEL}, metric: drift_detected, feature: "*", op: ">=",
     threshold: 1, for: 2}}
  - {{name: any-psi, model: {MODEL}, metric: psi, feature: "*", op: ">", threshold: 0.1}}
  - {{name: group-selection, model: {MODEL}, metric: selection_rate, feature: sex, group: "*",
     op: "<", threshold: 0.5}}
"""
NOTIFYING = ("x1-drift", "x1-drift-sustained")  # the others only record state changes
KEY = re.compile(r"^dw-(\d+)-(\d+)-(.+)$")


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Request:
    """One request the recording server received."""

    path: str
    webhook_id: str
    body: bytes


@dataclass
class Recorder:
    """A local HTTP server answering 200 to every POST and recording it."""

    requests: list[Request] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.requests.append(Request(self.path, self.headers["webhook-id"], body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def base(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def received(self, tag: str) -> list[Request]:
        """Requests sent by the passes of round ``tag``."""
        return [r for r in list(self.requests) if r.path.startswith(f"/{tag}/")]

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- runner


class Zygote:
    """The pre-imported runner process (see ``run_crash_worker.py``)."""

    def __init__(self, url: str, env: dict[str, str], stderr: IO[str]) -> None:
        self.stderr = stderr
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=REPO,
        )
        line = self._line(120)
        assert line == ["ready"], line

    def _line(self, timeout: float) -> list[str]:
        assert self.proc.stdout is not None
        watchdog = threading.Timer(timeout, self.proc.kill)  # a hung runner fails, never hangs
        watchdog.start()
        try:
            return self.proc.stdout.readline().split()
        finally:
            watchdog.cancel()

    def start(self, tag: str) -> int:
        """Fork a child running one pass; its pid."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"go {tag}\n")
        self.proc.stdin.flush()
        line = self._line(30)
        assert line and line[0] == "pid", line
        return int(line[1])

    def wait(self) -> int:
        """Wait status of the last child."""
        line = self._line(90)
        assert line and line[0] == "exit", line
        return int(line[1])

    def complete(self, tag: str) -> float:
        """Run one pass to its end; its duration in seconds."""
        started = time.monotonic()
        self.start(tag)
        status = self.wait()
        self.check(status)
        return time.monotonic() - started

    def check(self, status: int) -> None:
        """Fail, with the runner's error output, unless a child exited normally."""
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            self.stderr.seek(0)
            pytest.fail(f"runner ended with wait status {status}:\n{self.stderr.read()}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- database


def _setup(url: str) -> None:
    """Register the model, log its production rows and apply the rules."""
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=applicants(500, seed=1, prefix="ref"),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex"],
        config={"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 100}},
    )
    rows = applicants(ROWS_PER_DAY, seed=2, start=START, days=DAYS)
    day = (rows["ts"] - START).dt.days
    rows.loc[day.isin(sorted(DRIFT_DAYS)), "x1"] += 15.0
    client.log(MODEL, rows)
    with session_scope(get_engine(url)) as session:
        apply_rules(session, parse_rule_file(RULES, source="crash test rules"))


def _table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in inspect(conn).get_table_names()
        }


def _reset(engine: Engine) -> None:
    """Remove what a pass writes: the database is as before round 0."""
    with session_scope(engine) as session:
        for model in (
            OutboxMessage,
            AlertEvent,
            AlertSeries,
            MetricResult,
            WindowRun,
            WindowSummaryRow,
            SummarySpecRow,
        ):
            session.execute(delete(model))


@dataclass(frozen=True)
class Progress:
    runs: int
    events: int
    outbox: int
    delivered: int


def _progress(engine: Engine) -> Progress:
    with session_scope(engine) as session:

        def count(*where: Any, model: Any = OutboxMessage) -> int:
            query = select(func.count()).select_from(model).where(*where)
            return int(session.scalar(query) or 0)

        return Progress(
            runs=count(model=WindowRun),
            events=count(model=AlertEvent),
            outbox=count(),
            delivered=count(OutboxMessage.status == "delivered"),
        )


def _phase(before: Progress, after: Progress, done: Progress) -> str:
    """Where a kill landed, judged from what the killed pass left behind.

    ``load``: no window stored by this pass yet (loading, preparing, analysing the first);
    ``analysis``: between stored windows; ``evaluation``: every window stored, not every
    state change; ``delivery``: every notification queued, not all sent; ``end``: all done.
    """
    if after.runs < done.runs:
        return "analysis" if after.runs > before.runs else "load"
    if after.events < done.events or after.outbox < done.outbox:
        return "evaluation"
    return "delivery" if after.delivered < done.outbox else "end"


@dataclass
class Snapshot:
    """What a pass stored, with database ids replaced by names (ids differ between rounds)."""

    metrics: dict[tuple[Any, ...], tuple[Any, ...]]
    metric_rows: int
    runs: list[tuple[Any, ...]]
    events: dict[tuple[str, str, str], list[tuple[Any, ...]]]
    outbox: dict[str, tuple[str, dict[str, Any]]]  # normalised key -> (status, payload)
    keys: dict[str, str]  # idempotency key -> normalised key


def _snapshot(engine: Engine) -> Snapshot:
    with session_scope(engine) as session:
        metric_rows = session.execute(
            select(
                MetricResult.window_start,
                MetricResult.window_end,
                MetricResult.analyzer,
                MetricResult.metric,
                MetricResult.feature,
                MetricResult.group,
                MetricResult.value,
                MetricResult.threshold,
                MetricResult.status,
                MetricResult.details,
            )
        ).all()
        kept = (  # the window's stored summary: written in the run's transaction
            select(WindowSummaryRow.n_rows)
            .where(
                WindowSummaryRow.model_id == WindowRun.model_id,
                WindowSummaryRow.window_start == WindowRun.window_start,
            )
            .scalar_subquery()
        )
        runs = session.execute(
            select(
                WindowRun.window_start,
                WindowRun.window_end,
                WindowRun.n_rows,
                WindowRun.n_labels,
                kept,
            ).order_by(WindowRun.window_start)
        ).all()
        series = {
            s_id: (rule, feature, group)
            for s_id, rule, feature, group in session.execute(
                select(AlertSeries.id, AlertRule.name, AlertSeries.feature, AlertSeries.group).join(
                    AlertRule, AlertSeries.rule_id == AlertRule.id
                )
            )
        }
        events = session.execute(
            select(
                AlertEvent.series_id,
                AlertEvent.from_state,
                AlertEvent.to_state,
                AlertEvent.window_start,
                AlertEvent.window_end,
                AlertEvent.value,
                AlertEvent.at,
                AlertEvent.silenced,
            ).order_by(AlertEvent.id)
        ).all()
        outbox = session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.status, OutboxMessage.payload)
        ).all()
    per_series: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for series_id, *event in events:
        per_series.setdefault(series[series_id], []).append(tuple(event))
    keys: dict[str, str] = {}
    normalised: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, status, payload in outbox:
        match = KEY.match(key)
        assert match is not None, key
        name = "|".join((*series[int(match[2])], match[3]))
        keys[key] = name
        normalised[name] = (status, {k: v for k, v in payload.items() if k != "idempotency_key"})
    return Snapshot(
        metrics={tuple(r[:6]): tuple(r[6:]) for r in metric_rows},
        metric_rows=len(metric_rows),
        runs=[tuple(r) for r in runs],
        events=per_series,
        outbox=normalised,
        keys=keys,
    )


def _arrived(recorder: Recorder, tag: str, keys: dict[str, str]) -> dict[str, set[bytes]]:
    """Bodies received in round ``tag`` by normalised key, the key normalised in them too."""
    found: dict[str, set[bytes]] = {}
    for request in recorder.received(tag):
        name = keys.get(request.webhook_id, f"unknown key {request.webhook_id}")
        body = request.body.replace(request.webhook_id.encode(), name.encode())
        channel = request.path.rsplit("/", 1)[1]
        found.setdefault(f"{channel}:{name}", set()).add(body)
    return found


# --------------------------------------------------------------------------- the test


@pytest.mark.slow  # about a minute per database: 50+ passes forked and killed
def test_run_pass_sigkilled_at_random_points(
    database_url: str, recorder: Recorder, tmp_path: Path
) -> None:
    _setup(database_url)
    engine = get_engine(database_url)
    baseline = _table_counts(engine)
    dispose_all()  # the runners open their own connections

    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1",
        CRASH_HOOK_BASE=recorder.base,
        CRASH_HOOK_SECRET="crash-secret",
        DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS="true",
        DRIFTWARDEN_DASHBOARD_URL="http://dashboard.example",
    )
    env.pop("DRIFTWARDEN_CONFIG", None)
    rng = random.Random(20260306)
    kills = 0
    phases: Counter[str] = Counter()
    duplicates = 0
    with open(tmp_path / "runner.err", "w+") as stderr:
        zygote = Zygote(database_url, env, stderr)
        try:
            # round 0: one clean pass gives the expected outcome
            full = zygote.complete("round0")
            print(f"clean pass: {full:.2f} s", flush=True)
            expected = _snapshot(engine)
            expected_http = _arrived(recorder, "round0", expected.keys)
            done = _progress(engine)
            _check_reference(expected, expected_http)
            dispose_all()
            rounds = 0
            # passes run slower than the clean one on a loaded machine: while a phase at
            # the end of the pass (evaluation, delivery) is still unreached, stretch the
            # delays so that kills also land there
            stretch = 1.0
            while kills < KILLS or any(phases[p] == 0 for p in PHASES):
                assert kills < MAX_KILLS and rounds < MAX_ROUNDS, f"phases reached: {phases}"
                rounds += 1
                tag = f"round{rounds}"
                _reset(engine)
                assert _table_counts(engine) == baseline
                dispose_all()
                for _ in range(KILLS_PER_ROUND):
                    before = _progress(engine)
                    dispose_all()
                    # uniform over what is left of the pass (a full one: loading to delivery)
                    left = (done.runs - before.runs) / done.runs
                    scale = stretch * full * (TAIL_SCALE + (1 - TAIL_SCALE) * left)
                    # while late phases are unreached, aim at the end of the pass only
                    late_missing = any(phases[p] == 0 for p in PHASES[1:]) and kills >= KILLS // 2
                    pid = zygote.start(tag)
                    time.sleep(rng.uniform(0.6 * scale if late_missing else 0.0, scale))
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    status = zygote.wait()
                    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                        # finished before the kill; anything else (error, deadline) fails
                        zygote.check(status)
                        # aimed past the end (passes run faster than the clean one): come back
                        stretch = max(MIN_STRETCH, stretch * 0.7)
                        break
                    kills += 1
                    phases[_phase(before, _progress(engine), done)] += 1
                    dispose_all()
                else:
                    zygote.complete(tag)  # then finish without interruption
                got = _snapshot(engine)
                _compare(got, expected, tag)
                arrived = _arrived(recorder, tag, got.keys)
                assert set(arrived) == set(expected_http), tag
                for name, bodies in arrived.items():
                    assert bodies == expected_http[name], (tag, name)
                requests = recorder.received(tag)
                duplicates += len(requests) - len({(r.path, r.webhook_id) for r in requests})
                dispose_all()
                print(f"{tag}: {kills} kills so far, {dict(phases)}", flush=True)
                if any(phases[p] == 0 for p in PHASES[1:]) and kills >= KILLS // 2:
                    stretch = min(stretch * 1.25, MAX_STRETCH)
        finally:
            zygote.close()
            stderr.seek(0)
            errors = stderr.read()
    assert "child error" not in errors, errors
    assert kills >= KILLS
    assert all(phases[p] > 0 for p in PHASES), phases
    print(f"{kills} kills in {rounds} rounds, by phase {dict(phases)}; {duplicates} resent")


def _check_reference(expected: Snapshot, http: dict[str, set[bytes]]) -> None:
    """The clean run did what the scenario is for (else the test proves nothing)."""
    drift = {
        start: value
        for (start, _end, _a, metric, feature, _g), (value, *_rest) in expected.metrics.items()
        if metric == "drift_detected" and feature == "x1"
    }
    assert len(drift) == DAYS
    assert {(s - START).days for s, v in drift.items() if v == 1.0} == DRIFT_DAYS
    assert expected.metric_rows == len(expected.metrics)
    assert [r[0] for r in expected.runs] == [START + timedelta(days=d) for d in range(DAYS)]
    transitions = [
        to
        for (rule, _f, _g), events in expected.events.items()
        if rule in NOTIFYING
        for _from, to, *_ in events
        if to in ("firing", "resolved")
    ]
    assert len(transitions) >= 6
    assert {rule for rule, _f, _g in expected.events} == {
        *NOTIFYING,
        "any-drift",
        "any-psi",
        "group-selection",
    }
    assert len(expected.outbox) == 2 * len(transitions)
    assert {status for status, _ in expected.outbox.values()} == {"delivered"}
    # a clean run sends each notification exactly once, on its channel
    assert set(http) == {f"{p['channel']}:{name}" for name, (_, p) in expected.outbox.items()}
    assert all(len(bodies) == 1 for bodies in http.values())


def _compare(got: Snapshot, expected: Snapshot, tag: str) -> None:
    assert got.metric_rows == expected.metric_rows, tag  # no metric stored twice or lost
    assert got.metrics.keys() == expected.metrics.keys(), tag
    assert got.metrics == expected.metrics, tag  # every analyzer is deterministic
    assert got.runs == expected.runs, tag  # one run record per window
    assert got.events == expected.events, tag  # no state change lost or doubled
    assert len(got.keys) == len(set(got.keys.values())), tag  # one outbox row per key
    assert got.outbox == expected.outbox, tag  # every notification, delivered
