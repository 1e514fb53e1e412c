"""Performance estimation without labels against NannyML 0.13; JSON lines on stdout.

Usage: ``python bench/estimated.py [--big-rows N] [--repeat R] [--skip-peers]``

NannyML runs in its own virtual environment, ``bench/.venv-nannyml`` (created with
``python3 -m venv`` + pip when missing: NannyML 0.13 wants ``pandas<3``, which this
project's environment does not have), through ``bench/peers/nannyml_estimated.py``. That
script writes NannyML's bundled synthetic datasets to ``bench/data/estimated/`` and its
results as JSON; driftwarden then runs on the same rows and the same chunks
(NannyML's size-based chunks of the analysis period). Cases:

* ``car_loan``: binary CBPE (``load_synthetic_car_loan_dataset``, chunks of 5,000 rows);
* ``multiclass``: multiclass CBPE (``load_synthetic_multiclass_classification_dataset``,
  6,000 rows);
* ``car_price``: DLE (``load_synthetic_car_price_dataset``, 6,000 rows).

Measurements, one JSON object per line:

* ``calibration``: our ``auto`` decision and reference ECE beside NannyML's decision;
* ``agreement`` (per case and metric): max absolute difference between our estimate and
  NannyML's over the chunks — ours run with NannyML's calibration decision ("same
  calibration") and with our own ``auto`` decision; the mean and max absolute
  estimation error against the realized metric for both tools; our band's standard
  deviation over NannyML's sampling error (median over chunks);
* ``timing`` (per case): fit and estimate (all chunks) for both tools;
* ``cbpe_1m``: CBPE on one window of ``--big-rows`` rows (default 1,000,000; analysis
  rows resampled), ours (median of ``--repeat``) and NannyML's ``estimate`` on the same
  kind of window.

Times are wall-clock (``time.perf_counter``) in one run on the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitors.analyzers.estimated import (  # noqa: E402
    EstimatedConfig,
    EstimatedPerformance,
    Estimator,
    estimate_performance,
    fit_cbpe,
    fit_dle,
)
from storage.schema import ModelSchema, infer_schema  # noqa: E402

VENV = ROOT / "bench" / ".venv-nannyml"
PEER = ROOT / "bench" / "peers" / "nannyml_estimated.py"
DATA = ROOT / "bench" / "data" / "estimated"
PINS = ["nannyml>=0.13,<0.14", "pandas<3", "statsmodels", "pyarrow"]
MC_CLASSES = ["prepaid_card", "highstreet_card", "upmarket_card"]


def emit(**record: Any) -> None:
    """One measurement as a JSON line (floats to 6 decimals)."""
    out = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items()}
    print(json.dumps(out), flush=True)


def ensure_venv() -> str | None:
    """Create bench/.venv-nannyml if missing; an error string, or None when usable."""
    py = VENV / "bin" / "python"
    if py.exists():
        probe = [str(py), "-c", "import nannyml, statsmodels"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return None
    try:
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True, capture_output=True)
        (VENV / ".gitignore").write_text("*\n")
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", *PINS],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = getattr(exc, "stderr", "") or str(exc)
        return f"could not create {VENV}: {str(tail)[-500:]}"
    return None


def run_nannyml(big_rows: int) -> dict[str, Any]:
    """Run the peer script; its JSON report, or ``{"error": ...}``."""
    err = ensure_venv()
    if err:
        return {"error": err}
    DATA.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(VENV / "bin" / "python"), str(PEER), str(DATA), "--big-rows", str(big_rows)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
        env={**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"},
    )
    if proc.returncode != 0:
        return {"error": f"NannyML run failed: {proc.stderr[-800:]}"}
    return dict(json.loads((DATA / "nannyml_estimated.json").read_text()))


def _load(case: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows NannyML used, with a string id and a real timestamp (our schema's rules)."""
    out = []
    for part in ("reference", "analysis"):
        frame = pd.read_parquet(DATA / f"{case}_{part}.parquet")
        frame["id"] = frame["id"].astype(str)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        out.append(frame)
    return out[0], out[1]


