"""Merging window summaries of disjoint sets of rows (shards, partitions, sub-windows).

``merge(a, b)`` is the summary of the union of the rows:

* exact for every count (bins, categories, cells, missing and infinite counts), for the
  minima and maxima, and for sums up to floating-point rounding (addition order);
* the sample is the ``capacity`` rows with the smallest random keys of both samples,
  which is exactly the sample of the union (bottom-k sketch, see
  :mod:`monitors.summaries.sample`);
* unseen categories: each side lists at most ``top_k``; their union is ranked again and
  the categories past ``top_k`` join the ``other`` total (exact). A category that one side
  had already folded into ``other`` keeps only the other side's count in the list, so the
  per-category counts of unseen categories are exact while no side overflowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce

from monitors.errors import ConfigError
from monitors.summaries.types import (
    CategoricalSummary,
    Cells,
    NumericSummary,
    RegressionErrors,
    Sample,
    ScoreHistogram,
    Value,
    WindowSummary,
    cell_order,
)


def _min(a: float | None, b: float | None) -> float | None:
    """The smaller of two optional numbers."""
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    """The larger of two optional numbers."""
    return b if a is None else a if b is None else max(a, b)


def _bins(
    a: tuple[Sequence[int], Sequence[int], Sequence[float], Sequence[float]],
    b: tuple[Sequence[int], Sequence[int], Sequence[float], Sequence[float]],
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[float, ...], tuple[float, ...]]:
    """Sparse bins (index, count, min, max) added."""
    merged: dict[int, list[float]] = {}
    for idx, n, lo, hi in [*zip(*a, strict=True), *zip(*b, strict=True)]:
        cur = merged.get(idx)
        merged[idx] = [n, lo, hi] if cur is None else [cur[0] + n, min(cur[1], lo), max(cur[2], hi)]
    keys = sorted(merged)
    return (
        tuple(keys),
        tuple(int(merged[k][0]) for k in keys),
        tuple(merged[k][1] for k in keys),
        tuple(merged[k][2] for k in keys),
    )


def merge_numeric(a: NumericSummary, b: NumericSummary) -> NumericSummary:
    """Two numeric column summaries of disjoint rows, added."""
    bins, counts, lo, hi = _bins(
        (a.bins, a.counts, a.bin_min, a.bin_max), (b.bins, b.counts, b.bin_min, b.bin_max)
    )
    return NumericSummary(
        column=a.column,
        n_missing=a.n_missing + b.n_missing,
        n_posinf=a.n_posinf + b.n_posinf,
        n_neginf=a.n_neginf + b.n_neginf,
        n_type_mismatch=a.n_type_mismatch + b.n_type_mismatch,
        n=a.n + b.n,
        min=_min(a.min, b.min),
        max=_max(a.max, b.max),
        sum=a.sum + b.sum,
        sum_sq=a.sum_sq + b.sum_sq,
        bins=bins,
        counts=counts,
        bin_min=lo,
        bin_max=hi,
        dtype_name=a.dtype_name if a.n + a.n_missing else b.dtype_name,
    )


def merge_categorical(
    a: CategoricalSummary, b: CategoricalSummary, top_k: int
) -> CategoricalSummary:
    """Two categorical column summaries of disjoint rows, added (top-K unseen re-ranked)."""
    known: set[Value] = set(a.values[: a.n_known]) | set(b.values[: b.n_known])
    counted: dict[Value, int] = {}
    for value, n in [*zip(a.values, a.counts, strict=True), *zip(b.values, b.counts, strict=True)]:
        counted[value] = counted.get(value, 0) + n
    seen = sorted((v for v in counted if v in known), key=lambda v: cell_order((v,)))
    unseen = sorted(
        ((v, n) for v, n in counted.items() if v not in known),
        key=lambda item: (-item[1], str(item[0])),
    )
    values = [*seen, *(v for v, _ in unseen[:top_k])]
    rest = unseen[top_k:]
    return CategoricalSummary(
        column=a.column,
        n_known=len(seen),
        n_missing=a.n_missing + b.n_missing,
        n_type_mismatch=a.n_type_mismatch + b.n_type_mismatch,
        values=tuple(values),
        counts=tuple(counted[v] for v in values),
        other_count=a.other_count + b.other_count + sum(n for _, n in rest),
        other_distinct=a.other_distinct + b.other_distinct + len(rest),
        dtype_name=a.dtype_name if sum(a.counts) + a.n_missing else b.dtype_name,
    )


def merge_cells(a: Cells, b: Cells) -> Cells:
    """Two sparse count tables added (per-cell sums too)."""
    widths = [len(c.sums[0]) for c in (a, b) if c.sums]
    width = min(widths) if widths else 0  # an older summary may carry fewer sums
    merged: dict[tuple[Value, ...], list[float]] = {}
    for cells in (a, b):
        sums = cells.sums or [()] * len(cells.keys)
        for key, n, extra in zip(cells.keys, cells.counts, sums, strict=True):
            cur = merged.setdefault(key, [0.0] * (1 + width))
            cur[0] += n
            for j, v in enumerate(extra[:width]):
                cur[1 + j] += v
    keys = sorted(merged, key=cell_order)
    return Cells(
        tuple(keys),
        tuple(int(merged[k][0]) for k in keys),
        tuple(tuple(merged[k][1:]) for k in keys) if width else (),
    )


def _merge_scores(
    a: Iterable[ScoreHistogram], b: Iterable[ScoreHistogram]
) -> tuple[ScoreHistogram, ...]:
    """Per-label score histograms added."""
    out: dict[tuple[Value, ...], ScoreHistogram] = {}
    for h in [*a, *b]:
        cur = out.get((h.label,))
        if cur is None:
            out[(h.label,)] = h
            continue
        bins: dict[int, list[float]] = {}
        pairs = [
            *zip(cur.bins, cur.counts, cur.sums, strict=True),
            *zip(h.bins, h.counts, h.sums, strict=True),
        ]
        for idx, n, s in pairs:
            acc = bins.setdefault(idx, [0, 0.0])
            acc[0] += n
            acc[1] += s
        keys = sorted(bins)
        out[(h.label,)] = ScoreHistogram(
            label=h.label,
            n=cur.n + h.n,
            sum=cur.sum + h.sum,
            sum_sq=cur.sum_sq + h.sum_sq,
            sum_log=cur.sum_log + h.sum_log,
            sum_log1m=cur.sum_log1m + h.sum_log1m,
            bins=tuple(keys),
            counts=tuple(int(bins[k][0]) for k in keys),
            sums=tuple(float(bins[k][1]) for k in keys),
        )
    return tuple(out[k] for k in sorted(out, key=cell_order))


def merge_sample(a: Sample, b: Sample) -> Sample:
    """The ``capacity`` rows with the smallest ``(key, id)`` of both samples."""
    rows = sorted(
        [(k, i, 0, j) for j, (k, i) in enumerate(zip(a.keys, a.ids, strict=True))]
        + [(k, i, 1, j) for j, (k, i) in enumerate(zip(b.keys, b.ids, strict=True))]
    )[: max(a.capacity, b.capacity)]
    sides = (a, b)
    values = tuple(
        tuple(sides[side].values[c][j] for _, _, side, j in rows) for c in range(len(a.values))
    )
    return Sample(
        keys=tuple(r[0] for r in rows),
        ids=tuple(r[1] for r in rows),
        values=values,
        n_seen=a.n_seen + b.n_seen,
        capacity=max(a.capacity, b.capacity),
    )


def _by_name(
    a: Sequence[NumericSummary] | Sequence[CategoricalSummary],
    b: Sequence[NumericSummary] | Sequence[CategoricalSummary],
) -> list[tuple[str, object, object]]:
    """Column summaries of both sides paired by column name, in ``a``'s order first."""
    left = {c.column: c for c in a}
    right = {c.column: c for c in b}
    names = [c.column for c in a] + [c.column for c in b if c.column not in left]
    return [(n, left.get(n), right.get(n)) for n in names]


