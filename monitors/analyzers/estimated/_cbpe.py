"""Confidence-based performance estimation (CBPE) for binary and multiclass classifiers.

Fit on the labelled reference: calibrate the scores (:mod:`._calibration`) and keep the
reference's labels, predictions and raw scores for the band
(:mod:`._band`). Per window, from the calibrated probabilities ``P`` alone: the expected
confusion matrix ``E[cm[c, j]] = sum over rows predicted j of P(c)``, the metrics of that
matrix (:func:`._metrics.cm_metrics`) and the ROC AUC from expected rates over the raw
score thresholds (:func:`._metrics.expected_roc_auc`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers.estimated._band import judge, reference_spread
from monitors.analyzers.estimated._calibration import Calibration, fit_calibration
from monitors.analyzers.estimated._config import CBPE_METRICS, EstimatedConfig
from monitors.analyzers.estimated._metrics import (
    chunk_roc_auc,
    cm_metrics,
    expected_confusion_matrix,
    expected_roc_auc,
    realized_confusion_matrices,
)
from monitors.analyzers.estimated._types import EstimatedPerformance
from monitors.errors import SchemaError
from storage.schema import ModelSchema, Scalar, Task


@dataclass(frozen=True, slots=True, eq=False)
class CBPEModel:
    """A fitted CBPE estimator: calibration plus the labelled reference's outputs.

    Only :attr:`calibration` needs storing with the reference version
    (:meth:`Calibration.to_dict`); the rest is rebuilt by :func:`fit_cbpe` from the
    reference, deterministically.
    """

    task: str
    classes: tuple[Scalar, ...]
    """All classes, in confusion-matrix order."""
    positive: int | None
    """Index of the positive class (binary models); ``None`` for multiclass."""
    prediction: str
    score_columns: tuple[str, ...]
    """Binary: the ``score`` column; multiclass: one column per class, in class order."""
    calibration: Calibration
    config: EstimatedConfig
    reference_scores: np.ndarray = field(repr=False)
    """``(N, len(score_columns))`` raw scores of the labelled reference rows."""
    reference_truth: np.ndarray = field(repr=False)
    reference_pred: np.ndarray = field(repr=False)

    @property
    def n_reference(self) -> int:
        """Labelled reference rows the model was fitted on."""
        return int(self.reference_truth.size)


def class_codes(values: pd.Series, classes: tuple[Scalar, ...]) -> np.ndarray:
    """Index of each value in ``classes`` (``-1`` if absent; text ``"1"`` matches ``1``)."""
    index = pd.Index(list(classes), dtype=object)
    codes = np.asarray(index.get_indexer(pd.Index(values.astype(object))))
    miss = (codes < 0) & values.notna().to_numpy()
    if miss.any():
        as_text = pd.Index([str(c) for c in classes])
        codes[miss] = as_text.get_indexer(pd.Index(values[miss].astype(str)))
    return codes


def _classes(schema: ModelSchema, reference: pd.DataFrame) -> tuple[Scalar, ...]:
    """The schema's classes, else the sorted values of prediction and label."""
    if schema.classes is not None:
        return tuple(schema.classes)
    assert schema.label is not None
    cols = [schema.prediction.name, schema.label.name]
    values = pd.concat([reference[c] for c in cols]).dropna().unique()
    return tuple(sorted(values.tolist(), key=lambda v: (type(v).__name__, v)))


def _score_columns(
    schema: ModelSchema, classes: tuple[Scalar, ...], config: EstimatedConfig
) -> tuple[str, ...]:
    """The probability column(s) CBPE reads."""
    if schema.task is Task.BINARY:
        if schema.score is None:
            raise SchemaError(
                "CBPE needs the probability of the positive class: the schema has no 'score' column"
            )
        return (schema.score.name,)
    by_text = {str(k): v for k, v in config.class_probability_columns.items()}
    missing = [c for c in classes if str(c) not in by_text]
    if missing:
        raise SchemaError(
            f"CBPE for a multiclass model needs estimated.class_probability_columns for every "
            f"class; missing {missing!r} (classes {list(classes)!r})"
        )
    return tuple(by_text[str(c)] for c in classes)


