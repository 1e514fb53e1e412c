"""On the lending demo, the backtest equals what the live engine did, window by window.

The analysed demo is the dashboard tests' cached database (``tests/app/conftest.py``:
60 daily windows at 200 rows a day, every analyzer). A fresh database gets the model and
a rule file — the demo's three rules plus two that flap on the real data (``for: 3`` on
the gradual ``income`` drift; ``psi`` of every feature with ``repeat: 2d``), all with a
channel so that notifications are counted. Then the demo's stored results arrive one
window at a time, each followed by the live pass at the window's end: the rules were
live before those windows were analysed. The backtest of the same file must give the
same episodes, notifications, pending windows and gaps, on that database and on the demo
database itself (which the backtest must leave unchanged).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from test_backtest import (
    assert_reads_equal_the_live_queries,
    backtest_outcomes,
    file_rules,
    live_outcomes,
    live_run,
)

from monitors.alerts.backtest import backtest, backtest_file
from monitors.alerts.rules import apply_rules, parse_rule_file
from monitors.demo.lending import DEMO_RULES, MODEL, SHIFT_DAY, START
from storage import alerts as alert_queries
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import MetricResult, Model
from tests.app.conftest import demo_db  # noqa: F401  (the cached, analysed lending demo)

EXTRA_RULES = [
    {
        "name": "income-drift-3",
        "model": MODEL,
        "metric": "drift_detected",
        "feature": "income",
        "op": ">=",
        "threshold": 1,
        "for": 3,
    },
    {
        "name": "psi-any",
        "model": MODEL,
        "metric": "psi",
        "feature": "*",
        "op": ">",
        "threshold": 0.05,
        "for": 2,
        "repeat": "2d",
    },
]


def rule_text() -> str:
    """The demo's rules plus two more, each notifying a Slack channel."""
    parsed = yaml.safe_load(DEMO_RULES)
    rules = [*(r for r in parsed["rules"] if r["model"] == MODEL), *EXTRA_RULES]
    for rule in rules:
        rule["channels"] = ["ml-team"]
    channels = {"ml-team": {"type": "slack", "webhook_url_env": "DEMO_SLACK_WEBHOOK"}}
    return yaml.safe_dump({"channels": channels, "rules": rules}, sort_keys=False)


def windows_of(url: str) -> list[tuple[datetime, datetime]]:
    with session_scope(get_engine(url)) as session:
        model_id = alert_queries.model_id(session, MODEL)
        assert model_id is not None
        return alert_queries.model_windows(session, model_id)


@pytest.fixture(scope="module")
def replayed(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:  # noqa: F811
    """(demo URL, live URL, live outcomes): the demo's windows arrive one by one."""
    directory = tmp_path_factory.mktemp("live")
    shutil.copyfile(demo_db, directory / "demo.db")
    demo_url = f"sqlite:///{directory / 'demo.db'}"
    live_url = f"sqlite:///{directory / 'live.db'}"
    engine = get_engine(live_url)
    with session_scope(engine) as session:
        session.add(Model(name=MODEL, task="binary_classification", schema_json={}, log_table="x"))
    with session_scope(engine) as session:
        apply_rules(session, parse_rule_file(rule_text()))
        model_id = alert_queries.model_id(session, MODEL)
    source = get_engine(demo_url)
    with session_scope(source) as session:
        source_id = alert_queries.model_id(session, MODEL)
    columns = [c for c in MetricResult.__table__.columns if c.name not in ("id", "model_id")]

    def arrive(_i: int, start: datetime, end: datetime) -> None:
        with session_scope(source) as session:
            rows = session.execute(
                select(*columns).where(
                    MetricResult.model_id == source_id,
                    MetricResult.window_start == start,
                    MetricResult.window_end == end,
                )
            ).all()
        with session_scope(engine) as session:
            session.execute(
                MetricResult.__table__.insert(),
                [{**row._asdict(), "model_id": model_id} for row in rows],
            )

    trace = live_run(engine, windows_of(demo_url), arrive)
    yield demo_url, live_url, live_outcomes(engine, trace)
    dispose_all()


def test_backtest_equals_the_live_engine_on_the_demo(replayed: tuple) -> None:
    demo_url, live_url, expected = replayed
    rules = file_rules(rule_text())
    for url in (live_url, demo_url):
        got = backtest_outcomes(backtest(get_engine(url), rules))
        assert sorted(got) == sorted(expected)
        for sid in sorted(expected):
            assert got[sid] == expected[sid], (url, sid)
    assert_reads_equal_the_live_queries(get_engine(demo_url), rules)
    # what the demo is known to do: credit_score drifts from SHIFT_DAY to the end
    drift = expected[("credit-score-drift", "credit_score", "")]
    assert [e[0] for e in drift.episodes] == [START + timedelta(days=SHIFT_DAY)]
    assert drift.kinds["firing"] == 1 and drift.kinds["repeat"] > 20  # daily repeats
    flapping = [o for sid, o in expected.items() if sid[0] in ("income-drift-3", "psi-any")]
    assert sum(len(o.pending) for o in flapping) > 0
    assert sum(len(o.episodes) for o in flapping) > 1


def test_the_demo_database_is_left_unchanged(replayed: tuple, tmp_path: Path) -> None:
    demo_url, _, _ = replayed
    dispose_all()
    path = Path(demo_url.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    rules = tmp_path / "rules.yaml"
    rules.write_text(rule_text())
    text = backtest_file(get_engine(demo_url), rules, with_silences=True)
    assert "Rule credit-score-drift (credit drift_detected feature=credit_score >= 1" in text
    dispose_all()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
