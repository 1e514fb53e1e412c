"""SHAP explanations: global importance, per-prediction explanations, attribution drift.

The explainer is chosen by model kind and the choice is stated in every result:

* ``tree`` — :class:`shap.TreeExplainer` (``tree_path_dependent``, exact, no background
  needed) for scikit-learn tree models, also as the last step of a Pipeline whose
  transformed columns can be traced to one input feature each by name;
* ``linear`` — :class:`shap.LinearExplainer` (interventional, background mean) for linear
  models, also after preprocessing;
* ``kernel`` — :class:`shap.KernelExplainer` on a seeded sampled background for anything
  else (and for scoring functions). With up to 11 features its default budget enumerates
  every coalition, so the values are exact Shapley values for that background; additivity
  is enforced by its constraint. It costs ``nsamples × background_size`` model rows per
  explained row (35-360 ms a row), hence the smaller
  :attr:`ExplainConfig.agnostic_sample_size`. (:class:`shap.PermutationExplainer` was not
  chosen: its numba kernels take 15-35 s to compile in every new process.)

Attributions are stated in an output space (``output``, one of :data:`OUTPUT_SPACES`) in
which ``base_value + sum(attributions)`` equals the model's output, checked on background
rows when a tree or linear explainer is built (a model for which shap's explainer is not
additive gets the model-agnostic one): the tree and linear explainers explain the model's
raw output, so a log-link regressor (Poisson/Gamma/Tweedie GLMs, HistGradientBoosting
with ``loss="poisson"``/``"gamma"``) is explained in ``log`` space, boosted trees and
logistic regression in ``log_odds``, bagged trees in ``probability``, other linear
classifiers in their ``raw`` decision function, identity-link regressors in
``prediction``. The model-agnostic explainer explains the positive-class ``probability``
or the ``prediction``.

Attributions of transformed columns (one-hot columns, scaled columns) are summed back to
the input feature they come from, found from the model's own feature names
(``feature_names_in_``, ``get_feature_names_out`` through Pipelines and
ColumnTransformers), never by perturbing the background: a feature that is constant in
the background still gets its attribution, and sums keep SHAP additivity.
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
    LOG,
    LOG_ODDS,
    OUTPUT_SPACES,
    PREDICTION,
    PROBABILITY,
    RAW,
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
    "LOG",
    "LOG_ODDS",
    "OUTPUT_SPACES",
    "PREDICTION",
    "PROBABILITY",
    "RAW",
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
