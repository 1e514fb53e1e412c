"""Choosing and building the SHAP explainer that fits a model (see :mod:`.explain`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd
import shap
from sklearn import ensemble, svm, tree
from sklearn.pipeline import Pipeline

from monitors.analyzers._explain_config import ExplainConfig
from monitors.analyzers._explain_frames import feature_frame, sample_rows
from monitors.analyzers._explain_types import (
    KERNEL,
    TREE,
    Explainer,
    ExplainError,
    ScoringFunction,
)
from storage.schema import ModelSchema, Task

_TREE_MODELS: Final = (
    tree.DecisionTreeClassifier,
    tree.DecisionTreeRegressor,
    tree.ExtraTreeClassifier,
    tree.ExtraTreeRegressor,
    ensemble.RandomForestClassifier,
    ensemble.RandomForestRegressor,
    ensemble.ExtraTreesClassifier,
    ensemble.ExtraTreesRegressor,
    ensemble.GradientBoostingClassifier,
    ensemble.GradientBoostingRegressor,
    ensemble.HistGradientBoostingClassifier,
    ensemble.HistGradientBoostingRegressor,
)


def _columns_of(features: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A function selecting the feature columns of a frame, in schema order."""

    def frame_of(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, list(features)]

    return frame_of


def _dense(matrix: Any) -> np.ndarray:
    """A transformed matrix as a dense float64 array."""
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float64)


def _column_groups(
    transform: Callable[[pd.DataFrame], np.ndarray], background: pd.DataFrame
) -> np.ndarray | None:
    """Input feature owning each transformed column, or ``None`` if a column mixes features.

    Found by perturbing one input column at a time (rolling it over the background) and
    seeing which transformed columns change.
    """
    base = transform(background)
    owner = np.full(base.shape[1], -1)
    rolled = np.roll(np.arange(len(background)), 1)
    for j, name in enumerate(background.columns):
        perturbed = background.copy()
        perturbed[name] = background[name].iloc[rolled].set_axis(background.index)
        changed = ~np.isclose(transform(perturbed), base, equal_nan=True).all(axis=0)
        if (owner[changed] >= 0).any():
            return None
        owner[changed] = j
    return owner


def _positive_index(classes: Any, schema: ModelSchema) -> int:
    """Index of the schema's positive class in the model's ``classes_``."""
    listed = [c.item() if hasattr(c, "item") else c for c in classes]
    positive = schema.positive_class if schema.positive_class is not None else listed[-1]
    if positive not in listed:
        raise ExplainError(
            f"Explain: the schema's positive class {positive!r} is not one of the model's "
            f"classes {listed!r}."
        )
    return listed.index(positive)


def _is_linear(model: object) -> bool:
    """Whether ``model`` is a fitted scikit-learn linear model (``coef_`` and ``intercept_``)."""
    module = type(model).__module__
    linear_kind = module.startswith("sklearn.linear_model") or isinstance(
        model, svm.LinearSVC | svm.LinearSVR
    )
    return linear_kind and hasattr(model, "coef_") and hasattr(model, "intercept_")


def _agnostic_output(
    model: Any, frame_of: Callable[[pd.DataFrame], pd.DataFrame], schema: ModelSchema
) -> tuple[ScoringFunction, str, str]:
    """Model-output function, output space and reason for the kernel explainer."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    name = type(final).__name__
    if not hasattr(model, "predict"):
        if not callable(model):
            raise ExplainError(
                f"Explain: expected a fitted scikit-learn model or a scoring function, got {name}."
            )
        output = "probability" if schema.task is Task.BINARY else "prediction"
        return (
            lambda df: np.asarray(model(frame_of(df)), dtype=np.float64).reshape(-1),
            output,
            "scoring function given in-process (no artifact)",
        )
    if schema.task is Task.REGRESSION:
        return (
            lambda df: np.asarray(model.predict(frame_of(df)), dtype=np.float64),
            "prediction",
            f"{name} is neither a tree nor a linear model",
        )
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ExplainError(f"Explain: classifier {name} has no classes_.")
    index = _positive_index(classes, schema)
    if hasattr(model, "predict_proba"):
        return (
            lambda df: np.asarray(model.predict_proba(frame_of(df)))[:, index],
            "probability",
            f"{name} is neither a tree nor a linear model",
        )
    if hasattr(model, "decision_function"):
        sign = 1.0 if index == 1 else -1.0
        return (
            lambda df: sign * np.asarray(model.decision_function(frame_of(df))),
            "margin",
            f"{name} is neither a tree nor a linear model and has no predict_proba",
        )
    raise ExplainError(
        f"Explain: classifier {name} has neither predict_proba nor decision_function."
    )


def _explained_background(
    background: pd.DataFrame, *, schema: ModelSchema, config: ExplainConfig
) -> tuple[tuple[str, ...], pd.DataFrame]:
    """The schema's features and a seeded sample of the background; errors for what cannot run."""
    if schema.task is Task.MULTICLASS:
        raise ExplainError(
            "Explain: multiclass_classification models are not supported yet; expected "
            "binary_classification or regression."
        )
    features = tuple(c.name for c in schema.features)
    if not features:
        raise ExplainError("Explain: the schema has no feature columns.")
    background = feature_frame(background, features, "the background")
    if background.empty:
        raise ExplainError("Explain: the background has no rows; expected reference rows.")
    return features, sample_rows(background, config.background_size, config.seed)


