"""Which input feature each column seen by the final estimator comes from, by feature names.

The owner of a transformed column is read from the fitted model's own names — the
estimator's or Pipeline's ``feature_names_in_``, and each transformer's
``get_feature_names_out`` walked through Pipelines, ``ColumnTransformer`` (its
``output_indices_`` and the input columns of each transformer) and ``FeatureUnion`` —
never by perturbing background rows, which cannot see a feature that is constant in the
background (a rare flag) and would drop its attribution.

A leaf transformer's output column belongs to the input whose name it equals, or
``<input>_…`` (one-hot ``purpose_car``, splines ``age_sp_0``), or
``missingindicator_<input>``. A column that matches no input or several (``pca0``,
``a b`` from PolynomialFeatures) cannot be traced, and neither can the outputs of the few
scikit-learn transformers that keep names but mix columns (``Normalizer``,
``KNNImputer``, ``IterativeImputer``): :class:`UntraceableError` says which, and the
model is explained by the model-agnostic explainer instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from monitors.analyzers._explain_types import ExplainError

_MIXING: Final = frozenset({"Normalizer", "KNNImputer", "IterativeImputer"})
"""scikit-learn transformers whose output column of a name depends on other columns too."""
_INDICATOR: Final = "missingindicator_"

Traced = tuple[list[int], tuple[str, ...]]
"""Owner (position in the step's input) of each output column, and the output names."""


class UntraceableError(Exception):
    """Raised when a transformed column cannot be traced to exactly one input feature."""


def model_columns(model: object, features: tuple[str, ...]) -> tuple[str, ...]:
    """The columns the model is called with: its ``feature_names_in_``, else the features.

    Raises
    ------
    ExplainError
        If the model was fitted on a column that is not a schema feature, or (fitted
        without names) on another number of columns than the schema has features.
    """
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and expected != len(features):
            raise ExplainError(
                f"Explain: the model was fitted on {expected} unnamed columns; expected the "
                f"schema's {len(features)} features {list(features)!r} in schema order."
            )
        return features
    columns = tuple(str(n) for n in names)
    unknown = [c for c in columns if c not in features]
    if unknown:
        raise ExplainError(
            f"Explain: the model was fitted on columns {unknown!r} that are not schema "
            f"features; expected columns among {list(features)!r}."
        )
    return columns


def _leaf_owner(output: str, inputs: Sequence[str]) -> int:
    """Position of the one input an output column name comes from."""
    if output in inputs:
        return list(inputs).index(output)
    candidates = [
        i
        for i, name in enumerate(inputs)
        if output.startswith(f"{name}_") or output == f"{_INDICATOR}{name}"
    ]
    if len(candidates) != 1:
        what = "no input column" if not candidates else "several input columns"
        raise UntraceableError(f"column {output!r} matches {what} by name")
    return candidates[0]


def _names_out(step: Any, inputs: tuple[str, ...]) -> tuple[str, ...]:
    """``step.get_feature_names_out(inputs)`` as strings; :class:`UntraceableError` if absent."""
    if not hasattr(step, "get_feature_names_out"):
        raise UntraceableError(f"{type(step).__name__} has no get_feature_names_out")
    try:
        return tuple(str(n) for n in step.get_feature_names_out(np.asarray(inputs, dtype=object)))
    except (AttributeError, TypeError, ValueError) as exc:
        raise UntraceableError(
            f"{type(step).__name__}.get_feature_names_out failed ({exc})"
        ) from exc


def _selected(transformer: ColumnTransformer, name: str) -> list[int]:
    """Input positions a ColumnTransformer hands to its transformer ``name``."""
    by_name = getattr(transformer, "_transformer_to_input_indices", None)  # scikit-learn >= 1.2
    if not isinstance(by_name, dict) or name not in by_name:
        raise UntraceableError(f"the ColumnTransformer's columns of {name!r} are unknown")
    return [int(i) for i in by_name[name]]


def _column_transformer(step: ColumnTransformer, inputs: tuple[str, ...]) -> Traced:
    """Owners of a ColumnTransformer's outputs, transformer by transformer."""
    width = sum(s.stop - s.start for s in step.output_indices_.values())
    owners = [-1] * width
    for name, transformer, _ in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        block = step.output_indices_[name]
        positions = _selected(step, name)
        sub_owners, _ = trace(transformer, tuple(inputs[p] for p in positions))
        if len(sub_owners) != block.stop - block.start:
            raise UntraceableError(f"transformer {name!r} has an unexpected number of columns")
        owners[block] = [positions[o] for o in sub_owners]
    return owners, _names_out(step, inputs)


def trace(step: Any, inputs: tuple[str, ...]) -> Traced:
    """Owner (position in ``inputs``) of each output column of a fitted step, and its names.

    Raises
    ------
    UntraceableError
        If an output column cannot be traced to exactly one input by name.
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return list(range(len(inputs))), inputs
    if isinstance(step, Pipeline):
        owners, names = list(range(len(inputs))), inputs
        for _, sub in step.steps:
            sub_owners, names = trace(sub, names)
            owners = [owners[o] for o in sub_owners]
        return owners, names
    if isinstance(step, ColumnTransformer):
        return _column_transformer(step, inputs)
    if isinstance(step, FeatureUnion):
        owners = []
        for _, sub in step.transformer_list:
            if not (isinstance(sub, str) and sub == "drop"):
                owners += trace(sub, inputs)[0]
        return owners, _names_out(step, inputs)
    if type(step).__name__ in _MIXING:
        raise UntraceableError(f"{type(step).__name__} mixes input columns")
    names = _names_out(step, inputs)
    return [_leaf_owner(n, inputs) for n in names], names
