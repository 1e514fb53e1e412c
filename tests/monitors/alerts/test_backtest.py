"""Backtesting alert rules: the replay equals the live engine, and writes nothing.

The central test applies a rule file, then stores a synthetic history window by window and
runs the live pass (:func:`evaluate_rules`) after each window, at the window's end — what
``driftwarden run`` does when the rule was live before the windows were analysed. It
records, after each pass, every series' state as stored by the live engine; episodes,
pending windows and gaps are derived from those states, and notifications are counted
in the outbox. The backtest of the same file over the same history must give exactly the
same numbers. The history is random (fixed seed) with regimes (so incidents last and
repeat), gaps (a missing row, a ``null`` value), late-starting series, ``for > 1``, a
channel-less rule and two silences; the test checks that each of these cases occurs.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alerts_support import add_model, add_window, apply_text, window
from hypothesis import given, settings
from hypothesis import strategies as hst
from sqlalchemy import Engine, MetaData, select, update

from monitors.alerts.backtest import (
    RuleBacktest,
    as_rule,
    backtest,
    replay_series,
)
from monitors.alerts.engine import evaluate_rules
from monitors.alerts.rules import Rule, parse_rule_file
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import AlertRule, AlertSeries, MetricResult, OutboxMessage, Silence

HOUR = timedelta(hours=1)
N_WINDOWS = 40
FEATURES = ("a", "b", "c", "d", "e")

RULES = """
channels:
  hook: {type: webhook, url_env: BT_HOOK_URL}
  mail: {type: email, to: [oncall@example.com]}
rules:
  - {name: psi-any, model: credit, metric: psi, feature: "*", op: ">", threshold: 0.25,
     repeat: 2d, channels: [hook, mail]}
  - {name: psi-for3, model: credit, metric: psi, feature: "*", op: ">=", threshold: 0.2,
     for: 3, repeat: 24h, channels: [hook]}
  - {name: acc-low, model: credit, metric: accuracy, op: "<", threshold: 0.8, for: 2,
     repeat: 3d, channels: [mail]}
  - {name: sel-low, model: credit, metric: selection_rate, feature: sex, group: "*",
     op: "<=", threshold: 0.4, repeat: 1d}
  - {name: psi-a, model: credit, metric: psi, feature: a, op: ">", threshold: 0.15,
     repeat: 1d, channels: [hook]}
  - {name: sel-sig, model: credit, metric: selection_rate, feature: sex, group: "*",
     op: "<", threshold: 0.4, require_significant: true, channels: [hook]}