def _specific_explainer(
    model: Any, final: Any, schema: ModelSchema, common: dict[str, Any]
) -> tuple[Explainer | None, str]:
    """The tree or linear explainer of ``final`` if it applies, else ``None`` and why not."""
    if not (isinstance(final, _TREE_MODELS) or _is_linear(final)):
        return None, ""
    kind = "tree" if isinstance(final, _TREE_MODELS) else "linear"
    frame_of = _columns_of(common["features"])
    prefix = model[:-1] if isinstance(model, Pipeline) and len(model.steps) > 1 else None

    def transform(df: pd.DataFrame) -> np.ndarray:
        matrix = frame_of(df) if prefix is None else prefix.transform(frame_of(df))
        return _dense(matrix)

    groups: np.ndarray | None
    fallback = ""
    try:
        groups = _column_groups(transform, common["background"])
    except (TypeError, ValueError) as exc:  # non-numeric input the model encodes itself
        groups, fallback = None, f"its input is not numeric after preprocessing ({exc})"
    else:
        if groups is None:
            fallback = "its preprocessing mixes input features"
    if groups is not None:
        built = _build_specific(kind, model, final, transform, groups, schema, common)
        if built is not None:
            return built, ""
        fallback = "shap cannot read it"
    return None, f"{type(final).__name__} is a {kind} model but {fallback}"


def make_explainer(
    model: object, background: pd.DataFrame, *, schema: ModelSchema, config: ExplainConfig
) -> Explainer:
    """Wrap a model with the SHAP explainer that fits its kind.

    Parameters
    ----------
    model : object
        A fitted scikit-learn estimator or Pipeline consuming a DataFrame of the schema's
        features (in schema order), or a scoring function ``f(frame) -> np.ndarray`` that
        returns the prediction (regression) or positive-class probability (binary).
    background : pandas.DataFrame
        Reference rows; a seeded sample of ``config.background_size`` is kept.
    schema : ModelSchema
        Gives the features, task and positive class.
    config : ExplainConfig
        Sizes and seed.

    Returns
    -------
    Explainer
        With ``method`` (``tree``/``linear``/``kernel``), ``reason`` and ``output``.

    Raises
    ------
    ExplainError
        For a multiclass model, an empty background, missing feature columns or a positive
        class the model does not know.
    """
    features, background = _explained_background(background, schema=schema, config=config)
    common: dict[str, Any] = {
        "features": features,
        "background": background,
        "seed": config.seed,
        "nsamples": config.agnostic_nsamples,
    }
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    specific, fallback = _specific_explainer(model, final, schema, common)
    if specific is not None:
        return specific
    output_fn, output, reason = _agnostic_output(model, _columns_of(features), schema)
    return Explainer(
        method=KERNEL,
        reason=f"{fallback or reason}: model-agnostic kernel explainer on a seeded "
        f"background of {len(background)} rows",
        output=output,
        model_output=output_fn,
        **common,
    )


def _build_specific(
    kind: str,
    model: Any,
    final: Any,
    transform: Callable[[pd.DataFrame], np.ndarray],
    groups: np.ndarray,
    schema: ModelSchema,
    common: dict[str, Any],
) -> Explainer | None:
    """Tree or linear explainer for ``final`` on transformed input; ``None`` if shap refuses it."""
    features = common["features"]
    name = type(final).__name__
    after = " after the Pipeline's preprocessing" if isinstance(model, Pipeline) else ""
    classifier = schema.task is Task.BINARY
    index = _positive_index(final.classes_, schema) if classifier else None
    frame_of = _columns_of(features)

    if kind == TREE:
        try:
            explainer = shap.TreeExplainer(final)
        except Exception:  # shap raises bare Exception for models it cannot read
            return None
        tree_output = getattr(explainer.model, "tree_output", "raw_value")
        reason = f"{name} is a tree ensemble{after}: exact TreeExplainer (tree_path_dependent)"
    else:
        explainer = shap.LinearExplainer(final, transform(common["background"]))
        tree_output = "log_odds" if hasattr(final, "predict_proba") else "margin"
        reason = f"{name} is a linear model{after}: exact LinearExplainer (interventional)"
    sign, class_index, output = 1.0, None, "prediction"
    output_fn: ScoringFunction = lambda df: np.asarray(model.predict(frame_of(df)), dtype=float)  # noqa: E731
    if classifier and tree_output in ("log_odds", "margin"):
        output, sign = tree_output, (1.0 if index == 1 else -1.0)
        output_fn = lambda df: sign * np.asarray(model.decision_function(frame_of(df)))  # noqa: E731
    elif classifier:
        output, class_index = "probability", index
        output_fn = lambda df: np.asarray(model.predict_proba(frame_of(df)))[:, index]  # noqa: E731
    return Explainer(
        method=kind,
        reason=reason,
        output=output,
        model_output=output_fn,
        shap_explainer=explainer,
        transform=transform,
        groups=groups,
        class_index=class_index,
        sign=sign,
        **common,
    )
