"""Input outliers: an ``IsolationForest`` fitted on the reference, cut-off from held-out rows.

The reference (a seeded sample of at most ``outlier_max_reference`` rows) is split in
two halves: the forest is fitted on one, and the cut-off is the ``outlier_rate``
quantile of ``score_samples`` on the other, so that about ``outlier_rate`` of rows like
the reference's fall below it (in-sample scores would be optimistic). Numeric and
boolean features are used as numbers (a missing value takes the reference median);
categorical ones as codes of their reference categories by frequency (an unseen
category is ``-1``, a missing one ``-2``: both sit outside the codes the forest saw).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from monitors.analyzers._anomalies_config import AnomalyConfig
from monitors.analyzers._anomalies_types import OutlierModel
from storage.schema import Kind, ModelSchema

MAX_CATEGORIES: Final = 250
MIN_REFERENCE_ROWS: Final = 50


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as float64 (booleans as 0/1, anything unparsable as NaN)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _codes(values: pd.Series, categories: tuple[Any, ...]) -> np.ndarray:
    """Codes of categorical values: reference category index, ``-1`` unseen, ``-2`` missing."""
    index = pd.Index(list(categories), dtype=object)
    codes = index.get_indexer(pd.Index(values.astype(object))).astype(np.float64)
    codes[values.isna().to_numpy()] = -2.0
    return codes


def design(model: OutlierModel, frame: pd.DataFrame) -> np.ndarray:
    """The feature matrix the forest scores (a feature absent from ``frame`` is missing)."""
    out = np.empty((len(frame), len(model.features)))
    for j, name in enumerate(model.features):
        cats = model.categories.get(name)
        if name not in frame.columns:
            out[:, j] = -2.0 if cats is not None else model.fill[j]
            continue
        if cats is not None:
            out[:, j] = _codes(frame[name], cats)
        else:
            col = _numbers(frame[name])
            out[:, j] = np.where(np.isnan(col), model.fill[j], col)
    return out


def fit_outliers(
    reference: pd.DataFrame, *, schema: ModelSchema, config: AnomalyConfig
) -> tuple[OutlierModel | None, str | None]:
    """The fitted outlier model, or ``None`` and why there is none."""
    if not config.outliers:
        return None, "disabled by the config (anomalies.outliers: false)"
    features = [c for c in schema.features if c.name in reference.columns]
    if not features:
        return None, "the schema has no feature columns in the reference"
    rng = np.random.default_rng(config.seed)
    n = len(reference)
    if n < MIN_REFERENCE_ROWS:
        return None, f"the reference has {n} rows; the outlier model needs {MIN_REFERENCE_ROWS}"
    take = rng.permutation(n)[: config.outlier_max_reference]
    sample = reference.iloc[take]
    categories: dict[str, tuple[Any, ...]] = {}
    fill: list[float] = []
    for col in features:
        if col.kind is Kind.CATEGORICAL:
            counts = sample[col.name].dropna().astype(object).value_counts(sort=True)
            categories[col.name] = tuple(counts.index[:MAX_CATEGORIES].tolist())
            fill.append(-2.0)
        else:
            values = _numbers(sample[col.name])
            finite = values[~np.isnan(values)]
            fill.append(float(np.median(finite)) if finite.size else 0.0)
    half = len(sample) // 2
    model = OutlierModel(
        forest=None,
        features=tuple(c.name for c in features),
        categories=categories,
        fill=tuple(fill),
        cutoff=0.0,
        n_fit=half,
        n_calibration=len(sample) - half,
    )
    x = design(model, sample)
    forest = IsolationForest(
        n_estimators=config.outlier_trees, random_state=config.seed, n_jobs=1
    ).fit(x[:half])
    cutoff = float(np.quantile(forest.score_samples(x[half:]), config.outlier_rate))
    return (
        OutlierModel(
            forest=forest,
            features=model.features,
            categories=categories,
            fill=model.fill,
            cutoff=cutoff,
            n_fit=half,
            n_calibration=len(sample) - half,
        ),
        None,
    )


def outlier_scores(model: OutlierModel, frame: pd.DataFrame) -> np.ndarray:
    """``score_samples`` of the window's rows (lower is more outlying)."""
    if not len(frame):
        return np.empty(0)
    return np.asarray(model.forest.score_samples(design(model, frame)), dtype=np.float64)
