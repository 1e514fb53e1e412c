"""Calibration of the drift verdicts: false-positive rate and power by column kind and size.

Usage: ``python bench/calibration.py [--quick] [--skip-peers] [--windows N] [--peer-windows M]
[--kinds a,b]``; ``python bench/calibration.py --table RUN.jsonl [MORE.jsonl ...]`` prints the
table of earlier runs.

For every column kind of :mod:`_calibration_draws` (normal, heavy-tailed t(2), Poisson(3)
counts, zero-inflated, binary, 10/100/1,000-level categorical), reference size (5,000 and
100,000 rows) and window size (30, 60, 100, 300, 1,000, 10,000 rows), windows are drawn from
the reference's distribution (``null``: every flag is a false positive) and from a shifted
one (``shift``: half a standard deviation, or a 10-point share shift; every flag is a
detection). Each cell uses ``REPLICATES`` = 10 reference samples with ``--windows / 10``
windows each, so a lucky or unlucky reference does not decide the rate.

* ``driftwarden``: the verdict (``drifted``) of :func:`monitors.analyzers.drift.column_drift`
  with the default :class:`DriftConfig` on a one-feature model — the analyzer itself, window
  by window (``--windows`` = 500 per cell);
* ``evidently``: Evidently 0.7's default stat test for the column (its own
  ``get_stattest(reference, current, column_type, None)``, the choice ``DataDriftPreset``
  makes) on the first ``--peer-windows`` (200) windows of each cell — the same windows, drawn
  from the same seeds — run in ``bench/.venv-peers`` (made as ``bench/analyze.py`` makes it)
  at the same time as ours.

Output: one JSON line per method x kind x reference x window x hypothesis on stdout
(``rate`` with a 95 % Wilson interval), then a Markdown table on stderr. Targets:
false-positive rate <= 6 % in every cell; power >= Evidently's at >= 1,000 rows.
``--quick``: references of 5,000 rows, windows of 60 and 1,000 rows, 100 (40) windows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _calibration_draws as draws  # noqa: E402
from analyze import PEERS, ensure_peers  # noqa: E402

from monitors.analyzers.drift import DriftConfig, column_drift, prepare_reference  # noqa: E402
from storage.schema import ColumnSpec, ModelSchema  # noqa: E402

PEER_SCRIPT = ROOT / "bench" / "peers" / "evidently_calibration.py"
REPLICATES = 10
FPR_TARGET = 0.06


def emit(**obj: Any) -> None:
    print(json.dumps(obj), flush=True)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson interval of a binomial rate."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def schema_for(kind: str) -> ModelSchema:
    """A one-feature regression model whose feature ``x`` has the kind's dtype."""
    dtype = "float" if kind in draws.NUMERIC_KINDS else ("bool" if kind == "binary" else "string")
    cols = (
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
        ColumnSpec(name="x", role="feature", dtype=dtype),
        ColumnSpec(name="y_hat", role="prediction", dtype="float"),
    )
    return ModelSchema(task="regression", columns=cols)


def as_frame(kind: str, values: np.ndarray) -> pd.DataFrame:
    """One column ``x`` of a kind's values (categorical codes as a pandas Categorical)."""
    if kind in draws.NUMERIC_KINDS:
        return pd.DataFrame({"x": values})
    if kind == "binary":
        return pd.DataFrame({"x": values.astype(bool)})
    cats = pd.Categorical.from_codes(values, categories=np.arange(draws.levels(kind)))
    return pd.DataFrame({"x": cats})


def ours(
    kind: str, n_ref: int, n_win: int, hypothesis: str, per_replicate: int, config: DriftConfig
) -> tuple[int, int, float]:
    """Windows flagged by driftwarden's default verdict, windows run, seconds."""
    schema = schema_for(kind)
    flagged = total = 0
    t0 = time.perf_counter()
    for rep in range(REPLICATES):
        reference = as_frame(kind, draws.reference(kind, n_ref, rep))
        profile = prepare_reference(reference, schema=schema, config=config)
        batch = draws.windows(kind, n_ref, n_win, hypothesis, rep, per_replicate)
        for row in batch:
            report = column_drift(profile, as_frame(kind, row), schema=schema, config=config)
            flagged += bool(report.column("x").drifted)
            total += 1
    return flagged, total, time.perf_counter() - t0


