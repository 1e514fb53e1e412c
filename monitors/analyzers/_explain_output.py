"""The output space an explainer's attributions add up to, and the model's output in it.

TreeExplainer and LinearExplainer explain a model's *raw* output: the sum of its trees or
its linear predictor, before the inverse link turns it into a prediction. That space is
read from the model's link: the fitted loss of scikit-learn's GLMs and gradient boosting
(``_base_loss.link`` / ``_loss.link``: ``LogLink`` for PoissonRegressor, GammaRegressor,
TweedieRegressor with power > 0 or ``link="log"``, HistGradientBoostingRegressor with
``loss="poisson"``/``"gamma"``; ``LogitLink`` for binomial boosting) and, for linear
classifiers, from whether their probability is the logistic of their decision function.
The model's output in that space always comes from its own public methods
(``log(predict)``, ``decision_function``, ``predict_proba``, ``predict``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn import linear_model
from sklearn.pipeline import Pipeline

from monitors.analyzers._explain_types import (
    LINEAR,
    LOG,
    LOG_ODDS,
    PREDICTION,
    PROBABILITY,
    RAW,
    ExplainError,
    ScoringFunction,
)
from storage.schema import ModelSchema, Task

FrameOf = Callable[[pd.DataFrame], pd.DataFrame]

_LINKS: Final = {
    "IdentityLink": "identity",
    "LogLink": "log",
    "LogitLink": "logit",
    "HalfLogitLink": "half_logit",
}


def link_of(estimator: object) -> str | None:
    """``identity``, ``log``, ``logit`` or ``half_logit`` from the fitted loss; ``None`` if none."""
    loss = getattr(estimator, "_base_loss", None) or getattr(estimator, "_loss", None)
    link = getattr(loss, "link", None)
    return None if link is None else _LINKS.get(type(link).__name__, type(link).__name__)


def positive_index(classes: Any, schema: ModelSchema) -> int:
    """Index of the schema's positive class in the model's ``classes_``."""
    listed = [c.item() if hasattr(c, "item") else c for c in classes]
    positive = schema.positive_class if schema.positive_class is not None else listed[-1]
    if positive not in listed:
        raise ExplainError(
            f"Explain: the schema's positive class {positive!r} is not one of the model's "
            f"classes {listed!r}."
        )
    return listed.index(positive)


def _is_logistic(final: object) -> bool:
    """Whether a linear classifier's probability is the logistic of its decision function."""
    logistic = (linear_model.LogisticRegression, linear_model.LogisticRegressionCV)
    sgd_log = isinstance(final, linear_model.SGDClassifier) and final.loss == "log_loss"
    return isinstance(final, logistic) or sgd_log


def _regression_output(model: Any, frame_of: FrameOf, link: str | None) -> tuple[str, Any]:
    """``log`` or ``prediction`` space of a regressor with that link (``None`` if unknown)."""
    if link == "log":
        return LOG, lambda df: np.log(np.asarray(model.predict(frame_of(df)), dtype=np.float64))
    if link in (None, "identity"):
        return PREDICTION, lambda df: np.asarray(model.predict(frame_of(df)), dtype=np.float64)
    return link, None


def specific_output(
    kind: str,
    model: Any,
    final: Any,
    frame_of: FrameOf,
    schema: ModelSchema,
    tree_output: str | None,
) -> tuple[str, ScoringFunction | None, float, int | None]:
    """Space, model output in it (``None`` if the link is unknown), sign and class index.

    ``kind`` is ``tree`` or ``linear``; ``tree_output`` is shap's unit of the leaves.
    """
    link = link_of(final)
    if schema.task is Task.REGRESSION:
        space, output_fn = _regression_output(model, frame_of, link)
        return space, output_fn, 1.0, None
    index = positive_index(final.classes_, schema)
    sign = 1.0 if index == len(final.classes_) - 1 else -1.0
    if kind == LINEAR:
        space = LOG_ODDS if _is_logistic(final) else RAW
    elif tree_output == "probability":
        return (
            PROBABILITY,
            lambda df: np.asarray(model.predict_proba(frame_of(df)))[:, index],
            1.0,
            index,
        )
    elif tree_output == "log_odds" and link in (None, "logit"):
        space = LOG_ODDS
    elif tree_output == "log_odds" and link == "half_logit":
        space = RAW  # exponential loss: decision_function is half the log-odds
    else:
        return str(tree_output), None, sign, None
    return (
        space,
        lambda df: sign * np.asarray(model.decision_function(frame_of(df)), dtype=np.float64),
        sign,
        None,
    )


def agnostic_output(
    model: Any, frame_of: FrameOf, schema: ModelSchema
) -> tuple[ScoringFunction, str, str]:
    """Model-output function, output space and reason for the kernel explainer."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    name = type(final).__name__
    if not hasattr(model, "predict"):
        if not callable(model):
            raise ExplainError(
                f"Explain: expected a fitted scikit-learn model or a scoring function, got {name}."
            )
        output = PROBABILITY if schema.task is Task.BINARY else PREDICTION
        return (
            lambda df: np.asarray(model(frame_of(df)), dtype=np.float64).reshape(-1),
            output,
            "scoring function given in-process (no artifact)",
        )
    if schema.task is Task.REGRESSION:
        return (
            lambda df: np.asarray(model.predict(frame_of(df)), dtype=np.float64),
            PREDICTION,
            f"{name} is neither a tree nor a linear model",
        )
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ExplainError(f"Explain: classifier {name} has no classes_.")
    index = positive_index(classes, schema)
    if hasattr(model, "predict_proba"):
        return (
            lambda df: np.asarray(model.predict_proba(frame_of(df)))[:, index],
            PROBABILITY,
            f"{name} is neither a tree nor a linear model",
        )
    if hasattr(model, "decision_function"):
        sign = 1.0 if index == len(classes) - 1 else -1.0
        return (
            lambda df: sign * np.asarray(model.decision_function(frame_of(df)), dtype=np.float64),
            RAW,
            f"{name} is neither a tree nor a linear model and has no predict_proba",
        )
    raise ExplainError(
        f"Explain: classifier {name} has neither predict_proba nor decision_function."
    )
