"""Fairness metrics computed from (group, label, prediction) cell counts.

Every group fairness metric of :mod:`monitors.analyzers.fairness` depends only on how
many rows fall in each cell of group × label × prediction. This module holds the
vectorised arithmetic on such count arrays, with any number of leading axes. The score
intervals of :mod:`monitors.analyzers._fairness_intervals` use the same counts; regression
statistics and their row bootstrap live here too.

Array layout: ``cells[..., g, l, p]`` where ``p`` indexes the ``K`` known classes and
``l`` indexes the same ``K`` classes plus one last slot for rows without a label.
Undefined ratios (``0 / 0``) are ``NaN`` here; the caller turns them into ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` elementwise, ``NaN`` where ``den`` is zero."""
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, num / safe, np.nan)


def nan_max(x: FloatArray) -> FloatArray:
    """Maximum over the last axis ignoring ``NaN``; ``NaN`` if every entry is ``NaN``."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    nan = np.isnan(x)
    out = np.where(nan, -np.inf, x).max(axis=-1)
    return np.where(nan.all(axis=-1), np.nan, out)


def nan_min(x: FloatArray) -> FloatArray:
    """Minimum over the last axis ignoring ``NaN``; ``NaN`` if every entry is ``NaN``."""
    return -nan_max(-x)


def classification_fractions(
    cells: FloatArray, *, positive: int | None
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Per-group ``(numerator, denominator)`` of every rate, from ``cells[..., g, l, p]``.

    ``count`` is ``(count, count)``; ``accuracy`` is over labelled rows and, when
    ``positive`` (the index of the positive class) is given, ``selection_rate``, ``tpr``,
    ``fpr``, ``fnr`` and ``precision`` are added.
    """
    k = cells.shape[-1]
    n = cells.sum(axis=(-2, -1))
    labelled = cells[..., :k, :]
    n_lab = labelled.sum(axis=(-2, -1))
    out = {"count": (n, n), "accuracy": (np.einsum("...ii->...", labelled), n_lab)}
    if positive is None:
        return out
    tp = labelled[..., positive, positive]
    label_pos = labelled[..., positive, :].sum(axis=-1)
    pred_pos = labelled[..., positive].sum(axis=-1)
    out.update(
        selection_rate=(cells[..., positive].sum(axis=-1), n),
        tpr=(tp, label_pos),
        fnr=(label_pos - tp, label_pos),
        fpr=(pred_pos - tp, n_lab - label_pos),
        precision=(tp, pred_pos),
    )
    return out


def classification_rates(cells: FloatArray, *, positive: int | None) -> dict[str, FloatArray]:
    """Per-group counts and rates from ``cells[..., g, l, p]``.

    Returns ``count``, ``n_labelled``, ``accuracy`` and, when ``positive`` (the index of
    the positive class) is given, ``selection_rate``, ``tpr``, ``fpr``, ``fnr``,
    ``precision`` plus the denominators ``n_label_positive`` / ``n_label_negative``.
    """
    fractions = classification_fractions(cells, positive=positive)
    out = {name: divide(num, den) for name, (num, den) in fractions.items() if name != "count"}
    out["count"] = fractions["count"][0]
    out["n_labelled"] = fractions["accuracy"][1]
    if positive is not None:
        out["n_label_positive"] = fractions["tpr"][1]
        out["n_label_negative"] = fractions["fpr"][1]
    return out


def _sklearn_rate(rate: FloatArray, den: FloatArray, present: NDArray[np.bool_]) -> FloatArray:
    """A rate as fairlearn reports it: 0 where ``0 / 0`` (sklearn), ``NaN`` if absent."""
    return np.where(present, np.where(den > 0, rate, 0.0), np.nan)


def _difference(x: FloatArray) -> FloatArray:
    return nan_max(x) - nan_min(x)


def _ratio(x: FloatArray) -> FloatArray:
    return divide(nan_min(x), nan_max(x))


def _max_defined(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, np.maximum(a, b)))


def _min_defined(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, np.minimum(a, b)))


