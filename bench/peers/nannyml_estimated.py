"""NannyML 0.13 CBPE and DLE on its own bundled synthetic datasets (run in bench/.venv-nannyml).

Usage: ``bench/.venv-nannyml/bin/python bench/peers/nannyml_estimated.py OUT_DIR [--big-rows N]``

For each case it writes the data it used, so that driftwarden runs on the very same rows:
``OUT_DIR/<case>_reference.parquet`` and ``OUT_DIR/<case>_analysis.parquet`` (the analysis
period with its targets joined back; NannyML estimates without them), and then
``OUT_DIR/nannyml_estimated.json``: per case, the chunks NannyML made (row ranges) with
its estimate, sampling error, confidence band and thresholds per metric, whether it
calibrated, and wall-clock times of ``fit`` and ``estimate``. ``--big-rows`` also times
CBPE's ``estimate`` on one window of that many rows (analysis rows resampled, seed 0).

Cases (chunk sizes as in NannyML's tutorials): ``car_loan`` (binary CBPE, 5,000 rows),
``multiclass`` (CBPE, 6,000 rows), ``car_price`` (DLE, 6,000 rows).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import nannyml as nml
import pandas as pd

CBPE_METRICS = ["accuracy", "precision", "recall", "f1", "specificity", "roc_auc"]
DLE_METRICS = ["mae", "rmse"]
FIELDS = {
    "value": "value",
    "sampling_error": "sampling_error",
    "lower_confidence_boundary": "ci_low",
    "upper_confidence_boundary": "ci_high",
    "lower_threshold": "lower_threshold",
    "upper_threshold": "upper_threshold",
    "alert": "alert",
}


def _num(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _chunks(result: Any, metrics: list[str]) -> list[dict[str, Any]]:
    """Analysis chunks as plain dicts: row range and every metric's fields."""
    df = result.filter(period="analysis").to_df()
    out = []
    for _, row in df.iterrows():
        chunk: dict[str, Any] = {
            "start": int(row[("chunk", "start_index")]),
            "end": int(row[("chunk", "end_index")]) + 1,
        }
        for metric in metrics:
            chunk[metric] = {
                ours: _num(row[(metric, theirs)])
                for theirs, ours in FIELDS.items()
                if (metric, theirs) in row.index
            }
        out.append(chunk)
    return out


def _save(out: Path, case: str, reference: pd.DataFrame, analysis: pd.DataFrame) -> None:
    reference.to_parquet(out / f"{case}_reference.parquet")
    analysis.to_parquet(out / f"{case}_analysis.parquet")


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def car_loan(out: Path, big_rows: int) -> dict[str, Any]:
    reference, analysis, targets = nml.load_synthetic_car_loan_dataset()
    analysis = analysis.merge(targets, on="id")
    _save(out, "car_loan", reference, analysis)
    estimator = nml.CBPE(
        y_pred_proba="y_pred_proba",
        y_pred="y_pred",
        y_true="repaid",
        problem_type="classification_binary",
        metrics=CBPE_METRICS,
        chunk_size=5_000,
        timestamp_column_name="timestamp",
    )
    fit_s, _ = _timed(lambda: estimator.fit(reference))
    blind = analysis.drop(columns=["repaid"])
    estimate_s, result = _timed(lambda: estimator.estimate(blind))
    case = {
        "fit_seconds": fit_s,
        "estimate_seconds": estimate_s,
        "calibrated": bool(estimator.needs_calibration),
        "chunks": _chunks(result, CBPE_METRICS),
    }
    if big_rows:
        big = blind.sample(n=big_rows, replace=True, random_state=0).reset_index(drop=True)
        estimator.chunker = nml.chunk.CountBasedChunker(chunk_number=1)
        case["big_rows"] = big_rows
        case["big_estimate_seconds"], _ = _timed(lambda: estimator.estimate(big))
    return case


def multiclass(out: Path) -> dict[str, Any]:
    reference, analysis, targets = nml.load_synthetic_multiclass_classification_dataset()
    analysis = analysis.merge(targets, on="id")
    _save(out, "multiclass", reference, analysis)
    classes = ["prepaid_card", "highstreet_card", "upmarket_card"]
    estimator = nml.CBPE(
        y_pred_proba={c: f"y_pred_proba_{c}" for c in classes},
        y_pred="y_pred",
        y_true="y_true",
        problem_type="classification_multiclass",
        metrics=[m for m in CBPE_METRICS if m != "specificity"] + ["specificity"],
        chunk_size=6_000,
        timestamp_column_name="timestamp",
    )
    fit_s, _ = _timed(lambda: estimator.fit(reference))
    estimate_s, result = _timed(lambda: estimator.estimate(analysis.drop(columns=["y_true"])))
    return {
        "fit_seconds": fit_s,
        "estimate_seconds": estimate_s,
        "calibrated": {
            c: type(cal).__name__ != "NoopCalibrator" for c, cal in estimator._calibrators.items()
        },
        "chunks": _chunks(result, CBPE_METRICS),
    }


def car_price(out: Path) -> dict[str, Any]:
    reference, analysis, targets = nml.load_synthetic_car_price_dataset()
    analysis = analysis.merge(targets, on="id")
    _save(out, "car_price", reference, analysis)
    features = [
        "car_age",
        "km_driven",
        "price_new",
        "accident_count",
        "door_count",
        "fuel",
        "transmission",
    ]
    estimator = nml.DLE(
        feature_column_names=features,
        y_pred="y_pred",
        y_true="y_true",
        metrics=DLE_METRICS,
        chunk_size=6_000,
        timestamp_column_name="timestamp",
    )
    fit_s, _ = _timed(lambda: estimator.fit(reference))
    estimate_s, result = _timed(lambda: estimator.estimate(analysis.drop(columns=["y_true"])))
    return {
        "fit_seconds": fit_s,
        "estimate_seconds": estimate_s,
        "features": features,
        "chunks": _chunks(result, DLE_METRICS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--big-rows", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    report: dict[str, Any] = {"nannyml": nml.__version__}
    cases = {
        "car_loan": lambda: car_loan(args.out, args.big_rows),
        "multiclass": lambda: multiclass(args.out),
        "car_price": lambda: car_price(args.out),
    }
    for name, run in cases.items():
        try:
            report[name] = run()
        except Exception as exc:  # report a failing case, keep the others
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{name}: {exc!r}", file=sys.stderr)
    (args.out / "nannyml_estimated.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
