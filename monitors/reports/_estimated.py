"""The audit report's performance section: realized where labelled, estimated where not.

Pure (stored metric frames in, a plain mapping out); :mod:`monitors.reports.export`
reads the stored ``performance`` and ``estimated_performance`` results of the period.
Per analysed window, each main metric shows the realized value when the window has
labels, else the estimate (CBPE / DLE, see ``docs/estimated-performance.md``) marked
``"source": "estimate"`` with its sampling-error band. Both values are kept, so a
reader sees the estimation error where both exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

#: Stored analyzers this section reads.
PERFORMANCE_ANALYZERS: Final = ("performance", "estimated_performance")
#: Realized metrics shown, in order (each with its ``estimated_`` counterpart).
SHOWN: Final = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse")
REALIZED, ESTIMATE = "realized", "estimate"


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _cell(realized: Mapping[str, Any] | None, estimated: Mapping[str, Any] | None) -> dict:
    """One metric of one window: the value shown, its source, both values and the band."""
    real = _float(realized["value"]) if realized is not None else None
    est = _float(estimated["value"]) if estimated is not None else None
    details = (estimated or {}).get("details") or {}
    source = REALIZED if real is not None else ESTIMATE if est is not None else None
    return {
        "value": real if real is not None else est,
        "source": source,
        "realized": real,
        "estimated": est,
        "ci_low": _float(details.get("ci_low")),
        "ci_high": _float(details.get("ci_high")),
        "estimate_status": None if estimated is None else estimated["status"],
    }


def _note(n_windows: int, n_estimate_only: int, method: str | None) -> str:
    if n_windows == 0:
        return (
            "No performance results are stored for this model and period "
            "(run `driftwarden run` to analyse its windows)."
        )
    if method is None:
        return "Realized performance of each analysed window, from its labelled rows."
    name = {"cbpe": "CBPE", "dle": "DLE"}.get(method, method)
    return (
        "Realized performance of each analysed window, from its labelled rows. Where a "
        f"window has no realized value (no labels yet: {n_estimate_only} of {n_windows} "
        f"windows), the value is an ESTIMATE ({name}, from the model's scores or outputs "
        "alone, with its ±3 sd sampling-error band): it assumes the relation between "
        "inputs and labels is unchanged since the reference, and is not a measurement."
    )


def performance_section(stored: pd.DataFrame | None) -> dict[str, Any]:
    """The ``performance`` section of the report.

    Parameters
    ----------
    stored : pandas.DataFrame or None
        Stored results of :data:`PERFORMANCE_ANALYZERS` over the period (columns of
        :func:`storage.metrics.metrics_frame`, with ``details``).

    Returns
    -------
    dict
        ``metrics`` (realized names shown), ``windows`` (``window_start``,
        ``window_end``, ``label_coverage``, ``estimate_only`` and, per metric, the
        value shown, its ``source`` — ``realized`` or ``estimate`` — both values, the
        band and the estimate's status), ``n_windows``, ``n_estimate_only``,
        ``method``, ``calibration_warning`` and a ``note`` in words.
    """
    frame = stored if stored is not None else pd.DataFrame()
    if len(frame):
        frame = frame[frame["feature"].isna() & frame["group"].isna()]
    by_key: dict[tuple[Any, str, str], Mapping[str, Any]] = {}
    windows: dict[Any, Any] = {}
    row: dict[str, Any]
    for row in frame.to_dict("records"):  # type: ignore[assignment]
        by_key[(row["window_start"], row["analyzer"], row["metric"])] = row
        windows[row["window_start"]] = row["window_end"]
    present = {m for (_, _, m) in by_key}
    shown = [m for m in SHOWN if m in present or f"estimated_{m}" in present]
    rows, method, warning = [], None, None
    for start in sorted(windows):
        coverage = by_key.get((start, "performance", "label_coverage"))
        cells = {
            m: _cell(
                by_key.get((start, "performance", m)),
                by_key.get((start, "estimated_performance", f"estimated_{m}")),
            )
            for m in shown
        }
        for m in shown:
            details = (by_key.get((start, "estimated_performance", f"estimated_{m}")) or {}).get(
                "details"
            ) or {}
            method = details.get("method", method)
            warning = details.get("calibration_warning", warning)
        share = _float(coverage["value"]) if coverage is not None else None
        rows.append(
            {
                "window_start": start,
                "window_end": windows[start],
                "label_coverage": share,
                "estimate_only": not share
                and any(c["estimated"] is not None for c in cells.values()),
                "metrics": cells,
            }
        )
    n_estimate_only = sum(r["estimate_only"] for r in rows)
    return {
        "metrics": shown,
        "windows": rows,
        "n_windows": len(rows),
        "n_estimate_only": n_estimate_only,
        "method": method,
        "calibration_warning": warning,
        "note": _note(len(rows), n_estimate_only, method),
    }
