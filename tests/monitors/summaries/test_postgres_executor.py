"""The PostgreSQL push-down executor equals the in-memory executor on the same rows."""

from __future__ import annotations

import pandas as pd
import pytest
from _data import assert_json_close, binary_log, binary_schema, regression_log, regression_schema
from sqlalchemy import event

from monitors.analyzers.drift import DriftConfig
from monitors.collectors import Client
from monitors.summaries.memory import summarize_frame
from monitors.summaries.postgres import PostgresExecutor, log_columns, summarize_window
from monitors.summaries.spec import SummaryConfig, build_spec
from monitors.windows import load_window
from storage.engine import get_engine

pytestmark = pytest.mark.postgres

START = pd.Timestamp("2024-03-01", tz="UTC").to_pydatetime()
END = pd.Timestamp("2024-03-02", tz="UTC").to_pydatetime()


def _register(url: str, task: str, reference: pd.DataFrame, schema, rows: pd.DataFrame) -> None:
    client = Client(url)
    client.register_model("m", task=task, schema=schema, reference=reference)
    client.log("m", rows)


@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_push_down_equals_in_memory(postgres_url: str, task: str) -> None:
    if task == "regression":
        reference, rows = regression_log(3_000, seed=1), regression_log(12_000, seed=2, shift=1)
        schema = regression_schema(reference)
    else:
        reference = binary_log(3_000, seed=1, infinite=False)
        rows = binary_log(12_000, seed=2, shift=0.4, infinite=False)
        schema = binary_schema(reference)
    _register(postgres_url, task, reference, schema, rows)
    spec = build_spec(
        reference,
        schema=schema,
        reference_version=1,
        drift=DriftConfig(),
        config=SummaryConfig(sample_size=2_000),
    )
    in_memory = summarize_frame(load_window(postgres_url, "m", START, END), spec)
    pushed = PostgresExecutor(postgres_url, "m").summarize(spec, START, END)
    assert pushed.executor == "postgres"
    # every count, category, cell, minimum, maximum and the sample exactly; sums to rounding
    assert_json_close(pushed.to_json(), {**in_memory.to_json(), "executor": "postgres"})
    assert (pushed.fairness.keys, pushed.fairness.counts) == (
        in_memory.fairness.keys,
        in_memory.fairness.counts,
    )
    assert pushed.sample == in_memory.sample


def test_one_statement_per_window(postgres_url: str) -> None:
    reference = binary_log(2_000, seed=1, infinite=False)
    schema = binary_schema(reference)
    _register(postgres_url, "binary_classification", reference, schema, reference.iloc[:500])
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    cols = log_columns(postgres_url, "m")
    engine = get_engine(postgres_url)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", count)
        summary = summarize_window(conn, cols, spec, START, END)
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("SELECT")
    assert summary.n_rows == 500


def test_an_empty_window(postgres_url: str) -> None:
    reference = binary_log(2_000, seed=1, infinite=False)
    schema = binary_schema(reference)
    _register(postgres_url, "binary_classification", reference, schema, reference.iloc[:10])
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    later = pd.Timestamp("2030-01-01", tz="UTC").to_pydatetime()
    empty = PostgresExecutor(postgres_url, "m").summarize(spec, later, later)
    assert empty.n_rows == 0 and empty.sample.n_seen == 0
    frame = load_window(postgres_url, "m", later, later)
    expected = {**summarize_frame(frame, spec).to_json(), "executor": "postgres"}
    assert_json_close(empty.to_json(), expected)
