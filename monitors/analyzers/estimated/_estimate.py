"""Entry points: which method applies, fit once per reference, estimate per window, records."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from monitors.analyzers.base import INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.analyzers.estimated._calibration import Calibration
from monitors.analyzers.estimated._cbpe import CBPEModel, estimate_cbpe, fit_cbpe
from monitors.analyzers.estimated._config import LOWER_IS_BETTER, EstimatedConfig
from monitors.analyzers.estimated._dle import DLEModel, estimate_dle, fit_dle
from monitors.analyzers.estimated._types import EstimatedPerformance
from storage.schema import ModelSchema, Task

ANALYZER: Final = "estimated_performance"
Estimator = CBPEModel | DLEModel


def estimation_unavailable(schema: ModelSchema, config: EstimatedConfig) -> str | None:
    """Why no estimator can be fitted for this model, or ``None`` if one can.

    Examples
    --------
    >>> from storage.schema import ColumnSpec
    >>> s = ModelSchema(task="regression", columns=[
    ...     ColumnSpec(name="id", role="id", dtype="string"),
    ...     ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
    ...     ColumnSpec(name="y_hat", role="prediction", dtype="float")])
    >>> estimation_unavailable(s, EstimatedConfig())
    'the schema has no label column: there is no labelled reference to fit on'
    """
    if not config.enabled:
        return "disabled by the config (estimated.enabled: false)"
    if schema.label is None:
        return "the schema has no label column: there is no labelled reference to fit on"
    if schema.task is Task.BINARY and schema.score is None:
        return "CBPE needs a 'score' column (probability of the positive class)"
    if schema.task is Task.MULTICLASS:
        given = {str(k) for k in config.class_probability_columns}
        missing = [c for c in schema.classes or () if str(c) not in given]
        if not given or missing:
            return (
                "CBPE for a multiclass model needs estimated.class_probability_columns "
                f"(class → probability column) for every class; missing {missing or 'all'!r}"
            )
    return None


def fit_estimator(
    reference: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: EstimatedConfig,
    calibration: Calibration | None = None,
) -> Estimator:
    """CBPE for classifiers, DLE for regressors, fitted on the labelled reference.

    Parameters
    ----------
    reference : pandas.DataFrame
        The model's reference dataset (with labels).
    schema : ModelSchema
    config : EstimatedConfig
    calibration : Calibration, optional
        CBPE only: a calibration stored with the reference version, reused as is.

    Returns
    -------
    CBPEModel or DLEModel

    Raises
    ------
    SchemaError
        If the schema or the reference does not allow the method
        (see :func:`estimation_unavailable`).
    """
    if schema.task.is_classification:
        return fit_cbpe(reference, schema=schema, config=config, calibration=calibration)
    return fit_dle(reference, schema=schema, config=config)


def estimate_performance(model: Estimator, current: pd.DataFrame) -> EstimatedPerformance:
    """Estimated performance of one window, from the model's outputs alone.

    Parameters
    ----------
    model : CBPEModel or DLEModel
        From :func:`fit_estimator` (or :func:`fit_cbpe` / :func:`fit_dle`).
    current : pandas.DataFrame
        The window, with the user's column names; its labels are not read.

    Returns
    -------
    EstimatedPerformance

    Raises
    ------
    SchemaError
        If the prediction column is missing from ``current``.
    """
    if isinstance(model, CBPEModel):
        return estimate_cbpe(model, current)
    return estimate_dle(model, current)


def _json(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    return value


def estimated_records(result: EstimatedPerformance) -> list[MetricRecord]:
    """Flatten an :class:`EstimatedPerformance` into stored metric records.

    One model-level record per estimate (analyzer ``estimated_performance``); its
    ``threshold`` is the bound on the bad side (lower for scores, upper for errors) and
    the details carry ``method``, ``calibrated``, ``n``, ``ci_low``, ``ci_high``,
    ``sampling_error``, ``lower_threshold``, ``upper_threshold`` and how they were made.
    CBPE adds an ``estimated_confusion_matrix`` record (value = rows used; the expected
    matrix, rows = true class, columns = predicted class, in the details).

    Parameters
    ----------
    result : EstimatedPerformance

    Returns
    -------
    list of MetricRecord
    """
    out = []
    for m in result.metrics:
        details = {
            **{k: _json(v) for k, v in m.details.items()},
            "n": m.n,
            "direction": "lower_is_better" if m.metric in LOWER_IS_BETTER else "higher_is_better",
            "ci_low": finite_or_none(m.ci_low),
            "ci_high": finite_or_none(m.ci_high),
            "sampling_error": finite_or_none(m.sampling_error),
            "lower_threshold": finite_or_none(m.lower_threshold),
            "upper_threshold": finite_or_none(m.upper_threshold),
        }
        out.append(
            MetricRecord(
                ANALYZER,
                m.metric,
                None,
                None,
                finite_or_none(m.value),
                finite_or_none(m.threshold),
                m.status,
                details,
            )
        )
    if result.confusion_matrix is not None:
        min_rows = result.metrics[0].details.get("min_rows") if result.metrics else None
        out.append(
            MetricRecord(
                ANALYZER,
                "estimated_confusion_matrix",
                None,
                None,
                float(result.n),
                None,
                INSUFFICIENT_DATA if min_rows is not None or result.n == 0 else OK,
                {
                    "method": result.method,
                    "calibrated": result.calibrated,
                    "n": result.n,
                    "classes": [_json(c) for c in result.classes],
                    "matrix": [list(row) for row in result.confusion_matrix],
                    "rows": "true class (expected)",
                    "columns": "predicted class",
                },
            )
        )
    return out