def start_peer(grid: dict[str, Any]) -> subprocess.Popen[str] | str:
    """Start the Evidently peer on the grid; an error string if it cannot run."""
    err = ensure_peers()
    if err:
        return err
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    return subprocess.Popen(
        [str(PEERS / "bin" / "python"), str(PEER_SCRIPT), json.dumps(grid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish_peer(peer: subprocess.Popen[str] | str) -> list[dict[str, Any]]:
    """The peer's JSON lines, or one ``missing`` record with the reason."""
    if isinstance(peer, str):
        return [{"method": "evidently", "status": "missing", "reason": peer}]
    out, err = peer.communicate(timeout=3600)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if peer.returncode != 0 or not rows:
        reason = f"Evidently peer failed (exit {peer.returncode}): {err[-500:]}"
        return [{"method": "evidently", "status": "missing", "reason": reason}]
    return rows


def record(
    method: str,
    cell: tuple[str, int, int, str],
    flagged: int,
    total: int,
    seconds: float,
) -> dict[str, Any]:
    """One JSON record of a cell."""
    kind, n_ref, n_win, hypothesis = cell
    rate = flagged / total if total else float("nan")
    low, high = wilson(flagged, total)
    rec: dict[str, Any] = {
        "bench": "calibration",
        "method": method,
        "kind": kind,
        "n_reference": n_ref,
        "n_window": n_win,
        "hypothesis": hypothesis,
        "measure": "false_positive_rate" if hypothesis == "null" else "power",
        "windows": total,
        "flagged": flagged,
        "rate": round(rate, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "seconds": round(seconds, 2),
    }
    if hypothesis == "null":
        rec["meets_fpr_target"] = rate <= FPR_TARGET
    return rec


def _cell(rows: list[dict[str, Any]], method: str, key: tuple[str, int, int, str]) -> str:
    """A table cell: the rate of ``method`` in percent, or a dash."""
    for r in rows:
        if (
            r.get("method") == method
            and (
                r.get("kind"),
                r.get("n_reference"),
                r.get("n_window"),
                r.get("hypothesis"),
            )
            == key
        ):
            return f"{100 * r['rate']:.1f}" if key[3] == "null" else f"{100 * r['rate']:.0f}"
    return "–"


def markdown(rows: list[dict[str, Any]], grid: dict[str, Any]) -> str:
    """False-positive rate and power tables: ``ours / Evidently`` in percent."""
    lines = []
    for hypothesis, title in (("null", "False-positive rate"), ("shift", "Power")):
        lines.append(f"{title} (% of windows flagged, driftwarden / Evidently 0.7 defaults)\n")
        head = "| kind | reference | " + " | ".join(f"{n:,}" for n in grid["windows"]) + " |"
        lines += [head, "|---" * (2 + len(grid["windows"])) + "|"]
        for kind in grid["kinds"]:
            for n_ref in grid["references"]:
                cells = [
                    f"{_cell(rows, 'driftwarden', (kind, n_ref, n, hypothesis))} / "
                    f"{_cell(rows, 'evidently', (kind, n_ref, n, hypothesis))}"
                    for n in grid["windows"]
                ]
                lines.append(f"| {kind} | {n_ref:,} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def merged(paths: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cell records of several JSON-lines runs (a later run's cell replaces an earlier one)."""
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            if "kind" in row:
                key = (row["method"], row["kind"], row["n_reference"], row["n_window"])
                cells[key + (row["hypothesis"],)] = row
    rows = list(cells.values())
    grid = {
        "kinds": [k for k in draws.KINDS if any(r["kind"] == k for r in rows)],
        "references": sorted({r["n_reference"] for r in rows}),
        "windows": sorted({r["n_window"] for r in rows}),
    }
    return rows, grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid (a minute or two)")
    parser.add_argument("--skip-peers", action="store_true", help="do not run Evidently")
    parser.add_argument("--windows", type=int, default=None, help="windows per cell (ours)")
    parser.add_argument("--peer-windows", type=int, default=None, help="windows per cell (peer)")
    parser.add_argument("--kinds", default=None, help="comma-separated subset of the kinds")
    parser.add_argument(
        "--table",
        nargs="+",
        metavar="JSONL",
        help="only print the Markdown table of earlier runs (later files override earlier)",
    )
    args = parser.parse_args()
    if args.table:
        print(markdown(*merged(args.table)))
        return
    n_windows = args.windows or (100 if args.quick else 500)
    n_peer = min(args.peer_windows or (40 if args.quick else 200), n_windows)
    per_replicate = max(1, n_windows // REPLICATES)
    grid = {
        "kinds": args.kinds.split(",") if args.kinds else list(draws.KINDS),
        "references": [5_000] if args.quick else list(draws.REFERENCE_SIZES),
        "windows": [60, 1_000] if args.quick else list(draws.WINDOW_SIZES),
        "replicates": REPLICATES,
        "per_replicate": per_replicate,
        "peer_per_replicate": max(1, n_peer // REPLICATES),
    }
    peer = None if args.skip_peers else start_peer(grid)
    config = DriftConfig()
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for kind in grid["kinds"]:
        for n_ref in grid["references"]:
            for n_win in grid["windows"]:
                for hypothesis in draws.HYPOTHESES:
                    cell = (kind, n_ref, n_win, hypothesis)
                    flagged, total, secs = ours(*cell, per_replicate, config)
                    rows.append(record("driftwarden", cell, flagged, total, secs))
                    emit(**rows[-1])
    if peer is not None:
        for row in finish_peer(peer):
            rows.append(row)
            emit(**row)
    emit(bench="calibration", measure="total_seconds", seconds=round(time.perf_counter() - t0, 1))
    print(markdown(rows, grid), file=sys.stderr)


if __name__ == "__main__":
    main()
