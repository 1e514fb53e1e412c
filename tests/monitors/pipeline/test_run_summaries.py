"""The default in-memory pass keeps each analysed window's summary (``summaries.store``)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from pipeline_support import CHEAP, MODEL, START, production, register

from monitors.analyzers.drift import DriftConfig
from monitors.pipeline.run import run_pass
from monitors.summaries.memory import summarize_frame
from monitors.summaries.spec import build_spec
from monitors.summaries.store import stored_summaries
from monitors.windows import load_window
from storage.engine import get_engine, session_scope
from storage.metrics import window_runs
from storage.registry import get_model, load_reference, model_schema

DAY = timedelta(days=1)


def test_each_window_keeps_the_summary_of_its_rows(sqlite_url: str) -> None:
    client = register(sqlite_url)
    client.log(MODEL, production(3, rows=150))
    run_pass(url=sqlite_url, now=START + 4 * DAY, alerts=False)
    kept = stored_summaries(sqlite_url, MODEL)
    assert [start for start, _, _, _ in kept] == [START, START + DAY, START + 2 * DAY]
    with session_scope(get_engine(sqlite_url)) as session:
        model = get_model(session, MODEL)
        runs = window_runs(session, model)
        version, reference = load_reference(session, model)
        schema = model_schema(model)
    spec = build_spec(reference, schema=schema, reference_version=version, drift=DriftConfig())
    for start, end, summary, stored_spec in kept:
        assert (summary.n_rows, summary.n_labelled) == (runs[start].n_rows, runs[start].n_labels)
        assert summary.executor == "memory" and stored_spec.sha256 == summary.spec_sha256
        assert stored_spec == spec
        expected = summarize_frame(load_window(sqlite_url, MODEL, start, end), spec)
        assert summary.to_json() == expected.to_json()


def test_reanalysis_replaces_the_summary(sqlite_url: str) -> None:
    client = register(sqlite_url)
    rows = production(1, rows=120)
    client.log(MODEL, rows)
    run_pass(url=sqlite_url, now=START + 2 * DAY, alerts=False)
    [(_, _, first, _)] = stored_summaries(sqlite_url, MODEL)
    assert first.n_labelled == 0
    client.log_labels(MODEL, pd.DataFrame({"id": rows["id"][:50], "y": 1}), label="y")
    run_pass(url=sqlite_url, now=START + 2 * DAY, alerts=False)
    [(_, _, again, _)] = stored_summaries(sqlite_url, MODEL)
    assert (again.n_rows, again.n_labelled) == (120, 50)


def test_summaries_store_false_keeps_none(sqlite_url: str) -> None:
    client = register(sqlite_url, config={**CHEAP, "summaries": {"store": False}})
    client.log(MODEL, production(2, rows=80))
    summary = run_pass(url=sqlite_url, now=START + 3 * DAY, alerts=False)
    assert summary.windows_analyzed == 2
    assert stored_summaries(sqlite_url, MODEL) == []


def test_a_window_cut_by_a_purge_keeps_the_results_of_all_its_rows(sqlite_url: str) -> None:
    from monitors.windows import purge

    client = register(sqlite_url)
    rows = production(1, rows=120)
    client.log(MODEL, rows)
    client.log_labels(MODEL, pd.DataFrame({"id": rows["id"][:10], "y": 1}), label="y")
    run_pass(url=sqlite_url, now=START + 2 * DAY, alerts=False)
    purge(sqlite_url, MODEL, START + timedelta(hours=12))  # retention cuts the window
    left = load_window(sqlite_url, MODEL, START, START + DAY)
    assert 0 < len(left) < 120
    client.log_labels(MODEL, pd.DataFrame({"id": left["id"], "y": 0}), label="y")
    again = run_pass(url=sqlite_url, now=START + 2 * DAY, alerts=False)
    assert again.windows_reanalyzed == 0  # new labels, but on what is left of the window
    [(_, _, kept, _)] = stored_summaries(sqlite_url, MODEL)
    assert (kept.n_rows, kept.n_labelled) == (120, 10)


def test_purge_cuts_the_purged_rows_out_of_the_stored_samples(sqlite_url: str) -> None:
    import gzip

    from sqlalchemy import select

    from monitors.windows import purge
    from storage.models import WindowSummaryRow

    client = register(sqlite_url)
    rows = production(2, rows=100)
    client.log(MODEL, rows)
    run_pass(url=sqlite_url, now=START + 3 * DAY, alerts=False)
    cutoff = START + DAY + timedelta(hours=12)
    purge(sqlite_url, MODEL, cutoff)
    gone = rows[rows["ts"] < pd.Timestamp(cutoff)]
    kept_rows = rows[rows["ts"] >= pd.Timestamp(cutoff)]
    assert 100 < len(gone) < 200
    first, second = (s for _, _, s, _ in stored_summaries(sqlite_url, MODEL))
    assert (first.n_rows, second.n_rows) == (100, 100)  # the counts stay
    assert first.sample.ids == () and not first.sample.complete
    assert set(second.sample.ids) == set(kept_rows["id"])
    with session_scope(get_engine(sqlite_url)) as session:
        blobs = [gzip.decompress(b) for b in session.scalars(select(WindowSummaryRow.data))]
    assert not any(pid.encode() in blob for pid in gone["id"] for blob in blobs)
