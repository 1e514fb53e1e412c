"""Benchmark ingest, re-send, label backfill and window load on SQLite and PostgreSQL.

JSON lines on stdout, one object per measurement::

    {"bench": "ingest", "db": "sqlite", "case": "first_send", "rows": N, "seconds": s,
     "rows_per_s": r}

Data: ``--rows`` rows (default 1,000,000, fixed seed) × 25 sent columns — id, timestamp,
17 numeric, 4 categorical strings, prediction, score — into a model whose schema also
has a label (filled by the backfill). Cases per database:

* ``first_send``: :meth:`Client.log` of all rows (validation included);
* ``resend``: the same rows again (all already present, nothing stored);
* ``labels``: :meth:`Client.log_labels` of one label per row;
* ``load_window``: :meth:`Client.load_window` of every row into pandas;
* ``baseline_executemany``: psycopg ``executemany … ON CONFLICT DO NOTHING`` (PostgreSQL,
  ``--baseline-rows``, default 100,000) or raw ``sqlite3.executemany`` (SQLite) into an
  equivalent table with its primary key and timestamp index; ``ratio`` lines divide.

``file_memory``: peak RSS above the starting RSS while
``monitors.collectors.files.ingest_file`` reads CSV files of 2 × and 10 × ``--chunk-rows``
rows (each in a fresh process, SQLite) — it should not grow with the file.

Run: ``.venv/bin/python bench/ingest.py [--rows N] [--db sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _common import (
    PeakRSS,
    emit,
    fresh_postgres_database,
    libpq_url,
    postgres_server_url,
)

MODEL = "bench"
N_NUMERIC = 17
N_CATEGORICAL = 4
START = pd.Timestamp("2024-01-01", tz="UTC")


def make_frame(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` rows × 25 columns, plus a ``label`` column (dropped before the first send)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        "prediction_id": pd.Series(np.char.add("p", np.arange(n).astype(str)), dtype="str"),
        "ts": START + pd.to_timedelta(np.arange(n) * 50, unit="ms"),
    }
    for i in range(N_NUMERIC):
        data[f"num_{i}"] = rng.normal(size=n)
    levels = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
    for i in range(N_CATEGORICAL):
        data[f"cat_{i}"] = pd.Series(levels[rng.integers(0, len(levels), n)], dtype="str")
    data["prediction"] = rng.integers(0, 2, n)
    data["score"] = rng.random(n)
    data["label"] = rng.integers(0, 2, n)
    return pd.DataFrame(data)


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _line(db: str, case: str, rows: int, seconds: float, **extra: Any) -> dict[str, Any]:
    record = {
        "bench": "ingest",
        "db": db,
        "case": case,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": round(rows / seconds) if seconds > 0 else None,
        **extra,
    }
    emit(record)
    return record


def run_client(db: str, url: str, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    from monitors.collectors import Client

    n = len(frame)
    client = Client(url)
    sent = frame.drop(columns="label")
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=frame.iloc[:1000],
        id="prediction_id",
        timestamp="ts",
        prediction="prediction",
        score="score",
        label="label",
    )
    out: dict[str, dict[str, Any]] = {}
    result, s = _timed(lambda: client.log(MODEL, sent))
    assert result.stored == n, result.summary()
    out["first_send"] = _line(db, "first_send", n, s, columns=sent.shape[1])
    result, s = _timed(lambda: client.log(MODEL, sent))
    assert (result.stored, result.already_present) == (0, n), result.summary()
    out["resend"] = _line(db, "resend", n, s, stored=result.stored)
    labels = frame[["prediction_id", "label"]]
    lresult, s = _timed(lambda: client.log_labels(MODEL, labels))
    assert lresult.updated == n, lresult.summary()
    out["labels"] = _line(db, "labels", n, s)
    window, s = _timed(lambda: client.load_window(MODEL))
    assert len(window) == n and window.shape[1] == sent.shape[1] + 1
    out["load_window"] = _line(db, "load_window", n, s, columns=window.shape[1])
    return out


def _baseline_rows(frame: pd.DataFrame) -> tuple[list[str], list[tuple[Any, ...]]]:
    sent = frame.drop(columns="label")
    ts_us = (sent["ts"] - START) // pd.Timedelta(1, "us") + START.value // 1000
    cols: list[Any] = [sent["prediction_id"].tolist(), ts_us.tolist()]
    cols += [sent[c].tolist() for c in sent.columns[2:]]
    return list(sent.columns), list(zip(*cols, strict=True))


def _sql_types(names: list[str]) -> list[str]:
    """Column types of the baseline table (same storage forms as the log tables)."""
    types = ["TEXT PRIMARY KEY", "BIGINT NOT NULL"]
    for c in names[2:]:
        if c.startswith("cat_"):
            types.append("TEXT")
        elif c == "prediction":
            types.append("BIGINT")
        else:
            types.append("DOUBLE PRECISION")
    return types


def baseline_sqlite(path: str, frame: pd.DataFrame) -> float:
    names, rows = _baseline_rows(frame)
    cols = ", ".join(f"c{i} {t}" for i, t in enumerate(_sql_types(names)))
    marks = ", ".join("?" * len(names))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"CREATE TABLE base ({cols})")
    conn.execute("CREATE INDEX ix_base_ts ON base (c1)")
    t0 = time.perf_counter()
    with conn:
        conn.executemany(
            f"INSERT INTO base VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
            rows,
        )
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def baseline_postgres(url: str, frame: pd.DataFrame) -> float:
    import psycopg

    names, rows = _baseline_rows(frame)
    cols = ", ".join(f"c{i} {t}" for i, t in enumerate(_sql_types(names)))
    marks = ", ".join(["%s"] * len(names))
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(f"CREATE TABLE base ({cols})")
        conn.execute("CREATE INDEX ix_base_ts ON base (c1)")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO base VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
                rows,
            )
        conn.commit()
        return time.perf_counter() - t0


def file_memory_child(path: str, chunk_rows: int) -> None:
    """Ingest one CSV into a fresh SQLite database; print peak extra RSS as JSON."""
    from monitors.collectors import Client

    try:
        from monitors.collectors.files import ingest_file
    except ImportError:
        print(json.dumps({"error": "monitors.collectors.files.ingest_file is not available"}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/mem.db"
        ref = make_frame(1000, seed=1)
        Client(url).register_model(
            MODEL,
            task="binary_classification",
            reference=ref,
            id="prediction_id",
            timestamp="ts",
            prediction="prediction",
            score="score",
            label="label",
        )
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            result = ingest_file(url, MODEL, path, chunk_rows=chunk_rows)
            seconds = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "stored": result.stored,
                    "seconds": seconds,
                    "baseline_mb": rss.baseline / 2**20,
                    "peak_extra_mb": rss.extra / 2**20,
                }
            )
        )


def run_file_memory(chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (2, 10):
            n = factor * chunk_rows
            path = Path(tmp) / f"file_{factor}x.csv"
            frame = make_frame(n, seed=factor).drop(columns="label")
            frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            frame.to_csv(path, index=False)
            proc = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(path), str(chunk_rows)],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode != 0 or not lines:
                emit(
                    {
                        "bench": "ingest",
                        "db": "sqlite",
                        "case": "file_memory",
                        "chunks": factor,
                        "error": proc.stderr.strip().splitlines()[-1:] or "no output",
                    }
                )
                continue
            child = json.loads(lines[-1])
            emit(
                {
                    "bench": "ingest",
                    "db": "sqlite",
                    "case": "file_memory",
                    "chunks": factor,
                    "chunk_rows": chunk_rows,
                    "rows": n,
                    "file_mb": path.stat().st_size / 2**20,
                    **child,
                }
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--no-file-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        file_memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0

    frame = make_frame(args.rows)
    base_frame = frame.iloc[: min(args.baseline_rows, args.rows)]
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    for db in dbs:
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                ours = run_client(db, f"sqlite:///{tmp}/bench.db", frame)
                s = baseline_sqlite(f"{tmp}/baseline.db", base_frame)
        elif db == "postgresql":
            server = postgres_server_url()
            with fresh_postgres_database(server) as url:
                ours = run_client(db, url, frame)
                s = baseline_postgres(url, base_frame)
        else:
            raise SystemExit(f"unknown --db {db!r}; expected sqlite or postgresql")
        base = _line(db, "baseline_executemany", len(base_frame), s)
        for case in ("first_send", "resend", "labels"):
            emit(
                {
                    "bench": "ingest",
                    "db": db,
                    "case": f"ratio_{case}_vs_executemany",
                    "ratio": ours[case]["rows_per_s"] / base["rows_per_s"],
                }
            )
    if not args.no_file_memory:
        run_file_memory(args.chunk_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