"""

Values = dict[tuple[str, str, str], float | None]


def synthetic_history(seed: int = 11) -> list[Values]:
    """Per window, ``{(metric, feature, group): value}``: regimes, gaps and late starts."""
    rng = np.random.default_rng(seed)
    series = [("psi", f, "") for f in FEATURES]
    series += [("accuracy", "", ""), ("selection_rate", "sex", "sex=F")]
    series += [("selection_rate", "sex", "sex=M")]
    high = dict.fromkeys(series, False)
    history: list[Values] = []
    for i in range(N_WINDOWS):
        values: Values = {}
        for key in series:
            if key[1] == "e" and i < 12:  # a series that starts late
                continue
            if rng.random() < 0.2:
                high[key] = not high[key]
            gap = rng.random()
            if gap < 0.08:
                continue  # no row: no_data
            if gap < 0.12:
                values[key] = None  # a stored null: no_data
                continue
            lo, hi = (0.2, 0.5) if high[key] else (0.0, 0.26)
            value = float(rng.uniform(lo, hi))
            values[key] = 1.0 - value if key[0] == "accuracy" else value
            if key[0] == "selection_rate":
                values[key] = 0.6 - value
        history.append(values)
    return history


def store(engine: Engine, model_id: int, i: int, values: Values) -> None:
    """Store window ``i``; a window without any value still exists (another metric).

    Selection rates carry a confidence interval in ``details`` (for ``require_significant``):
    ``value ± w`` with ``w`` from the window index, so some intervals cross the threshold.
    """
    add_window(engine, model_id, i, {("rows", "", ""): 100.0, **values})
    start, end = window(i)
    with session_scope(engine) as session:
        for (metric, _, group), value in values.items():
            if metric != "selection_rate" or value is None:
                continue
            width = 0.02 + 0.03 * (i % 5)
            session.execute(
                update(MetricResult)
                .where(
                    MetricResult.model_id == model_id,
                    MetricResult.window_start == start,
                    MetricResult.metric == metric,
                    MetricResult.group == group,
                )
                .values(details={"ci_low": value - width, "ci_high": value + width})
            )


def silences() -> list[Silence]:
    """One silence of rule psi-a (windows 10-18), one of feature b for any rule (25-30)."""
    return [
        Silence(
            rule="psi-a",
            model=None,
            feature=None,
            created_at=window(10)[0] + HOUR,
            until=window(18)[1] + HOUR,
            reason="known",
            author="test",
        ),
        Silence(
            rule=None,
            model="credit",
            feature="b",
            created_at=window(25)[0] + HOUR,
            until=window(30)[1] + HOUR,
            reason="known",
            author="test",
        ),
    ]


def analyse_synthetic(engine: Engine, model_id: int) -> Callable[[int, datetime, datetime], None]:
    """Store window ``i``; a silence is added when it is created (as a user would)."""
    history = synthetic_history()
    pending = silences()

    def analyse(i: int, start: datetime, end: datetime) -> None:
        store(engine, model_id, i, history[i])
        with session_scope(engine) as session:
            while pending and pending[0].created_at < end:
                session.add(pending.pop(0))

    return analyse


# ------------------------------------------------------------------ what the live engine did

SeriesId = tuple[str, str, str]  # rule, feature, group
Row = tuple[datetime, str, datetime | None, float | None]  # window start, state, open_since, value


def snapshot(engine: Engine, start: datetime, end: datetime, trace: dict[SeriesId, list[Row]]):
    """Append the state of every series that evaluated window ``(start, end)``."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(AlertRule.name, AlertSeries).join(AlertRule, AlertSeries.rule_id == AlertRule.id)
        ).all()
        for name, s in rows:
            if s.last_window_end == end:
                trace[(name, s.feature, s.group)].append(
                    (start, s.state, s.open_since, s.last_value)
                )


def live_run(
    engine: Engine,
    windows: Iterable[tuple[datetime, datetime]],
    analyse: Callable[[int, datetime, datetime], None],
) -> dict[SeriesId, list[Row]]:
    """For each window: store/analyse it, run the live pass at its end, record the states."""
    trace: dict[SeriesId, list[Row]] = defaultdict(list)
    for i, (start, end) in enumerate(windows):
        analyse(i, start, end)
        evaluate_rules(engine, now=end)
        snapshot(engine, start, end, trace)
    return trace


@dataclass(frozen=True)
class Outcome:
    """Episodes, notifications per channel, pending-never-fired and no_data windows."""

    episodes: tuple[tuple[datetime, datetime, float], ...]
    notifications: Mapping[str, int]
    kinds: Mapping[str, int]
    pending: tuple[datetime, ...]
    no_data: tuple[datetime, ...]


def derive(rows: list[Row], op: str, sent: Counter[str], kinds: Counter[str]) -> Outcome:
    """Read episodes and pending streaks off the live states, window by window."""
    spans: list[list[Any]] = []
    pending: list[datetime] = []
    streak: list[datetime] = []
    for start, state, open_since, _ in rows:
        if open_since is not None:
            if not spans or spans[-1][0] != open_since or spans[-1][2]:
                spans.append([open_since, start, False])
            if state == "firing":
                spans[-1][1] = start
        elif spans and not spans[-1][2]:
            spans[-1][2] = True  # resolved
        if state == "pending":
            streak.append(start)
        else:
            if state != "firing":
                pending.extend(streak)
            streak = []
    pending.extend(streak)
    pick = max if op in (">", ">=") else min
    episodes = []
    for first, last, _ in spans:
        inside = [v for s, _, _, v in rows if first <= s <= last and v is not None]
        episodes.append((first, last, pick(inside)))
    return Outcome(
        tuple(episodes),
        {c: n for c, n in sent.items() if n},
        {k: n for k, n in kinds.items() if n},
        tuple(pending),
        tuple(s for s, state, _, _ in rows if state == "no_data"),
    )


