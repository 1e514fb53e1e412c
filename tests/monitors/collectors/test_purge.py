"""Retention: purge deletes old logged rows in batches and keeps computed metrics."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import func, select

from monitors.analyzers.base import OK, MetricRecord
from monitors.collectors import Client
from monitors.windows import purge
from storage.engine import get_engine, session_scope
from storage.metrics import store_window
from storage.models import MetricResult, WindowRun
from storage.registry import get_model

MODEL = "credit"
DAY0 = pd.Timestamp("2024-03-01", tz="UTC")


def _store_metrics(client: Client) -> None:
    with session_scope(get_engine(client.url)) as session:
        model = get_model(session, MODEL)
        for day in range(3):
            start = (DAY0 + timedelta(days=day)).to_pydatetime()
            store_window(
                session,
                model,
                window_start=start,
                window_end=start + timedelta(days=1),
                records=[
                    MetricRecord("quality", "row_count", None, None, 100.0, None, OK, {}),
                    MetricRecord("quality", "missing_share", "age", None, 0.0, 0.1, OK, {}),
                ],
                n_rows=100,
                n_labels=0,
                reference_version=1,
            )


def _metric_counts(client: Client) -> tuple[int, int]:
    with session_scope(get_engine(client.url)) as session:
        return (
            int(session.scalar(select(func.count()).select_from(MetricResult)) or 0),
            int(session.scalar(select(func.count()).select_from(WindowRun)) or 0),
        )


def test_purge_deletes_older_rows_and_keeps_metrics(client: Client, make_predictions) -> None:
    frame = make_predictions(60)
    frame["ts"] = DAY0 + pd.to_timedelta(range(60), unit="h")  # 2.5 days, hourly
    client.log(MODEL, frame)
    _store_metrics(client)
    before = pd.Timestamp("2024-03-02T05:00:00Z")

    deleted = purge(client.url, MODEL, before.isoformat(), batch=7)  # several batches

    assert deleted == 29  # hours 0..28
    window = client.load_window(MODEL)
    assert len(window) == 31
    assert (window["ts"] >= before).all()
    assert set(window["id"]) == {f"r{i}" for i in range(29, 60)}
    assert _metric_counts(client) == (6, 3)


def test_purge_via_client_is_idempotent(client: Client, make_predictions) -> None:
    client.log(MODEL, make_predictions(10))  # one row per minute from DAY0
    cut = DAY0 + timedelta(minutes=4)
    assert client.purge(MODEL, cut.to_pydatetime()) == 4
    assert client.purge(MODEL, cut.to_pydatetime()) == 0
    assert len(client.load_window(MODEL)) == 6
    # a purged id may be logged again (nothing else remembers it)
    assert client.log(MODEL, make_predictions(10)).stored == 4