def _classification_realized(
    chunk: pd.DataFrame, *, label: str, scores: list[str], multiclass: bool
) -> dict[str, float]:
    """Realized metrics of one chunk, with scikit-learn."""
    y, yhat = chunk[label], chunk["y_pred"]
    if multiclass:
        kw: dict[str, Any] = {"average": "macro", "zero_division": 0}
        labels = sorted(MC_CLASSES)  # sklearn wants them ordered, the columns in that order
        columns = [f"y_pred_proba_{c}" for c in labels]
        auc = roc_auc_score(y, chunk[columns].to_numpy(), multi_class="ovr", labels=labels)
        specificity = float(np.mean([recall_score(y != c, yhat != c) for c in MC_CLASSES]))
    else:
        kw = {"pos_label": 1}
        auc = roc_auc_score(y, chunk[scores[0]])
        specificity = recall_score(y, yhat, pos_label=0)
    return {
        "accuracy": accuracy_score(y, yhat),
        "precision": precision_score(y, yhat, **kw),
        "recall": recall_score(y, yhat, **kw),
        "f1": f1_score(y, yhat, **kw),
        "specificity": specificity,
        "roc_auc": auc,
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _per_chunk(model: Estimator, analysis: pd.DataFrame, chunks: list[dict]) -> list:
    return [estimate_performance(model, analysis.iloc[c["start"] : c["end"]]) for c in chunks]


def compare(
    case: str,
    theirs: dict[str, Any],
    ours: dict[str, list[EstimatedPerformance]],
    realized: list[dict[str, float]],
    metrics: list[str],
) -> None:
    """Emit one ``agreement`` line per metric."""
    chunks = theirs["chunks"]
    for metric in metrics:
        nml = np.array([c[metric]["value"] for c in chunks], dtype=float)
        truth = np.array([r[metric] for r in realized], dtype=float)
        line: dict[str, Any] = {"measure": "agreement", "case": case, "metric": metric}
        line["chunks"] = len(chunks)
        for label, results in ours.items():
            est = np.array([r.get(f"estimated_{metric}").value for r in results], dtype=float)
            line[f"max_abs_diff_{label}"] = float(np.max(np.abs(est - nml)))
            line[f"ours_{label}_mean_abs_error"] = float(np.mean(np.abs(est - truth)))
            line[f"ours_{label}_max_abs_error"] = float(np.max(np.abs(est - truth)))
        line["nannyml_mean_abs_error"] = float(np.mean(np.abs(nml - truth)))
        line["nannyml_max_abs_error"] = float(np.max(np.abs(nml - truth)))
        first = next(iter(ours.values()))
        sd = [r.get(f"estimated_{metric}").sampling_error for r in first]
        their_se = [c[metric]["sampling_error"] for c in chunks]
        ratios = [a / b for a, b in zip(sd, their_se, strict=True) if a and b]
        line["band_sd_over_nannyml_se"] = float(np.median(ratios)) if ratios else None
        emit(**line)


def _matched(model_fit: Callable[..., Estimator], calibrated: dict[str, bool], **kw: Any) -> Any:
    """Fit CBPE with NannyML's per-class calibration decisions (isotonic or none)."""
    iso = EstimatedConfig(**{**kw["config"].model_dump(), "calibration": "isotonic"})
    probe = model_fit(**{**kw, "config": iso})
    per = tuple(
        c if calibrated[str(c.label)] else dataclasses.replace(c, curve=None)
        for c in probe.calibration.per_class
    )
    calibration = dataclasses.replace(probe.calibration, per_class=per)
    return model_fit(**kw, calibration=calibration)


def car_loan(theirs: dict[str, Any], *, big_rows: int, repeat: int) -> None:
    ref, ana = _load("car_loan")
    schema = infer_schema(
        ref,
        task="binary_classification",
        id="id",
        timestamp="timestamp",
        prediction="y_pred",
        score="y_pred_proba",
        label="repaid",
        positive_class=1,
    )
    cbpe_case(
        "car_loan",
        ref,
        ana,
        theirs,
        schema=schema,
        config=EstimatedConfig(),
        calibrated={"1": bool(theirs["calibrated"])},
        realized_kw={"label": "repaid", "scores": ["y_pred_proba"], "multiclass": False},
    )
    model = fit_cbpe(ref, schema=schema, config=EstimatedConfig())
    big = ana.drop(columns="repaid").sample(n=big_rows, replace=True, random_state=0)
    times = [_timed(lambda: estimate_performance(model, big))[0] for _ in range(repeat)]
    emit(
        measure="cbpe_1m",
        rows=big_rows,
        ours_seconds=statistics.median(times),
        ours_best_seconds=min(times),
        nannyml_seconds=theirs.get("big_estimate_seconds"),
        target_seconds=1.0,
        within_target=statistics.median(times) <= 1.0,
    )


def cbpe_case(
    case: str,
    ref: pd.DataFrame,
    ana: pd.DataFrame,
    theirs: dict[str, Any],
    *,
    schema: ModelSchema,
    config: EstimatedConfig,
    calibrated: dict[str, bool],
    realized_kw: dict[str, Any],
) -> None:
    """Fit ours two ways, estimate NannyML's chunks, emit calibration/agreement/timing."""
    fit_s, auto = _timed(lambda: fit_cbpe(ref, schema=schema, config=config))
    matched = _matched(fit_cbpe, calibrated, reference=ref, schema=schema, config=config)
    blind = ana.drop(columns=[schema.label.name])  # type: ignore[union-attr]
    est_s, auto_results = _timed(lambda: _per_chunk(auto, blind, theirs["chunks"]))
    matched_results = _per_chunk(matched, blind, theirs["chunks"])
    emit(
        measure="calibration",
        case=case,
        ours_auto={str(c.label): c.curve is not None for c in auto.calibration.per_class},
        ours_reference_ece={str(c.label): c.reference_ece for c in auto.calibration.per_class},
        nannyml=calibrated,
    )
    realized = [
        _classification_realized(ana.iloc[c["start"] : c["end"]], **realized_kw)
        for c in theirs["chunks"]
    ]
    ours = {"same_calibration": matched_results, "auto": auto_results}
    metrics = ["accuracy", "precision", "recall", "f1", "specificity", "roc_auc"]
    compare(case, theirs, ours, realized, metrics)
    emit(
        measure="timing",
        case=case,
        chunks=len(theirs["chunks"]),
        ours_fit_seconds=fit_s,
        ours_estimate_seconds=est_s,
        nannyml_fit_seconds=theirs["fit_seconds"],
        nannyml_estimate_seconds=theirs["estimate_seconds"],
    )


def multiclass(theirs: dict[str, Any]) -> None:
    ref, ana = _load("multiclass")
    scores = [f"y_pred_proba_{c}" for c in MC_CLASSES]
    schema = infer_schema(
        ref,
        task="multiclass_classification",
        id="id",
        timestamp="timestamp",
        prediction="y_pred",
        label="y_true",
    )
    config = EstimatedConfig(class_probability_columns=dict(zip(MC_CLASSES, scores, strict=True)))
    cbpe_case(
        "multiclass",
        ref,
        ana,
        theirs,
        schema=schema,
        config=config,
        calibrated={k: bool(v) for k, v in theirs["calibrated"].items()},
        realized_kw={"label": "y_true", "scores": scores, "multiclass": True},
    )


def car_price(theirs: dict[str, Any]) -> None:
    ref, ana = _load("car_price")
    schema = infer_schema(
        ref,
        task="regression",
        id="id",
        timestamp="timestamp",
        prediction="y_pred",
        label="y_true",
        features=theirs["features"],
    )
    config = EstimatedConfig()
    fit_s, model = _timed(lambda: fit_dle(ref, schema=schema, config=config))
    blind = ana.drop(columns="y_true")
    est_s, results = _timed(lambda: _per_chunk(model, blind, theirs["chunks"]))
    realized = [
        {
            "mae": mean_absolute_error(chunk["y_true"], chunk["y_pred"]),
            "rmse": root_mean_squared_error(chunk["y_true"], chunk["y_pred"]),
        }
        for chunk in (ana.iloc[c["start"] : c["end"]] for c in theirs["chunks"])
    ]
    compare("car_price", theirs, {"dle": results}, realized, ["mae", "rmse"])
    emit(
        measure="timing",
        case="car_price",
        chunks=len(theirs["chunks"]),
        ours_fit_seconds=fit_s,
        ours_estimate_seconds=est_s,
        nannyml_fit_seconds=theirs["fit_seconds"],
        nannyml_estimate_seconds=theirs["estimate_seconds"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skip-peers", action="store_true", help="reuse bench/data/estimated/ from a past run"
    )
    args = parser.parse_args()
    if args.skip_peers and (DATA / "nannyml_estimated.json").exists():
        theirs = json.loads((DATA / "nannyml_estimated.json").read_text())
    else:
        theirs = run_nannyml(args.big_rows)
    if "error" in theirs:
        emit(measure="nannyml", status="missing", reason=theirs["error"])
        return
    emit(measure="nannyml", status="ok", version=theirs["nannyml"], cpus=os.cpu_count())
    runners: dict[str, Callable[[dict[str, Any]], None]] = {
        "car_loan": lambda t: car_loan(t, big_rows=args.big_rows, repeat=args.repeat),
        "multiclass": multiclass,
        "car_price": car_price,
    }
    for case, run in runners.items():
        if "error" in theirs.get(case, {"error": "not run"}):
            emit(measure="case", case=case, status="missing", reason=theirs[case]["error"])
            continue
        run(theirs[case])


if __name__ == "__main__":
    main()
