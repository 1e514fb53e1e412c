"""Label-based classification metrics: accuracy, precision, recall, F1, confusion matrix.

Binary models score the positive class; multiclass models average over the classes present
in the window's labels and predictions (``PerformanceConfig.multiclass_average``). With a
``score`` column, binary models also get the probability metrics of
:mod:`monitors.analyzers._performance_scores`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from monitors.analyzers._performance_config import PerformanceConfig
from monitors.analyzers._performance_scores import score_metrics
from monitors.analyzers._performance_types import PerformanceMetric
from monitors.analyzers._performance_verdict import json_scalar, judge, safe, with_reason
from monitors.analyzers.base import INSUFFICIENT_DATA, OK, finite_or_none
from storage.schema import ModelSchema, Task

_UNDEFINED: Final = {
    "precision": "undefined: no predicted positives",
    "recall": "undefined: no actual positives",
    "f1": "undefined: no predicted or actual positives",
}


def _class_sort_key(value: Any) -> tuple[str, Any]:
    """Sort classes of mixed types: by type name, then value."""
    return (type(value).__name__, value)


def _encode_classes(
    known: list[Any], y_true: pd.Series, y_pred: pd.Series
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Class order and integer codes of labels and predictions.

    The schema's classes come first, in schema order; values outside them are appended
    sorted. Codes avoid mixing ``1`` and ``1.0`` when a label column holds NaN.
    """
    classes = list(known)
    index = pd.Index(classes, dtype=object)
    codes_true = index.get_indexer(y_true) if classes else np.full(len(y_true), -1)
    codes_pred = index.get_indexer(y_pred) if classes else np.full(len(y_pred), -1)
    if (codes_true < 0).any() or (codes_pred < 0).any():
        extra_values = pd.concat(
            [y_true[codes_true < 0], y_pred[codes_pred < 0]], ignore_index=True
        ).unique()
        extra = sorted({json_scalar(v) for v in extra_values}, key=_class_sort_key)
        classes += extra
        index = pd.Index(classes, dtype=object)
        codes_true = index.get_indexer(y_true)
        codes_pred = index.get_indexer(y_pred)
    return classes, np.asarray(codes_true), np.asarray(codes_pred)


def _positive_and_averaging(
    classes: list[Any], n: int, n_labelled: int, *, schema: ModelSchema, config: PerformanceConfig
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The positive class, the base details and sklearn's averaging arguments."""
    if schema.positive_class is not None:
        positive: Any = schema.positive_class
    else:
        positive = classes[-1] if classes else None
    base: dict[str, Any] = {"n_labelled": n_labelled, "n_with_prediction": n}
    if schema.task is Task.BINARY:
        pos = classes.index(positive) if positive in classes else -1
        base["positive_class"] = json_scalar(positive)
        kwargs: dict[str, Any] = {"pos_label": pos, "average": "binary", "zero_division": np.nan}
    else:
        kwargs = {"average": config.multiclass_average, "zero_division": 0.0}
        base["average"] = config.multiclass_average
    return positive, base, kwargs


def _label_metrics(
    t: np.ndarray,
    p: np.ndarray,
    n: int,
    base: dict[str, Any],
    kwargs: dict[str, Any],
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    """``accuracy``, ``precision``, ``recall`` and ``f1`` of the coded labels and predictions."""
    m = config.min_labelled
    if n == 0:
        reason = "no labelled rows with a prediction"
        return [
            judge(name, None, 0, config, {**base, "reason": reason}, min_n=m)
            for name in ("accuracy", "precision", "recall", "f1")
        ]
    out: list[PerformanceMetric] = []
    value, why = safe(lambda: accuracy_score(t, p))
    out.append(judge("accuracy", value, n, config, with_reason(base, why), min_n=m))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prf = precision_recall_fscore_support(t, p, **kwargs)[:3]
        error = None
    except ValueError as exc:
        prf, error = (math.nan, math.nan, math.nan), str(exc)
    for name, raw in zip(("precision", "recall", "f1"), prf, strict=True):
        value = finite_or_none(float(raw))
        why = error or (_UNDEFINED[name] if value is None else None)
        out.append(judge(name, value, n, config, with_reason(base, why), min_n=m))
    return out


def _confusion(
    t: np.ndarray, p: np.ndarray, n: int, classes: list[Any], config: PerformanceConfig
) -> PerformanceMetric:
    """The ``confusion_matrix`` record: value = rows, the matrix and class order in details."""
    matrix = confusion_matrix(t, p, labels=list(range(len(classes)))) if n else None
    return PerformanceMetric(
        "confusion_matrix",
        float(n),
        None,
        "none",
        INSUFFICIENT_DATA if n < config.min_labelled else OK,
        n,
        {
            "classes": [json_scalar(c) for c in classes],
            "matrix": matrix.tolist() if matrix is not None else [],
            "rows": "true class",
            "columns": "predicted class",
        },
    )


def classification_metrics(
    y_true: pd.Series,
    y_pred: pd.Series,
    score: pd.Series | None,
    *,
    schema: ModelSchema,
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    """Label-based metrics of the labelled rows, then score metrics of a binary model."""
    both = y_pred.notna().to_numpy()
    known: list[Any] = list(schema.classes or ())
    if schema.positive_class is not None and schema.positive_class not in known:
        known.append(schema.positive_class)
    classes, t, p = _encode_classes(known, y_true[both], y_pred[both])
    n = int(both.sum())
    positive, base, kwargs = _positive_and_averaging(
        classes, n, len(y_true), schema=schema, config=config
    )
    out = _label_metrics(t, p, n, base, kwargs, config)
    out.append(_confusion(t, p, n, classes, config))
    if schema.task is Task.BINARY and score is not None:
        out.extend(score_metrics(y_true, score, classes, positive, config=config))
    return out
