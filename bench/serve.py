"""Benchmark the HTTP collector against the SDK: rows/s and request latency.

JSON lines on stdout, one object per measurement::

    {"bench": "serve", "db": "sqlite", "case": "http_arrow", "rows": N, "batch_rows": 1000,
     "senders": 16, "seconds": s, "rows_per_s": r, "p50_ms": a, "p99_ms": b}

Data: ``--rows`` rows (default 200,000) of bench/ingest.py's generator (25 columns, fixed
seed), sent in 1,000-row batches by 16 concurrent senders, into a fresh SQLite file and
a fresh PostgreSQL database, each case into its own model (so every row is new):

* ``sdk``: 16 threads calling :meth:`Client.log` in this process (the reference rate;
  on SQLite they take turns, as the service's requests do);
* ``http_ndjson`` / ``http_arrow``: 16 asyncio senders (httpx, one connection each) POSTing
  to ``driftwarden serve`` running as its own process on loopback, bodies encoded before
  the clock starts (the client's encoding is the client's cost, not the service's);

``ratio`` lines give each HTTP rate over the SDK's (target: Arrow >= 0.5).
Latency is per batch: ``Client.log`` for the SDK, the request round trip for HTTP.

Run: ``.venv/bin/python bench/serve.py [--rows N] [--db sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from queue import Empty, Queue

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _common import emit, fresh_postgres_database, postgres_server_url
from ingest import make_frame

BATCH = 1_000
SENDERS = 16
DRIFTWARDEN = Path(sys.executable).with_name("driftwarden")


def _register(url: str, name: str, frame: pd.DataFrame) -> None:
    from monitors.collectors import Client

    Client(url).register_model(
        name,
        task="binary_classification",
        reference=frame.iloc[:1000],
        id="prediction_id",
        timestamp="ts",
        prediction="prediction",
        score="score",
        label="label",
    )


def _batches(frame: pd.DataFrame) -> list[pd.DataFrame]:
    sent = frame.drop(columns="label")
    return [sent.iloc[i : i + BATCH] for i in range(0, len(sent), BATCH)]


def _line(db: str, case: str, rows: int, seconds: float, latencies: list[float]) -> dict:
    ms = np.asarray(latencies) * 1000
    record = {
        "bench": "serve",
        "db": db,
        "case": case,
        "rows": rows,
        "batch_rows": BATCH,
        "senders": SENDERS,
        "seconds": seconds,
        "rows_per_s": round(rows / seconds) if seconds > 0 else None,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }
    emit(record)
    return record


def run_sdk(db: str, url: str, frame: pd.DataFrame) -> dict:
    """16 threads logging 1,000-row batches through the SDK."""
    from monitors.collectors import Client

    _register(url, "bench_sdk", frame)
    client = Client(url)
    queue: Queue[pd.DataFrame] = Queue()
    for batch in _batches(frame):
        queue.put(batch)
    latencies: list[float] = []
    stored: list[int] = []
    # SQLite: one writer at a time, as the service does (concurrent ADBC writers on one
    # file in one process fail with "disk I/O error"); the lock costs SQLite nothing, it
    # serialises writers anyway
    turn: AbstractContextManager[object] = threading.Lock() if db == "sqlite" else nullcontext()

    def worker() -> None:
        while True:
            try:
                batch = queue.get_nowait()
            except Empty:
                return
            t0 = time.perf_counter()
            with turn:
                stored.append(client.log("bench_sdk", batch).stored)
            latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker) for _ in range(SENDERS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    assert sum(stored) == len(frame), (sum(stored), len(frame))
    return _line(db, "sdk", len(frame), seconds, latencies)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(url: str, workdir: Path) -> Iterator[str]:
    """``driftwarden serve`` on ``url`` (no access log); its base URL."""
    import httpx

    port = _free_port()
    log = (workdir / f"serve-{port}.log").open("wb")
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": url}
    proc = subprocess.Popen(
        [
            str(DRIFTWARDEN),
            "serve",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / f"serve-{port}.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _ndjson(batch: pd.DataFrame) -> bytes:
    out = batch.copy()
    out["ts"] = out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out.to_json(orient="records", lines=True).encode()


def _arrow(batch: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(batch, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


MEDIA = {"ndjson": "application/x-ndjson", "arrow": "application/vnd.apache.arrow.stream"}


async def _send(base: str, key: str, path: str, media: str, bodies: list[bytes]) -> list[float]:
    import httpx

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []

    async def sender() -> None:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": media}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http:
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                response = await http.post(path, content=body)
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
                assert response.json()["stored"] == response.json()["rows"], response.text

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return latencies


def run_http(db: str, url: str, frame: pd.DataFrame, kind: str, workdir: Path) -> dict:
    """16 asyncio senders POSTing 1,000-row batches in one media type."""
    from monitors.service.keys import create_key

    name = f"bench_{kind}"
    _register(url, name, frame)
    key = create_key(url, f"bench-{kind}", scope="ingest").key
    encoder = _ndjson if kind == "ndjson" else _arrow
    bodies = [encoder(batch) for batch in _batches(frame)]
    with served(url, workdir) as base:
        t0 = time.perf_counter()
        latencies = asyncio.run(
            _send(base, key, f"/v1/models/{name}/predictions", MEDIA[kind], bodies)
        )
        seconds = time.perf_counter() - t0
    return _line(db, f"http_{kind}", len(frame), seconds, latencies)


def run_db(db: str, url: str, frame: pd.DataFrame, workdir: Path) -> None:
    sdk = run_sdk(db, url, frame)
    for kind in ("ndjson", "arrow"):
        http = run_http(db, url, frame, kind, workdir)
        emit(
            {
                "bench": "serve",
                "db": db,
                "case": f"ratio_{kind}_vs_sdk",
                "ratio": http["rows_per_s"] / sdk["rows_per_s"],
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    frame = make_frame(args.rows)
    for db in args.db.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if db == "sqlite":
                run_db(db, f"sqlite:///{workdir / 'bench.db'}", frame, workdir)
            elif db == "postgresql":
                with fresh_postgres_database(postgres_server_url()) as url:
                    run_db(db, url, frame, workdir)
            else:
                raise SystemExit(f"--db: expected sqlite or postgresql; got {db!r}")
            from storage.engine import dispose_all

            dispose_all()
    print(json.dumps({"bench": "serve", "done": True}), file=sys.stderr)


if __name__ == "__main__":
    main()
