"""Model performance on the labelled rows of one window, and serving latency.

Metrics (``analyzer="performance"``, ``feature=None``):

* always: ``label_coverage`` — labelled rows / rows (counts in the details);
* classification: ``accuracy``, ``precision``, ``recall``, ``f1`` and a
  ``confusion_matrix`` record (value = labelled rows; the matrix, rows = true class and
  columns = predicted class, and the class order in the details). Binary models score
  the ``positive_class``; multiclass models average over the classes present in the
  window's labels and predictions (``macro`` by default, see
  :attr:`PerformanceConfig.multiclass_average`);
* binary classification with a ``score`` column (probability of the positive class):
  ``roc_auc``, ``log_loss``, ``brier_score`` and ``expected_calibration_error`` (equal-width
  bins on [0, 1], the reliability curve in the details). Multiclass models log no class
  probabilities, so these are not computed for them;
* regression: ``mae``, ``rmse``, ``r2``, ``mape`` (scikit-learn's
  ``mean_absolute_percentage_error``, a fraction, not a percentage);
* with a ``latency_ms`` column: ``latency_p50``, ``latency_p95``, ``latency_p99`` in
  milliseconds over all rows, labelled or not.

Label-based metrics use the rows whose label *and* prediction (or score) are not null.
Below :attr:`PerformanceConfig.min_labelled` labelled rows the status is
``insufficient_data`` although the value is still computed when possible. A value that
is undefined for the window (one class only, no predicted positives …) is ``None`` with
the reason in ``details["reason"]``.

Thresholds are optional (:attr:`PerformanceConfig.thresholds`); the direction is fixed
per metric (:data:`HIGHER_IS_BETTER`, :data:`LOWER_IS_BETTER`). Without a threshold the
status is ``ok``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.errors import SchemaError
from storage.schema import ModelSchema, Task

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "PerformanceConfig",
    "PerformanceMetric",
    "PerformanceReport",
    "expected_calibration_error",
    "model_performance",
    "performance_records",
]

ANALYZER = "performance"

HIGHER_IS_BETTER: Final = frozenset(
    {"label_coverage", "accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
)
"""Metrics that breach when they fall *below* their threshold."""
LOWER_IS_BETTER: Final = frozenset(
    {
        "log_loss",
        "brier_score",
        "expected_calibration_error",
        "mae",
        "rmse",
        "mape",
        "latency_p50",
        "latency_p95",
        "latency_p99",
    }
)
"""Metrics that breach when they rise *above* their threshold."""
THRESHOLD_METRICS: Final = HIGHER_IS_BETTER | LOWER_IS_BETTER


class PerformanceConfig(BaseModel):
    """Thresholds and settings of the performance analyzer.

    Examples
    --------
    >>> PerformanceConfig(thresholds={"accuracy": 0.8, "log_loss": 0.5}).min_labelled
    30
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: dict[str, float] = Field(default_factory=dict)
    """Optional threshold per metric name; the direction is fixed per metric (accuracy,
    precision, recall, f1, roc_auc, r2, label_coverage breach below; log_loss,
    brier_score, expected_calibration_error, mae, rmse, mape, latency_p* breach above).
    Default: none, so every status is ``ok`` or ``insufficient_data``."""
    min_labelled: int = Field(default=30, ge=1)
    """Below this many labelled rows a label-based metric is ``insufficient_data``."""
    calibration_bins: int = Field(default=10, ge=2, le=1000)
    """Equal-width bins on [0, 1] for the expected calibration error."""
    multiclass_average: Literal["macro", "weighted", "micro"] = "macro"
    """How precision, recall and F1 are averaged over the classes of a multiclass model."""

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if name not in THRESHOLD_METRICS:
                raise ValueError(
                    f"thresholds: unknown metric {name!r}; expected one of "
                    f"{sorted(THRESHOLD_METRICS)!r}"
                )
            if not math.isfinite(threshold):
                raise ValueError(
                    f"thresholds[{name!r}]: expected a finite number; got {threshold!r}"
                )
        return value


@dataclass(frozen=True, slots=True)
class PerformanceMetric:
    """One performance number with its threshold, direction and verdict."""

    metric: str
    value: float | None
    threshold: float | None
    direction: str
    """``higher_is_better``, ``lower_is_better`` or ``none``."""
    status: str
    n: int
    """Rows the value was computed on."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Performance of one window."""

    task: str
    n_rows: int
    n_labelled: int
    metrics: tuple[PerformanceMetric, ...]

    def get(self, metric: str) -> PerformanceMetric:
        """The metric called ``metric``; :class:`KeyError` if it was not computed."""
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(f"no performance metric {metric!r}")

    @property
    def names(self) -> list[str]:
        """Names of the metrics in the report."""
        return [m.metric for m in self.metrics]


