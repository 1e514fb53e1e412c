"""The analysis pass on both databases: closed windows only, idempotent, re-analysis on new
labels, retention, and the unique key on stored results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pipeline_support import (
    CHEAP,
    MODEL,
    START,
    applicants,
    counts,
    duplicate_keys,
    production,
    register,
    window_starts,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitors.export import metric_records
from monitors.pipeline.run import run_pass
from storage.engine import get_engine, session_scope
from storage.models import MetricResult, WindowRun
from storage.registry import get_model

DAY = timedelta(days=1)


def _value(url: str, window_start: datetime, analyzer: str, metric: str) -> float | None:
    found = [
        r
        for r in metric_records(url, MODEL)
        if r["analyzer"] == analyzer
        and r["metric"] == metric
        and r["feature"] is None
        and r["group"] is None
        and r["window_start"] == window_start.isoformat()
    ]
    assert len(found) == 1, found
    return found[0]["value"]


def _metric_ids(url: str, window_start: datetime) -> set[int]:
    with session_scope(get_engine(url)) as session:
        return set(
            session.scalars(
                select(MetricResult.id).where(MetricResult.window_start == window_start)
            )
        )


def _runs(url: str) -> dict[datetime, tuple[int, Any, int]]:
    with session_scope(get_engine(url)) as session:
        return {
            r.window_start: (r.id, r.analyzed_at, r.n_labels)
            for r in session.scalars(select(WindowRun))
        }


def test_open_window_is_not_analysed_until_it_closes(database_url: str) -> None:
    client = register(database_url)
    client.log(MODEL, production(3, labels=True))
    summary = run_pass(url=database_url, now=START + 2 * DAY + timedelta(hours=12), alerts=False)
    assert summary.windows_analyzed == 2
    assert window_starts(database_url) == [START, START + DAY]
    summary = run_pass(url=database_url, now=START + 3 * DAY, alerts=False)
    assert summary.windows_analyzed == 1
    assert window_starts(database_url) == [START, START + DAY, START + 2 * DAY]


def test_second_pass_stores_nothing(database_url: str) -> None:
    client = register(database_url)
    client.log(MODEL, production(3, labels=True))
    now = START + 3 * DAY + timedelta(minutes=5)
    first = run_pass(url=database_url, now=now, alerts=False)
    assert first.windows_analyzed == 3
    n_metrics, n_runs = counts(database_url)
    assert n_runs == 3
    assert n_metrics == first.metrics_stored > 0
    second = run_pass(url=database_url, now=now, alerts=False)
    assert (second.windows_analyzed, second.windows_reanalyzed, second.metrics_stored) == (0, 0, 0)
    assert counts(database_url) == (n_metrics, n_runs)
    assert duplicate_keys(database_url) == []


def test_unique_key_is_enforced_by_the_database(database_url: str) -> None:
    client = register(database_url)
    client.log(MODEL, production(1, labels=True))
    run_pass(url=database_url, now=START + DAY, alerts=False)
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        existing = session.scalars(select(MetricResult).limit(1)).one()
        copy = {
            k: getattr(existing, k)
            for k in (
                "model_id",
                "window_start",
                "window_end",
                "analyzer",
                "metric",
                "feature",
                "group",
                "status",
            )
        }
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(MetricResult(**copy, value=1.0, details={}))
        session.flush()


def test_new_labels_reanalyse_only_that_window(database_url: str) -> None:
    client = register(database_url)
    frame = production(3, labels=True)
    client.log(MODEL, frame.drop(columns="y"))
    day0 = frame[frame["ts"] < START + DAY]
    half = len(day0) // 2
    client.log_labels(MODEL, day0.iloc[:half][["id", "y"]], id="id", label="y")
    now = START + 3 * DAY
    first = run_pass(url=database_url, now=now, alerts=False)
    assert first.windows_analyzed == 3
    assert _value(database_url, START, "performance", "label_coverage") == pytest.approx(0.5)
    n_metrics, _ = counts(database_url)
    runs_before = _runs(database_url)
    untouched = {d: _metric_ids(database_url, START + d * DAY) for d in (1, 2)}

    client.log_labels(MODEL, day0.iloc[half:][["id", "y"]], id="id", label="y")
    second = run_pass(url=database_url, now=now, alerts=False)
    assert (second.windows_analyzed, second.windows_reanalyzed) == (0, 1)
    assert _value(database_url, START, "performance", "label_coverage") == pytest.approx(1.0)
    assert duplicate_keys(database_url) == []
    n_metrics_after, n_runs_after = counts(database_url)
    assert n_runs_after == 3
    # the performance metrics that need labels now exist for day 0, nothing else is doubled
    assert n_metrics_after >= n_metrics
    runs_after = _runs(database_url)
    assert runs_after[START][2] == len(day0)
    for d in (1, 2):  # windows without new labels were not re-analysed
        assert runs_after[START + d * DAY] == runs_before[START + d * DAY]
        assert _metric_ids(database_url, START + d * DAY) == untouched[d]

    third = run_pass(url=database_url, now=now, alerts=False)
    assert (third.windows_analyzed, third.windows_reanalyzed, third.metrics_stored) == (0, 0, 0)


def test_retention_purges_old_rows_in_the_pass(database_url: str) -> None:
    client = register(database_url, retention_days=2)
    client.log(MODEL, production(5, labels=True))
    now = START + 5 * DAY
    summary = run_pass(url=database_url, now=now, alerts=False)
    assert summary.rows_purged == 3 * 200
    left = client.load_window(MODEL)
    assert len(left) == 2 * 200
    assert left["ts"].min() >= now - 2 * DAY
    # only the windows still inside the retention period are analysed
    assert window_starts(database_url) == [START + 3 * DAY, START + 4 * DAY]


def test_retention_keeps_metrics_of_purged_windows(database_url: str) -> None:
    """Purging a window's rows (even one still waiting for labels) keeps its results."""
    client = register(database_url)
    frame = production(4, labels=True)
    client.log(MODEL, frame.drop(columns="y"))
    day0 = frame[frame["ts"] < START + DAY]
    client.log_labels(MODEL, day0.iloc[:50][["id", "y"]], id="id", label="y")
    now = START + 4 * DAY
    run_pass(url=database_url, now=now, alerts=False)
    before = metric_records(database_url, MODEL)
    runs_before = _runs(database_url)
    assert _value(database_url, START, "performance", "label_coverage") == pytest.approx(0.25)

    client.configure(MODEL, retention_days=2)
    summary = run_pass(url=database_url, now=now, alerts=False)
    assert summary.rows_purged == 2 * 200
    assert len(client.load_window(MODEL)) == 2 * 200
    assert (summary.windows_analyzed, summary.windows_reanalyzed) == (0, 0)
    assert metric_records(database_url, MODEL) == before
    assert _runs(database_url) == runs_before


