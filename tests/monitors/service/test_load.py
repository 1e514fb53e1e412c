"""Load: 16 concurrent senders, duplicate and overlapping batches, then nothing lost.

Each sender (an asyncio task with its own httpx connection, loopback only) draws batches
from one pool of rows — overlapping slices in every media type, and exact repeats of
batches already sent — for ``DRIFTWARDEN_LOAD_SECONDS`` (default 30). Every 40th row of
the pool is bad. Afterwards: every good row that was sent is stored exactly once, every
bad one is quarantined (once per form it was sent in), and the answers add up: the
``stored`` counts of all answers (and of the batch records) equal the distinct good rows,
so no row was counted by two batches.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.models import IngestBatch, QuarantinedRow
from tests.monitors.service.support import MODEL, Keys, Server, predictions
from tests.monitors.service.test_ingest import encode

pytestmark = pytest.mark.slow

SENDERS = 16
SECONDS = float(os.environ.get("DRIFTWARDEN_LOAD_SECONDS", "30"))
POOL = 30_000
BAD_EVERY = 40
PRED = f"/v1/models/{MODEL}/predictions"


def _pool() -> Any:
    frame = predictions(POOL, prefix="load-", seed=11)
    frame["age"] = frame["age"].astype(object)
    frame.loc[frame.index % BAD_EVERY == 0, "age"] = "bad"
    return frame


async def _sender(
    server: Server, key: str, pool: Any, seed: int, deadline: float, sent: list[dict[str, Any]]
) -> None:
    rng = random.Random(seed)
    history: list[tuple[int, int, str]] = []
    async with httpx.AsyncClient(
        base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as http:
        while time.monotonic() < deadline:
            if history and rng.random() < 0.25:
                start, size, kind = rng.choice(history)  # an exact duplicate batch
            else:
                size = rng.randint(100, 1000)
                start = rng.randrange(0, POOL - size)
                kind = rng.choice(["json", "ndjson", "csv", "arrow"])
                history.append((start, size, kind))
            batch = pool.iloc[start : start + size]
            if kind == "arrow":  # a typed column cannot hold "bad": send the column as text
                batch = batch.assign(age=batch["age"].astype(str))
            body, media = encode(batch, kind)
            while True:
                response = await http.post(PRED, content=body, headers={"Content-Type": media})
                if response.status_code != 503:
                    break
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            assert response.status_code == 200, response.text
            sent.append({"start": start, "size": size, **response.json()})


async def _run(server: Server, key: str, pool: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    deadline = time.monotonic() + SECONDS
    await asyncio.gather(
        *(_sender(server, key, pool, seed, deadline, sent) for seed in range(SENDERS))
    )
    return sent


def test_nothing_lost_under_load(server: Server, keys: Keys, service_url: str) -> None:
    pool = _pool()
    began = time.monotonic()
    sent = asyncio.run(_run(server, keys.ingest, pool))
    elapsed = time.monotonic() - began
    rows = sum(s["rows"] for s in sent)
    print(f"\n{len(sent)} batches, {rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s)")
    assert len(sent) >= SENDERS
    covered = set()
    for s in sent:
        assert s["rows"] == s["size"]
        assert s["rows"] == (
            s["stored"] + s["already_present"] + s["quarantined"] + s["already_quarantined"]
        )
        covered.update(range(s["start"], s["start"] + s["size"]))
    ids = pool["id"].to_numpy()
    bad = {ids[i] for i in covered if i % BAD_EVERY == 0}
    good = {ids[i] for i in covered} - bad
    stored = Counter(Client(service_url).load_window(MODEL, columns=["id"])["id"])
    loaded = {i: n for i, n in stored.items() if str(i).startswith("load-")}
    assert set(loaded) == good  # every good row sent is stored ...
    assert set(loaded.values()) == {1}  # ... exactly once
    with session_scope(get_engine(service_url)) as session:
        recorded = sum(session.scalars(select(IngestBatch.stored)))
    answered = sum(s["stored"] for s in sent)
    # counted by one batch only: in the answers and in the batch records
    assert (answered, recorded) == (len(good), len(good)), (len(sent), len(loaded))
    with session_scope(get_engine(service_url)) as session:
        quarantined = Counter(
            session.scalars(
                select(QuarantinedRow.prediction_id).where(
                    QuarantinedRow.prediction_id.like("load-%")
                )
            )
        )
    # a bad row is quarantined once per distinct original form (its row key hashes the
    # values as sent: JSON, CSV text and Arrow types differ), so 1 to 4 times here
    assert set(quarantined) == bad and set(quarantined.values()) <= {1, 2, 3, 4}
    assert sum(s["quarantined"] for s in sent) == sum(quarantined.values())
