"""Fixtures for collector tests: a registered binary classifier and frames to log."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.logs import log_table
from storage.models import IngestBatch, QuarantinedRow
from storage.registry import get_model

MODEL = "credit"
START = pd.Timestamp("2024-03-01", tz="UTC")


def _predictions(n: int, *, prefix: str = "r", seed: int = 0, start: int = 0) -> pd.DataFrame:
    """``n`` valid rows of the ``credit`` model: ids ``<prefix><i>``, one minute apart."""
    rng = np.random.default_rng(seed)
    idx = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in idx],
            "ts": START + pd.to_timedelta(idx, unit="min"),
            "age": rng.normal(40.0, 10.0, n),
            "income": rng.lognormal(10.0, 1.0, n),
            "region": pd.Series(rng.choice(["north", "south", "east"], n), dtype="str"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
            "yhat": rng.integers(0, 2, n),
            "p": rng.random(n),
            "y": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def client(database_url: str) -> Client:
    """A client on a fresh database with the ``credit`` model registered (no rows logged)."""
    c = Client(database_url)
    c.register_model(
        MODEL,
        task="binary_classification",
        reference=_predictions(50, prefix="ref", seed=1),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex"],
    )
    return c


Counter = Callable[[], dict[str, int]]


@pytest.fixture
def counts(client: Client) -> Counter:
    """A function returning the rows in the ``credit`` log, quarantine and ingest_batch."""

    def count() -> dict[str, int]:
        engine = get_engine(client.url)
        with session_scope(engine) as session:
            model = get_model(session, MODEL)
            table = log_table(model)
            return {
                "rows": int(session.scalar(select(func.count()).select_from(table)) or 0),
                "quarantine": int(
                    session.scalar(
                        select(func.count())
                        .select_from(QuarantinedRow)
                        .where(QuarantinedRow.model_id == model.id)
                    )
                    or 0
                ),
                "batches": int(
                    session.scalar(
                        select(func.count())
                        .select_from(IngestBatch)
                        .where(IngestBatch.model_id == model.id)
                    )
                    or 0
                ),
            }

    return count


@pytest.fixture
def make_predictions() -> Callable[..., pd.DataFrame]:
    """``make_predictions(n, prefix="r", seed=0, start=0)``: valid rows of ``credit``."""
    return _predictions


@pytest.fixture
def quarantined(client: Client) -> Callable[..., list[QuarantinedRow]]:
    """``quarantined(batch_id=None)``: quarantined rows of ``credit``, by row number."""

    def rows(batch_id: str | None = None) -> list[QuarantinedRow]:
        engine = get_engine(client.url)
        with session_scope(engine) as session:
            model = get_model(session, MODEL)
            query = select(QuarantinedRow).where(QuarantinedRow.model_id == model.id)
            if batch_id is not None:
                query = query.where(QuarantinedRow.batch_id == batch_id)
            return list(session.scalars(query.order_by(QuarantinedRow.row_number)))

    return rows
