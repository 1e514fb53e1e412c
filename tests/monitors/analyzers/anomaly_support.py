"""Clean prediction windows with a known truth, and the anomalies planted in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from monitors.analyzers.anomalies import (
    AnomalyConfig,
    AnomalyReference,
    AnomalyReport,
    WindowStats,
    prediction_anomalies,
    prepare_anomaly_reference,
)
from storage.schema import ModelSchema, infer_schema

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def rows(n: int, *, seed: int, start: datetime, hours: float = 24.0) -> pd.DataFrame:
    """``n`` clean requests in ``[start, start + hours)``: features, score, class, latency."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0.0, 1.0, n)
    x2 = rng.lognormal(1.0, 0.4, n)
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    score = 1 / (1 + np.exp(-(0.9 * x1 + 0.5 * np.log(x2) - 0.5)))
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, hours * 3600, n)), "s")
    return pd.DataFrame(
        {
            "id": [f"{start:%Y%m%d%H}-{i:05d}" for i in range(n)],
            "ts": ts,
            "x1": x1,
            "x2": x2,
            "region": pd.Series(region, dtype="str"),
            "p": score,
            "yhat": (score >= 0.5).astype(int),
            "latency": rng.gamma(4.0, 6.0, n),
        }
    )


def schema_of(frame: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        latency_ms="latency",
    )


def reference(
    seed: int = 0, config: AnomalyConfig | None = None
) -> tuple[ModelSchema, AnomalyReference]:
    ref = rows(4000, seed=seed, start=START - timedelta(days=30), hours=24 * 30)
    schema = schema_of(ref)
    return schema, prepare_anomaly_reference(ref, schema=schema, config=config or AnomalyConfig())


def daily_series(
    days: int,
    *,
    seed: int,
    schema: ModelSchema,
    ref: AnomalyReference,
    config: AnomalyConfig | None = None,
    plant: dict[int, object] | None = None,
) -> list[AnomalyReport]:
    """Run the analyzer over ``days`` daily windows of Poisson(800) rows, history growing.

    ``plant`` maps a day to a function ``frame -> frame`` that plants an anomaly.
    """
    config = config or AnomalyConfig()
    rng = np.random.default_rng(seed)
    history: list[WindowStats] = []
    out = []
    for day in range(days):
        start = START + timedelta(days=day)
        frame = rows(int(rng.poisson(800)), seed=seed * 1000 + day, start=start)
        if plant and day in plant:
            frame = plant[day](frame)  # type: ignore[operator]
        report = prediction_anomalies(
            ref,
            frame,
            schema=schema,
            config=config,
            window_start=start,
            history=history,
            seasonality="weekday",
        )
        history.append(report.stats)
        out.append(report)
    return out
