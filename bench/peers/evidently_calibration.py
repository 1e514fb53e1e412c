"""Evidently 0.7's default stat tests on the windows of ``bench/calibration.py`` (peer venv).

Usage: ``bench/.venv-peers/bin/python bench/peers/evidently_calibration.py GRID_JSON``

For each cell of the grid, the same references and windows as ``bench/calibration.py``
(``bench/_calibration_draws.py``, same seeds); per window Evidently's own default test for
the column — ``get_stattest(reference, current, column_type, None)``, what
``DataDriftPreset`` runs (KS / chi-square / z-test for references of <= 1,000 rows,
normalised Wasserstein / Jensen–Shannon above) — with its default threshold. Numeric kinds
are ``ColumnType.Numerical``, binary and categorical ones ``ColumnType.Categorical``. One
JSON line per cell.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _calibration_draws as draws


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson interval of a binomial rate."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def cell(kind: str, n_ref: int, n_win: int, hypothesis: str, grid: dict) -> dict:
    """Evidently's verdicts on one cell's windows."""
    column_type = ColumnType.Numerical if kind in draws.NUMERIC_KINDS else ColumnType.Categorical
    flagged = total = 0
    tests: set[str] = set()
    t0 = time.perf_counter()
    for rep in range(grid["replicates"]):
        reference = pd.Series(draws.reference(kind, n_ref, rep))
        batch = draws.windows(kind, n_ref, n_win, hypothesis, rep, grid["per_replicate"])
        for row in batch[: grid["peer_per_replicate"]]:
            current = pd.Series(row)
            test = get_stattest(reference, current, column_type, None)
            result = test(reference, current, column_type, None)
            flagged += bool(result.drifted)
            total += 1
            tests.add(test.name)
    low, high = wilson(flagged, total)
    rate = flagged / total
    out = {
        "bench": "calibration",
        "method": "evidently",
        "kind": kind,
        "n_reference": n_ref,
        "n_window": n_win,
        "hypothesis": hypothesis,
        "measure": "false_positive_rate" if hypothesis == "null" else "power",
        "windows": total,
        "flagged": flagged,
        "rate": round(rate, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "stattest": sorted(tests),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if hypothesis == "null":
        out["meets_fpr_target"] = rate <= 0.06
    return out


def main() -> None:
    grid = json.loads(sys.argv[1])
    np.seterr(all="ignore")
    for kind in grid["kinds"]:
        for n_ref in grid["references"]:
            for n_win in grid["windows"]:
                for hypothesis in draws.HYPOTHESES:
                    print(json.dumps(cell(kind, n_ref, n_win, hypothesis, grid)), flush=True)


if __name__ == "__main__":
    main()
