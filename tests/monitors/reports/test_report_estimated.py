"""The audit report's performance section: realized where labelled, the estimate (marked)
where labels are missing; exported, it still verifies.

A model analysed by the real pass on a SQLite file: rows of the first three days carry
their labels, the last three days have none yet. Expected values are the stored
``performance`` and ``estimated_performance`` results, read back with
``metric_records``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from report_helpers import END, MODEL, START, make_frame

from monitors.analyzers.fairness import FairnessConfig
from monitors.collectors import Client
from monitors.export import metric_records
from monitors.pipeline.run import run_pass
from monitors.reports.assemble import assemble_report
from monitors.reports.export import export_report, gather_inputs
from monitors.reports.render import render_html
from monitors.reports.verify import verify_bytes

CONFIG = FairnessConfig(n_bootstrap=20, seed=1)
LABEL_DAYS = 3


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("estimated") / "dw.db")
    frame = make_frame(n=1200)
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=frame,
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex", "age_band"],
        positive_class=1,
        config={"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 0}},
    )
    late = frame["ts"] >= START + timedelta(days=LABEL_DAYS)
    logged = frame.astype({"label": "float64"})
    logged.loc[late, "label"] = float("nan")
    client.log(MODEL, logged)
    run_pass(url=url, now=END, alerts=False)
    return url


def _stored(url: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (r["window_start"], r["analyzer"], r["metric"]): r
        for r in metric_records(url, MODEL)
        if r["feature"] is None and r["group"] is None
    }


def test_section_shows_realized_or_marked_estimate(analysed: str) -> None:
    inputs, _ = gather_inputs(analysed, MODEL, start=START, end=END)
    section = dict(assemble_report(inputs, config=CONFIG).content)["performance"]
    stored = _stored(analysed)
    assert section["metrics"] == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    assert section["method"] == "cbpe"
    assert section["n_windows"] == 6 and section["n_estimate_only"] == 3
    for window in section["windows"]:
        start = window["window_start"]
        labelled = pd.Timestamp(start) < pd.Timestamp(START + timedelta(days=LABEL_DAYS))
        assert window["estimate_only"] is (not labelled)
        assert window["label_coverage"] == (1.0 if labelled else 0.0)
        for metric, cell in window["metrics"].items():
            est = stored[(start, "estimated_performance", f"estimated_{metric}")]
            assert cell["estimated"] == pytest.approx(est["value"], rel=1e-9)
            if labelled:
                real = stored[(start, "performance", metric)]["value"]
                assert (cell["source"], cell["value"]) == ("realized", pytest.approx(real))
            else:
                assert (start, "performance", metric) not in stored or stored[
                    (start, "performance", metric)
                ]["value"] is None
                assert cell["source"] == "estimate"
                assert cell["value"] == pytest.approx(est["value"], rel=1e-9)
                assert cell["ci_low"] == pytest.approx(est["details"]["ci_low"], rel=1e-9)
                assert cell["ci_high"] == pytest.approx(est["details"]["ci_high"], rel=1e-9)
    assert "ESTIMATE" in section["note"] and "3 of 6 windows" in section["note"]


def test_html_marks_estimates_and_json_verifies(analysed: str, tmp_path: Path) -> None:
    inputs, _ = gather_inputs(analysed, MODEL, start=START, end=END)
    report = assemble_report(inputs, config=CONFIG)
    html = render_html(report).decode()
    part = html[html.index("<h2>Model performance</h2>") :]
    part = part[: part.index("<h2>", 5)]
    marked = '<span class="na">(estimate)</span>'
    assert part.count(marked) == 3 * 5  # three unlabelled windows, five metrics
    assert "+00:00" not in part and "None" not in part
    day = (START + timedelta(days=LABEL_DAYS)).strftime("%Y-%m-%d 00:00")
    assert day in part

    result = export_report(
        analysed,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path,
        formats=("json",),
        config=CONFIG,
        created_by="auditor",
    )
    data = result.files[0].read_bytes()
    assert json.loads(data)["performance"]["n_estimate_only"] == 3
    assert verify_bytes(data, name=result.files[0].name, database_url=analysed).status == (
        "verified"
    )
    again = assemble_report(gather_inputs(analysed, MODEL, start=START, end=END)[0], config=CONFIG)
    assert again.content_sha256 == report.content_sha256


def test_section_without_results_says_so() -> None:
    from monitors.reports._estimated import performance_section

    empty = performance_section(None)
    assert empty["windows"] == [] and empty["n_estimate_only"] == 0
    assert "No performance results" in empty["note"]
