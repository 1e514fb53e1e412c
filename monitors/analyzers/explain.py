"""SHAP explanations: global importance, per-prediction explanations, attribution drift.

The explainer is chosen by model kind and the choice is stated in every result:

* ``tree`` — :class:`shap.TreeExplainer` (``tree_path_dependent``, exact, no background
  needed) for scikit-learn tree models, also as the last step of a Pipeline whose
  preprocessing can be applied first and keeps input features apart;
* ``linear`` — :class:`shap.LinearExplainer` (interventional, background mean) for linear
  models, also after preprocessing;
* ``kernel`` — :class:`shap.KernelExplainer` on a seeded sampled background for anything
  else (and for scoring functions). With up to 11 features its default budget enumerates
  every coalition, so the values are exact Shapley values for that background; additivity
  is enforced by its constraint. It costs ``nsamples × background_size`` model rows per
  explained row (35-360 ms a row), hence the smaller
  :attr:`ExplainConfig.agnostic_sample_size`. (:class:`shap.PermutationExplainer` was not
  chosen: its numba kernels take 15-35 s to compile in every new process.)

Binary classifiers are explained in log-odds where the explainer allows it (boosted
trees, logistic regression) and in positive-class probability otherwise (bagged trees,
whose leaves hold probabilities, and the model-agnostic explainer, whose log-odds could be
infinite for a step-valued ``predict_proba``). The space is in ``output``.

Attributions of transformed columns (one-hot columns, scaled columns) are summed back to
the input feature they come from, which keeps SHAP additivity.
"""

from __future__ import annotations

from monitors.analyzers._explain_attribution import explain_rows, global_importance
from monitors.analyzers._explain_config import ExplainConfig, ExplainFeatureOverride
from monitors.analyzers._explain_drift import attribution_drift
from monitors.analyzers._explain_explainer import make_explainer
from monitors.analyzers._explain_records import explain_records
from monitors.analyzers._explain_types import (
    ANALYZER,
    KERNEL,
    LINEAR,
    TREE,
    AttributionDrift,
    Explainer,
    ExplainError,
    FeatureAttributionShift,
    GlobalImportance,
    RowExplanation,
    ScoringFunction,
)

__all__ = [
    "ANALYZER",
    "KERNEL",
    "LINEAR",
    "TREE",
    "AttributionDrift",
    "ExplainConfig",
    "ExplainError",
    "ExplainFeatureOverride",
    "Explainer",
    "FeatureAttributionShift",
    "GlobalImportance",
    "RowExplanation",
    "ScoringFunction",
    "attribution_drift",
    "explain_records",
    "explain_rows",
    "global_importance",
    "make_explainer",
]