# -- helpers -------------------------------------------------------------------------------


def _direction(metric: str) -> str:
    if metric in HIGHER_IS_BETTER:
        return "higher_is_better"
    if metric in LOWER_IS_BETTER:
        return "lower_is_better"
    return "none"


def _judge(
    metric: str,
    value: float | None,
    n: int,
    config: PerformanceConfig,
    details: dict[str, Any],
    *,
    min_n: int,
) -> PerformanceMetric:
    """Attach threshold, direction and status to a computed value."""
    value = finite_or_none(value)
    threshold = config.thresholds.get(metric)
    direction = _direction(metric)
    if n < min_n or value is None:
        status = INSUFFICIENT_DATA
        if n < min_n and min_n > 1:
            details = {**details, "min_labelled": min_n}
    elif threshold is None:
        status = OK
    elif direction == "higher_is_better":
        status = BREACH if value < threshold else OK
    else:
        status = BREACH if value > threshold else OK
    return PerformanceMetric(metric, value, threshold, direction, status, n, details)


def _safe(fn: Callable[[], float]) -> tuple[float | None, str | None]:
    """Call a metric; ``(None, reason)`` when sklearn finds it undefined for the data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn())
    except ValueError as exc:
        return None, str(exc)
    if not math.isfinite(value):
        return None, "undefined for this window"
    return value, None


def _json_scalar(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _class_sort_key(value: Any) -> tuple[str, Any]:
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
        extra = sorted({_json_scalar(v) for v in extra_values}, key=_class_sort_key)
        classes += extra
        index = pd.Index(classes, dtype=object)
        codes_true = index.get_indexer(y_true)
        codes_pred = index.get_indexer(y_pred)
    return classes, np.asarray(codes_true), np.asarray(codes_pred)


def expected_calibration_error(
    y_true: np.ndarray, y_prob: np.ndarray, *, n_bins: int = 10
) -> tuple[float, list[dict[str, float | int]]]:
    """Expected calibration error over equal-width bins, and the reliability curve.

    ``ECE = sum_b n_b / n * |fraction of positives in b - mean predicted probability in b|``
    over the non-empty bins. Bins are those of
    ``sklearn.calibration.calibration_curve(strategy="uniform")``: edges
    ``linspace(0, 1, n_bins + 1)``, a value on an inner edge belongs to the lower bin.

    Parameters
    ----------
    y_true : numpy.ndarray
        1 for the positive class, 0 otherwise.
    y_prob : numpy.ndarray
        Predicted probability of the positive class, in [0, 1].
    n_bins : int
        Number of equal-width bins.

    Returns
    -------
    ece : float
    curve : list of dict
        One point per non-empty bin: ``bin_low``, ``bin_high``, ``count``,
        ``mean_predicted``, ``fraction_positive``.

    Raises
    ------
    ValueError
        If ``y_prob`` has values outside [0, 1] or the arrays are empty.

    Examples
    --------
    >>> ece, _ = expected_calibration_error(np.array([0, 1]), np.array([0.25, 0.75]), n_bins=2)
    >>> ece
    0.25
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.size == 0:
        raise ValueError("expected at least one probability; got none")
    if y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError(
            f"probabilities must be in [0, 1]; got range [{y_prob.min()}, {y_prob.max()}]"
        )
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], y_prob)
    counts = np.bincount(bin_ids, minlength=n_bins)
    sum_prob = np.bincount(bin_ids, weights=y_prob, minlength=n_bins)
    sum_true = np.bincount(bin_ids, weights=y_true, minlength=n_bins)
    nonzero = counts > 0
    mean_prob = sum_prob[nonzero] / counts[nonzero]
    frac_true = sum_true[nonzero] / counts[nonzero]
    ece = float(np.sum(counts[nonzero] / y_prob.size * np.abs(frac_true - mean_prob)))
    curve = [
        {
            "bin_low": float(edges[b]),
            "bin_high": float(edges[b + 1]),
            "count": int(counts[b]),
            "mean_predicted": float(mp),
            "fraction_positive": float(ft),
        }
        for b, mp, ft in zip(np.flatnonzero(nonzero), mean_prob, frac_true, strict=True)
    ]
    return ece, curve


def _column(current: pd.DataFrame, name: str | None) -> pd.Series | None:
    if name is None:
        return None
    if name not in current.columns:
        return pd.Series([None] * len(current), index=current.index, dtype=object)
    return current[name]


# -- metrics -------------------------------------------------------------------------------