def test_pass_with_multivariate_drift(database_url: str) -> None:
    config: dict[str, Any] = {
        "drift": {"multivariate_sample": 300, "multivariate_folds": 3},
        "fairness": CHEAP["fairness"],
    }
    client = register(database_url, config=config)
    shifted = production(2, labels=True)
    shifted.loc[shifted["ts"] >= START + DAY, "x1"] += 25.0  # day 1 is easy to separate
    client.log(MODEL, shifted)
    run_pass(url=database_url, now=START + 2 * DAY, alerts=False)
    auc = {
        r["window_start"]: r
        for r in metric_records(database_url, MODEL)
        if r["metric"] == "domain_classifier_auc"
    }
    assert set(auc) == {START.isoformat(), (START + DAY).isoformat()}
    assert auc[START.isoformat()]["feature"] is None
    assert auc[START.isoformat()]["value"] < 0.65
    assert auc[(START + DAY).isoformat()]["value"] > 0.9
    assert auc[(START + DAY).isoformat()]["status"] == "drift"


def test_reference_rows_are_not_windows(database_url: str) -> None:
    """Only logged predictions make windows; the reference's time span does not."""
    client = register(database_url)
    assert applicants(5, seed=1)["ts"].max() < START
    client.log(MODEL, production(1, labels=True))
    run_pass(url=database_url, now=START + 10 * DAY, alerts=False)
    assert window_starts(database_url) == [START]
    with session_scope(get_engine(database_url)) as session:
        assert get_model(session, MODEL).window == "1d"
