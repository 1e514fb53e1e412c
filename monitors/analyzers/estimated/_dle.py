"""Direct loss estimation (DLE) for regression models.

Two ``HistGradientBoostingRegressor`` models are trained on the labelled reference to
predict each row's absolute error ``|y - ŷ|`` and squared error ``(y - ŷ)²`` from the
features and the prediction (NannyML trains LightGBM models the same way). Per window:
``estimated_mae = mean(predicted |e|)``, ``estimated_rmse = sqrt(mean(predicted e²))``,
predictions clipped at 0. The band comes from the realized MAE / RMSE of reference
chunks (:mod:`._band`). Seeded: the same reference and config give the same models.

Inputs: numeric and boolean features as numbers, categorical features as category codes
(the 250 most frequent reference categories; others and unseen ones count as missing,
which the boosting handles natively), the prediction as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from monitors.analyzers.estimated._band import judge, reference_spread
from monitors.analyzers.estimated._config import DLE_METRICS, EstimatedConfig
from monitors.analyzers.estimated._types import EstimatedPerformance
from monitors.errors import SchemaError
from storage.schema import Kind, ModelSchema

MAX_CATEGORIES: Final = 250


@dataclass(frozen=True, slots=True, eq=False)
class DLEModel:
    """A fitted DLE estimator: the two error models and the reference errors."""

    task: str
    prediction: str
    features: tuple[str, ...]
    categories: dict[str, tuple[Any, ...]]
    """Categorical feature → the reference categories it is coded with."""
    abs_model: HistGradientBoostingRegressor = field(repr=False)
    squared_model: HistGradientBoostingRegressor = field(repr=False)
    config: EstimatedConfig
    reference_errors: np.ndarray = field(repr=False)
    """``y - ŷ`` of the labelled reference rows."""

    @property
    def n_reference(self) -> int:
        """Labelled reference rows the models were fitted on."""
        return int(self.reference_errors.size)


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as float64 (booleans as 0/1, anything else unparsable as NaN)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _design(model_like: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Feature matrix: features in schema order, then the prediction."""
    names = model_like["features"]
    out = np.full((len(frame), len(names) + 1), np.nan)
    for j, name in enumerate(names):
        if name not in frame.columns:
            continue
        cats = model_like["categories"].get(name)
        if cats is None:
            out[:, j] = _numbers(frame[name])
        else:
            codes = pd.Categorical(frame[name], categories=list(cats)).codes.astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, j] = codes
    out[:, -1] = _numbers(frame[model_like["prediction"]])
    return out


def _categories(schema: ModelSchema, reference: pd.DataFrame) -> dict[str, tuple[Any, ...]]:
    """The most frequent reference categories of each categorical feature."""
    out = {}
    for col in schema.features:
        if col.kind is Kind.CATEGORICAL and col.name in reference.columns:
            counts = reference[col.name].dropna().value_counts(sort=True)
            out[col.name] = tuple(counts.index[:MAX_CATEGORIES].tolist())
    return out


def _regressor(config: EstimatedConfig, mask: list[bool]) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=config.dle_max_iter,
        learning_rate=config.dle_learning_rate,
        categorical_features=mask if any(mask) else None,
        early_stopping=False,  # all iterations, like NannyML's LightGBM defaults
        random_state=config.seed,
    )


def fit_dle(reference: pd.DataFrame, *, schema: ModelSchema, config: EstimatedConfig) -> DLEModel:
    """Fit DLE on a labelled reference.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference rows with features, prediction and label; rows without a label or a
        prediction are left out.
    schema : ModelSchema
        A regression schema with a label column.
    config : EstimatedConfig

    Returns
    -------
    DLEModel

    Raises
    ------
    SchemaError
        If the model is not a regression, has no label, or the reference has fewer than
        two labelled rows.
    """
    if schema.task.is_classification:
        raise SchemaError(f"DLE is for regression models; this one is {schema.task.value!r}")
    if schema.label is None:
        raise SchemaError("DLE is fitted on a labelled reference: the schema has no label column")
    missing = [c for c in (schema.prediction.name, schema.label.name) if c not in reference]
    if missing:
        raise SchemaError(f"the reference has no column(s) {missing!r}")
    y = _numbers(reference[schema.label.name])
    y_hat = _numbers(reference[schema.prediction.name])
    keep = np.isfinite(y) & np.isfinite(y_hat)
    if keep.sum() < 2:
        raise SchemaError(
            f"DLE needs at least two labelled reference rows with a prediction; got {keep.sum()}"
        )
    layout: dict[str, Any] = {
        "features": tuple(c.name for c in schema.features),
        "categories": _categories(schema, reference),
        "prediction": schema.prediction.name,
    }
    x = _design(layout, reference)[keep]
    error = (y - y_hat)[keep]
    mask = [name in layout["categories"] for name in layout["features"]] + [False]
    with threadpool_limits(limits=config.dle_threads, user_api="openmp"):
        abs_model = _regressor(config, mask).fit(x, np.abs(error))
        squared_model = _regressor(config, mask).fit(x, error**2)
    return DLEModel(
        schema.task.value,
        layout["prediction"],
        layout["features"],
        layout["categories"],
        abs_model,
        squared_model,
        config,
        error,
    )


def _chunk_values(model: DLEModel, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Realized MAE and RMSE of reference chunks given as ``(k, m)`` row indices."""
    errors = model.reference_errors[idx]
    return {
        "estimated_mae": np.abs(errors).mean(axis=1),
        "estimated_rmse": np.sqrt((errors**2).mean(axis=1)),
    }


def estimate_dle(model: DLEModel, current: pd.DataFrame) -> EstimatedPerformance:
    """DLE estimates for one window (labels, if any, are not read).

    Parameters
    ----------
    model : DLEModel
        From :func:`fit_dle`.
    current : pandas.DataFrame
        The window; rows without a prediction are left out, missing features are NaN.

    Returns
    -------
    EstimatedPerformance

    Raises
    ------
    SchemaError
        If the prediction column is missing.
    """
    if model.prediction not in current.columns:
        raise SchemaError(
            f"the window has no prediction column {model.prediction!r}; "
            f"got {list(current.columns)!r}"
        )
    layout = {"features": model.features, "categories": model.categories}
    x = _design({**layout, "prediction": model.prediction}, current)
    x = x[np.isfinite(x[:, -1])]
    n = int(x.shape[0])
    values: dict[str, float | None] = {"estimated_mae": None, "estimated_rmse": None}
    if n:
        with threadpool_limits(limits=model.config.dle_threads, user_api="openmp"):
            absolute = np.clip(model.abs_model.predict(x), 0.0, None)
            squared = np.clip(model.squared_model.predict(x), 0.0, None)
        values["estimated_mae"] = float(absolute.mean())
        values["estimated_rmse"] = math.sqrt(float(squared.mean()))
    spread = reference_spread(
        lambda idx: _chunk_values(model, idx), model.n_reference, n, config=model.config
    )
    base: dict[str, Any] = {"method": "dle", "calibrated": False}
    if n == 0:
        base["reason"] = "no rows with a prediction"
    metrics = tuple(
        judge(name, values[name], spread.get(name), n, config=model.config, details=base)
        for name in DLE_METRICS
    )
    return EstimatedPerformance(
        method="dle",
        task=model.task,
        n_rows=len(current),
        n=n,
        calibrated=False,
        metrics=metrics,
        details={
            "n_missing_prediction": len(current) - n,
            "reference_rows": model.n_reference,
        },
    )
