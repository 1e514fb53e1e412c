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

from typing import Any

import pandas as pd

from monitors.analyzers._performance_calibration import expected_calibration_error
from monitors.analyzers._performance_classification import classification_metrics
from monitors.analyzers._performance_config import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    THRESHOLD_METRICS,
    PerformanceConfig,
)
from monitors.analyzers._performance_latency import latency_metrics
from monitors.analyzers._performance_regression import regression_metrics
from monitors.analyzers._performance_types import ANALYZER, PerformanceMetric, PerformanceReport
from monitors.analyzers._performance_verdict import judge
from monitors.analyzers.base import MetricRecord, finite_or_none
from monitors.errors import SchemaError
from storage.schema import ModelSchema

__all__ = [
    "ANALYZER",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "THRESHOLD_METRICS",
    "PerformanceConfig",
    "PerformanceMetric",
    "PerformanceReport",
    "expected_calibration_error",
    "model_performance",
    "performance_records",
]


def _column(current: pd.DataFrame, name: str | None) -> pd.Series | None:
    """Column ``name`` of the window (all null if absent); ``None`` if the schema has none."""
    if name is None:
        return None
    if name not in current.columns:
        return pd.Series([None] * len(current), index=current.index, dtype=object)
    return current[name]


def _label_coverage(
    n_labelled: int | None, n_rows: int, config: PerformanceConfig
) -> PerformanceMetric:
    """Labelled rows / rows (``n_labelled`` is ``None`` without a label column)."""
    if n_labelled is None:
        return judge(
            "label_coverage",
            None,
            0,
            config,
            {"labelled": 0, "rows": n_rows, "reason": "the schema has no label column"},
            min_n=1,
        )
    details: dict[str, Any] = {"labelled": n_labelled, "rows": n_rows}
    if n_rows == 0:
        details["reason"] = "empty window"
    return judge(
        "label_coverage",
        n_labelled / n_rows if n_rows else None,
        n_rows,
        config,
        details,
        min_n=1,
    )


def _label_based(
    current: pd.DataFrame, label: pd.Series, *, schema: ModelSchema, config: PerformanceConfig
) -> list[PerformanceMetric]:
    """Classification or regression metrics of the labelled rows."""
    labelled = label.notna().to_numpy()
    y_true = label[labelled]
    y_pred = current[schema.prediction.name][labelled]
    if schema.task.is_classification:
        score = _column(current, schema.score.name if schema.score else None)
        return classification_metrics(
            y_true,
            y_pred,
            score[labelled] if score is not None else None,
            schema=schema,
            config=config,
        )
    return regression_metrics(y_true, y_pred, config=config)


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
    if label is None:
        metrics = [_label_coverage(None, n_rows, config)]
        n_labelled = 0
    else:
        n_labelled = int(label.notna().to_numpy().sum())
        metrics = [_label_coverage(n_labelled, n_rows, config)]
        metrics.extend(_label_based(current, label, schema=schema, config=config))
    if schema.latency is not None:
        latency = _column(current, schema.latency.name)
        assert latency is not None
        metrics.extend(latency_metrics(latency, config=config))
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
