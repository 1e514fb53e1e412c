"""Anomalies in the analysis pass, on SQLite and PostgreSQL: history from the store."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from pipeline_support import CHEAP, START, production, register

from monitors.export import metric_records
from monitors.pipeline.run import run_pass

STUCK_DAY = 6


def _records(url: str, metric: str) -> dict[str, dict]:
    return {
        r["window_start"][:10]: r
        for r in metric_records(url, "loans")
        if r["analyzer"] == "anomalies" and r["metric"] == metric
    }


def _log_with_a_stuck_day(url: str) -> None:
    from monitors.collectors import Client

    frame = production(8, rows=300, seed=4)
    day = ((frame["ts"] - START).dt.days == STUCK_DAY).to_numpy()
    stuck = day & (np.arange(len(frame)) % 5 < 2)  # 40 % of that day's rows
    frame.loc[stuck, "p"] = 0.42
    frame.loc[stuck, "yhat"] = 0
    Client(url).log("loans", frame)


def test_the_history_of_earlier_passes_is_read_from_the_store(database_url: str) -> None:
    register(database_url)
    _log_with_a_stuck_day(database_url)
    run_pass(url=database_url, now=START + timedelta(days=5), alerts=False)
    run_pass(url=database_url, now=START + timedelta(days=8), alerts=False)
    volume = _records(database_url, "volume_zscore")
    assert len(volume) == 8
    day5 = (START + timedelta(days=5)).date().isoformat()
    # day 5 was analysed by the second pass: its baseline is the 5 days of the first
    assert volume[day5]["details"]["n_history"] == 5
    assert volume[day5]["status"] == "ok"
    mean = _records(database_url, "score_mean_zscore")
    assert mean[day5]["details"]["n_history"] == 5  # score means stored by the first pass
    stuck = _records(database_url, "stuck_score_share")
    breaches = [d for d, r in stuck.items() if r["status"] == "breach"]
    assert breaches == [(START + timedelta(days=STUCK_DAY)).date().isoformat()]
    assert stuck[breaches[0]]["details"]["value"] == 0.42
    outliers = _records(database_url, "outlier_share")
    assert all(r["status"] == "ok" for r in outliers.values())


def test_thresholds_are_set_per_model_and_the_analyzer_can_be_off(database_url: str) -> None:
    register(database_url, config={**CHEAP, "anomalies": {"stuck_share": 0.5}})
    _log_with_a_stuck_day(database_url)
    run_pass(url=database_url, now=START + timedelta(days=8), alerts=False)
    stuck = _records(database_url, "stuck_score_share")
    assert {r["threshold"] for r in stuck.values()} == {0.5}
    assert all(r["status"] == "ok" for r in stuck.values())  # 40 % is under 50 %


def test_the_analyzer_can_be_turned_off(sqlite_url: str) -> None:
    register(sqlite_url, config={**CHEAP, "anomalies": {"enabled": False}})
    _log_with_a_stuck_day(sqlite_url)
    run_pass(url=sqlite_url, now=START + timedelta(days=8), alerts=False)
    assert not [r for r in metric_records(sqlite_url, "loans") if r["analyzer"] == "anomalies"]
