"""Benchmark the explain analyzer; prints one JSON object per line.

* ``global_importance``: mean |SHAP| with the tree explainer on a ``--rows`` sample
  (default 2,000) of a lending-like synthetic dataset (10 features, fixed seed) for a
  100-iteration HistGradientBoostingClassifier. Target: <= 2 s.
* ``agnostic_per_row``: seconds per explained row of the model-agnostic kernel explainer
  (default background of 100 rows) on the same model given as a scoring function.

Run: ``.venv/bin/python bench/explain.py [--rows N] [--agnostic-rows K] [--repeat R]``.
The machine's 1-minute load average is printed with each figure (timings are wall clock).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from monitors.analyzers.explain import ExplainConfig, global_importance, make_explainer
from storage.schema import infer_schema

TARGET_SECONDS = 2.0


def lending(n: int, seed: int = 0) -> pd.DataFrame:
    """A lending-like dataset: 10 numeric features and a binary default label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            "income": rng.lognormal(10.8, 0.5, n),
            "loan_amount": rng.lognormal(9.5, 0.7, n),
            "debt_ratio": rng.beta(2, 5, n),
            "age": rng.uniform(21, 75, n),
            "tenure_years": rng.exponential(4, n),
            "credit_lines": rng.poisson(4, n).astype(float),
            "delinquencies": rng.poisson(0.3, n).astype(float),
            "utilisation": rng.uniform(0, 1, n),
            "term_months": rng.choice([12.0, 24.0, 36.0, 60.0], n),
            "inquiries": rng.poisson(1, n).astype(float),
        }
    )
    logit = (
        -1.5 * np.log(frame.income / 50_000)
        + 0.8 * np.log(frame.loan_amount / 13_000)
        + 3 * (frame.debt_ratio - 0.3)
        + 0.7 * frame.delinquencies
        + 1.2 * (frame.utilisation - 0.5)
        - 0.02 * (frame.age - 45)
        + rng.normal(0, 0.7, n)
    )
    frame["default"] = (logit > 0.5).astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained (sample size)")
    parser.add_argument("--agnostic-rows", type=int, default=5, help="rows for the kernel timing")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs; best and median reported"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)

    frame = lending(max(10_000, args.rows))
    schema = infer_schema(
        frame, task="binary_classification", id="id", timestamp="ts", prediction="default"
    )
    features = [c.name for c in schema.features]
    model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0)
    model.fit(frame[features], frame["default"])
    config = ExplainConfig(sample_size=args.rows, agnostic_sample_size=args.agnostic_rows)

    timings, cpu = [], []
    for _ in range(max(args.repeat, 1)):
        start, start_cpu = time.perf_counter(), time.process_time()
        explainer = make_explainer(model, frame, schema=schema, config=config)
        importance = global_importance(explainer, frame, config=config)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    seconds = min(timings)
    print(
        json.dumps(
            {
                "bench": "explain.global_importance",
                "method": importance.method,
                "model": "HistGradientBoostingClassifier(max_iter=100)",
                "features": len(features),
                "rows": importance.n_rows,
                "seconds": round(seconds, 4),
                "median_seconds": round(float(np.median(timings)), 4),
                "cpu_seconds": round(min(cpu), 4),
                "repeat": len(timings),
                "load_average_1m": os.getloadavg()[0],
                "target_seconds": TARGET_SECONDS,
                "within_target": seconds <= TARGET_SECONDS,
            }
        )
    )

    def score(rows: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(rows[features])[:, 1]

    start, start_cpu = time.perf_counter(), time.process_time()
    agnostic = make_explainer(score, frame, schema=schema, config=config)
    kernel = global_importance(agnostic, frame, config=config)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    print(
        json.dumps(
            {
                "bench": "explain.agnostic_per_row",
                "method": kernel.method,
                "background_rows": len(agnostic.background),
                "features": len(features),
                "rows": kernel.n_rows,
                "seconds": round(seconds, 4),
                "seconds_per_row": round(seconds / max(kernel.n_rows, 1), 4),
                "cpu_seconds_per_row": round(cpu_seconds / max(kernel.n_rows, 1), 4),
                "load_average_1m": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
