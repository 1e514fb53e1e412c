"""The analysis pass with PostgreSQL push-down: stored metrics and summaries.

A model whose executor is ``postgres`` and a twin on the in-memory path see the same rows:
the exact metrics stored are identical, every verdict is the same, and each analysed
window's summary is kept and still gives the metrics after the rows are purged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pytest
from _data import binary_log, binary_schema
from sqlalchemy import select

from monitors.analyzers import drift
from monitors.analyzers._from_summary import column_drift_from_summary
from monitors.collectors import Client
from monitors.errors import ConfigError
from monitors.pipeline.run import run_pass
from monitors.summaries.executor import set_executor
from monitors.summaries.store import period_summary, stored_summaries
from monitors.windows import purge
from storage.engine import get_engine, session_scope
from storage.models import MetricResult, Model, WindowRun

NOW = datetime(2024, 3, 10, tzinfo=UTC)
#: Analyzers that run on the summary's uniform sample when a window exceeds it.
SAMPLED = {"estimated_performance", "anomalies", "explain"}
EXACT = {
    "psi",
    "jensenshannon",
    "kl",
    "chi2",
    "z_test",
    "tvd",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "missing_share",
    "out_of_range_share",
    "new_category_share",
    "selection_rate",
    "demographic_parity_difference",
    "equalized_odds_difference",
}


def _metrics(url: str, model: str) -> dict[tuple, MetricResult]:
    with session_scope(get_engine(url)) as session:
        model_id = session.scalar(select(Model.id).where(Model.name == model))
        rows = session.scalars(select(MetricResult).where(MetricResult.model_id == model_id))
        return {(r.window_start, r.analyzer, r.metric, r.feature, r.group): r for r in rows}


@pytest.fixture(scope="module")
def logged(request: pytest.FixtureRequest) -> str:
    """Two models on the same rows: ``pushed`` (postgres executor) and ``rows`` (default)."""
    url = request.getfixturevalue("postgres_url_module")
    reference = binary_log(4_000, seed=1, infinite=False)
    schema = binary_schema(reference)
    day1 = binary_log(12_000, seed=2, infinite=False)  # past the 10,000-row sample
    day2 = binary_log(
        3_000, seed=3, shift=0.5, infinite=False, start=pd.Timestamp("2024-03-02", tz="UTC")
    )
    client = Client(url)
    config = {"drift": {"multivariate": False}}
    for name in ("pushed", "rows"):
        client.register_model(
            name, task="binary_classification", schema=schema, reference=reference, config=config
        )
        client.log(name, pd.concat([day1, day2]))
    set_executor(url, "pushed", executor="postgres")
    run_pass(url=url, now=NOW, alerts=False)
    return url


@pytest.fixture(scope="module")
def postgres_url_module(postgres_server_url: str, postgres_template: str):
    """A fresh migrated PostgreSQL database shared by this module's tests."""
    from tests.conftest import _fresh_postgres_database

    yield from _fresh_postgres_database(postgres_server_url, template=postgres_template)


pytestmark = pytest.mark.postgres


def test_push_down_stores_the_row_path_numbers(logged: str) -> None:
    pushed, rows = _metrics(logged, "pushed"), _metrics(logged, "rows")
    assert pushed.keys() == rows.keys()
    for key, row in rows.items():
        got = pushed[key]
        if key[1] in SAMPLED:
            continue
        assert got.status == row.status, key
        if key[2] in EXACT:
            assert got.value == row.value, key
    with session_scope(get_engine(logged)) as session:
        runs = session.scalars(select(WindowRun)).all()
        counts = {}
        for run in runs:
            counts.setdefault(run.model_id, set()).add((run.n_rows, run.n_labels))
        assert len(counts) == 2 and len(set(map(frozenset, counts.values()))) == 1


def test_summaries_are_kept_and_outlive_the_rows(logged: str) -> None:
    kept = stored_summaries(logged, "pushed")
    assert [s.n_rows for _, _, s, _ in kept] == [12_000, 3_000]
    assert {s.executor for _, _, s, _ in kept} == {"postgres"}
    purge(logged, "pushed", "2024-03-05T00:00:00Z")
    summary, spec = period_summary(
        logged,
        "pushed",
        start=datetime(2024, 3, 1, tzinfo=UTC),
        end=datetime(2024, 3, 3, tzinfo=UTC),
    )
    assert summary.n_rows == 15_000
    reference = binary_log(4_000, seed=1, infinite=False)
    schema = binary_schema(reference)
    config = drift.DriftConfig()
    profile = drift.prepare_reference(reference, schema=schema, config=config)
    report = column_drift_from_summary(profile, summary, spec, schema=schema, config=config)
    assert "x0" in report.drifted_columns  # day 2 shifted x0 by half a standard deviation


def test_postgres_executor_needs_postgresql(sqlite_url: str) -> None:
    reference = binary_log(500, seed=1, infinite=False)
    Client(sqlite_url).register_model(
        "m", task="binary_classification", schema=binary_schema(reference), reference=reference
    )
    message = "--executor postgres: the database is sqlite; expected PostgreSQL"
    with pytest.raises(ConfigError, match=re.escape(message)):
        set_executor(sqlite_url, "m", executor="postgres")