def disparities(
    rates: dict[str, FloatArray],
    *,
    keep_all: NDArray[np.bool_],
    keep_labelled: NDArray[np.bool_],
    with_labels: bool,
) -> dict[str, FloatArray]:
    """Between-group disparities as :mod:`fairlearn.metrics` defines them.

    ``keep_all`` / ``keep_labelled`` (shape ``(G,)``) choose the groups that take part
    (all of them, or only those above the minimum size). A group with no rows in a
    resample takes no part, as in fairlearn over resampled rows. Label-based rates use
    sklearn's convention that ``0 / 0`` is ``0`` for a group that is present.
    Returns the disparity values (leading axes kept) and ``impact_ratios`` (per group).
    """
    sel = np.where(keep_all & (rates["count"] > 0), rates["selection_rate"], np.nan)
    top = nan_max(sel)
    out = {
        "demographic_parity_difference": _difference(sel),
        "demographic_parity_ratio": _ratio(sel),
        "disparate_impact_ratio": _ratio(sel),
        "impact_ratios": divide(sel, top[..., None]),
    }
    if with_labels:
        present = keep_labelled & (rates["n_labelled"] > 0)
        tpr = _sklearn_rate(rates["tpr"], rates["n_label_positive"], present)
        fpr = _sklearn_rate(rates["fpr"], rates["n_label_negative"], present)
        tpr_diff = _difference(tpr)
        out.update(
            equalized_odds_difference=_max_defined(tpr_diff, _difference(fpr)),
            equalized_odds_ratio=_min_defined(_ratio(tpr), _ratio(fpr)),
            equal_opportunity_difference=tpr_diff,
        )
    return out


def aggregate(cells: FloatArray, membership: FloatArray, *, lead: int) -> FloatArray:
    """Sum fine groups into coarser ones: ``membership[s, f]`` is 1 if fine ``f`` is in ``s``.

    ``cells`` has shape ``(*L, F, *rest)`` with ``lead = len(L)`` leading axes; the
    result has shape ``(*L, S, *rest)``.
    """
    head = cells.shape[:lead]
    rest = cells.shape[lead + 1 :]
    flat = cells.reshape(*head, membership.shape[1], int(np.prod(rest, dtype=np.int64)))
    return np.matmul(membership, flat).reshape(*head, membership.shape[0], *rest)


def percentile_interval(samples: FloatArray, *, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Percentile-bootstrap interval over axis 0, ignoring resamples where it is ``NaN``."""
    alpha = (1.0 - confidence) / 2.0
    cols = samples.reshape(samples.shape[0], -1)
    low = np.full(cols.shape[1], np.nan)
    high = np.full(cols.shape[1], np.nan)
    defined = ~np.isnan(cols)
    full = defined.all(axis=0)
    if full.any():
        q = np.quantile(cols[:, full], [alpha, 1.0 - alpha], axis=0)
        low[full], high[full] = q[0], q[1]
    for j in np.flatnonzero(~full & defined.any(axis=0)):
        q = np.quantile(cols[defined[:, j], j], [alpha, 1.0 - alpha])
        low[j], high[j] = q[0], q[1]
    shape = samples.shape[1:]
    return low.reshape(shape), high.reshape(shape)


def regression_stats(
    groups: IntArray,
    n_groups: int,
    *,
    prediction: FloatArray,
    abs_error: FloatArray,
    labelled: NDArray[np.bool_],
    weights: FloatArray | None = None,
) -> FloatArray:
    """Per-group sufficient statistics ``(count, sum_pred, n_labelled, sum_abs_error)``.

    ``abs_error`` must be 0 where the row is unlabelled. ``weights`` are row multiplicities
    (a bootstrap resample); ``None`` counts every row once. Shape ``(n_groups, 4)``.
    """
    w = np.ones(len(groups)) if weights is None else weights
    wl = w * labelled
    return np.stack(
        [
            np.bincount(groups, weights=w, minlength=n_groups),
            np.bincount(groups, weights=w * prediction, minlength=n_groups),
            np.bincount(groups, weights=wl, minlength=n_groups),
            np.bincount(groups, weights=wl * abs_error, minlength=n_groups),
        ],
        axis=-1,
    )


def regression_rates(stats: FloatArray) -> dict[str, FloatArray]:
    """``count``, ``n_labelled``, ``mean_prediction`` and ``mae`` from :func:`regression_stats`."""
    return {
        "count": stats[..., 0],
        "n_labelled": stats[..., 2],
        "mean_prediction": divide(stats[..., 1], stats[..., 0]),
        "mae": divide(stats[..., 3], stats[..., 2]),
    }


def bootstrap_rows(n_rows: int, *, n_boot: int, rng: np.random.Generator) -> Iterator[FloatArray]:
    """Row multiplicities of ``n_boot`` ordinary bootstrap resamples, one at a time."""
    for _ in range(n_boot if n_rows else 0):
        yield np.bincount(rng.integers(0, n_rows, size=n_rows), minlength=n_rows).astype(np.float64)
