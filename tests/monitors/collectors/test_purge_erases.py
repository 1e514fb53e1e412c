"""Purged values leave the database file; the quarantine and a replaced reference with them.

Issue 13 item 5: after ``purge`` a byte search of the SQLite file (and its write-ahead
log) used to find the purged sensitive values in free pages, and quarantined rows and
the stored reference kept them forever.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from monitors.collectors import Client
from monitors.windows import purge_model
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import QuarantinedRow, ReferenceDataset
from storage.registry import get_model

MODEL = "credit"
DAY0 = pd.Timestamp("2024-03-01", tz="UTC")


def _file_bytes(url: str) -> bytes:
    """The SQLite database file and its write-ahead log, as they are on disk."""
    dispose_all()  # no connection of this process keeps pages in memory only
    path = Path(make_url(url).database or "")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _quarantine_rows(url: str) -> int:
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        return int(
            session.scalar(
                select(func.count())
                .select_from(QuarantinedRow)
                .where(QuarantinedRow.model_id == model.id)
            )
            or 0
        )


def _plant(client: Client, make_predictions, secret: str) -> None:
    """Old rows whose sensitive value is ``secret``: stored, relabelled and quarantined."""
    old = make_predictions(2000, prefix="old")  # 2024-03-01, one a minute
    old["sex"] = [f"{secret}-{i}" for i in range(len(old))]
    old = old.drop(columns="y")
    bad = old.iloc[:5].assign(id=[f"bad{i}" for i in range(5)], age="not a number")
    client.log(MODEL, pd.concat([old, bad], ignore_index=True))
    labels = make_predictions(2000, prefix="old")[["id", "y"]]
    client.log_labels(MODEL, labels)  # rewrites every old row once (label backfill)
    new = make_predictions(100, prefix="new", start=60 * 24 * 5)  # five days later
    client.log(MODEL, new)


def test_purge_leaves_no_purged_value_in_the_sqlite_file(sqlite_url: str, make_predictions):
    client = _client(sqlite_url, make_predictions)
    secret = f"SECRET{uuid.uuid4().hex}"
    _plant(client, make_predictions, secret)
    assert _file_bytes(sqlite_url).count(secret.encode()) >= 2005  # the attack's premise

    done = purge_model(client.url, MODEL, DAY0 + pd.Timedelta(days=2))

    assert (done.rows, done.quarantined, done.wal_truncated) == (2000, 5, True)
    assert _file_bytes(sqlite_url).count(secret.encode()) == 0
    assert len(client.load_window(MODEL)) == 100


def test_a_replaced_reference_leaves_no_value_in_the_sqlite_file(
    sqlite_url: str, make_predictions
) -> None:
    secret = f"SECRET{uuid.uuid4().hex}"
    reference = make_predictions(50, prefix="ref", seed=1)
    reference["sex"] = [f"{secret}-{i}" for i in range(50)]
    client = _client(sqlite_url, make_predictions, reference=reference)
    assert secret.encode() in _file_bytes(sqlite_url)

    version = client.set_reference(MODEL, reference.assign(sex="withheld"), replace=True)

    assert version == 2
    assert _file_bytes(sqlite_url).count(secret.encode()) == 0
    with session_scope(get_engine(sqlite_url)) as session:
        versions = session.scalars(select(ReferenceDataset.version)).all()
    assert versions == [2]


def test_purge_removes_quarantined_rows(database_url: str, make_predictions) -> None:
    client = _client(database_url, make_predictions)
    secret = f"SECRET{uuid.uuid4().hex}"
    _plant(client, make_predictions, secret)
    late_bad = make_predictions(3, prefix="late", start=60 * 24 * 5).assign(age="x")
    client.log(MODEL, late_bad)
    assert _quarantine_rows(database_url) == 8

    done = purge_model(database_url, MODEL, DAY0 + pd.Timedelta(days=2), vacuum=True)

    assert (done.rows, done.quarantined, done.vacuumed) == (2000, 5, True)
    assert _quarantine_rows(database_url) == 3  # the later ones stay
    assert len(client.load_window(MODEL)) == 100


def _client(url: str, make_predictions, *, reference: pd.DataFrame | None = None) -> Client:
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=make_predictions(50, prefix="ref", seed=1) if reference is None else reference,
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex"],
    )
    return client
