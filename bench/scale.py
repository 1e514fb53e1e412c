"""Benchmark of the scale path (issue #18): window summaries where the rows live. JSON lines.

Usage: ``python bench/scale.py [--rows 1000000,10000000] [--in-memory-max-rows N]
[--spark-rows 5000000,10000000] [--skip-pg] [--skip-spark] [--skip-report]``

Data (fixed seeds): a binary classifier's log with 20 numeric and 5 categorical features,
2 sensitive attributes, score, prediction and label; one window of each size in ``--rows``
(default 1,000,000 and 10,000,000; each in its own database) and a 100,000-row reference.
The in-memory pass runs only up to ``--in-memory-max-rows`` (2,000,000: it holds the
window in pandas, ~1.5 GB per million rows); the statement is timed ``--repeat`` times on
the first size, once on the others.

Measurements, one JSON object per line:

* ``pg_ingest``: logging the window into a fresh PostgreSQL database (set-up, for scale);
* ``pg_pass``: one ``driftwarden run`` pass over the window on PostgreSQL, once on the
  in-memory path (today's: the window loaded into pandas) and once with push-down (one SQL
  statement computes the summary) — wall time and the process's peak RSS, each in its own
  child process (imports included);
* ``pg_summary_query``: the push-down statement alone (median of ``--repeat``);
* ``pg_exact_metrics``: stored values of the exact metrics compared between the two passes
  (PSI, Jensen–Shannon, KL, chi-square, z-test, TVD, accuracy, precision, recall, F1,
  quality shares, fairness rates and disparities): how many are identical;
* ``spark_summary``: the Spark executor on ``local[2]`` over Parquet files of each size in
  ``--spark-rows`` — wall time, the Python driver's peak RSS and the JVM's peak RSS, each
  size in its own child process.

* ``report_setup``, ``report_summaries``, ``report_paths_equal``: reports from stored
  window summaries (30 days of ``--rows``-row windows; see ``bench/scale_report.py``).

Everything runs on whatever else the machine is doing: read the figures with its load
(``load_avg`` in every record).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import (  # noqa: E402
    child_json,
    emit,
    fresh_postgres_database,
    postgres_server_url,
)

DATA = ROOT / "bench" / "data" / "scale"
START = pd.Timestamp("2024-03-01", tz="UTC")
N_NUMERIC, N_CATEGORICAL = 20, 5
EXACT = {
    "psi", "jensenshannon", "kl", "chi2", "z_test", "tvd", "accuracy", "precision", "recall",
    "f1", "label_coverage", "missing_share", "out_of_range_share", "new_category_share",
    "type_mismatch_share", "constant", "row_count", "count", "selection_rate", "tpr", "fpr",
    "fnr", "demographic_parity_difference", "demographic_parity_ratio",
    "equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference",
    "disparate_impact_ratio", "confusion_matrix",
}  # fmt: skip


def load_avg() -> float:
    """The one-minute load average (the machine is shared)."""
    return round(os.getloadavg()[0], 2)


def make_log(n: int, *, seed: int, shift: float = 0.0, offset: int = 0) -> pd.DataFrame:
    """``n`` rows of the benchmark log (vectorised; ids ``r<offset + i>``)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        "id": pd.Series(np.arange(offset, offset + n)).astype(str).radd("r").astype("str"),
        "ts": START + pd.to_timedelta(rng.integers(0, 86_400_000_000, n), unit="us"),
    }
    for j in range(N_NUMERIC):
        if j % 4 == 0:
            col = rng.normal(shift if j == 0 else 0.0, 1.0, n)
        elif j % 4 == 1:
            col = rng.lognormal(0.0, 1.0, n)
        elif j % 4 == 2:
            col = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(2.0, n))
        else:
            col = rng.integers(0, 100, n).astype(np.float64)
        data[f"num_{j}"] = col
    for j in range(N_CATEGORICAL):
        levels = np.array([f"c{k}" for k in range(5 + 10 * j)])
        data[f"cat_{j}"] = pd.array(levels[rng.integers(0, levels.size, n)], dtype="str")
    data["sex"] = pd.array(np.where(rng.random(n) < 0.45, "F", "M"), dtype="str")
    data["age_band"] = pd.array(
        np.array(["18-30", "31-50", "51+"])[rng.integers(0, 3, n)], dtype="str"
    )
    logit = 0.8 * data["num_0"] - 0.2 + rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-logit))
    data["score"] = score
    data["pred"] = pd.array((score >= 0.5).astype(np.int64), dtype="Int64")
    label = (rng.random(n) < 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))).astype(np.int64)
    data["label"] = pd.array(label, dtype="Int64")
    return pd.DataFrame(data)


