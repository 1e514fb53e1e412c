"""Benchmark the fairness analyzer against the naive fairlearn approach; JSON lines on stdout.

Data: ``--rows`` rows (default 1,000,000, fixed seed) of a binary classifier with two
sensitive attributes, ``sex`` (2 values) and ``age_band`` (4 values), string labels with
10 % missing. Analysed: ``sex``, ``age_band`` and ``sex&age_band`` (2 + 4 + 8 groups).

* ``ours``: :func:`group_fairness` with the default config (every per-group metric and
  disparity, 1,000-resample bootstrap intervals); best of ``--repeat`` runs. Target
  <= 0.5 s at 1,000,000 rows.
* ``naive_point``: the same point estimates with ``MetricFrame`` over the rows and the
  ``fairlearn.metrics`` disparity functions.
* ``naive_bootstrap``: the fairlearn-bootstrap style — resample the rows, redo the
  point computation — run ``--naive-resamples`` times (default 3) and scaled to 1,000.
* ``check``: largest absolute difference between our values and MetricFrame's
  (must be <= 1e-9, else the script exits with status 1).
* ``ratios``: naive time over ours.

The naive side is slow (MetricFrame loops over rows in Python: minutes per pass at
1,000,000 rows); ``--no-naive`` times ours only.

Run: ``.venv/bin/python bench/fairness.py [--rows N] [--repeat R] [--naive-resamples K]
[--no-naive]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from monitors.analyzers.fairness import FairnessConfig, FairnessReport, group_fairness
from storage.schema import infer_schema

TARGET_SECONDS = 0.5
N_BOOT = 1000
SETS = [["sex"], ["age_band"], ["sex", "age_band"]]
POS = "yes"


def window(n: int, seed: int = 0) -> pd.DataFrame:
    """Predictions of a binary classifier with group-dependent rates."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(2, n, p=[0.48, 0.52])
    age = rng.choice(4, n, p=[0.15, 0.35, 0.35, 0.15])
    truth = rng.random(n) < 0.35 + 0.05 * sex
    pred = np.where(truth, rng.random(n) < 0.7 + 0.04 * age, rng.random(n) < 0.15 + 0.03 * sex)
    label = np.where(truth, "yes", "no").astype(object)
    label[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "id": pd.Series(np.arange(n).astype(str), dtype="str"),
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            "sex": pd.Series(np.array(["F", "M"], dtype=object)[sex], dtype="str"),
            "age_band": pd.Series(
                np.array(["18-24", "25-44", "45-64", "65+"], dtype=object)[age], dtype="str"
            ),
            "y": pd.Series(label, dtype="str"),
            "p": pd.Series(np.where(pred, "yes", "no"), dtype="str"),
        }
    )


def naive(df: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """Every value the analyzer reports, by MetricFrame / fairlearn over the rows.

    Labels and predictions are first turned into 0/1 integers (one vectorised
    comparison): sklearn is much slower on object arrays of strings, so this is the
    fastest fair way to run the naive approach.
    """
    out: dict[tuple[str, str, str], float] = {}
    binary = df[["sex", "age_band"]].assign(
        p=(df["p"] == POS).to_numpy().astype(np.int64),
        y=(df["y"] == POS).to_numpy().astype(np.int64),
    )
    labelled = binary[df["y"].notna().to_numpy()]
    sel_fns = {"count": count, "selection_rate": selection_rate}
    lab_fns = {
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "precision": partial(precision_score, zero_division=0.0),
        "accuracy": accuracy_score,
    }
    p01 = binary["p"].to_numpy()
    lp01 = labelled["p"].to_numpy()
    ly01 = labelled["y"].to_numpy()
    for cols in SETS:
        feature = "&".join(cols)
        for data, fns, y_true in ((binary, sel_fns, "p"), (labelled, lab_fns, "y")):
            by_group = MetricFrame(
                metrics=fns,
                y_true=data[y_true].to_numpy(),
                y_pred=data["p"].to_numpy(),
                sensitive_features=data[cols],
            ).by_group
            for key, row in by_group.iterrows():
                parts = key if isinstance(key, tuple) else (key,)
                group = "&".join(f"{c}={v}" for c, v in zip(cols, parts, strict=True))
                for metric, value in row.items():
                    out[feature, group, str(metric)] = float(value)
        sf, lsf = df[cols], labelled[cols]
        out[feature, "", "demographic_parity_difference"] = demographic_parity_difference(
            p01, p01, sensitive_features=sf
        )
        out[feature, "", "demographic_parity_ratio"] = demographic_parity_ratio(
            p01, p01, sensitive_features=sf
        )
        out[feature, "", "equalized_odds_difference"] = equalized_odds_difference(
            ly01, lp01, sensitive_features=lsf
        )
        out[feature, "", "equalized_odds_ratio"] = equalized_odds_ratio(
            ly01, lp01, sensitive_features=lsf
        )
        out[feature, "", "equal_opportunity_difference"] = equal_opportunity_difference(
            ly01, lp01, sensitive_features=lsf
        )
    return out


def ours_values(report: FairnessReport) -> dict[tuple[str, str, str], float | None]:
    out: dict[tuple[str, str, str], float | None] = {}
    for g in report.groups:
        for est in g.estimates:
            out[g.feature, g.group, est.metric] = est.value
    for d in report.disparities:
        out[d.feature, "", d.metric] = d.value
    return out


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "fairness", **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-resamples", type=int, default=3)
    parser.add_argument(
        "--no-naive", action="store_true", help="time ours only (no comparison, no check)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    df = window(args.rows)
    schema = infer_schema(
        df,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        sensitive=["sex", "age_band"],
        features=[],
    )
    config = FairnessConfig(n_bootstrap=N_BOOT)
    group_fairness(df.head(1000), schema=schema, config=config)  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = group_fairness(df, schema=schema, config=config)
        times.append(time.perf_counter() - start)
    ours = min(times)
    emit(
        case="ours",
        rows=args.rows,
        groups=len(report.groups),
        n_bootstrap=N_BOOT,
        seconds=round(ours, 4),
        all_seconds=[round(t, 4) for t in times],
        target_seconds=TARGET_SECONDS,
        meets_target=ours <= TARGET_SECONDS,
    )
    if args.no_naive:
        return 0

    start = time.perf_counter()
    expected = naive(df)
    naive_point = time.perf_counter() - start
    emit(case="naive_point", rows=args.rows, seconds=round(naive_point, 4))

    got = ours_values(report)
    diffs = [abs((got[key] or 0.0) - value) for key, value in expected.items()]
    max_diff = max(diffs)
    equal = set(got) == set(expected) | {
        (f, "", "disparate_impact_ratio") for f in ("sex", "age_band", "sex&age_band")
    }
    emit(
        case="check",
        values=len(expected),
        max_abs_diff=max_diff,
        equal=bool(equal and max_diff <= 1e-9),
    )

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.naive_resamples):
        naive(df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True))
    per_resample = (time.perf_counter() - start) / args.naive_resamples
    naive_boot = naive_point + per_resample * N_BOOT
    emit(
        case="naive_bootstrap",
        rows=args.rows,
        resamples_run=args.naive_resamples,
        seconds_per_resample=round(per_resample, 4),
        seconds_scaled=round(naive_boot, 1),
    )
    emit(
        case="ratios",
        rows=args.rows,
        point_only_naive_over_ours_with_bootstrap=round(naive_point / ours, 1),
        with_bootstrap_naive_over_ours=round(naive_boot / ours, 1),
    )
    return 0 if equal and max_diff <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
