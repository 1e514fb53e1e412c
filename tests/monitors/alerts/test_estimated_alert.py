"""An alert rule on an estimated metric fires like any other, before any label arrives.

The model's scores are the true probabilities (``y ~ Bernoulli(score)``, ``score =
sigmoid(2x)``). Two clean days (``x ~ N(0, 1.5)``, as in the reference) are followed
by three days of pure covariate shift toward the low-confidence region (``x ~ N(0,
0.25)``: scores near 0.5), which lowers F1 without any concept shift. No label is ever
logged. The rule of docs/alerts.md — "estimated F1 dropped below the reference band for
2 windows" — uses the lower threshold stored with the estimates of the clean windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from monitors.alerts.engine import evaluate_rules
from monitors.alerts.rules import apply_rules, parse_rule_file
from monitors.collectors import Client
from monitors.export import metric_records
from monitors.pipeline.run import run_pass
from storage import alerts as alert_queries
from storage.engine import get_engine, session_scope

MODEL = "scored"
START = datetime(2024, 5, 6, tzinfo=UTC)
DAY = timedelta(days=1)
ROWS = 400
CLEAN_DAYS, SHIFTED_DAYS = 2, 3


def _rows(n: int, *, seed: int, sd: float, start: datetime | None, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, sd, n)
    score = 1.0 / (1.0 + np.exp(-2.0 * x))
    base = pd.Timestamp(start or START - 40 * DAY)
    span = 86399 if start is not None else 30 * 86400
    return pd.DataFrame(
        {
            "id": [f"{prefix}-{i:06d}" for i in range(n)],
            "ts": base + pd.to_timedelta(np.sort(rng.uniform(0, span, n)), unit="s"),
            "x": x,
            "yhat": (score >= 0.5).astype(int),
            "score": score,
            "y": (rng.random(n) < score).astype(int),
        }
    )


def _production() -> pd.DataFrame:
    days = [
        _rows(
            ROWS,
            seed=10 + d,
            sd=1.5 if d < CLEAN_DAYS else 0.25,
            start=START + d * DAY,
            prefix=f"d{d}",
        )
        for d in range(CLEAN_DAYS + SHIFTED_DAYS)
    ]
    return pd.concat(days, ignore_index=True)


def test_estimated_f1_rule_fires_on_degraded_windows(database_url: str) -> None:
    client = Client(database_url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=_rows(3000, seed=1, sd=1.5, start=None, prefix="ref"),
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="score",
        label="y",
        positive_class=1,
        config={"drift": {"multivariate": False}},
    )
    production = _production()
    client.log(MODEL, production.drop(columns="y"))  # labels never arrive
    end = START + (CLEAN_DAYS + SHIFTED_DAYS) * DAY
    run_pass(url=database_url, now=end, alerts=False)

    f1 = {
        r["window_start"]: r
        for r in metric_records(database_url, MODEL)
        if r["metric"] == "estimated_f1"
    }
    starts = [(START + d * DAY).isoformat() for d in range(CLEAN_DAYS + SHIFTED_DAYS)]
    assert sorted(f1) == starts
    # the reference band's lower bound, the same for every window of ROWS rows
    lower = f1[starts[0]]["details"]["lower_threshold"]
    assert lower == f1[starts[0]]["threshold"]
    assert all(f1[s]["status"] == "ok" for s in starts[:CLEAN_DAYS])
    assert all(f1[s]["status"] == "breach" for s in starts[CLEAN_DAYS:])

    # the estimate tracks the F1 the labels would have shown (pure covariate shift)
    day = (production["ts"] - pd.Timestamp(START)) // pd.Timedelta(DAY)
    for d, start in enumerate(starts):
        rows = production[day == d]
        truth = f1_score(rows["y"], rows["yhat"])
        band = f1[start]["details"]
        assert band["ci_low"] <= truth <= band["ci_high"], (start, truth, band)
        assert (truth < lower) == (d >= CLEAN_DAYS), (start, truth, lower)

    rules = f"""
rules:
  - name: estimated-f1-below-band
    model: {MODEL}
    metric: estimated_f1
    op: "<"
    threshold: {lower!r}
    for: 2
    severity: warning
"""
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        apply_rules(session, parse_rule_file(rules, source="test rules"))
    evaluate_rules(engine, now=end + timedelta(minutes=5))
    with session_scope(engine) as session:
        events = [
            (event.from_state, event.to_state, event.window_start, event.value)
            for event, _, _ in alert_queries.events(session, model=MODEL)
        ]
    first_bad = START + CLEAN_DAYS * DAY
    assert [(a, b, w) for a, b, w, _ in events] == [
        ("ok", "pending", first_bad),
        ("pending", "firing", first_bad + DAY),
    ]
    assert all(v is not None and v < lower for *_, v in events)