def merge_regression(
    a: RegressionErrors | None, b: RegressionErrors | None
) -> RegressionErrors | None:
    """Regression error sums added."""
    if a is None or b is None:
        return a or b
    return RegressionErrors(
        n=a.n + b.n,
        sum_abs=a.sum_abs + b.sum_abs,
        sum_sq=a.sum_sq + b.sum_sq,
        sum_label=a.sum_label + b.sum_label,
        sum_label_sq=a.sum_label_sq + b.sum_label_sq,
        sum_ape=a.sum_ape + b.sum_ape,
    )


def merge(a: WindowSummary, b: WindowSummary) -> WindowSummary:
    """The summary of the union of the (disjoint) rows of ``a`` and ``b``.

    Parameters
    ----------
    a, b : WindowSummary
        Summaries on the same spec (same ``spec_sha256``).
    Returns
    -------
    WindowSummary

    Raises
    ------
    ConfigError
        If the summaries were counted on different specs.
    """
    if a.spec_sha256 != b.spec_sha256 or a.format_version != b.format_version:
        raise ConfigError(
            f"merge: window summaries must share their spec; got {a.spec_sha256[:12]} "
            f"(reference v{a.reference_version}) and {b.spec_sha256[:12]} "
            f"(reference v{b.reference_version})"
        )
    k = max(a.top_k, b.top_k)
    numeric = []
    for _, x, y in _by_name(a.numeric, b.numeric):
        numeric.append(merge_numeric(x, y) if x and y else x or y)  # type: ignore[arg-type]
    categorical = []
    for _, x, y in _by_name(a.categorical, b.categorical):
        categorical.append(merge_categorical(x, y, k) if x and y else x or y)  # type: ignore[arg-type]
    latency = a.latency or b.latency
    if a.latency is not None and b.latency is not None:
        latency = merge_numeric(a.latency, b.latency)
    return WindowSummary(
        format_version=a.format_version,
        spec_sha256=a.spec_sha256,
        reference_version=a.reference_version,
        executor=a.executor if a.executor == b.executor else "merged",
        top_k=k,
        n_rows=a.n_rows + b.n_rows,
        n_labelled=a.n_labelled + b.n_labelled,
        numeric=tuple(numeric),  # type: ignore[arg-type]
        categorical=tuple(categorical),  # type: ignore[arg-type]
        fairness=merge_cells(a.fairness, b.fairness),
        n_missing_prediction=a.n_missing_prediction + b.n_missing_prediction,
        confusion=merge_cells(a.confusion, b.confusion),
        regression=merge_regression(a.regression, b.regression),
        scores=_merge_scores(a.scores, b.scores),
        latency=latency,
        sample=merge_sample(a.sample, b.sample),
    )


def merge_all(summaries: Sequence[WindowSummary]) -> WindowSummary:
    """All summaries merged, left to right (:func:`merge`)."""
    if not summaries:
        raise ConfigError("merge_all: expected at least one window summary; got none")
    return reduce(merge, summaries)
