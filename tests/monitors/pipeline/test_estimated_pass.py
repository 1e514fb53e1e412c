"""Estimated performance in the analysis pass, on SQLite and PostgreSQL.

A binary model whose scores are calibrated probabilities (labels drawn Bernoulli(score)):
every window gets ``estimated_performance`` records whether its labels have arrived or
not, the CBPE calibration is stored once with the reference version and reused, a
second pass stores nothing, and a model the method does not fit is skipped with its
reason instead of failing the pass.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from monitors.analyzers.estimated import CBPE_METRICS, CBPEModel, EstimatedConfig
from monitors.collectors import Client
from monitors.export import metric_records
from monitors.pipeline._estimated import (
    CALIBRATION_METRIC,
    calibration_fingerprint,
    prepare_estimation,
)
from monitors.pipeline.run import run_pass
from storage.engine import get_engine, session_scope
from storage.registry import get_model, load_reference, model_schema

MODEL = "scored"
START = datetime(2024, 5, 6, tzinfo=UTC)
DAY = timedelta(days=1)
ROWS = 400
DAYS = 4
CHEAP = {"drift": {"multivariate": False}}


def rows(n: int, *, seed: int, start: datetime | None, days: int = 1) -> pd.DataFrame:
    """``n`` rows a day; ``score`` is the true probability of ``y == 1``."""
    rng = np.random.default_rng(seed)
    total = n * days
    x = rng.normal(0.0, 1.5, total)
    score = 1.0 / (1.0 + np.exp(-2.0 * x))
    if start is None:
        ts = pd.Timestamp(START - 40 * DAY) + pd.to_timedelta(
            rng.uniform(0, 30 * 86400, total), "s"
        )
    else:
        seconds = np.repeat(np.arange(days), n) * 86400 + rng.uniform(0, 86399, total)
        ts = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame(
        {
            "id": [f"{'ref' if start is None else 'p'}{seed}-{i:06d}" for i in range(total)],
            "ts": ts,
            "x": x,
            "yhat": (score >= 0.5).astype(int),
            "score": score,
            "y": (rng.random(total) < score).astype(int),
        }
    ).sort_values("ts", ignore_index=True)


def register(url: str, config: dict[str, Any] | None = None) -> Client:
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=rows(3000, seed=1, start=None),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="score",
        label="y",
        positive_class=1,
        window="1d",
        config={**CHEAP, **(config or {})},
    )
    return client


def _records(url: str, analyzer: str) -> list[dict[str, Any]]:
    return [r for r in metric_records(url, MODEL) if r["analyzer"] == analyzer]


def _by_window(records: list[dict[str, Any]], metric: str) -> dict[str, dict[str, Any]]:
    return {r["window_start"]: r for r in records if r["metric"] == metric}


def test_every_window_gets_estimates_labelled_or_not(database_url: str) -> None:
    client = register(database_url)
    prod = rows(ROWS, seed=2, start=START, days=DAYS)
    client.log(MODEL, prod.drop(columns="y"))
    # labels for the first two days only, and for half of the first day
    day = (prod["ts"] - pd.Timestamp(START)) // pd.Timedelta(DAY)
    late = (day == 0) & (np.arange(len(prod)) % 2 == 0)
    labelled = prod[(day < 2) & ~late]
    client.log_labels(MODEL, labelled[["id", "y"]], id="id", label="y")
    summary = run_pass(url=database_url, now=START + DAYS * DAY, alerts=False)
    assert summary.windows_analyzed == DAYS
    assert not any("estimated" in k for k in summary.skipped), summary.skipped

    estimated = _records(database_url, "estimated_performance")
    starts = [(START + i * DAY).isoformat() for i in range(DAYS)]
    for metric in (*CBPE_METRICS, "estimated_confusion_matrix"):
        assert sorted(_by_window(estimated, metric)) == starts, metric
    accuracy = _by_window(estimated, "estimated_accuracy")
    realized = _by_window(_records(database_url, "performance"), "accuracy")
    coverage = _by_window(_records(database_url, "performance"), "label_coverage")
    for start in starts:
        est = accuracy[start]
        assert est["details"]["method"] == "cbpe" and est["details"]["n"] == ROWS
        assert est["details"]["ci_low"] < est["value"] < est["details"]["ci_high"]
        assert est["status"] in ("ok", "breach")
    # labelled windows: realized and estimated side by side; the truth is in the band
    for start in starts[:2]:
        assert coverage[start]["value"] > 0
        band = accuracy[start]["details"]
        assert band["ci_low"] <= realized[start]["value"] <= band["ci_high"]
    # estimate-only windows: no realized accuracy, the estimate is still there
    assert all(realized.get(s) is None or realized[s]["value"] is None for s in starts[2:])

    # the calibration is stored once, with the reference version
    stored = [r for r in estimated if r["metric"] == CALIBRATION_METRIC]
    assert len(stored) == 1
    details = stored[0]["details"]
    assert details["reference_version"] == 1
    assert details["fingerprint"] == calibration_fingerprint(EstimatedConfig())
    assert details["calibration"]["format"] == 1
    holder = stored[0]["window_start"]
    assert holder == starts[0]

    # idempotent: nothing new, nothing stored
    again = run_pass(url=database_url, now=START + DAYS * DAY, alerts=False)
    assert (again.windows_analyzed, again.windows_reanalyzed, again.metrics_stored) == (0, 0, 0)

    # late labels re-analyse the first day (the calibration's window): it keeps its
    # calibration, the estimate is unchanged (labels are not read), realized appears
    client.log_labels(MODEL, prod.loc[late, ["id", "y"]], id="id", label="y")
    third = run_pass(url=database_url, now=START + DAYS * DAY, alerts=False)
    assert third.windows_reanalyzed == 1
    after = _records(database_url, "estimated_performance")
    assert [r["window_start"] for r in after if r["metric"] == CALIBRATION_METRIC] == [holder]
    assert _by_window(after, "estimated_accuracy")[holder]["value"] == pytest.approx(
        accuracy[holder]["value"], abs=1e-12
    )
    assert len(after) == len(estimated)


def test_stored_calibration_is_reused(database_url: str) -> None:
    client = register(database_url)
    client.log(MODEL, rows(ROWS, seed=2, start=START, days=2).drop(columns="y"))
    run_pass(url=database_url, now=START + 2 * DAY, alerts=False)
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        model = get_model(session, MODEL)
        version, reference = load_reference(session, model) or (0, pd.DataFrame())
        stage = prepare_estimation(
            session,
            model,
            schema=model_schema(model),
            config=EstimatedConfig(),
            reference=reference,
            version=version,
        )
        other = prepare_estimation(
            session,
            model,
            schema=model_schema(model),
            config=EstimatedConfig(calibration="none"),
            reference=reference,
            version=version,
        )
    assert stage.holder is not None and stage.holder[0] == pd.Timestamp(START)
    assert other.holder is None  # other settings: a new calibration, stored anew
    stored = _by_window(_records(database_url, "estimated_performance"), CALIBRATION_METRIC)
    assert isinstance(stage.estimator, CBPEModel)
    as_stored = json.loads(json.dumps(stage.estimator.calibration.to_dict()))
    assert stored[START.isoformat()]["details"]["calibration"] == as_stored

    # new windows in a later pass: estimates, and still one stored calibration
    client.log(MODEL, rows(ROWS, seed=3, start=START + 2 * DAY).drop(columns="y"))
    summary = run_pass(url=database_url, now=START + 3 * DAY, alerts=False)
    assert summary.windows_analyzed == 1
    estimated = _records(database_url, "estimated_performance")
    assert len(_by_window(estimated, "estimated_f1")) == 3
    assert len([r for r in estimated if r["metric"] == CALIBRATION_METRIC]) == 1


def test_unavailable_or_disabled_estimation_is_skipped_not_fatal(database_url: str) -> None:
    client = Client(database_url)
    reference = rows(500, seed=1, start=None)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=reference.drop(columns="score"),
        id="id",
        timestamp="ts",
        prediction="yhat",
        label="y",
        window="1d",
        config=CHEAP,
    )
    client.log(MODEL, rows(ROWS, seed=2, start=START).drop(columns=["y", "score"]))
    summary = run_pass(url=database_url, now=START + DAY, alerts=False)
    assert summary.windows_analyzed == 1
    assert summary.skipped == {
        f"{MODEL} (estimated performance)": (
            "CBPE needs a 'score' column (probability of the positive class)"
        )
    }
    assert _records(database_url, "estimated_performance") == []
    assert _records(database_url, "performance")  # the rest of the pass ran


def test_disabled_in_the_config_file(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "driftwarden.yaml"
    config.write_text(f"models:\n  {MODEL}:\n    estimated: {{enabled: false}}\n")
    monkeypatch.setenv("DRIFTWARDEN_CONFIG", str(config))
    client = register(database_url)
    client.log(MODEL, rows(ROWS, seed=2, start=START).drop(columns="y"))
    summary = run_pass(url=database_url, now=START + DAY, alerts=False)
    assert summary.windows_analyzed == 1 and summary.skipped == {}
    assert _records(database_url, "estimated_performance") == []
