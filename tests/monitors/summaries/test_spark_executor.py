"""The Spark executor (local[2], Parquet files written here) equals the in-memory executor.

One SparkSession for the module (starting one takes ~10 s). Without Java or pyspark the
module is skipped — except with ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _data import assert_json_close, binary_log, binary_schema, regression_log, regression_schema

from monitors.analyzers.drift import DriftConfig
from monitors.errors import ConfigError
from monitors.summaries.memory import summarize_frame
from monitors.summaries.spark import SparkExecutor, parse_source, summarize_dataframe
from monitors.summaries.spec import SummaryConfig, build_spec
from monitors.windows import to_micros

START = pd.Timestamp("2024-03-01", tz="UTC")
END = pd.Timestamp("2024-03-02", tz="UTC")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """A local[2] session without UI, stopped at the end of the module."""
    missing = None
    if shutil.which("java") is None:
        missing = "java is not installed (Debian: openjdk-17-jre-headless)"
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        missing = "pyspark is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spark tests cannot run: {missing} (CI=true: no skip)")
        pytest.skip(missing)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("driftwarden-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


def _write_parts(frame: pd.DataFrame, directory: Path, parts: int) -> str:
    """``frame`` as ``parts`` Parquet files in ``directory`` (a partitioned log)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[chunk].to_parquet(directory / f"part-{i:03d}.parquet", index=False)
    return str(directory)


@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_spark_equals_in_memory(spark, tmp_path: Path, task: str) -> None:
    if task == "regression":
        reference, rows = regression_log(3_000, seed=1), regression_log(15_000, seed=2, shift=1)
        schema = regression_schema(reference)
    else:  # infinite values, missing values, unseen categories, late labels
        reference, rows = binary_log(3_000, seed=1), binary_log(15_000, seed=2, shift=0.4)
        schema = binary_schema(reference)
    later = rows.iloc[:100].assign(ts=END + pd.Timedelta(hours=1), id=lambda f: f["id"] + "x")
    path = _write_parts(pd.concat([rows, later]), tmp_path / "log", parts=3)
    spec = build_spec(
        reference,
        schema=schema,
        reference_version=1,
        drift=DriftConfig(),
        config=SummaryConfig(sample_size=2_000),
    )
    summary = summarize_dataframe(spark.read.parquet(path), spec, to_micros(START), to_micros(END))
    expected = summarize_frame(rows, spec)
    assert summary.n_rows == len(rows)
    assert_json_close(summary.to_json(), {**expected.to_json(), "executor": "spark"})
    assert summary.sample == expected.sample


def test_executor_reads_parquet_and_tables(spark, tmp_path: Path) -> None:
    reference, rows = binary_log(2_000, seed=1), binary_log(3_000, seed=3)
    schema = binary_schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    path = _write_parts(rows, tmp_path / "log", parts=2)
    by_path = SparkExecutor(f"parquet:{path}", session=spark).summarize(spec, START, END)
    spark.read.parquet(path).createOrReplaceTempView("predictions")
    by_table = SparkExecutor("spark:predictions", session=spark).summarize(spec, START, END)
    assert by_path == by_table
    assert by_path.n_rows == len(rows) and by_path.sample.complete


def test_the_sample_prefilter_falls_back_to_every_row(spark, tmp_path: Path, monkeypatch) -> None:
    """Too few rows under the key bound: the sample job runs again over every row."""
    from monitors.summaries import spark as spark_executor

    reference, rows = binary_log(2_000, seed=1), binary_log(4_000, seed=5)
    spec = build_spec(
        reference,
        schema=binary_schema(reference),
        reference_version=1,
        drift=DriftConfig(),
        config=SummaryConfig(sample_size=300),
    )
    path = _write_parts(rows, tmp_path / "log", parts=2)
    monkeypatch.setattr(spark_executor, "_key_bound", lambda size, n_rows: "0000001")
    summary = summarize_dataframe(spark.read.parquet(path), spec, to_micros(START), to_micros(END))
    assert summary.sample == summarize_frame(rows, spec).sample


def test_the_key_bound_leaves_enough_keys_below_it() -> None:
    from monitors.summaries.sample import KEY_HEX_DIGITS, KEY_SCALE
    from monitors.summaries.spark import _key_bound

    assert _key_bound(10_000, 10_000) is None and _key_bound(10_000, 10_500) is None
    bound = _key_bound(10_000, 50_000_000)
    assert bound is not None and len(bound) == KEY_HEX_DIGITS
    assert int(bound, 16) / KEY_SCALE * 50_000_000 == pytest.approx(11_010, abs=1e-3)
    assert bound == bound.lower()  # compared with Spark's md5, lower-case hex


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "s3://bucket/log",
            "--source: expected 'parquet:PATH' or 'spark:TABLE'; got 's3://bucket/log'",
        ),
        ("parquet:", "--source: expected 'parquet:PATH' or 'spark:TABLE'; got 'parquet:'"),
    ],
)
def test_bad_sources_are_refused(source: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_source(source)


def test_a_spark_source_model_through_the_cli_and_the_pass(spark, tmp_path: Path) -> None:
    """``models register --source parquet:PATH``, then ``run``: windows found by Spark,
    summaries computed by Spark, metrics and summaries in the SQLite store."""
    from typer.testing import CliRunner

    from monitors.cli import app
    from monitors.pipeline.run import run_pass
    from monitors.summaries.store import stored_summaries
    from storage.engine import dispose_all

    reference = binary_log(2_000, seed=1, infinite=False)
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    day2 = binary_log(1_500, seed=4, shift=0.6, start=END)
    log = _write_parts(pd.concat([binary_log(2_500, seed=3), day2]), tmp_path / "lake", parts=2)
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    args = [
        "models", "register", "lake_model", "--reference", str(tmp_path / "reference.parquet"),
        "--task", "binary_classification", "--id", "id", "--timestamp", "ts",
        "--prediction", "pred", "--score", "score", "--label", "label",
        "--sensitive", "sex,age_band", "--latency-ms", "latency",
        "--source", f"parquet:{log}", "--database-url", url,
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bad_args = ["other" if a == "lake_model" else a for a in args]
    bad_args[bad_args.index(f"parquet:{log}")] = "hdfs:x"
    bad = CliRunner().invoke(app, bad_args)
    assert bad.exit_code == 1 and "expected 'parquet:PATH' or 'spark:TABLE'" in bad.output
    now = (END + pd.Timedelta(days=3)).to_pydatetime()
    passed = run_pass(url=url, now=now, alerts=False)
    assert passed.windows_analyzed == 2 and passed.metrics_stored > 100
    kept = stored_summaries(url, "lake_model")
    assert [(s.n_rows, s.executor) for _, _, s, _ in kept] == [(2_500, "spark"), (1_500, "spark")]
    again = run_pass(url=url, now=now, alerts=False)
    assert again.windows_analyzed == 0 and again.metrics_stored == 0
    dispose_all()
