"""A small binary classifier for analysis-pass tests (cheap config, 200 rows a day).

This module builds the model ``loans`` on any database URL: numeric features
``x1``/``x2``, a categorical ``region``, sensitive ``sex`` and ``age_band``, prediction
``yhat``, score ``p`` and label ``y``. Production rows start at :data:`START` (UTC
midnight), ``rows`` per day, spread over the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.models import MetricResult, WindowRun
from storage.registry import get_model

MODEL = "loans"
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
CHEAP: dict[str, Any] = {"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 200}}


def applicants(
    n: int, *, seed: int, start: datetime | None = None, days: int = 1, prefix: str = "r"
) -> pd.DataFrame:
    """``n`` rows a day for ``days`` days from ``start`` (a reference if ``start`` is None)."""
    rng = np.random.default_rng(seed)
    total = n * days
    if start is None:
        ts = pd.Timestamp(START - timedelta(days=30)) + pd.to_timedelta(
            np.sort(rng.uniform(0, 30 * 86400, total)), unit="s"
        )
    else:
        day = np.repeat(np.arange(days), n)
        seconds = day * 86400 + rng.uniform(0, 86399, total)
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(seconds), unit="s")
    p = rng.random(total)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i:06d}" for i in range(total)],
            "ts": ts,
            "x1": rng.normal(50.0, 10.0, total),
            "x2": rng.lognormal(3.0, 0.5, total),
            "region": pd.Series(rng.choice(["north", "south", "east"], total), dtype="str"),
            "sex": pd.Series(rng.choice(["F", "M"], total), dtype="str"),
            "age_band": pd.Series(rng.choice(["young", "old"], total), dtype="str"),
            "yhat": (p >= 0.5).astype(int),
            "p": p,
            "y": rng.integers(0, 2, total),
        }
    )


def register(
    url: str,
    *,
    config: Mapping[str, Any] | None = None,
    window: str = "1d",
    retention_days: int | None = None,
    reference_rows: int = 300,
) -> Client:
    """Register ``loans`` on ``url`` with a reference of ``reference_rows`` rows."""
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=applicants(reference_rows, seed=1, prefix="ref"),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex", "age_band"],
        window=window,
        config=CHEAP if config is None else config,
        retention_days=retention_days,
    )
    return client


def production(days: int, *, rows: int = 200, seed: int = 2, labels: bool = False) -> pd.DataFrame:
    """``rows`` predictions a day for ``days`` days from :data:`START` (no ``y`` unless asked)."""
    frame = applicants(rows, seed=seed, start=START, days=days)
    return frame if labels else frame.drop(columns="y")


def counts(url: str, model: str = MODEL) -> tuple[int, int]:
    """``(metric_result rows, window_run rows)`` of ``model``."""
    with session_scope(get_engine(url)) as session:
        mid = get_model(session, model).id
        metrics = session.scalar(
            select(func.count()).select_from(MetricResult).where(MetricResult.model_id == mid)
        )
        runs = session.scalar(
            select(func.count()).select_from(WindowRun).where(WindowRun.model_id == mid)
        )
    return int(metrics or 0), int(runs or 0)


def duplicate_keys(url: str) -> list[tuple[Any, ...]]:
    """Unique-key tuples of metric_result that occur more than once (should be none)."""
    key = (
        MetricResult.model_id,
        MetricResult.window_start,
        MetricResult.window_end,
        MetricResult.analyzer,
        MetricResult.metric,
        MetricResult.feature,
        MetricResult.group,
    )
    with session_scope(get_engine(url)) as session:
        rows = session.execute(select(*key).group_by(*key).having(func.count() > 1)).all()
    return [tuple(r) for r in rows]


def window_starts(url: str, model: str = MODEL) -> list[datetime]:
    """Starts of the analysed windows of ``model``, in order."""
    with session_scope(get_engine(url)) as session:
        mid = get_model(session, model).id
        found = session.scalars(
            select(WindowRun.window_start)
            .where(WindowRun.model_id == mid)
            .order_by(WindowRun.window_start)
        ).all()
    return list(found)
