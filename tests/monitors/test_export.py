"""``driftwarden metrics``: the export contract, values against scipy, JSON and CSV, filters."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pipeline.pipeline_support import MODEL, START, applicants, production, register
from scipy import stats
from typer.testing import CliRunner

from monitors.cli import app
from monitors.pipeline.run import run_pass

FIELDS = [
    "model",
    "window_start",
    "window_end",
    "analyzer",
    "metric",
    "feature",
    "group",
    "value",
    "threshold",
    "status",
    "details",
]
DAY = timedelta(days=1)
runner = CliRunner()


def _export(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["metrics", MODEL, "--database-url", url, *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _build(url: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    client = register(url)
    logged = production(2, labels=True)
    client.log(MODEL, logged)
    run_pass(url=url, now=START + 2 * DAY, alerts=False)
    return url, applicants(300, seed=1, prefix="ref"), logged


@pytest.fixture
def analysed_both(database_url: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Two analysed daily windows on each database: URL, reference rows, logged rows."""
    return _build(database_url)


@pytest.fixture(scope="module")
def analysed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """The same on one SQLite file shared by the tests of this module (read-only use)."""
    from storage.engine import dispose_all

    yield _build(f"sqlite:///{tmp_path_factory.mktemp('export') / 'driftwarden.db'}")
    dispose_all()


def test_json_records_have_the_contract_fields(
    analysed_both: tuple[str, pd.DataFrame, pd.DataFrame],
) -> None:
    url, reference, logged = analysed_both
    records = json.loads(_export(url))
    assert records
    for record in records:
        assert list(record) == FIELDS
        assert record["model"] == MODEL
        assert record["status"] in {"ok", "drift", "breach", "insufficient_data"}
        assert isinstance(record["details"], dict)
    assert {r["window_start"] for r in records} == {
        START.isoformat(),
        (START + DAY).isoformat(),
    }
    for r in records:
        assert pd.Timestamp(r["window_end"]) - pd.Timestamp(r["window_start"]) == DAY

    # KS value and p-value equal scipy's on the same rows, per window and column
    ks = {(r["window_start"], r["feature"]): r for r in records if r["metric"] == "ks"}
    checked = 0
    for day in range(2):
        start = START + day * DAY
        window = logged[(logged["ts"] >= start) & (logged["ts"] < start + DAY)]
        for column in ("x1", "x2"):
            expected = stats.ks_2samp(reference[column], window[column])
            record = ks[(start.isoformat(), column)]
            assert record["analyzer"] == "drift"
            assert record["group"] is None
            assert record["value"] == pytest.approx(expected.statistic, abs=1e-12)
            assert record["details"]["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
            assert record["threshold"] == 0.05
            checked += 1
    assert checked == 4


def test_feature_and_group_nulls(analysed: tuple[str, pd.DataFrame, pd.DataFrame]) -> None:
    url, _, _ = analysed
    records = json.loads(_export(url))
    by_metric = {(r["analyzer"], r["metric"]): r for r in records}
    for key in [
        ("drift", "dataset_drift_share"),
        ("performance", "label_coverage"),
        ("performance", "accuracy"),
        ("performance", "roc_auc"),
    ]:
        assert by_metric[key]["feature"] is None, key
        assert by_metric[key]["group"] is None, key
    assert {r["feature"] for r in records if r["metric"] == "drift_detected"} >= {
        "x1",
        "x2",
        "region",
    }
    grouped = [r for r in records if r["group"] is not None]
    assert grouped
    assert {r["analyzer"] for r in grouped} == {"fairness"}
    groups = {(r["feature"], r["group"]) for r in grouped}
    assert {("sex", "sex=F"), ("sex", "sex=M"), ("age_band", "age_band=old")} <= groups
    assert ("sex&age_band", "sex=F&age_band=young") in groups
    for feature, group in groups:
        attrs = [part.split("=", 1)[0] for part in group.split("&")]
        assert "&".join(attrs) == feature


def test_csv_has_the_same_records(analysed: tuple[str, pd.DataFrame, pd.DataFrame]) -> None:
    url, _, _ = analysed
    records = json.loads(_export(url))
    text = _export(url, "--format", "csv")
    assert text.splitlines()[0] == ",".join(FIELDS)
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    assert len(frame) == len(records)
    for row, record in zip(frame.to_dict(orient="records"), records, strict=True):
        assert json.loads(row["details"]) == record["details"]
        assert row["metric"] == record["metric"]
        assert row["window_start"] == record["window_start"]
        assert (row["feature"] or None) == record["feature"]
        assert (row["group"] or None) == record["group"]
        if record["value"] is None:
            assert row["value"] == ""
        else:
            assert float(row["value"]) == pytest.approx(record["value"], rel=1e-12, abs=1e-300)


def test_from_to_filter_and_out_file(
    analysed: tuple[str, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    url, _, _ = analysed
    everything = json.loads(_export(url))
    later = json.loads(_export(url, "--from", (START + DAY).isoformat()))
    earlier = json.loads(_export(url, "--to", (START + DAY).isoformat()))
    assert {r["window_start"] for r in later} == {(START + DAY).isoformat()}
    assert {r["window_start"] for r in earlier} == {START.isoformat()}
    assert len(later) + len(earlier) == len(everything)
    assert json.loads(_export(url, "--from", "2024-03-04", "--to", "2024-03-05")) == earlier
    out = tmp_path / "metrics.csv"
    result = runner.invoke(
        app, ["metrics", MODEL, "--database-url", url, "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == _export(url, "--format", "csv")


def test_bad_format_and_bad_time(analysed: tuple[str, pd.DataFrame, pd.DataFrame]) -> None:
    url, _, _ = analysed
    result = runner.invoke(app, ["metrics", MODEL, "--database-url", url, "--format", "xml"])
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --format: expected json or csv; got 'xml'\n",
    )
    result = runner.invoke(app, ["metrics", MODEL, "--database-url", url, "--from", "yesterday"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --from 'yesterday': expected an ISO 8601 date like "
        "2026-02-03 or 2026-02-03T10:00Z\n"
    )