def schema_of(frame: pd.DataFrame) -> Any:
    """The benchmark model's schema."""
    from storage.schema import infer_schema

    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex", "age_band"],
        positive_class=1,
    )


def peak_rss_mb() -> float:
    """This process's peak RSS so far, MB: ``VmHWM`` of its address space.

    Not ``ru_maxrss``, which survives ``execve``: a child started by a large parent would
    report the parent's size at the fork.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- children
def child_pass(url: str) -> dict[str, Any]:
    """One ``run`` pass in this process: wall time and peak RSS (imports included)."""
    started = time.perf_counter()
    from monitors.pipeline.run import run_pass

    now = (START + pd.Timedelta(days=2)).to_pydatetime()
    summary = run_pass(url=url, now=now, alerts=False)
    return {
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "windows": summary.windows_analyzed,
        "metrics": summary.metrics_stored,
    }


def _jvm_peak_mb() -> float | None:
    """Peak RSS of this process's Java child (the Spark driver JVM), MB."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            if ppid != os.getpid():
                continue
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    return None


def child_spark(path: str, reference: str) -> dict[str, Any]:
    """The Spark executor over ``path`` on local[2]: wall time, driver and JVM peak RSS."""
    started = time.perf_counter()
    from monitors.analyzers.drift import DriftConfig
    from monitors.summaries.spark import spark_session, summarize_dataframe
    from monitors.summaries.spec import build_spec
    from monitors.windows import to_micros

    ref = pd.read_parquet(reference)
    spec = build_spec(ref, schema=schema_of(ref), reference_version=1, drift=DriftConfig())
    del ref
    spark = spark_session("local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - started
    t0 = time.perf_counter()
    end = START + pd.Timedelta(days=1)
    summary = summarize_dataframe(spark.read.parquet(path), spec, to_micros(START), to_micros(end))
    summary_s = time.perf_counter() - t0
    jvm = _jvm_peak_mb()
    spark.stop()
    return {
        "session_s": session_s,
        "summary_s": summary_s,
        "rows": summary.n_rows,
        "driver_peak_rss_mb": peak_rss_mb(),
        "jvm_peak_rss_mb": jvm,
    }


def _child(args: list[str]) -> dict[str, Any]:
    """Run this script as a child with ``args``; its last stdout line as JSON."""
    return child_json(__file__, args)


# --------------------------------------------------------------------------- parts
def _exact_metrics(url: str) -> dict[tuple[Any, ...], tuple[float | None, str]]:
    """Stored exact metrics by (analyzer, metric, feature, group) and their status."""
    from sqlalchemy import select

    from storage.engine import get_engine, session_scope
    from storage.models import MetricResult

    with session_scope(get_engine(url)) as session:
        rows = session.scalars(select(MetricResult).where(MetricResult.metric.in_(EXACT)))
        return {(r.analyzer, r.metric, r.feature, r.group): (r.value, r.status) for r in rows}


def _reset(url: str) -> None:
    """Forget the analysed window so that the next pass analyses it again."""
    from sqlalchemy import delete

    from storage.engine import get_engine, session_scope
    from storage.models import MetricResult, WindowRun

    with session_scope(get_engine(url)) as session:
        session.execute(delete(MetricResult))
        session.execute(delete(WindowRun))


def bench_postgres(rows: int, repeat: int, *, in_memory: bool = True) -> None:
    """Ingest one window into PostgreSQL; a pass in memory, a pass with push-down."""
    from monitors.analyzers.drift import DriftConfig
    from monitors.collectors import Client
    from monitors.summaries.executor import set_executor
    from monitors.summaries.postgres import PostgresExecutor
    from monitors.summaries.spec import build_spec

    reference = make_log(100_000, seed=1)
    with fresh_postgres_database(postgres_server_url()) as url:
        client = Client(url)
        client.register_model(
            "scale", task="binary_classification", schema=schema_of(reference), reference=reference
        )
        started = time.perf_counter()
        chunk = 250_000
        for i in range(0, rows, chunk):  # generated in chunks: 10M rows would not fit twice
            part = make_log(min(chunk, rows - i), seed=2 + i // chunk, shift=0.2,
                            offset=10_000_000 + i)  # fmt: skip
            client.log("scale", part)
        emit({"bench": "pg_ingest", "rows": rows, "wall_s": time.perf_counter() - started,
              "load_avg": load_avg()})  # fmt: skip
        in_memory_metrics = None
        if in_memory:
            memory = _child(["--child-pass", url])
            emit({"bench": "pg_pass", "path": "in_memory", "rows": rows, **memory,
                  "load_avg": load_avg()})  # fmt: skip
            in_memory_metrics = _exact_metrics(url)
            _reset(url)
        set_executor(url, "scale", executor="postgres")
        pushed = _child(["--child-pass", url])
        emit({"bench": "pg_pass", "path": "push_down", "rows": rows, **pushed,
              "load_avg": load_avg()})  # fmt: skip
        if in_memory_metrics is not None:
            after = _exact_metrics(url)
            same = sum(1 for k, v in in_memory_metrics.items() if after.get(k) == v)
            emit({"bench": "pg_exact_metrics", "rows": rows, "compared": len(in_memory_metrics),
                  "identical": same,
                  "missing": len(set(in_memory_metrics) - set(after))})  # fmt: skip
        spec = build_spec(
            reference, schema=schema_of(reference), reference_version=1, drift=DriftConfig()
        )
        executor = PostgresExecutor(url, "scale")
        end = (START + pd.Timedelta(days=1)).to_pydatetime()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            executor.summarize(spec, START.to_pydatetime(), end)
            times.append(time.perf_counter() - t0)
        emit({"bench": "pg_summary_query", "rows": rows, "median_s": statistics.median(times),
              "runs": times, "load_avg": load_avg()})  # fmt: skip


def _spark_data(rows: int) -> tuple[Path, Path]:
    """Parquet parts of ``rows`` rows (1M rows each) and the reference, written once."""
    directory = DATA / f"log_{rows}"
    reference = DATA / "reference.parquet"
    DATA.mkdir(parents=True, exist_ok=True)
    if not reference.exists():
        make_log(100_000, seed=1).to_parquet(reference, index=False)
    if not (directory / "_done").exists():
        directory.mkdir(parents=True, exist_ok=True)
        chunk = 1_000_000
        for i in range(0, rows, chunk):
            part = make_log(min(chunk, rows - i), seed=100 + i // chunk, shift=0.2, offset=i)
            part.to_parquet(directory / f"part-{i // chunk:04d}.parquet", index=False)
        (directory / "_done").touch()
    return directory, reference


def bench_spark(sizes: list[int]) -> None:
    """The Spark executor on local[2] at each size, each in its own child process."""
    for rows in sizes:
        path, reference = _spark_data(rows)
        result = _child(["--child-spark", str(path), str(reference)])
        emit({"bench": "spark_summary", "rows": rows, "master": "local[2]", **result,
              "load_avg": load_avg()})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--in-memory-max-rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark-rows", default="5000000,10000000")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--child-pass", help=argparse.SUPPRESS)
    parser.add_argument("--child-spark", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_pass:
        print(json.dumps(child_pass(args.child_pass)))
        return
    if args.child_spark:
        print(json.dumps(child_spark(*args.child_spark)))
        return
    if not args.skip_pg:
        for i, rows in enumerate(int(n) for n in args.rows.split(",") if n):
            # today's path loads the window into pandas: ~1.5 GB per million rows
            in_memory = rows <= args.in_memory_max_rows
            bench_postgres(rows, args.repeat if i == 0 else 1, in_memory=in_memory)
    if not args.skip_spark:
        bench_spark([int(n) for n in args.spark_rows.split(",") if n])
    if not args.skip_report:
        from scale_report import bench_paths_equal, bench_report

        bench_report(days=30, rows=int(args.rows.split(",")[0]))
        bench_paths_equal()


if __name__ == "__main__":
    main()
