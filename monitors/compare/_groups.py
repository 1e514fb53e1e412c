"""Per-group metrics and disparities of row-weighted samples (``k`` weightings at a time).

Groups are each sensitive attribute's values (``sex=F``); the definitions are the
fairness analyzer's (fairlearn's ``between_groups``): a difference is the largest minus
the smallest group rate, a ratio the smallest over the largest, over every group with a
defined rate. Selection rates count unlabelled rows; TPR, FPR and the per-group
performance metrics use labelled rows.
"""

from __future__ import annotations

import warnings

import numpy as np

from monitors.analyzers.performance import PerformanceConfig
from monitors.compare._metrics import Key, Masks, Values, divide, label_metrics, sum_by
from monitors.compare._sample import Sample

GROUP_METRICS = ("accuracy", "precision", "recall", "f1", "fpr")
"""Per-group metrics compared for binary classifiers (multiclass: ``accuracy``)."""
REGRESSION_GROUP_METRICS = ("mae", "rmse")


def _spread(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max − min and min / max over the last axis, ignoring undefined rates."""
    if rates.shape[-1] == 0:  # no group at all (an empty window): undefined
        nan = np.full(rates.shape[:-1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN is the answer
        high = np.nanmax(rates, axis=-1)
        low = np.nanmin(rates, axis=-1)
    return high - low, divide(low, high)


def _cells(sample: Sample, w: np.ndarray, mask: np.ndarray, codes: np.ndarray, n_groups: int):
    """Weighted cells ``(k, group, label slot, predicted)``; the last label slot is "none"."""
    k = len(sample.classes)
    rows = mask & (codes >= 0)
    slot = np.where(sample.y[rows] >= 0, sample.y[rows], k)
    flat = (codes[rows] * (k + 1) + slot) * k + sample.pred[rows]
    size = n_groups * (k + 1) * k
    return sum_by(w[rows], flat, size).reshape(w.shape[1], n_groups, k + 1, k)


def _classification(
    sample: Sample,
    cells: np.ndarray,
    *,
    config: PerformanceConfig,
    present: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-group metrics ``(k, G)`` and disparities ``(k,)`` from the cells."""
    k = len(sample.classes)
    labelled = cells[..., :k, :]
    per_group = label_metrics(
        labelled,
        positive=sample.positive,
        binary=sample.binary,
        average=config.multiclass_average,
        present=present,
    )
    if not (sample.binary and sample.positive is not None):
        return {"accuracy": per_group["accuracy"]}, {}
    p = sample.positive
    tp = labelled[..., p, p]
    label_pos = labelled[..., p, :].sum(axis=-1)
    pred_pos = labelled[..., :, p].sum(axis=-1)
    n_lab = labelled.sum(axis=(-2, -1))
    tpr = divide(tp, label_pos)
    fpr = divide(pred_pos - tp, n_lab - label_pos)
    selection = divide(cells[..., p].sum(axis=-1), cells.sum(axis=(-2, -1)))
    per_group["fpr"] = fpr
    dp_diff, dp_ratio = _spread(selection)
    tpr_diff, tpr_ratio = _spread(tpr)
    fpr_diff, fpr_ratio = _spread(fpr)
    disparities = {
        "demographic_parity_difference": dp_diff,
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": np.fmax(tpr_diff, fpr_diff),
        "equalized_odds_ratio": np.fmin(tpr_ratio, fpr_ratio),
        "equal_opportunity_difference": tpr_diff,
        "disparate_impact_ratio": dp_ratio,
    }
    return {m: per_group[m] for m in GROUP_METRICS}, disparities


def _regression(sample: Sample, w: np.ndarray, mask: np.ndarray, codes: np.ndarray, n_groups: int):
    """Per-group ``mae`` and ``rmse`` ``(k, G)``."""
    rows = mask & (codes >= 0)
    e = sample.pred[rows] - sample.y[rows]
    wm = w[rows]
    total = sum_by(wm, codes[rows], n_groups)
    return {
        "mae": divide(sum_by(wm * np.abs(e)[:, None], codes[rows], n_groups), total),
        "rmse": np.sqrt(divide(sum_by(wm * (e**2)[:, None], codes[rows], n_groups), total)),
    }


def group_metrics(
    sample: Sample,
    w: np.ndarray,
    masks: Masks,
    *,
    config: PerformanceConfig,
    present: np.ndarray,
) -> Values:
    """Per-group metrics (feature = attribute, group = ``attr=value``) and disparities
    (feature = attribute, group ``None``) of one sample under the weights ``w``."""
    out: Values = {}
    for attr, (codes, labels) in sample.groups.items():
        if sample.classification:
            cells = _cells(sample, w, masks.pred, codes, len(labels))
            per_group, disparities = _classification(sample, cells, config=config, present=present)
        else:
            per_group = _regression(sample, w, masks.label, codes, len(labels))
            disparities = {}
        for metric, values in per_group.items():
            for g, label in enumerate(labels):
                out[(metric, attr, label)] = values[:, g]
        for metric, values in disparities.items():
            out[(metric, attr, None)] = values
    return out


def group_sizes(sample: Sample, masks: Masks) -> dict[Key, int]:
    """Rows behind each group metric (labelled rows) and disparity (rows with a prediction)."""
    out: dict[Key, int] = {}
    metrics = (
        (GROUP_METRICS if sample.binary else ("accuracy",))
        if sample.classification
        else REGRESSION_GROUP_METRICS
    )
    for attr, (codes, labels) in sample.groups.items():
        labelled = np.bincount(codes[masks.label & (codes >= 0)], minlength=len(labels))
        for metric in metrics:
            for g, label in enumerate(labels):
                out[(metric, attr, label)] = int(labelled[g])
        n_attr = int((masks.pred & (codes >= 0)).sum())
        for metric in (
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
            "equal_opportunity_difference",
            "disparate_impact_ratio",
        ):
            out[(metric, attr, None)] = n_attr
    return out
