"""The in-memory executor: a window already in pandas -> its :class:`WindowSummary`.

The reference for the other executors: the PostgreSQL and Spark executors must give the
same counts as :func:`summarize_frame` on the same rows (the tests check it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._quality_values import as_float, type_mismatches
from monitors.summaries.sample import python_value, sample_from_frame
from monitors.summaries.types import (
    FORMAT_VERSION,
    CategoricalSpec,
    CategoricalSummary,
    Cells,
    NumericSummary,
    RegressionErrors,
    ScoreHistogram,
    SummarySpec,
    Value,
    WindowSummary,
    cell_order,
)
from storage.schema import ColumnSpec, DType, Role

#: scikit-learn clips probabilities to ``[eps, 1 - eps]`` (float64 machine epsilon) in log loss
#: and divides by ``max(|y|, eps)`` in MAPE.
EPS = float(np.finfo(np.float64).eps)


def _colspec(name: str, dtype: str) -> ColumnSpec:
    """A feature-role column spec carrying the dtype (for the quality value readers)."""
    return ColumnSpec(name=name, role=Role.FEATURE, dtype=DType(dtype))


def binned(
    values: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Non-empty bins of finite ``values``: index, count, minimum and maximum."""
    ordered = np.sort(values)
    cuts = np.concatenate([[0], np.searchsorted(ordered, edges, side="left"), [ordered.size]])
    counts = np.diff(cuts)
    bins = np.flatnonzero(counts)
    starts, ends = cuts[bins], cuts[bins + 1] - 1
    return bins, counts[bins], ordered[starts], ordered[ends]


def numeric_summary(
    series: pd.Series, edges: tuple[float, ...], dtype: str, *, column: str
) -> NumericSummary:
    """One numeric column on its fine bins."""
    values, mismatched = as_float(series, _colspec(column, dtype))
    nan = np.isnan(values)
    if pd.api.types.is_float_dtype(series.dtype):
        n_missing = int(np.count_nonzero(nan))
    else:
        n_missing = int(series.isna().sum())
    finite = values[np.isfinite(values)]
    bins, counts, lo, hi = binned(finite, np.asarray(edges, dtype=np.float64))
    return NumericSummary(
        column=column,
        n_missing=n_missing,
        n_posinf=int(np.count_nonzero(values == np.inf)),
        n_neginf=int(np.count_nonzero(values == -np.inf)),
        n_type_mismatch=mismatched,
        n=int(finite.size),
        min=float(finite.min()) if finite.size else None,
        max=float(finite.max()) if finite.size else None,
        sum=float(finite.sum()),
        sum_sq=float(np.dot(finite, finite)),
        bins=tuple(int(b) for b in bins),
        counts=tuple(int(c) for c in counts),
        bin_min=tuple(float(v) for v in lo),
        bin_max=tuple(float(v) for v in hi),
        dtype_name=str(series.dtype),
    )


def rank_categories(
    known: set[Value], counted: dict[Value, int], top_k: int
) -> tuple[int, tuple[Value, ...], tuple[int, ...], int, int]:
    """Reference categories seen, then the ``top_k`` unseen (by count, then text), other.

    Returns ``(n_known, values, counts, other_count, other_distinct)``.
    """
    seen = sorted(
        (v for v in counted if v in known and counted[v] > 0), key=lambda v: cell_order((v,))
    )
    unseen = sorted(
        ((v, n) for v, n in counted.items() if v not in known and n > 0),
        key=lambda item: (-item[1], str(item[0])),
    )
    values = [*seen, *(v for v, _ in unseen[:top_k])]
    rest = unseen[top_k:]
    return (
        len(seen),
        tuple(values),
        tuple(counted[v] for v in values),
        sum(n for _, n in rest),
        len(rest),
    )


def categorical_summary(series: pd.Series, spec: CategoricalSpec, top_k: int) -> CategoricalSummary:
    """One categorical or boolean column: exact reference counts, top-K unseen, other."""
    counts = series.value_counts(dropna=True, sort=False)
    counted: dict[Value, int] = {}
    for key, n in zip(counts.index.tolist(), counts.to_numpy(), strict=True):
        if n > 0:
            value = python_value(key)
            counted[value] = counted.get(value, 0) + int(n)
    n_known, values, ns, other, other_distinct = rank_categories(
        set(spec.categories), counted, top_k
    )
    return CategoricalSummary(
        column=spec.column,
        n_known=n_known,
        n_missing=int(series.isna().sum()),
        n_type_mismatch=type_mismatches(series, _colspec(spec.column, spec.dtype)),
        values=values,
        counts=ns,
        other_count=other,
        other_distinct=other_distinct,
        dtype_name=str(series.dtype),
    )


