"""``run --reanalyze``: past windows analysed again with today's settings, from rows or
from stored summaries once the rows are purged."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from pipeline_support import CHEAP, MODEL, START, production, register
from sqlalchemy import select

from monitors.pipeline.reanalyze import reanalyze
from monitors.pipeline.run import run_pass
from monitors.windows import purge
from storage.engine import get_engine, session_scope
from storage.models import MetricResult
from storage.registry import get_model

DAY = timedelta(days=1)
STRICT = {**CHEAP, "drift": {**CHEAP["drift"], "thresholds": {"psi": 0.0001}}}


def _psi(url: str) -> dict[tuple, tuple]:
    """Stored drift ``psi`` records by (window, feature): value, threshold, status."""
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        rows = session.scalars(
            select(MetricResult).where(
                MetricResult.model_id == model.id, MetricResult.metric == "psi"
            )
        ).all()
        return {(r.window_start, r.feature): (r.value, r.threshold, r.status) for r in rows}


def _all(url: str) -> dict[tuple, tuple]:
    """Every stored record by its key: value and status."""
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        rows = session.scalars(select(MetricResult).where(MetricResult.model_id == model.id))
        return {
            (r.window_start, r.analyzer, r.metric, r.feature, r.group): (r.value, r.status)
            for r in rows
        }


def test_new_settings_reach_purged_windows_through_their_summaries(sqlite_url: str) -> None:
    client = register(sqlite_url)
    client.log(MODEL, production(3, rows=150, labels=True))
    run_pass(url=sqlite_url, now=START + 4 * DAY, alerts=False)
    before = _psi(sqlite_url)
    assert {t for _, t, _ in before.values()} == {0.1}

    client.configure(MODEL, config=STRICT)
    from_rows = reanalyze(MODEL, url=sqlite_url, start=START, end=START + 3 * DAY)
    assert (from_rows.from_rows, from_rows.from_summaries, from_rows.skipped) == (3, 0, {})
    expected = _all(sqlite_url)
    after = _psi(sqlite_url)
    assert set(after) == set(before)
    assert {t for _, t, _ in after.values()} == {0.0001}
    assert all(after[k][0] == before[k][0] for k in before)  # same data, same value

    assert purge(sqlite_url, MODEL, START + 2 * DAY) == 300
    done = reanalyze(MODEL, url=sqlite_url, start=START, end=START + 3 * DAY)
    assert (done.from_rows, done.from_summaries, done.skipped) == (1, 2, {})
    again = _all(sqlite_url)
    # purge cut the purged rows out of the summaries' samples too: the purged windows are
    # analysed from their counts alone, so the exact metrics are the row path's, and the
    # checks that need rows (domain classifier, SHAP, estimates, anomalies) say nothing
    exact = {"psi", "jensenshannon", "chi2", "missing_share", "accuracy", "selection_rate"}
    purged = {START, START + DAY}
    compared = 0
    for key, (value, status) in expected.items():
        day, metric = key[0], key[2]
        if day not in purged:
            assert again[key][1] == status, key
        elif metric in exact:
            assert again[key][1] == status, key
            if value is not None:
                assert again[key][0] == pytest.approx(value, rel=1e-9, abs=1e-12), key
                compared += 1
    assert compared > 20
    sampled = {"anomalies", "estimated_performance", "explain"}
    said = {
        (k[1], k[2]): v
        for k, v in again.items()
        if k[0] in purged and k[1] in sampled and v[1] != "insufficient_data"
    }
    assert said == {}, said


def test_only_windows_inside_the_period_and_nothing_without_rows_or_summary(
    sqlite_url: str,
) -> None:
    client = register(sqlite_url, config={**CHEAP, "summaries": {"store": False}})
    client.log(MODEL, production(3, rows=100))
    run_pass(url=sqlite_url, now=START + 4 * DAY, alerts=False)
    purge(sqlite_url, MODEL, START + DAY)
    done = reanalyze(MODEL, url=sqlite_url, start=START, end=START + 2 * DAY)
    assert done.from_rows == 1 and done.from_summaries == 0
    assert done.skipped == {START.isoformat(): "its rows are gone and no summary of it is stored"}


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "monitors.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_reanalyze(sqlite_url: str) -> None:
    client = register(sqlite_url)
    client.log(MODEL, production(2, rows=100))
    run_pass(url=sqlite_url, now=START + 3 * DAY, alerts=False)
    frm, to = START.isoformat(), (START + 2 * DAY).isoformat()
    out = _cli("run", "--reanalyze", "--from", frm, "--to", to, url=sqlite_url)
    assert out.returncode == 0, out.stderr
    assert "re-analysed 2 window(s) (2 from rows, 0 from stored summaries)" in out.stdout
    missing = _cli("run", "--reanalyze", "--from", frm, url=sqlite_url)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "error: --reanalyze: expected --from and --to (ISO 8601 times)"
    ]
    alone = _cli("run", "--from", frm, "--to", to, url=sqlite_url)
    assert alone.returncode == 1 and "only with --reanalyze" in alone.stderr
    inverted = _cli("run", "--reanalyze", "--from", to, "--to", frm, url=sqlite_url)
    assert inverted.returncode == 1 and "--to: expected a time after --from" in inverted.stderr


def test_a_window_larger_than_its_sample_is_reanalysed_from_the_summary(sqlite_url: str) -> None:
    client = register(sqlite_url)
    client.log(MODEL, production(1, rows=10_500, labels=True))
    run_pass(url=sqlite_url, now=START + 2 * DAY, alerts=False)
    before = _psi(sqlite_url)
    purge(sqlite_url, MODEL, START + DAY)
    client.configure(MODEL, config=STRICT)
    done = reanalyze(MODEL, url=sqlite_url, start=START, end=START + DAY)
    assert (done.from_rows, done.from_summaries) == (0, 1)
    after = _psi(sqlite_url)
    assert set(after) == set(before)
    for key, (value, threshold, _) in after.items():  # PSI is exact from a summary
        assert threshold == 0.0001
        assert value == pytest.approx(before[key][0], rel=1e-9, abs=1e-12)
