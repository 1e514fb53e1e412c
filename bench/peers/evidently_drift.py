"""Evidently's default data drift preset on the benchmark data (run in bench/.venv-peers).

Usage: ``bench/.venv-peers/bin/python bench/peers/evidently_drift.py REF.parquet CUR.parquet``
Prints one JSON line: seconds (Report.run only, data already loaded), drifted columns.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    ref = pd.read_parquet(sys.argv[1])
    cur = pd.read_parquet(sys.argv[2])
    features = [c for c in ref.columns if c.startswith(("num_", "cat_"))]
    definition = DataDefinition(
        numerical_columns=[c for c in features if c.startswith("num_")],
        categorical_columns=[c for c in features if c.startswith("cat_")],
    )
    ref_ds = Dataset.from_pandas(ref[features], data_definition=definition)
    cur_ds = Dataset.from_pandas(cur[features], data_definition=definition)
    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur_ds, ref_ds)
    seconds = time.perf_counter() - t0
    result = snapshot.dict()
    drifted = None
    for metric in result.get("metrics", []):
        if str(metric.get("metric_name", "")).startswith("DriftedColumnsCount"):
            value = metric.get("value") or {}
            drifted = {k: float(v) for k, v in dict(value).items()}
    print(
        json.dumps(
            {"seconds": seconds, "drifted_columns_count": drifted, "n_features": len(features)}
        )
    )


if __name__ == "__main__":
    main()