def _group_sizes(frame: pd.DataFrame, keys: list[str]) -> Cells:
    """Counts of every combination of ``keys`` (missing values as ``None``), sorted."""
    if not len(frame):
        return Cells((), ())
    sizes = frame.groupby(keys, dropna=False, sort=False, observed=True).size()
    index = sizes.index.tolist()
    rows = [
        (tuple(python_value(v) for v in (k if isinstance(k, tuple) else (k,))), int(n))
        for k, n in zip(index, sizes.to_numpy(), strict=True)
    ]
    return cells_from_rows(rows)


def cells_from_rows(rows: list[tuple[tuple[Value, ...], int]]) -> Cells:
    """Cells in a canonical order, equal keys added."""
    merged: dict[tuple[Value, ...], int] = {}
    for key, n in rows:
        merged[key] = merged.get(key, 0) + n
    ordered = sorted(merged.items(), key=lambda item: cell_order(item[0]))
    return Cells(tuple(k for k, _ in ordered), tuple(n for _, n in ordered))


def _regression_groups(frame: pd.DataFrame, spec: SummarySpec) -> Cells:
    """Per sensitive group (rows with a prediction): count and the sums of
    :data:`monitors.summaries.types.REGRESSION_GROUP_SUMS`."""
    if not len(frame):
        return Cells((), ())
    pred = frame[spec.prediction].to_numpy(dtype=np.float64, na_value=np.nan)
    label = _floats(frame, spec.label)
    labelled = ~np.isnan(label)
    work = pd.DataFrame(
        {
            "pred": pred,
            "lab": labelled.astype(np.float64),
            "err": np.where(labelled, np.abs(pred - np.where(labelled, label, 0.0)), 0.0),
        }
    )
    work["pred_sq"] = (work["pred"] - spec.label_shift) ** 2
    work["err_sq"] = work["err"] ** 2
    keys = [frame[s].reset_index(drop=True).rename(f"s{i}") for i, s in enumerate(spec.sensitive)]
    grouped = work.groupby(keys, dropna=False, sort=False)
    sizes, sums = grouped.size(), grouped.sum()
    rows = []
    for k, n, row in zip(sizes.index.tolist(), sizes.to_numpy(), sums.to_numpy(), strict=True):
        key = tuple(python_value(v) for v in (k if isinstance(k, tuple) else (k,)))
        rows.append((key, int(n), tuple(float(v) for v in row)))
    rows.sort(key=lambda r: cell_order(r[0]))
    return Cells(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows))


def _floats(frame: pd.DataFrame, name: str | None) -> np.ndarray:
    """Column ``name`` as float64 (NaN for missing; all NaN if absent)."""
    if name is None or name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


def regression_errors(frame: pd.DataFrame, spec: SummarySpec) -> RegressionErrors:
    """Sums over the rows with a label and a prediction."""
    y = _floats(frame, spec.label)
    p = _floats(frame, spec.prediction)
    both = ~np.isnan(y) & ~np.isnan(p)
    y, p = y[both], p[both]
    err = np.abs(y - p)
    centred = y - spec.label_shift
    return RegressionErrors(
        n=int(y.size),
        sum_abs=float(err.sum()),
        sum_sq=float(np.dot(err, err)),
        sum_label=float(centred.sum()),
        sum_label_sq=float(np.dot(centred, centred)),
        sum_ape=float((err / np.maximum(np.abs(y), EPS)).sum()),
    )


