"""Two processes writing to one SQLite file at the same time both succeed (IMMEDIATE + busy)."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import numpy as np
import pandas as pd

from monitors.collectors import Client

BATCHES = 4
ROWS = 200


def _frame(prefix: str, start: int, n: int) -> pd.DataFrame:
    idx = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in idx],
            "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(idx, unit="s"),
            "x": idx.astype(float),
            "yhat": idx % 2,
        }
    )


def _writer(url: str, prefix: str, barrier: Any, queue: Any) -> None:
    try:
        client = Client(url)
        barrier.wait(timeout=60)
        stored = already = 0
        for b in range(BATCHES):
            # own rows, plus rows every writer sends (shared ids, identical values)
            for frame in (_frame(prefix, b * ROWS, ROWS), _frame("shared", b * 50, 50)):
                result = client.log("m", frame)
                stored += result.stored
                already += result.already_present
        if prefix == "a":  # registering while the other process writes
            client.register_model(
                "other",
                task="binary_classification",
                reference=_frame("ref", 0, 10),
                id="id",
                timestamp="ts",
                prediction="yhat",
            )
        queue.put((prefix, stored, already, None))
    except Exception as exc:  # reported to the test, which fails with it
        queue.put((prefix, 0, 0, f"{type(exc).__name__}: {exc}"))


def test_two_processes_ingest_into_one_sqlite_file(sqlite_url: str) -> None:
    client = Client(sqlite_url)
    client.register_model(
        "m",
        task="binary_classification",
        reference=_frame("ref", 0, 10),
        id="id",
        timestamp="ts",
        prediction="yhat",
    )
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(sqlite_url, p, barrier, queue)) for p in "ab"]
    for proc in procs:
        proc.start()
    results = {}
    for _ in procs:
        prefix, stored, already, error = queue.get(timeout=120)
        results[prefix] = (stored, already, error)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0

    assert [results[p][2] for p in "ab"] == [None, None]
    shared = BATCHES * 50
    own = BATCHES * ROWS
    assert results["a"][0] + results["b"][0] == 2 * own + shared  # each shared id stored once
    assert results["a"][1] + results["b"][1] == shared
    window = client.load_window("m")
    assert len(window) == 2 * own + shared
    assert window["id"].is_unique
    assert {m.name for m in client.models()} == {"m", "other"}