def live_outcomes(engine: Engine, trace: dict[SeriesId, list[Row]]) -> dict[SeriesId, Outcome]:
    """Per series: the derived states plus the outbox rows of the live engine."""
    sent: dict[SeriesId, Counter[str]] = defaultdict(Counter)
    kinds: dict[SeriesId, Counter[str]] = defaultdict(Counter)
    with session_scope(engine) as session:
        ids = {
            f"{r.id}:{s.id}": (r.name, s.feature, s.group)
            for s, r in session.execute(
                select(AlertSeries, AlertRule).join(AlertRule, AlertSeries.rule_id == AlertRule.id)
            )
        }
        rules = {r.name: r for r in session.scalars(select(AlertRule))}
        ops = {name: r.op for name, r in rules.items()}
        for message in session.scalars(select(OutboxMessage)):
            sid = ids[message.series_key]
            sent[sid][message.channel] += 1
            if message.channel == rules[sid[0]].channels[0]:  # one channel: kinds once
                kinds[sid][message.payload["kind"]] += 1
    return {sid: derive(rows, ops[sid[0]], sent[sid], kinds[sid]) for sid, rows in trace.items()}


def backtest_outcomes(results: list[RuleBacktest]) -> dict[SeriesId, Outcome]:
    """The same numbers from the backtest."""
    return {
        (s.rule, s.feature or "", s.group or ""): Outcome(
            tuple((e.start, e.end, e.peak) for e in s.episodes),
            {c: n for c, n in s.notifications.items() if n},
            {k: n for k, n in s.kinds.items() if n},
            s.pending_windows,
            s.no_data_windows,
        )
        for r in results
        for s in r.series
    }


def file_rules(text: str) -> list[Rule]:
    return [as_rule(config) for config in parse_rule_file(text).rules]


@pytest.fixture
def live(database_url: str) -> tuple[Engine, dict[SeriesId, Outcome]]:
    """A database where the rules were live while 40 windows were stored one by one."""
    engine = get_engine(database_url)
    model_id = add_model(engine)
    apply_text(engine, RULES)
    trace = live_run(
        engine, [window(i) for i in range(N_WINDOWS)], analyse_synthetic(engine, model_id)
    )
    return engine, live_outcomes(engine, trace)


def test_backtest_equals_the_live_engine(live: tuple[Engine, dict[SeriesId, Outcome]]) -> None:
    engine, expected = live
    results = backtest(engine, file_rules(RULES), with_silences=True)
    got = backtest_outcomes(results)
    assert sorted(got) == sorted(expected)
    for sid in sorted(expected):
        assert got[sid] == expected[sid], sid
    # the history exercises what it should: otherwise the equality proves little
    by_rule = {r.rule.name: r for r in results}
    total = Counter[str]()
    for r in results:
        for s in r.series:
            total.update(s.kinds)
    assert total["repeat"] > 0 and total["resolved"] > 0
    assert by_rule["psi-for3"].pending_windows > 0  # for > 1: streaks that never fired
    assert by_rule["psi-any"].episodes >= 5  # flapping regimes: many incidents
    assert sum(s.suppressed for s in by_rule["psi-a"].series) > 0  # silenced
    assert sum(s.suppressed for r in results for s in r.series if s.feature == "b") > 0
    assert by_rule["sel-low"].episodes > 0 and by_rule["sel-low"].notifications == 0
    # require_significant: an interval that crosses the threshold is no breach
    significant = by_rule["sel-sig"]
    (plain,) = backtest(engine, [replace(significant.rule, require_significant=False)])
    assert significant.episodes > 0
    assert [s.episodes for s in significant.series] != [s.episodes for s in plain.series]
    assert {s.feature for s in by_rule["psi-any"].series} == set(FEATURES)  # e starts late
    gaps_in_incidents = [
        w
        for r in results
        for s in r.series
        for e in s.episodes
        for w in s.no_data_windows
        if e.start < w < e.end
    ]
    assert gaps_in_incidents  # an incident stays open through a gap