def score_histograms(frame: pd.DataFrame, spec: SummarySpec) -> tuple[ScoreHistogram, ...]:
    """Per label value, the labelled rows' scores on the score bins and their sums."""
    if spec.score is None or spec.label is None or spec.label not in frame.columns:
        return ()
    score = _floats(frame, spec.score)
    keep = frame[spec.label].notna().to_numpy() & ~np.isnan(score)
    labels = frame[spec.label][keep]
    score = score[keep]
    edges = np.asarray(spec.score_edges, dtype=np.float64)
    out = []
    codes, uniques = pd.factorize(labels, sort=False)
    for j, raw in enumerate(uniques.tolist()):
        p = score[codes == j]
        idx = np.searchsorted(edges, p, side="right")
        counts = np.bincount(idx, minlength=edges.size + 1)
        sums = np.bincount(idx, weights=p, minlength=edges.size + 1)
        bins = np.flatnonzero(counts)
        clipped = np.clip(p, EPS, 1 - EPS)
        out.append(
            ScoreHistogram(
                label=python_value(raw),
                n=int(p.size),
                sum=float(p.sum()),
                sum_sq=float(np.dot(p, p)),
                sum_log=float(np.log(clipped).sum()),
                sum_log1m=float(np.log(np.clip(1 - p, EPS, 1 - EPS)).sum()),
                bins=tuple(int(b) for b in bins),
                counts=tuple(int(c) for c in counts[bins]),
                sums=tuple(float(s) for s in sums[bins]),
            )
        )
    return tuple(sorted(out, key=lambda h: cell_order((h.label,))))


def _fairness(frame: pd.DataFrame, spec: SummarySpec) -> tuple[Cells, int]:
    """Fairness cells over the rows with a prediction, and the rows without one."""
    if not spec.sensitive or any(s not in frame.columns for s in spec.sensitive):
        return Cells((), ()), 0
    has_pred = frame[spec.prediction].notna().to_numpy()
    rows = frame.loc[has_pred]
    if spec.task == "regression":
        return _regression_groups(rows, spec), int((~has_pred).sum())
    work = rows[list(spec.sensitive)].copy()
    work["__label"] = rows[spec.label] if spec.label in rows.columns else None
    work["__pred"] = rows[spec.prediction]
    return _group_sizes(work, [*spec.sensitive, "__label", "__pred"]), int((~has_pred).sum())


def _confusion(frame: pd.DataFrame, spec: SummarySpec) -> Cells:
    """Label x prediction counts of a classifier over every row."""
    if spec.task == "regression":
        return Cells((), ())
    work = pd.DataFrame(
        {
            "label": frame[spec.label] if spec.label in frame.columns else None,
            "pred": frame[spec.prediction],
        }
    )
    return _group_sizes(work, ["label", "pred"])


def summarize_frame(
    frame: pd.DataFrame, spec: SummarySpec, *, executor: str = "memory"
) -> WindowSummary:
    """The summary of a window held as a DataFrame (user column names, load_window types).

    Parameters
    ----------
    frame : DataFrame
        The window's rows. Columns it lacks are left out of the summary (the analyzers then
        report them as absent).
    spec : SummarySpec
    executor : str
        Recorded in the summary.

    Returns
    -------
    WindowSummary
    """
    numeric = tuple(
        numeric_summary(frame[s.column], s.edges, s.dtype, column=s.column)
        for s in spec.numeric
        if s.column in frame.columns
    )
    categorical = tuple(
        categorical_summary(frame[s.column], s, spec.top_k)
        for s in spec.categorical
        if s.column in frame.columns
    )
    fairness, n_missing_pred = _fairness(frame, spec)
    latency = None
    if spec.latency is not None and spec.latency in frame.columns:
        latency = numeric_summary(
            frame[spec.latency], spec.latency_edges, "float", column=spec.latency
        )
    has_label = spec.label is not None and spec.label in frame.columns
    extra: dict[str, Any] = {}
    if spec.task == "regression" and spec.label is not None:
        extra["regression"] = regression_errors(frame, spec)
    return WindowSummary(
        format_version=FORMAT_VERSION,
        spec_sha256=spec.sha256,
        reference_version=spec.reference_version,
        executor=executor,
        top_k=spec.top_k,
        n_rows=len(frame),
        n_labelled=int(frame[spec.label].notna().sum()) if has_label else 0,
        numeric=numeric,
        categorical=categorical,
        fairness=fairness,
        n_missing_prediction=n_missing_pred,
        confusion=_confusion(frame, spec),
        regression=extra.get("regression"),
        scores=score_histograms(frame, spec),
        latency=latency,
        sample=sample_from_frame(frame, spec),
    )
