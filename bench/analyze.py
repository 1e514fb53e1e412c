"""Benchmark of the drift pass (and the quality pass if present): JSON lines on stdout.

Usage: ``python bench/analyze.py [--rows N] [--repeat R] [--skip-peers]``

Data: fixed seed, 20 numeric + 5 categorical features, reference and window of ``--rows``
rows each (default 1,000,000), written as Parquet to ``bench/data/`` (git-ignored) and read
back. Measurements, one JSON object per line:

* ``floor``: sort every numeric window column once and count every categorical one;
* ``drift_prepare``: :func:`prepare_reference` (once per reference version, not per window);
* ``drift_pass``: :func:`column_drift` on the window — the timed default pass;
* ``quality_pass``: ``prepare_quality_reference`` + ``data_quality`` if
  ``monitors.analyzers.quality`` provides them (status ``missing`` otherwise);
* ``multivariate``: :func:`multivariate_drift` with the default subsample (separate);
* ``scipy_baseline``: the same statistics column by column with scipy functions;
* ``accuracy``: max relative difference between ours and scipy's values (must be <= 1e-12);
* ``evidently``: Evidently's default ``DataDriftPreset`` in ``bench/.venv-peers`` (created
  with ``python3 -m venv`` + pip if missing) run as a subprocess; ``status: missing`` with
  the reason when it cannot be installed or run;
* ``ratios``: ours / floor, scipy / ours, Evidently / ours.

Times are wall-clock medians over ``--repeat`` runs (``time.perf_counter``). Peak extra
memory is measured with ``tracemalloc`` (NumPy and pandas buffers are traced) in a separate
run, so that tracing does not slow the timed runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitors.analyzers.drift import (  # noqa: E402
    DriftConfig,
    column_drift,
    multivariate_drift,
    prepare_reference,
)
from storage.schema import ColumnSpec, ModelSchema  # noqa: E402

DATA = ROOT / "bench" / "data"
PEERS = ROOT / "bench" / ".venv-peers"
PEER_SCRIPT = ROOT / "bench" / "peers" / "evidently_drift.py"
N_NUMERIC, N_CATEGORICAL = 20, 5


def emit(**obj: Any) -> None:
    print(json.dumps(obj), flush=True)


def generate(rows: int) -> tuple[Path, Path]:
    """Write (once per size) reference.parquet and current.parquet with fixed seeds."""
    DATA.mkdir(parents=True, exist_ok=True)
    paths = (DATA / f"reference_{rows}.parquet", DATA / f"current_{rows}.parquet")
    if all(p.exists() for p in paths):
        return paths
    for path, seed, shift in [(paths[0], 1, 0.0), (paths[1], 2, 1.0)]:
        rng = np.random.default_rng(seed)
        cols: dict[str, Any] = {
            "prediction_id": pd.Series(np.arange(rows).astype(str), dtype="str"),
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
        }
        for i in range(N_NUMERIC):
            # a few columns drift in the window: mean shift on 0-3, scale on 4-5
            loc = 0.3 * shift if i < 4 else 0.0
            scale = 1.0 + (0.5 * shift if i in (4, 5) else 0.0)
            x = rng.normal(loc, scale, rows)
            x[rng.random(rows) < 0.01] = np.nan
            cols[f"num_{i}"] = x
        for j in range(N_CATEGORICAL):
            k = 5 + 10 * j
            p = np.arange(1, k + 1, dtype=float)
            if j == 0 and shift:
                p = p[::-1]
            cats = np.array([f"c{j}_{v}" for v in range(k)])
            cols[f"cat_{j}"] = pd.Series(cats[rng.choice(k, rows, p=p / p.sum())], dtype="str")
        cols["y_hat"] = rng.normal(0, 1, rows)
        pd.DataFrame(cols).to_parquet(path)
    return paths


def schema() -> ModelSchema:
    cols = [
        ColumnSpec(name="prediction_id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
    ]
    cols += [ColumnSpec(name=f"num_{i}", role="feature", dtype="float") for i in range(N_NUMERIC)]
    cols += [
        ColumnSpec(name=f"cat_{j}", role="feature", dtype="string") for j in range(N_CATEGORICAL)
    ]
    cols.append(ColumnSpec(name="y_hat", role="prediction", dtype="float"))
    return ModelSchema(task="regression", columns=tuple(cols))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak_memory(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def floor(cur: pd.DataFrame, names_num: list[str], names_cat: list[str]) -> None:
    for name in names_num:
        x = cur[name].to_numpy()
        np.sort(x[np.isfinite(x)])
    for name in names_cat:
        cur[name].value_counts()


def scipy_baseline(ref: pd.DataFrame, cur: pd.DataFrame, names_num: list[str]) -> dict:
    """Same statistics with scipy, column by column (no shared sort)."""
    from scipy import stats

    out = {}
    for name in names_num:
        a = ref[name].to_numpy()
        b = cur[name].to_numpy()
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        ks = stats.ks_2samp(a, b)
        w = stats.wasserstein_distance(a, b) / np.std(a)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ad = stats.anderson_ksamp([a, b], variant="midrank")
        out[name] = {
            "ks": (float(ks.statistic), float(ks.pvalue)),
            "wasserstein_normed": (float(w), None),
            "anderson_darling": (float(ad.statistic), float(ad.pvalue)),
        }
    return out


def max_rel_diff(report: Any, baseline: dict) -> float:
    worst = 0.0
    for name, metrics in baseline.items():
        col = report.column(name)
        for metric, (value, p) in metrics.items():
            ours = col.metric(metric)
            for a, b in [(ours.value, value), (ours.p_value, p)]:
                if b is None:
                    continue
                worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst


def ensure_peers() -> str | None:
    """Create bench/.venv-peers with Evidently if missing; return an error string or None."""
    py = PEERS / "bin" / "python"
    if py.exists():
        check = subprocess.run(
            [str(py), "-c", "import evidently"], capture_output=True, text=True, check=False
        )
        if check.returncode == 0:
            return None
    try:
        subprocess.run(
            ["python3", "-m", "venv", str(PEERS)], check=True, capture_output=True, text=True
        )
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "evidently>=0.7,<0.8", "pandas<3", "pyarrow"],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = getattr(exc, "stderr", "") or str(exc)
        return f"could not create {PEERS}: {str(tail)[-500:]}"
    return None


def run_evidently(ref_path: Path, cur_path: Path) -> dict:
    err = ensure_peers()
    if err:
        return {"status": "missing", "reason": err}
    try:
        proc = subprocess.run(
            [str(PEERS / "bin" / "python"), str(PEER_SCRIPT), str(ref_path), str(cur_path)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            env={**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"},
        )
    except subprocess.TimeoutExpired:
        return {"status": "missing", "reason": "Evidently run timed out after 3600 s"}
    if proc.returncode != 0:
        return {"status": "missing", "reason": f"Evidently run failed: {proc.stderr[-500:]}"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {
            "status": "missing",
            "reason": f"Evidently printed no result (exit {proc.returncode}): "
            f"{proc.stdout[-300:]} {proc.stderr[-300:]}",
        }
    return {"status": "ok", **json.loads(lines[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-peers", action="store_true", help="do not run Evidently")
    args = parser.parse_args()

    ref_path, cur_path = generate(args.rows)
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    sch = schema()
    config = DriftConfig()
    names_num = [f"num_{i}" for i in range(N_NUMERIC)]
    names_cat = [f"cat_{j}" for j in range(N_CATEGORICAL)]
    common = {"rows_reference": len(ref), "rows_current": len(cur), "cpus": os.cpu_count()}

    t_floor, _ = timed(lambda: floor(cur, names_num, names_cat), args.repeat)
    emit(measure="floor", seconds=t_floor, **common)

    t_prep, profile = timed(
        lambda: prepare_reference(ref, schema=sch, config=config), max(1, args.repeat - 1)
    )
    emit(measure="drift_prepare", seconds=t_prep, **common)

    t_drift, report = timed(
        lambda: column_drift(profile, cur, schema=sch, config=config), args.repeat
    )
    mem = peak_memory(lambda: column_drift(profile, cur, schema=sch, config=config))
    emit(
        measure="drift_pass",
        seconds=t_drift,
        peak_extra_mib=round(mem, 1),
        memory_method="tracemalloc (separate run)",
        drifted_columns=list(report.drifted_columns),
        dataset_share=report.dataset_share,
        **common,
    )

    try:
        from monitors.analyzers import quality

        prep_q = quality.prepare_quality_reference
        run_q = quality.data_quality
        qconfig = quality.QualityConfig()
    except (ImportError, AttributeError) as exc:
        emit(measure="quality_pass", status="missing", reason=repr(exc), **common)
    else:
        qref = prep_q(ref, schema=sch)
        t_q, _ = timed(lambda: run_q(qref, cur, schema=sch, config=qconfig), args.repeat)
        emit(
            measure="quality_pass",
            status="ok",
            seconds=t_q,
            drift_plus_quality_seconds=t_drift + t_q,
            **common,
        )

    t_mv, mv = timed(lambda: multivariate_drift(ref, cur, schema=sch, config=config), 1)
    emit(
        measure="multivariate",
        seconds=t_mv,
        auc=mv.auc,
        sample_per_side=config.multivariate_sample,
        folds=config.multivariate_folds,
        top_features=[name for name, _ in mv.top_features],
        **common,
    )

    t_scipy, baseline = timed(lambda: scipy_baseline(ref, cur, names_num), 1)
    emit(
        measure="scipy_baseline",
        seconds=t_scipy,
        statistics="ks_2samp, wasserstein_distance/std, anderson_ksamp per numeric column",
        **common,
    )
    worst = max_rel_diff(report, baseline)
    emit(measure="accuracy", max_rel_diff_vs_scipy=worst, within_1e_12=worst <= 1e-12, **common)

    if args.skip_peers:
        ev: dict = {"status": "missing", "reason": "--skip-peers"}
    else:
        ev = run_evidently(ref_path, cur_path)
    emit(measure="evidently", **ev, **common)

    emit(
        measure="ratios",
        ours_over_floor=t_drift / t_floor,
        scipy_over_ours=t_scipy / t_drift,
        evidently_over_ours=(ev["seconds"] / t_drift) if ev.get("status") == "ok" else None,
        **common,
    )


if __name__ == "__main__":
    main()
