"""Benchmark the dashboard's data functions on a large results database.

Builds (once, into ``--db``) a SQLite database with ``--models`` models (default 20)
× ``--days`` daily windows (default 365) of stored results shaped like the lending
demo's (about 770 metric rows a window: drift per feature with histogram details,
quality per column, performance, fairness for 74 groups and 7 attributes, SHAP
importance), plus window runs and three alert rules per model. Then times every
page's data functions (the loaders of ``app/data.py``, caches cleared before each
call, so these are cold reads) for one model over the default 90-day period and over
the full year. Prints one JSON object per line; target: every function < 1 s.

Run: ``.venv/bin/python bench/dashboard.py [--db PATH] [--models N] [--days D]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.engine import get_engine, session_scope
from storage.models import AlertRule, AlertSeries, MetricResult, WindowRun
from storage.registry import create_model
from storage.schema import infer_schema

TARGET_SECONDS = 1.0
START = datetime(2025, 1, 1, tzinfo=UTC)
NUMERIC = ["income", "debt_ratio", "credit_score", "loan_amount", "employment_years"]
CATEGORICAL = ["purpose", "home_ownership"]
SENSITIVE = {
    "sex": ["F", "M"],
    "age_band": ["18-24", "25-34", "35-49", "50+"],
    "group": ["A", "B", "C", "D"],
}
GROUP_METRICS = [
    "selection_rate",
    "accuracy",
    "tpr",
    "fpr",
    "fnr",
    "precision",
    "count",
    "n_labelled",
]
DISPARITIES = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
]


def _schema() -> Any:
    frame = pd.DataFrame(
        {
            "prediction_id": ["a", "b"],
            "ts": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True),
            **{c: [1.0, 2.0] for c in NUMERIC},
            **{c: pd.array(["x", "y"], dtype="str") for c in CATEGORICAL},
            **{c: pd.array(v[:2], dtype="str") for c, v in SENSITIVE.items()},
            "approved": [0, 1],
            "score": [0.2, 0.8],
            "repaid": [0, 1],
        }
    )
    return infer_schema(
        frame,
        task="binary_classification",
        id="prediction_id",
        timestamp="ts",
        prediction="approved",
        score="score",
        label="repaid",
        sensitive=list(SENSITIVE),
        categorical=CATEGORICAL,
    )


def _groups() -> list[tuple[str, str]]:
    names = list(SENSITIVE)
    attrs = [[n] for n in names] + [[a, b] for i, a in enumerate(names) for b in names[i + 1 :]]
    attrs.append(names)
    out = []
    for attr in attrs:
        combos: list[list[str]] = [[]]
        for name in attr:
            combos = [c + [f"{name}={v}"] for c in combos for v in SENSITIVE[name]]
        out += [("&".join(attr), "&".join(c)) for c in combos]
    return out


def _window_rows(model_id: int, start: datetime, rng: np.random.Generator) -> list[dict]:
    end = start + timedelta(days=1)
    rows: list[dict] = []

    def add(
        analyzer: str,
        metric: str,
        value: float | None,
        *,
        feature: str = "",
        group: str = "",
        threshold: float | None = None,
        status: str = "ok",
        details: dict | None = None,
    ) -> None:
        rows.append(
            {
                "model_id": model_id,
                "window_start": start,
                "window_end": end,
                "analyzer": analyzer,
                "metric": metric,
                "feature": feature,
                "group": group,
                "value": value,
                "threshold": threshold,
                "status": status,
                "details": details or {},
            }
        )

    props = rng.dirichlet(np.ones(10)).round(4).tolist()
    for f in NUMERIC + CATEGORICAL + ["approved", "score", "latency_ms"]:
        js = float(rng.uniform(0, 0.3))
        drifted = js > 0.2
        add(
            "drift",
            "drift_detected",
            float(drifted),
            feature=f,
            threshold=0.1,
            status="drift" if drifted else "ok",
            details={
                "method": "jensenshannon",
                "reason": "jensenshannon (bench)",
                "statistic": js,
                "p_value": None,
                "threshold": 0.1,
            },
        )
        add("drift", "jensenshannon", js, feature=f, threshold=0.1)
        add(
            "drift",
            "psi",
            float(rng.uniform(0, 0.3)),
            feature=f,
            threshold=0.1,
            details={
                "edges": list(range(9)),
                "reference_proportions": [0.1] * 10,
                "current_proportions": props,
            },
        )
        add("drift", "wasserstein_normed", float(rng.uniform(0, 0.2)), feature=f, threshold=0.1)
        add("drift", "ks", float(rng.uniform(0, 0.2)), feature=f, threshold=0.05)
    add("drift", "dataset_drift_share", float(rng.uniform(0, 1)), threshold=0.5)
    for c in NUMERIC + CATEGORICAL + list(SENSITIVE) + ["approved", "score", "latency_ms"]:
        for m in ("missing_share", "type_mismatch_share", "constant", "out_of_range_share"):
            add("quality", m, float(rng.uniform(0, 0.02)), feature=c, threshold=0.05)
    add(
        "quality",
        "new_category_share",
        0.0,
        feature="purpose",
        threshold=0.05,
        details={"new_categories": []},
    )
    add("quality", "quarantined_rows", 0.0, threshold=0.0)
    for m in (
        "accuracy",
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "brier_score",
        "label_coverage",
        "latency_p50",
        "latency_p95",
        "latency_p99",
    ):
        add("performance", m, float(rng.uniform(0.5, 1)))
    add(
        "performance",
        "confusion_matrix",
        1000.0,
        details={"classes": [0, 1], "matrix": [[300, 100], [80, 520]]},
    )
    add(
        "performance",
        "expected_calibration_error",
        0.05,
        details={
            "curve": [
                {
                    "bin_low": i / 10,
                    "bin_high": (i + 1) / 10,
                    "count": 100,
                    "mean_predicted": i / 10 + 0.05,
                    "fraction_positive": i / 10,
                }
                for i in range(10)
            ]
        },
    )
    for attr, group in _groups():
        for m in GROUP_METRICS:
            v = float(rng.uniform(0.3, 0.9))
            add(
                "fairness",
                m,
                v,
                feature=attr,
                group=group,
                details={"ci_low": v - 0.05, "ci_high": v + 0.05, "n": 120},
            )
    for attr in {a for a, _ in _groups()}:
        for m in DISPARITIES:
            add(
                "fairness",
                m,
                float(rng.uniform(0.6, 1)),
                feature=attr,
                threshold=0.8,
                details={"ci_low": 0.6, "ci_high": 1.0},
            )
    for f in NUMERIC + CATEGORICAL:
        add("explain", "mean_abs_shap", float(rng.uniform(0, 1)), feature=f)
        add("explain", "attribution_share", float(rng.uniform(0, 0.4)), feature=f, threshold=0.1)
    add("explain", "attribution_drift", float(rng.uniform(0, 0.15)), threshold=0.1)
    return rows


def build(url: str, models: int, days: int) -> int:
    """Fill the database; returns the number of metric rows."""
    engine = get_engine(url)
    schema = _schema()
    rng = np.random.default_rng(0)
    total = 0
    for m in range(models):
        name = f"model_{m:02d}"
        with session_scope(engine) as session:
            model = create_model(session, name, schema)
            model_id = model.id
            for metric, feature in (
                ("drift_detected", "credit_score"),
                ("disparate_impact_ratio", "group"),
                ("missing_share", "income"),
            ):
                rule = AlertRule(
                    name=f"{name}-{metric}",
                    model=name,
                    metric=metric,
                    feature=feature,
                    op=">",
                    threshold=0.5,
                )
                session.add(rule)
                session.flush()
                session.add(
                    AlertSeries(
                        rule_id=rule.id, feature=feature, state="firing" if m % 3 == 0 else "ok"
                    )
                )
        for d0 in range(0, days, 30):
            with session_scope(engine) as session:
                batch: list[dict] = []
                runs: list[dict] = []
                for d in range(d0, min(days, d0 + 30)):
                    start = START + timedelta(days=d)
                    batch += _window_rows(model_id, start, rng)
                    runs.append(
                        {
                            "model_id": model_id,
                            "window_start": start,
                            "window_end": start + timedelta(days=1),
                            "n_rows": 1000,
                            "n_labels": 900 if d < days - 7 else 0,
                            "reference_version": 1,
                        }
                    )
                session.execute(insert(MetricResult), batch)
                session.execute(insert(WindowRun), runs)
                total += len(batch)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="bench/results/dashboard.db")
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    for logger in ("streamlit", "streamlit.runtime.caching.cache_data_api"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    path = Path(args.db).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    if not path.exists():
        t0 = time.perf_counter()
        rows = build(url, args.models, args.days)
        print(
            json.dumps(
                {
                    "bench": "dashboard_build",
                    "models": args.models,
                    "days": args.days,
                    "metric_rows": rows,
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            ),
            flush=True,
        )

    from app import alert_data, data
    from monitors.analyzers.fairness import DISPARITIES

    name = f"model_{min(7, args.models - 1):02d}"
    info = data.model_info(url, name)
    assert info.last is not None
    year = (info.first, info.last)
    quarter = (info.last - timedelta(days=90), info.last)
    calls: list[tuple[str, str, Any, tuple]] = [
        ("overview", "overview", data.overview, (url,)),
        ("*", "model_names", data.model_names, (url,)),
        ("*", "model_info", data.model_info, (url, name)),
        ("alerts", "alerts", alert_data.alerts, (url, name)),
    ]
    for label, (start, end) in (("90d", quarter), ("365d", year)):
        calls += [
            ("drift", f"drift_scores[{label}]", data.drift_scores, (url, name, start, end)),
            ("drift", f"dataset_drift[{label}]", data.dataset_drift, (url, name, start, end)),
            (
                "drift",
                f"feature_drift[{label}]",
                data.feature_drift,
                (url, name, "credit_score", start, end),
            ),
            (
                "quality",
                f"quality[{label}]",
                data.analyzer_values,
                (url, name, "quality", start, end),
            ),
            (
                "quality",
                f"new_categories[{label}]",
                data.metric_details,
                (url, name, ("new_category_share",), start, end),
            ),
            ("quality", f"quarantine[{label}]", data.quarantine, (url, name, start, end)),
            (
                "performance",
                f"performance[{label}]",
                data.analyzer_values,
                (url, name, "performance", start, end),
            ),
            ("performance", f"windows[{label}]", data.windows, (url, name, start, end)),
            (
                "performance",
                f"confusion_calibration[{label}]",
                data.metric_details,
                (url, name, ("confusion_matrix", "expected_calibration_error"), start, end),
            ),
            ("fairness", "fairness_attributes", data.fairness_attributes, (url, name)),
            (
                "fairness",
                f"disparities[group,{label}]",
                data.attribute_values,
                (url, name, "group", tuple(DISPARITIES), start, end),
            ),
            (
                "fairness",
                f"selection_rate[group,{label}]",
                data.attribute_values,
                (url, name, "group", ("selection_rate",), start, end),
            ),
            (
                "fairness",
                f"selection_rate[sex&age_band&group,{label}]",
                data.attribute_values,
                (url, name, "sex&age_band&group", ("selection_rate",), start, end),
            ),
            (
                "explanations",
                f"explain[{label}]",
                data.analyzer_values,
                (url, name, "explain", start, end),
            ),
        ]
    load = os.getloadavg()[0]
    worst = 0.0
    for page, what, fn, fargs in calls:
        fn.clear()
        t0 = time.perf_counter()
        result = fn(*fargs)
        seconds = time.perf_counter() - t0
        worst = max(worst, seconds)
        size = len(result) if hasattr(result, "__len__") else None
        print(
            json.dumps(
                {
                    "bench": "dashboard",
                    "page": page,
                    "function": what,
                    "seconds": round(seconds, 4),
                    "rows": size,
                    "target_seconds": TARGET_SECONDS,
                    "ok": seconds < TARGET_SECONDS,
                    "load_1m": round(load, 2),
                }
            ),
            flush=True,
        )
    print(
        json.dumps(
            {
                "bench": "dashboard_summary",
                "worst_seconds": round(worst, 4),
                "ok": worst < TARGET_SECONDS,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
