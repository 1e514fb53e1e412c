"""Choosing and building the SHAP explainer that fits a model (see :mod:`.explain`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn import ensemble, svm, tree
from sklearn.pipeline import Pipeline

from monitors.analyzers._explain_columns import UntraceableError, model_columns, trace
from monitors.analyzers._explain_config import ExplainConfig
from monitors.analyzers._explain_frames import feature_frame, sample_rows
from monitors.analyzers._explain_output import agnostic_output, specific_output
from monitors.analyzers._explain_shap import shap_values
from monitors.analyzers._explain_types import (
    ADDITIVITY_TOLERANCE,
    KERNEL,
    LINEAR,
    TREE,
    Explainer,
    ExplainError,
)
from storage.schema import ModelSchema, Task

_CHECK_ROWS: Final = 50
"""Background rows on which a tree or linear explainer's additivity is checked when built."""
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


def _columns_of(columns: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A function selecting the model's input columns of a frame, in the model's order."""

    def frame_of(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, list(columns)]

    return frame_of


def _dense(matrix: Any) -> np.ndarray:
    """A transformed matrix as a dense float64 array."""
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float64)


def _is_linear(model: object) -> bool:
    """Whether ``model`` is a fitted scikit-learn linear model (``coef_`` and ``intercept_``)."""
    module = type(model).__module__
    linear_kind = module.startswith("sklearn.linear_model") or isinstance(
        model, svm.LinearSVC | svm.LinearSVR
    )
    return linear_kind and hasattr(model, "coef_") and hasattr(model, "intercept_")


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


def _groups(prefix: Any, columns: tuple[str, ...], features: tuple[str, ...]) -> np.ndarray:
    """Schema-feature index of each column the final estimator sees, traced by names."""
    owners = list(range(len(columns))) if prefix is None else trace(prefix, columns)[0]
    return np.array([features.index(columns[o]) for o in owners], dtype=np.int64)


def _specific_explainer(
    model: Any, final: Any, schema: ModelSchema, common: dict[str, Any]
) -> tuple[Explainer | None, str]:
    """The tree or linear explainer of ``final`` if it applies, else ``None`` and why not."""
    if not (isinstance(final, _TREE_MODELS) or _is_linear(final)):
        return None, ""
    kind = TREE if isinstance(final, _TREE_MODELS) else LINEAR
    frame_of = _columns_of(common["columns"])
    prefix = model[:-1] if isinstance(model, Pipeline) and len(model.steps) > 1 else None

    def transform(df: pd.DataFrame) -> np.ndarray:
        matrix = frame_of(df) if prefix is None else prefix.transform(frame_of(df))
        return _dense(matrix)

    try:
        groups = _groups(prefix, common["columns"], common["features"])
        width = transform(common["background"]).shape[1]
    except UntraceableError as exc:
        fallback = f"its preprocessing cannot be traced to input features by name ({exc})"
    except (TypeError, ValueError) as exc:  # non-numeric input the model encodes itself
        fallback = f"its input is not numeric after preprocessing ({exc})"
    else:
        if width == len(groups):
            built, fallback = _build_specific(kind, model, final, transform, groups, schema, common)
            if built is not None:
                return built, ""
        else:
            fallback = f"its preprocessing gives {width} columns, not the {len(groups)} named"
    return None, f"{type(final).__name__} is a {kind} model but {fallback}"


def make_explainer(
    model: object, background: pd.DataFrame, *, schema: ModelSchema, config: ExplainConfig
) -> Explainer:
    """Wrap a model with the SHAP explainer that fits its kind.

    Parameters
    ----------
    model : object
        A fitted scikit-learn estimator or Pipeline consuming a DataFrame of the schema's
        features (the columns of its ``feature_names_in_``, else all features in schema
        order), or a scoring function ``f(frame) -> np.ndarray`` that returns the
        prediction (regression) or positive-class probability (binary).
    background : pandas.DataFrame
        Reference rows; a seeded sample of ``config.background_size`` is kept.
    schema : ModelSchema
        Gives the features, task and positive class.
    config : ExplainConfig
        Sizes and seed.

    Returns
    -------
    Explainer
        With ``method`` (``tree``/``linear``/``kernel``), ``reason`` and ``output`` (the
        space in which ``base_value + sum(attributions)`` equals the model's output, one
        of :data:`OUTPUT_SPACES`).

    Raises
    ------
    ExplainError
        For a multiclass model, an empty background, missing feature columns, a model
        fitted on columns that are not schema features, or a positive class the model
        does not know.
    """
    features, background = _explained_background(background, schema=schema, config=config)
    common: dict[str, Any] = {
        "features": features,
        "columns": model_columns(model, features),
        "background": background,
        "seed": config.seed,
        "nsamples": config.agnostic_nsamples,
    }
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    specific, fallback = _specific_explainer(model, final, schema, common)
    if specific is not None:
        return specific
    output_fn, output, reason = agnostic_output(model, _columns_of(common.pop("columns")), schema)
    return Explainer(
        method=KERNEL,
        reason=f"{fallback or reason}: model-agnostic kernel explainer on a seeded "
        f"background of {len(background)} rows",
        output=output,
        model_output=output_fn,
        **common,
    )


def _shap_explainer(kind: str, final: Any, background: np.ndarray) -> tuple[Any, str | None, str]:
    """shap's TreeExplainer or LinearExplainer of ``final``, the unit of its leaves, its name."""
    import shap  # on use: a pass over models without an artifact never loads it

    if kind == TREE:
        try:
            explainer = shap.TreeExplainer(final)
        except Exception:  # shap raises bare Exception for models it cannot read
            return None, None, "shap cannot read it"
        return explainer, getattr(explainer.model, "tree_output", None), "TreeExplainer"
    return shap.LinearExplainer(final, background), None, "LinearExplainer"


def _additivity_error(explainer: Explainer) -> float:
    """Largest |base + sum(SHAP) - model output| relative to max(1, |output|) on the background."""
    rows = explainer.background.iloc[:_CHECK_ROWS]
    values, base = shap_values(explainer, rows)
    output = explainer.model_output(rows)
    error = np.abs(base + values.sum(axis=1) - output) / np.maximum(1.0, np.abs(output))
    return float(np.max(error, initial=0.0)) if np.isfinite(error).all() else float("inf")


def _build_specific(
    kind: str,
    model: Any,
    final: Any,
    transform: Callable[[pd.DataFrame], np.ndarray],
    groups: np.ndarray,
    schema: ModelSchema,
    common: dict[str, Any],
) -> tuple[Explainer | None, str]:
    """Tree or linear explainer for ``final`` on transformed input, or ``None`` and why not."""
    name = type(final).__name__
    shap_explainer, tree_output, shap_name = _shap_explainer(
        kind, final, transform(common["background"]) if kind == LINEAR else np.empty(0)
    )
    if shap_explainer is None:
        return None, shap_name
    frame_of = _columns_of(common["columns"])
    output, output_fn, sign, class_index = specific_output(
        kind, model, final, frame_of, schema, tree_output
    )
    if output_fn is None:
        return None, f"its output space ({output}) is not one driftwarden can state"
    after = " after the Pipeline's preprocessing" if isinstance(model, Pipeline) else ""
    what = "tree ensemble" if kind == TREE else "linear model"
    variant = "tree_path_dependent" if kind == TREE else "interventional"
    explainer = Explainer(
        method=kind,
        reason=f"{name} is a {what}{after}: exact {shap_name} ({variant}) in {output} space",
        output=output,
        model_output=output_fn,
        shap_explainer=shap_explainer,
        transform=transform,
        groups=groups,
        class_index=class_index,
        sign=sign,
        **{k: v for k, v in common.items() if k != "columns"},
    )
    error = _additivity_error(explainer)
    if error > ADDITIVITY_TOLERANCE:
        return None, f"shap's {shap_name} is not additive for it (relative error {error:.2g})"
    return explainer, ""