def _classification(
    y_true: pd.Series,
    y_pred: pd.Series,
    score: pd.Series | None,
    *,
    schema: ModelSchema,
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    out: list[PerformanceMetric] = []
    m = config.min_labelled
    both = y_pred.notna().to_numpy()
    known: list[Any] = list(schema.classes or ())
    if schema.positive_class is not None and schema.positive_class not in known:
        known.append(schema.positive_class)
    classes, t, p = _encode_classes(known, y_true[both], y_pred[both])
    n = int(both.sum())
    binary = schema.task is Task.BINARY
    if schema.positive_class is not None:
        positive: Any = schema.positive_class
    else:
        positive = classes[-1] if classes else None
    base: dict[str, Any] = {"n_labelled": len(y_true), "n_with_prediction": n}
    if binary:
        pos = classes.index(positive) if positive in classes else -1
        base["positive_class"] = _json_scalar(positive)
        kwargs: dict[str, Any] = {"pos_label": pos, "average": "binary", "zero_division": np.nan}
    else:
        kwargs = {"average": config.multiclass_average, "zero_division": 0.0}
        base["average"] = config.multiclass_average

    if n == 0:
        reason = "no labelled rows with a prediction"
        for name in ("accuracy", "precision", "recall", "f1"):
            out.append(_judge(name, None, 0, config, {**base, "reason": reason}, min_n=m))
    else:
        value, why = _safe(lambda: accuracy_score(t, p))
        out.append(_judge("accuracy", value, n, config, _why(base, why), min_n=m))
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
            out.append(_judge(name, value, n, config, _why(base, why), min_n=m))
    matrix = confusion_matrix(t, p, labels=list(range(len(classes)))) if n else None
    out.append(
        PerformanceMetric(
            "confusion_matrix",
            float(n),
            None,
            "none",
            INSUFFICIENT_DATA if n < m else OK,
            n,
            {
                "classes": [_json_scalar(c) for c in classes],
                "matrix": matrix.tolist() if matrix is not None else [],
                "rows": "true class",
                "columns": "predicted class",
            },
        )
    )

    if binary and score is not None:
        out.extend(_score_metrics(y_true, score, classes, positive, config=config))
    return out


_UNDEFINED: Final = {
    "precision": "undefined: no predicted positives",
    "recall": "undefined: no actual positives",
    "f1": "undefined: no predicted or actual positives",
}


def _why(base: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return base if reason is None else {**base, "reason": reason}


def _score_metrics(
    y_true: pd.Series,
    score: pd.Series,
    classes: list[Any],
    positive: Any,
    *,
    config: PerformanceConfig,
) -> list[PerformanceMetric]:
    m = config.min_labelled
    has_score = score.notna().to_numpy()
    index = pd.Index(classes, dtype=object)
    is_pos = (
        (index.get_indexer(y_true[has_score]) == classes.index(positive)).astype(int)
        if (positive in classes)
        else np.zeros(int(has_score.sum()), dtype=int)
    )
    prob = score[has_score].to_numpy(dtype=np.float64)
    n = int(prob.size)
    base: dict[str, Any] = {"n_with_score": n, "positive_class": _json_scalar(positive)}
    out: list[PerformanceMetric] = []
    if n == 0:
        for name in ("roc_auc", "log_loss", "brier_score", "expected_calibration_error"):
            out.append(
                _judge(
                    name,
                    None,
                    0,
                    config,
                    {**base, "reason": "no labelled rows with a score"},
                    min_n=m,
                )
            )
        return out
    why: str | None
    single = len(np.unique(is_pos)) < 2
    if single:
        value, why = None, "undefined: only one class among the labelled rows"
    else:
        value, why = _safe(lambda: roc_auc_score(is_pos, prob))
    out.append(_judge("roc_auc", value, n, config, _why(base, why), min_n=m))
    value, why = _safe(lambda: log_loss(is_pos, prob, labels=[0, 1]))
    out.append(_judge("log_loss", value, n, config, _why(base, why), min_n=m))
    value, why = _safe(lambda: brier_score_loss(is_pos, prob, pos_label=1))
    out.append(_judge("brier_score", value, n, config, _why(base, why), min_n=m))
    try:
        ece, curve = expected_calibration_error(is_pos, prob, n_bins=config.calibration_bins)
        details: dict[str, Any] = {
            **base,
            "n_bins": config.calibration_bins,
            "strategy": "uniform",
            "curve": curve,
        }
        out.append(_judge("expected_calibration_error", ece, n, config, details, min_n=m))
    except ValueError as exc:
        out.append(
            _judge("expected_calibration_error", None, n, config, _why(base, str(exc)), min_n=m)
        )
    return out


def _regression(
    y_true: pd.Series, y_pred: pd.Series, *, config: PerformanceConfig
) -> list[PerformanceMetric]:
    m = config.min_labelled
    both = y_pred.notna().to_numpy()
    t = y_true[both].to_numpy(dtype=np.float64)
    p = y_pred[both].to_numpy(dtype=np.float64)
    n = int(t.size)
    base: dict[str, Any] = {"n_labelled": len(y_true), "n_with_prediction": n}
    out: list[PerformanceMetric] = []
    for name, fn in (
        ("mae", mean_absolute_error),
        ("rmse", root_mean_squared_error),
        ("r2", r2_score),
        ("mape", mean_absolute_percentage_error),
    ):
        value: float | None
        why: str | None
        if n == 0:
            value, why = None, "no labelled rows with a prediction"
        elif name == "r2" and n < 2:
            value, why = None, "undefined: R² needs at least two labelled rows"
        else:
            value, why = _safe(partial(fn, t, p))
        out.append(_judge(name, value, n, config, _why(base, why), min_n=m))
    return out


def _latency(values: pd.Series, *, config: PerformanceConfig) -> list[PerformanceMetric]:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    arr = arr[~np.isnan(arr)]
    out = []
    quantiles = (50, 95, 99)
    points = np.percentile(arr, quantiles) if arr.size else [None] * len(quantiles)
    for q, v in zip(quantiles, points, strict=True):
        details: dict[str, Any] = {"unit": "ms", "n": int(arr.size), "method": "linear"}
        if v is None:
            details["reason"] = "no latency values in the window"
        out.append(_judge(f"latency_p{q}", v, int(arr.size), config, details, min_n=1))
    return out


def model_performance(
    current: pd.DataFrame, *, schema: ModelSchema, config: PerformanceConfig
) -> PerformanceReport:
    """Performance of the model on one window.

    Parameters
    ----------
    current : pandas.DataFrame
        The window, with the user's column names. A label or score column absent from
        it counts as all null.
    schema : ModelSchema
        The model's schema (task, classes, positive class, column roles).
    config : PerformanceConfig
        Thresholds, minimum labelled rows, calibration bins, multiclass averaging.

    Returns
    -------
    PerformanceReport

    Raises
    ------
    SchemaError
        If the prediction column is missing from ``current``.

    Examples
    --------
    >>> from storage.schema import infer_schema
    >>> w = pd.DataFrame({"id": list("abcd"), "ts": pd.to_datetime(["2024-01-01"] * 4),
    ...                   "y_hat": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 5.0, None]})
    >>> s = infer_schema(w, task="regression", id="id", timestamp="ts",
    ...                  prediction="y_hat", label="y")
    >>> r = model_performance(w, schema=s, config=PerformanceConfig(min_labelled=3))
    >>> r.get("label_coverage").value, r.get("mae").value
    (0.75, 0.6666666666666666)
    """
    pred_name = schema.prediction.name
    if pred_name not in current.columns:
        raise SchemaError(
            f"window data has no prediction column {pred_name!r}; got columns "
            f"{list(current.columns)!r}."
        )
    n_rows = len(current)
    label = _column(current, schema.label.name if schema.label else None)
    metrics: list[PerformanceMetric] = []
    if label is None:
        n_labelled = 0
        metrics.append(
            _judge(
                "label_coverage",
                None,
                0,
                config,
                {"labelled": 0, "rows": n_rows, "reason": "the schema has no label column"},
                min_n=1,
            )
        )
    else:
        labelled = label.notna().to_numpy()
        n_labelled = int(labelled.sum())
        details: dict[str, Any] = {"labelled": n_labelled, "rows": n_rows}
        if n_rows == 0:
            details["reason"] = "empty window"
        metrics.append(
            _judge(
                "label_coverage",
                n_labelled / n_rows if n_rows else None,
                n_rows,
                config,
                details,
                min_n=1,
            )
        )
        y_true = label[labelled]
        y_pred = current[pred_name][labelled]
        if schema.task.is_classification:
            score = _column(current, schema.score.name if schema.score else None)
            metrics.extend(
                _classification(
                    y_true,
                    y_pred,
                    score[labelled] if score is not None else None,
                    schema=schema,
                    config=config,
                )
            )
        else:
            metrics.extend(_regression(y_true, y_pred, config=config))
    if schema.latency is not None:
        latency = _column(current, schema.latency.name)
        assert latency is not None
        metrics.extend(_latency(latency, config=config))
    return PerformanceReport(
        task=schema.task.value, n_rows=n_rows, n_labelled=n_labelled, metrics=tuple(metrics)
    )


def performance_records(report: PerformanceReport) -> list[MetricRecord]:
    """Flatten a :class:`PerformanceReport` into stored metric records.

    Every record is model-level (``feature`` and ``group`` are ``None``); the details
    carry the row count ``n`` and the metric's direction.

    Parameters
    ----------
    report : PerformanceReport

    Returns
    -------
    list of MetricRecord
    """
    return [
        MetricRecord(
            ANALYZER,
            m.metric,
            None,
            None,
            finite_or_none(m.value),
            m.threshold,
            m.status,
            {"n": m.n, "direction": m.direction, **m.details},
        )
        for m in report.metrics
    ]
