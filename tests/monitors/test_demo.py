"""The lending demo fires its alert rules on the expected dates, and not on clean windows.

The demo is built once for the module (SQLite) with ``load_demo(rows_per_day=1000)`` (the
model ``credit`` and its shadow candidate ``credit_v2``), the demo rules and one
``run_pass`` to the end of the scenario. To keep the module fast the
analysis skips what the three demo rules do not read (no model artifact, so no SHAP; no
domain classifier; no fairness bootstrap or intersections) and BLAS/OpenMP run on one
thread: on this shared 2-core machine OpenMP oversubscription made ``generate`` alone take
40+ s instead of 3 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from threadpoolctl import threadpool_limits

from monitors.collectors import Client
from monitors.compare.service import comparison_report
from monitors.demo.candidate import CANDIDATE, COMPARISON
from monitors.demo.lending import (
    DAYS,
    FAIRNESS_DAYS,
    LABEL_DELAY_DAYS,
    MODEL,
    NEW_CATEGORY_DAY,
    SHIFT_DAY,
    START,
    STUCK_DAY,
    Scenario,
    apply_demo_rules,
    load_demo,
)
from monitors.export import metric_records
from monitors.pipeline.run import PassSummary, run_pass
from storage import alerts as alert_queries
from storage.engine import dispose_all, get_engine, session_scope

ROWS_PER_DAY = 1000
FAST = {
    "drift": {"multivariate": False},
    "fairness": {"n_bootstrap": 0, "intersections": False},
}


@dataclass(frozen=True)
class Event:
    rule: str
    feature: str
    group: str
    from_state: str
    to_state: str
    window_start: datetime
    value: float | None


@dataclass(frozen=True)
class Demo:
    url: str
    scenario: Scenario
    summary: PassSummary
    events: list[Event]
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'driftwarden.db'}"
    seconds: dict[str, float] = {}
    with threadpool_limits(1):
        t0 = time.perf_counter()
        scenario = load_demo(url, rows_per_day=ROWS_PER_DAY, with_artifact=False)
        seconds["load_demo"] = time.perf_counter() - t0
        Client(url).configure(MODEL, config=FAST)
        Client(url).configure(CANDIDATE, config=FAST)
        apply_demo_rules(url)
        t0 = time.perf_counter()
        summary = run_pass(url=url, now=scenario.end)
        seconds["run_pass"] = time.perf_counter() - t0
    with session_scope(get_engine(url)) as session:
        events = [
            Event(
                rule.name,
                series.feature,
                series.group,
                event.from_state,
                event.to_state,
                event.window_start,
                event.value,
            )
            for model in (MODEL, CANDIDATE)
            for event, series, rule in alert_queries.events(session, model=model)
        ]
    print(f"demo with {ROWS_PER_DAY} rows/day: {seconds}")
    yield Demo(url, scenario, summary, events, seconds)
    dispose_all()


def _day(n: int) -> datetime:
    return START + timedelta(days=n)


def _of(demo: Demo, rule: str) -> list[Event]:
    return [e for e in demo.events if e.rule == rule]


def test_every_window_is_analysed(demo: Demo) -> None:
    assert demo.scenario.start == START
    assert demo.scenario.end == _day(DAYS)
    assert demo.summary.windows_analyzed == 2 * DAYS  # credit and its candidate
    assert demo.summary.windows_compared == DAYS


def test_credit_score_drift_fires_on_the_shift_day(demo: Demo) -> None:
    events = _of(demo, "credit-score-drift")
    assert events, "credit-score-drift never changed state"
    assert [(e.to_state, e.window_start) for e in events][0] == ("firing", _day(SHIFT_DAY))
    assert all(e.window_start >= _day(SHIFT_DAY) for e in events)
    # the shift lasts to the end: the incident stays open
    assert [e.to_state for e in events] == ["firing"]
    drifted = {
        r["window_start"]: r["value"]
        for r in metric_records(demo.url, MODEL)
        if r["metric"] == "drift_detected" and r["feature"] == "credit_score"
    }
    assert len(drifted) == DAYS
    assert [d for d, v in drifted.items() if v == 1.0] == [
        _day(n).isoformat() for n in range(SHIFT_DAY, DAYS)
    ]


def test_new_purpose_category_fires_on_its_first_day(demo: Demo) -> None:
    events = _of(demo, "new-purpose-category")
    assert events, "new-purpose-category never changed state"
    first = events[0]
    assert (first.to_state, first.window_start, first.feature) == (
        "firing",
        _day(NEW_CATEGORY_DAY),
        "purpose",
    )
    assert first.value is not None and 0.04 < first.value < 0.12  # about 8 % "crypto"
    assert all(e.window_start >= _day(NEW_CATEGORY_DAY) for e in events)
    assert [e.to_state for e in events] == ["firing"]


def test_fairness_rule_fires_only_in_the_regression(demo: Demo) -> None:
    ratios = {
        r["window_start"][:10]: round(r["value"], 3) if r["value"] is not None else None
        for r in metric_records(demo.url, MODEL)
        if r["metric"] == "disparate_impact_ratio"
        and r["feature"] == "group"
        and r["group"] is None
    }
    first_bad = DAYS - FAIRNESS_DAYS
    events = _of(demo, "group-disparate-impact")
    seen = [(e.from_state, e.to_state, e.window_start.date().isoformat()) for e in events]
    message = f"events {seen}; disparate_impact_ratio of group per window {ratios}"
    assert all(e.window_start >= _day(first_bad) for e in events), message
    # ``for: 2``: pending on the first breaching window, firing on the second, then it stays
    assert [(e.to_state, e.window_start) for e in events] == [
        ("pending", _day(first_bad)),
        ("firing", _day(first_bad + 1)),
    ], message
    with session_scope(get_engine(demo.url)) as session:
        rule = alert_queries.rule_by_name(session, "group-disparate-impact")
        assert rule is not None and rule.op == "<"
        threshold = rule.threshold
    clean = [v for d, v in ratios.items() if d < _day(first_bad).date().isoformat()]
    assert len(clean) == first_bad, message
    assert all(v is not None and v >= threshold for v in clean), message
    bad = [v for d, v in ratios.items() if d >= _day(first_bad).date().isoformat()]
    assert len(bad) == FAIRNESS_DAYS and all(v is not None and v < threshold for v in bad), message


def test_no_rule_changes_state_on_clean_windows(demo: Demo) -> None:
    first = {
        "credit-score-drift": _day(SHIFT_DAY),
        "new-purpose-category": _day(NEW_CATEGORY_DAY),
        "group-disparate-impact": _day(DAYS - FAIRNESS_DAYS),
        "credit-stuck-score": _day(STUCK_DAY),
        "credit-v2-recall-young": _day(0),  # the candidate is worse for the young from day 0
    }
    assert {e.rule for e in demo.events} == set(first)
    early = [e for e in demo.events if e.window_start < first[e.rule]]
    assert early == []


def test_stuck_score_fires_on_its_day_only(demo: Demo) -> None:
    events = [(e.to_state, e.window_start) for e in _of(demo, "credit-stuck-score")]
    # firing on the stuck day, resolved the next, back to ok the day after
    assert events == [
        ("firing", _day(STUCK_DAY)),
        ("resolved", _day(STUCK_DAY + 1)),
        ("ok", _day(STUCK_DAY + 2)),
    ]
    breaches = {
        (r["metric"], r["window_start"][:10])
        for r in metric_records(demo.url, MODEL)
        if r["analyzer"] == "anomalies" and r["status"] == "breach"
    }
    stuck = sorted(d for m, d in breaches if m == "stuck_score_share")
    assert stuck == [_day(STUCK_DAY).date().isoformat()]
    # constant traffic and no input outliers: never a volume or outlier anomaly
    assert not [b for b in breaches if b[0] in ("volume_zscore", "outlier_share")]


def test_candidate_rule_fires_for_the_young_while_labels_last(demo: Demo) -> None:
    events = [(e.to_state, e.window_start) for e in _of(demo, "credit-v2-recall-young")]
    assert events[0] == ("firing", _day(0)), events
    unlabelled = _day(DAYS - LABEL_DELAY_DAYS)
    # it stays firing while windows have labels; then the recall is unknown (no data)
    assert all(state != "resolved" for state, _ in events), events
    assert all(when >= unlabelled for _, when in events[1:]), events


def test_candidate_is_better_overall_and_worse_for_the_young(demo: Demo) -> None:
    report = comparison_report(demo.url, COMPARISON)
    assert (report.info.baseline, report.info.candidate, report.info.mode) == (
        MODEL,
        CANDIDATE,
        "shadow",
    )
    verdict = report.verdict
    assert (verdict.verdict, verdict.metric, verdict.basis) == (
        "candidate_better",
        "accuracy",
        "realized",
    )
    assert verdict.delta is not None and verdict.delta.ci_low is not None
    assert 0 < verdict.delta.ci_low < verdict.delta.delta < 0.03  # slightly better
    assert "recall (age_band=18-24)" in verdict.worse_on
    windows = report.window_verdicts
    assert len(windows) == DAYS
    estimated = windows[windows["basis"] == "estimated"]
    assert len(estimated) == LABEL_DELAY_DAYS  # the unlabelled days: CBPE estimates
