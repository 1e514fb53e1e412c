"""A window coded for the fairness arithmetic of :mod:`monitors.analyzers._fairness_counts`.

Classification: the (finest group, label, prediction) cell counts (their intervals are
score intervals computed from the counts, no resampling). Regression: per finest group the
sufficient statistics (count, sum of predictions, labelled rows, sum of absolute errors)
and their row-bootstrap resamples, drawn over the rows in a canonical order (sorted by
group, prediction, label presence and absolute error) so that the intervals do not depend
on the order in which the rows arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitors.analyzers import _fairness_counts as fc
from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_types import DISPARITIES, LABEL_DISPARITIES, FairnessConfig
from monitors.errors import ConfigError
from storage.schema import ModelSchema, Scalar, Task


@dataclass(frozen=True, slots=True, eq=False)
class CodedWindow:
    """The rows with a prediction, coded by finest group, with what to compute on them."""

    kind: str
    """``classification`` or ``regression``."""
    fine: fg.FineGroups
    base: fc.FloatArray
    """Cell counts ``(F, K + 1, K)`` or regression statistics ``(F, 4)``."""
    resamples: Iterable[fc.FloatArray]
    """Regression: bootstrap copies of ``base`` (one leading axis), a one-shot generator.
    Classification: empty (its intervals come from the counts)."""
    positive: int | None
    """Index of the positive class among the classes; ``None`` without one."""
    positive_value: Scalar | None
    metric_names: list[str]
    disparity_names: list[str]
    with_labels: bool
    n_rows: int
    n_missing_prediction: int
    centre: float = 0.0
    """Regression from a summary: the constant its prediction squares are centred on."""


def positive_class(schema: ModelSchema, config: FairnessConfig) -> Scalar | None:
    """The positive class (config first, then schema); errors if binary lacks one."""
    if schema.task is Task.REGRESSION:
        return None
    pos = config.positive_class if config.positive_class is not None else schema.positive_class
    if pos is None and schema.task is Task.BINARY:
        raise ConfigError(
            "positive_class: a binary_classification model needs a positive class; set it in "
            "the schema or in FairnessConfig.positive_class; got None"
        )
    if pos is not None and schema.classes is not None and pos not in schema.classes:
        raise ConfigError(
            f"positive_class: expected one of the classes {list(schema.classes)!r}; got {pos!r}"
        )
    return pos


def _regression(
    frame: pd.DataFrame,
    fine: fg.FineGroups,
    pred_col: str,
    label_col: str | None,
    *,
    config: FairnessConfig,
    rng: np.random.Generator,
) -> tuple[fc.FloatArray, Iterable[fc.FloatArray], list[str]]:
    """Regression statistics per finest group, their resamples, and the metric names."""
    n_rows, n_fine = len(frame), len(fine.attr_codes)
    pred = frame[pred_col].to_numpy(dtype=np.float64, na_value=np.nan)
    if label_col is not None:
        lab = frame[label_col].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        lab = np.full(n_rows, np.nan)
    labelled = ~np.isnan(lab)
    abs_err = np.where(labelled, np.abs(pred - np.where(labelled, lab, 0.0)), 0.0)
    codes = fine.codes
    if config.n_bootstrap:
        # canonical order: rows equal in every sorting key contribute identically
        order = np.lexsort((abs_err, labelled, pred, codes))
        codes, pred, abs_err, labelled = codes[order], pred[order], abs_err[order], labelled[order]
    stats = fc.regression_stats(
        codes, n_fine, prediction=pred, abs_error=abs_err, labelled=labelled
    )
    resamples = (
        fc.regression_stats(
            codes,
            n_fine,
            prediction=pred,
            abs_error=abs_err,
            labelled=labelled,
            weights=w,
        )[None]
        for w in fc.bootstrap_rows(n_rows, n_boot=config.n_bootstrap, rng=rng)
    )
    names = ["count", "mean_prediction"] + (["mae"] if label_col is not None else [])
    return stats, resamples, names


def _classification(
    frame: pd.DataFrame,
    fine: fg.FineGroups,
    pred_col: str,
    label_col: str | None,
    positive_value: Scalar | None,
    *,
    schema: ModelSchema,
) -> tuple[fc.FloatArray, list[str], int | None]:
    """Cell counts per finest group, the metric names and the positive class's index."""
    n_rows, n_fine = len(frame), len(fine.attr_codes)
    label = frame[label_col] if label_col is not None else None
    classes, pred_codes, label_codes = fg.class_codes(
        frame[pred_col], label, schema, positive_value
    )
    k = len(classes)
    if label_codes is None:
        label_codes = np.full(n_rows, k, dtype=np.int64)
    positive = classes.index(positive_value) if positive_value is not None else None
    cell = (fine.codes * (k + 1) + label_codes) * k + pred_codes
    cells = np.bincount(cell, minlength=n_fine * (k + 1) * k).reshape(n_fine, k + 1, k)
    names = ["count"]
    if positive is not None:
        names.append("selection_rate")
        if label_col is not None:
            names += ["tpr", "fpr", "fnr", "precision"]
    if label_col is not None:
        names.append("accuracy")
    return cells.astype(np.float64), names, positive


def code_window(
    current: pd.DataFrame, attrs: list[str], *, schema: ModelSchema, config: FairnessConfig
) -> CodedWindow:
    """Check the columns, drop rows without a prediction and code the rest."""
    label_col = schema.label.name if schema.label is not None else None
    pred_col = schema.prediction.name
    fg.require_columns(current, [pred_col, *attrs, *([label_col] if label_col else [])])
    positive_value = positive_class(schema, config)
    has_pred = current[pred_col].notna().to_numpy()
    frame = current if has_pred.all() else current.loc[has_pred]
    fine = fg.fine_groups(frame, attrs)
    with_labels = label_col is not None
    positive: int | None = None
    resamples: Iterable[fc.FloatArray] = ()
    if schema.task is Task.REGRESSION:
        kind = "regression"
        base, resamples, metric_names = _regression(
            frame, fine, pred_col, label_col, config=config, rng=np.random.default_rng(config.seed)
        )
    else:
        kind = "classification"
        base, metric_names, positive = _classification(
            frame, fine, pred_col, label_col, positive_value, schema=schema
        )
    disparity_names = (
        []
        if kind == "regression" or positive is None
        else [d for d in DISPARITIES if with_labels or d not in LABEL_DISPARITIES]
    )
    return CodedWindow(
        kind=kind,
        fine=fine,
        base=base,
        resamples=resamples,
        positive=positive,
        positive_value=positive_value,
        metric_names=metric_names,
        disparity_names=disparity_names,
        with_labels=with_labels,
        n_rows=len(frame),
        n_missing_prediction=int((~has_pred).sum()),
    )