def assert_reads_equal_the_live_queries(engine: Engine, rules: list[Rule]) -> None:
    """The backtest's fast reads return exactly the live pass's rows (whole and in a period)."""
    from monitors.alerts import _backtest_read as reads
    from storage import alerts as live

    with session_scope(engine) as session:
        for rule in rules:
            model_id = live.model_id(session, rule.model)
            assert model_id is not None
            every = live.model_windows(session, model_id)
            start, end = every[len(every) // 4][0], every[3 * len(every) // 4][1]
            for lo, hi in ((None, None), (start, end)):
                windows = reads.model_windows(session, model_id, start=lo, end=hi)
                inside = [
                    w for w in every if (lo is None or w[0] >= lo) and (hi is None or w[1] <= hi)
                ]
                assert list(windows.values()) == inside
                got = reads.series_values(
                    session, model_id, rule, windows=windows, start=lo, end=hi
                )
                expected: dict[tuple[str, str], dict[Any, Any]] = {}
                for point in live.metric_points(
                    session, model_id, rule.metric, feature=rule.feature, group=rule.group
                ):
                    window = (point.window_start, point.window_end)
                    if window in set(inside):  # the interval is read only when it is used
                        stored = point if rule.require_significant else point.value
                        expected.setdefault((point.feature, point.group), {})[window] = stored
                assert got == expected


def test_fast_reads_equal_the_live_queries(live: tuple[Engine, dict[SeriesId, Outcome]]) -> None:
    engine, _ = live
    assert_reads_equal_the_live_queries(engine, file_rules(RULES))


def test_fast_windows_when_a_start_has_two_ends(database_url: str) -> None:
    """A model re-windowed (a day, then hours) has two windows with one start: both count."""
    from monitors.alerts import _backtest_read as reads
    from storage import alerts as live

    engine = get_engine(database_url)
    model_id = add_model(engine)
    for i in range(3):
        add_window(engine, model_id, i, {("psi", "age", ""): 0.1})
    start = window(1)[0]
    with session_scope(engine) as session:
        for hours in (6, 12):
            session.add(
                MetricResult(
                    model_id=model_id,
                    window_start=start,
                    window_end=start + timedelta(hours=hours),
                    analyzer="drift",
                    metric="psi",
                    feature="age",
                    group="",
                    value=0.5,
                    threshold=None,
                    status="ok",
                    details={},
                )
            )
    with session_scope(engine) as session:
        expected = live.model_windows(session, model_id)
        got = reads.model_windows(session, model_id, start=None, end=None)
    assert len(expected) == 5
    assert list(got.values()) == expected
    rule = file_rules(
        "rules: [{name: r, model: credit, metric: psi, feature: age, op: '>', threshold: 0.2}]"
    )
    (result,) = backtest(engine, rule)
    assert [(e.start, e.end) for e in result.series[0].episodes] == [(start, start)]


def test_without_silences_the_silenced_notifications_count(
    live: tuple[Engine, dict[SeriesId, Outcome]],
) -> None:
    engine, expected = live
    silenced = backtest(engine, file_rules(RULES), with_silences=True)
    loud = backtest(engine, file_rules(RULES), with_silences=False)
    for a, b in zip(silenced, loud, strict=True):
        assert a.episodes == b.episodes
        assert sum(s.suppressed for s in b.series) == 0
        assert b.notifications >= a.notifications
    psi_a = [r for r in loud if r.rule.name == "psi-a"][0]
    assert psi_a.notifications > [r for r in silenced if r.rule.name == "psi-a"][0].notifications


# ------------------------------------------------------------------ nothing is written


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (reflected), in primary-key order."""
    engine = get_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            out[name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


def sqlite_bytes(url: str) -> str:
    """SHA-256 of the SQLite file after every connection is closed (WAL checkpointed)."""
    dispose_all()
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_backtest_writes_nothing(
    live: tuple[Engine, dict[SeriesId, Outcome]], database_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from monitors.cli.alerts import alerts_app

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    before = dump(database_url)
    assert before["alert_event"] and before["outbox"] and before["alert_silence"]
    file_before = sqlite_bytes(database_url) if database_url.startswith("sqlite") else None
    runner = CliRunner()
    for args in (
        [],
        ["--with-silences", "--format", "json"],
        ["--format", "csv", "--from", "2026-03-05", "--to", "2026-03-30"],
        ["--rule", "psi-any", "--set", "threshold=0.3", "--set", "for=2"],
        ["--rule", "acc-low", "--sweep", "threshold=0.7:0.9:0.05", "--with-silences"],
    ):
        result = runner.invoke(
            alerts_app, ["backtest", str(rules), *args, "--database-url", database_url]
        )
        assert result.exit_code == 0, result.output
    assert dump(database_url) == before
    if file_before is not None:
        assert sqlite_bytes(database_url) == file_before


# ------------------------------------------------------------------ the pure replay


def make_rule(**kwargs: Any) -> Rule:
    base: dict[str, Any] = dict(
        id=0,
        name="r",
        model="m",
        metric="psi",
        feature=None,
        group=None,
        op=">",
        threshold=0.2,
        channels=("oncall",),
    )
    base.update(kwargs)
    return Rule(**base)


def replay(rule: Rule, values: list[float | None | str]):
    """Replay daily windows; ``"-"`` is a window without a row."""
    windows = [window(i) for i in range(len(values))]
    stored = {w: v for w, v in zip(windows, values, strict=True) if v != "-"}
    return replay_series(rule, windows, stored)  # type: ignore[arg-type]


def days(*indices: int) -> tuple[datetime, ...]:
    return tuple(window(i)[0] for i in indices)


def test_flapping_with_for_2_is_all_pending_and_never_notifies() -> None:
    result = replay(make_rule(for_windows=2), [0.5, 0.1] * 5)
    assert result.episodes == ()
    assert dict(result.notifications) == {"oncall": 0}
    assert result.pending_windows == days(0, 2, 4, 6, 8)


def test_for_3_episode_starts_at_the_first_breach_and_peak_counts_the_streak() -> None:
    result = replay(make_rule(for_windows=3), [0.1, 0.9, 0.3, 0.4, 0.1, 0.5, 0.5])
    (episode,) = result.episodes
    assert (episode.start, episode.end, episode.peak, episode.open) == (
        window(1)[0],
        window(3)[0],
        0.9,
        False,
    )
    assert result.pending_windows == days(5, 6)  # a streak still pending at the end
    assert dict(result.kinds) == {"firing": 1, "resolved": 1, "repeat": 0}


def test_gaps_keep_an_incident_open_and_below_threshold_peaks_are_minima() -> None:
    rule = make_rule(op="<", threshold=0.5, repeat_seconds=2 * 86_400)
    result = replay(rule, [0.4, "-", None, 0.3, 0.45, 0.2, 0.6, None, 0.1])
    first, second = result.episodes
    assert (first.start, first.end, first.peak, first.open) == (
        window(0)[0],
        window(5)[0],
        0.2,
        False,
    )
    assert (second.start, second.end, second.open) == (window(8)[0], window(8)[0], True)
    assert result.no_data_windows == days(1, 2, 7)
    # firing at day 0; day 3 returns from no_data to firing silently; the repeat is due
    # (2 days since the last notification) at day 4; resolved at day 6; fires at day 8
    assert dict(result.kinds) == {"firing": 2, "resolved": 1, "repeat": 1}


def test_a_series_starts_at_its_first_row_even_a_null() -> None:
    result = replay(make_rule(), ["-", "-", None, 0.1, "-"])
    assert result.windows == 3
    assert result.no_data_windows == days(2, 4)


def test_without_channels_nothing_is_sent_but_episodes_count() -> None:
    result = replay(make_rule(channels=()), [0.5, 0.5, 0.5, 0.1])
    assert len(result.episodes) == 1
    assert dict(result.notifications) == {}
    assert sum(result.kinds.values()) == 0


def test_silence_applies_between_its_creation_and_its_end() -> None:
    rule = make_rule(repeat_seconds=86_400)
    silence = Silence(
        rule="r",
        model=None,
        feature=None,
        reason="x",
        author="t",
        created_at=window(2)[0],
        until=window(4)[1],
    )
    windows = [window(i) for i in range(7)]
    values = dict(zip(windows, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1], strict=True))
    result = replay_series(rule, windows, values, silences=[silence])
    # firing (day 0), repeat (day 1), repeats of days 2-4 silenced (the clock keeps
    # running from day 1), repeat (day 5), resolved (day 6)
    assert dict(result.kinds) == {"firing": 1, "resolved": 1, "repeat": 2}
    assert result.suppressed == 3


@settings(max_examples=300, deadline=None)
@given(
    values=hst.lists(
        hst.one_of(hst.none(), hst.just("-"), hst.sampled_from([0.1, 0.2, 0.3, 0.5])),
        max_size=40,
    ),
    for_windows=hst.integers(1, 3),
    repeat_days=hst.integers(1, 3),
    op=hst.sampled_from([">", ">=", "<", "<="]),
    channels=hst.sampled_from([(), ("oncall",), ("a", "b")]),
)
def test_skipping_quiet_windows_changes_nothing(
    values: list[float | None | str],
    for_windows: int,
    repeat_days: int,
    op: str,
    channels: tuple[str, ...],
) -> None:
    """The replay skips runs that leave ``ok``/``no_data`` as they are; a call per window agrees."""
    from monitors.alerts import _backtest_replay

    rule = make_rule(
        for_windows=for_windows, repeat_seconds=repeat_days * 86_400, op=op, channels=channels
    )
    fast = replay(rule, values)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_backtest_replay, "_quiet_until", lambda _state, _judged, i: i)
        slow = replay(rule, values)
    assert fast == slow


# ------------------------------------------------------------------ the CLI


@pytest.fixture
def cli_db(tmp_path: Path) -> Any:
    """A SQLite database with a model and 10 windows of psi for ``age`` and ``income``."""
    url = f"sqlite:///{tmp_path / 'bt.db'}"
    engine = get_engine(url)
    model_id = add_model(engine)
    age = [0.1, 0.3, 0.35, 0.1, 0.25, 0.3, 0.32, 0.1, 0.1, 0.4]
    for i, v in enumerate(age):
        add_window(engine, model_id, i, {("psi", "age", ""): v, ("psi", "income", ""): 0.05})
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """
channels:
  oncall: {type: email, to: [oncall@example.com]}
rules:
  - {name: psi-high, model: credit, metric: psi, feature: "*", op: ">", threshold: 0.2,
     channels: [oncall]}
  - {name: acc, model: credit, metric: accuracy, op: "<", threshold: 0.8}
"""
    )
    yield url, rules
    dispose_all()


def cli(url: str, *args: str):
    from typer.testing import CliRunner

    from monitors.cli.alerts import alerts_app

    return CliRunner().invoke(alerts_app, ["backtest", *args, "--database-url", url])


def test_cli_text_json_csv_and_out(cli_db: Any, tmp_path: Path) -> None:
    import json

    url, rules = cli_db
    text = cli(url, str(rules))
    assert text.exit_code == 0, text.output
    assert "Rule psi-high (credit psi feature=* > 0.2 for 1, repeat 24h): 10 windows" in text.stdout
    assert (
        "  age: 3 episodes, 8 notifications (8 per channel: 3 firing, 2 resolved, 3 repeat)"
        in text.stdout
    )
    assert "    firing 2026-03-02 .. 2026-03-03 peak 0.35" in text.stdout
    assert "    firing 2026-03-10 .. 2026-03-10 peak 0.4 (still firing)" in text.stdout
    assert "no stored values of 'accuracy'" in text.stdout
    out = tmp_path / "bt.json"
    result = cli(url, str(rules), "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert [list(r) for r in records] == [
        [
            "rule",
            "model",
            "feature",
            "group",
            "episodes",
            "notifications",
            "pending_windows",
            "no_data_windows",
        ]
    ] * 2
    age = records[0]
    assert (age["rule"], age["model"], age["feature"], age["group"]) == (
        "psi-high",
        "credit",
        "age",
        None,
    )
    assert age["episodes"][0] == {
        "from": "2026-03-02T00:00:00+00:00",
        "to": "2026-03-03T00:00:00+00:00",
        "peak": 0.35,
    }
    assert age["notifications"] == {"oncall": 8}
    csv_out = cli(url, str(rules), "--format", "csv", "--rule", "psi-high")
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("rule,model,feature,group,windows,episodes,notifications")
    assert lines[1].startswith("psi-high,credit,age,,10,3,8,3,2,3,0,0,0,")


def test_cli_set_and_sweep(cli_db: Any) -> None:
    url, rules = cli_db
    base = cli(url, str(rules), "--rule", "psi-high", "--set", "for=2", "--format", "json")
    assert base.exit_code == 0, base.output
    assert '"pending_windows": [\n   "2026-03-10T00:00:00+00:00"' in base.stdout
    swept = cli(url, str(rules), "--rule", "psi-high", "--sweep", "threshold=0.2:0.4:0.1")
    assert swept.exit_code == 0, swept.output
    lines = swept.stdout.splitlines()
    assert (
        lines[0]
        == "Sweep of threshold for rule psi-high (credit psi feature=* > 0.2 for 1, repeat 24h):"
    )
    assert [re.sub(r"\s+", " ", line.strip()) for line in lines[1:]] == [
        "threshold=0.2 episodes=3 notifications=8 pending_windows=0 no_data_windows=0",
        "threshold=0.3 episodes=3 notifications=5 pending_windows=0 no_data_windows=0",
        "threshold=0.4 episodes=0 notifications=0 pending_windows=0 no_data_windows=0",
    ]
    by_for = cli(url, str(rules), "--rule", "psi-high", "--sweep", "for=1:3:1", "--format", "csv")
    assert by_for.stdout.splitlines()[1:] == [
        "for,1,3,8,0,0",
        "for,2,2,5,1,0",
        "for,3,1,2,3,0",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "nope"], "--rule: no rule named 'nope' in the file (rules: acc, psi-high)."),
        (["--set", "threshold=0.3"], "--set applies to one rule: choose it with --rule NAME"),
        (
            ["--rule", "acc", "--set", "threshold=high"],
            "Rule 'acc': threshold must be a number; got 'high'.",
        ),
        (["--rule", "acc", "--set", "colour=red"], "Rule 'acc': unknown key 'colour'."),
        (
            ["--rule", "acc", "--set", "for=0"],
            "Rule 'acc': for must be a whole number of windows >= 1; got 0.",
        ),
        (
            ["--rule", "acc", "--sweep", "op=1:2:1"],
            "--sweep: KEY must be one of threshold, for, repeat; got 'op'.",
        ),
        (
            ["--rule", "acc", "--sweep", "threshold=0.5:0.1:0.1"],
            "--sweep: expected START <= STOP and STEP > 0",
        ),
        (
            ["--rule", "acc", "--sweep", "threshold=0.1"],
            "--sweep: expected KEY=START:STOP:STEP; got 'threshold=0.1'.",
        ),
        (["--format", "xml"], "--format: expected one of text, json, csv; got 'xml'."),
        (["--from", "yesterday"], "--from 'yesterday': expected an ISO 8601 date like"),
        (["--from", "2026-03-05", "--to", "2026-03-01"], "--from must be before --to"),
    ],
)
def test_cli_errors_are_one_line(cli_db: Any, args: list[str], message: str) -> None:
    url, rules = cli_db
    result = cli(url, str(rules), *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: " + message), result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_validates_the_file_as_apply_does(cli_db: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from monitors.cli.alerts import alerts_app

    url, _ = cli_db
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: r, model: credit, metric: psi, op: '=>', threshold: 1}\n")
    backtested = cli(url, str(bad))
    applied = CliRunner().invoke(alerts_app, ["apply", str(bad), "--database-url", url])
    assert backtested.exit_code == applied.exit_code == 1
    assert (
        backtested.stderr
        == applied.stderr
        == ("Error: Rule 'r': op must be one of >, >=, <, <=; got '=>'.\n")
    )