def _require(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{where} has no column(s) {missing!r}; got {list(frame.columns)!r}")


def _scores(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """``(n, k)`` float scores; a column absent from ``frame`` reads as NaN."""
    out = np.full((len(frame), len(columns)), np.nan)
    for j, name in enumerate(columns):
        if name in frame.columns:
            out[:, j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    return out


def _layout(schema: ModelSchema, reference: pd.DataFrame, config: EstimatedConfig) -> dict:
    """Classes, positive index and score columns of a classification schema."""
    if not schema.task.is_classification:
        raise SchemaError(f"CBPE is for classification models; this one is {schema.task.value!r}")
    if schema.label is None:
        raise SchemaError("CBPE is fitted on a labelled reference: the schema has no label column")
    _require(reference, [schema.prediction.name, schema.label.name], "the reference")
    classes = _classes(schema, reference)
    positive = None
    if schema.task is Task.BINARY:
        pos = schema.positive_class if schema.positive_class is not None else classes[-1]
        positive = list(classes).index(pos)
    columns = _score_columns(schema, classes, config)
    _require(reference, list(columns), "the reference")
    return {"classes": classes, "positive": positive, "score_columns": columns}


def fit_cbpe(
    reference: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: EstimatedConfig,
    calibration: Calibration | None = None,
) -> CBPEModel:
    """Fit CBPE on a labelled reference.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference rows with prediction, label and score column(s); rows missing any of
        them are left out.
    schema : ModelSchema
        A binary (``score`` column) or multiclass (``config.class_probability_columns``)
        classification schema with a label column.
    config : EstimatedConfig
    calibration : Calibration, optional
        A calibration stored with the reference version (:meth:`Calibration.from_dict`),
        reused instead of refitted.

    Returns
    -------
    CBPEModel

    Raises
    ------
    SchemaError
        If a needed column is missing, the scores are not probabilities, or the
        reference has no two labelled classes.
    """
    lay = _layout(schema, reference, config)
    classes, positive = lay["classes"], lay["positive"]
    assert schema.label is not None
    truth = class_codes(reference[schema.label.name], classes)
    pred = class_codes(reference[schema.prediction.name], classes)
    scores = _scores(reference, lay["score_columns"])
    keep = (truth >= 0) & (pred >= 0) & ~np.isnan(scores).any(axis=1)
    truth, pred, scores = truth[keep], pred[keep], scores[keep]
    if np.unique(truth).size < 2:
        raise SchemaError(
            f"CBPE needs labelled reference rows of at least two classes; got "
            f"{np.unique(truth).size} class(es) in {truth.size} usable row(s)"
        )
    if scores.min() < 0.0 or scores.max() > 1.0:
        raise SchemaError(
            f"score column(s) {list(lay['score_columns'])!r}: expected probabilities in [0, 1]; "
            f"got range [{scores.min()}, {scores.max()}]"
        )
    cal_classes = [classes[positive]] if positive is not None else list(classes)
    if calibration is None:
        onehot = truth[:, None] == np.array([classes.index(c) for c in cal_classes])[None, :]
        calibration = fit_calibration(scores, onehot.astype(np.float64), cal_classes, config=config)
    elif list(calibration.classes) != cal_classes:
        raise SchemaError(
            f"stored calibration is for classes {list(calibration.classes)!r}; "
            f"the model's are {cal_classes!r}"
        )
    return CBPEModel(
        schema.task.value,
        classes,
        positive,
        schema.prediction.name,
        lay["score_columns"],
        calibration,
        config,
        scores,
        truth,
        pred,
    )


def _probabilities(model: CBPEModel, raw: np.ndarray) -> np.ndarray:
    """``(n, C)`` calibrated class probabilities in class order."""
    calibrated = model.calibration.apply(raw)
    if model.positive is None:
        return calibrated
    prob = np.empty((raw.shape[0], 2))
    prob[:, model.positive] = calibrated[:, 0]
    prob[:, 1 - model.positive] = 1.0 - calibrated[:, 0]
    return prob


def _roc_auc(model: CBPEModel, raw: np.ndarray, prob: np.ndarray) -> float:
    """Estimated ROC AUC: of the positive class, or macro one-vs-rest."""
    if model.positive is not None:
        return expected_roc_auc(raw[:, 0], prob[:, model.positive])
    per_class = [expected_roc_auc(raw[:, c], prob[:, c]) for c in range(len(model.classes))]
    finite = [v for v in per_class if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _chunk_values(model: CBPEModel, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Realized metrics of reference chunks given as ``(k, m)`` row indices."""
    k, size = idx.shape
    truth = model.reference_truth[idx]
    pred = model.reference_pred[idx]
    cms = realized_confusion_matrices(truth, pred, len(model.classes))
    values = cm_metrics(cms, positive=model.positive)
    raw = model.reference_scores
    if model.positive is not None:
        auc = chunk_roc_auc(raw[idx, 0], truth == model.positive)
    else:
        per_class = [chunk_roc_auc(raw[idx, c], truth == c) for c in range(len(model.classes))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a chunk without any class
            auc = np.nanmean(np.stack(per_class), axis=0)
    out = {f"estimated_{name}": v for name, v in values.items()}
    out["estimated_roc_auc"] = auc
    return out


def _usable(model: CBPEModel, current: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict]:
    """Raw scores and prediction codes of the rows CBPE can use, and what was dropped."""
    _require(current, [model.prediction], "the window")
    pred = class_codes(current[model.prediction], model.classes)
    raw = _scores(current, model.score_columns)
    has_pred = current[model.prediction].notna().to_numpy()
    finite = ~np.isnan(raw).any(axis=1)
    keep = (pred >= 0) & finite
    dropped: dict[str, Any] = {
        "n_missing_score": int((~finite).sum()),
        "n_unknown_prediction": int((has_pred & (pred < 0)).sum()),
    }
    raw = raw[keep]
    outside = int(((raw < 0.0) | (raw > 1.0)).sum())
    if outside:
        dropped["n_scores_clipped"] = outside
        raw = np.clip(raw, 0.0, 1.0)
    return raw, pred[keep], dropped


def estimate_cbpe(model: CBPEModel, current: pd.DataFrame) -> EstimatedPerformance:
    """CBPE estimates for one window (labels, if any, are not read).

    Parameters
    ----------
    model : CBPEModel
        From :func:`fit_cbpe`.
    current : pandas.DataFrame
        The window; rows without a score or with an unknown prediction are left out.

    Returns
    -------
    EstimatedPerformance

    Raises
    ------
    SchemaError
        If the prediction column is missing.
    """
    config, cal = model.config, model.calibration
    raw, pred, dropped = _usable(model, current)
    n = int(pred.size)
    prob = _probabilities(model, raw)
    cm = expected_confusion_matrix(prob, pred, len(model.classes))
    realized_like = cm_metrics(cm, positive=model.positive)
    values = {f"estimated_{name}": float(v) for name, v in realized_like.items()}
    values["estimated_roc_auc"] = _roc_auc(model, raw, prob)
    spread = reference_spread(
        lambda idx: _chunk_values(model, idx), model.n_reference, n, config=config
    )
    base: dict[str, Any] = {
        "method": "cbpe",
        "calibrated": cal.calibrated,
        "reference_ece": _finite(cal.reference_ece),
        "calibration_warning": cal.warning,
    }
    if model.positive is not None:
        base["positive_class"] = model.classes[model.positive]
    else:
        base["average"] = "macro"
    if n == 0:
        base["reason"] = "no rows with a score and a known prediction"
    metrics = tuple(
        judge(name, values[name] if n else None, spread.get(name), n, config=config, details=base)
        for name in CBPE_METRICS
    )
    return EstimatedPerformance(
        method="cbpe",
        task=model.task,
        n_rows=len(current),
        n=n,
        calibrated=cal.calibrated,
        metrics=metrics,
        classes=model.classes,
        confusion_matrix=tuple(tuple(float(v) for v in row) for row in cm),
        warning=cal.warning,
        details={**dropped, "reference_rows": model.n_reference},
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
