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

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import shap
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats
from sklearn import ensemble, svm, tree
from sklearn.pipeline import Pipeline

from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.errors import ConfigError, MonitorError
from storage.schema import ModelSchema, Task

__all__ = [
    "AttributionDrift",
    "ExplainConfig",
    "ExplainError",
    "ExplainFeatureOverride",
    "Explainer",
    "FeatureAttributionShift",
    "GlobalImportance",
    "RowExplanation",
    "attribution_drift",
    "explain_records",
    "explain_rows",
    "global_importance",
    "make_explainer",
]

ANALYZER: Final = "explain"
TREE: Final = "tree"
LINEAR: Final = "linear"
KERNEL: Final = "kernel"

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

ScoringFunction = Callable[[pd.DataFrame], np.ndarray]


class ExplainError(MonitorError, ValueError):
    """Raised when a model or frame cannot be explained (unsupported task, missing columns)."""


class ExplainFeatureOverride(BaseModel):
    """Per-feature settings of the explain analyzer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribution_drift_threshold: float | None = Field(default=None, gt=0, le=1)
    """Threshold on this feature's |share change|; ``None`` uses the model-wide one."""


class ExplainConfig(BaseModel):
    """Settings of the explain analyzer (all have documented defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_size: int = Field(default=2000, ge=1)
    """Rows explained for global importance with the tree and linear explainers (seeded sample)."""
    agnostic_sample_size: int = Field(default=100, ge=1)
    """Rows explained with the model-agnostic explainer, which costs 35-360 ms a row."""
    background_size: int = Field(default=100, ge=1)
    """Background rows (seeded sample of the reference) for the linear and agnostic explainers."""
    agnostic_nsamples: int | None = Field(default=None, ge=2)
    """Coalitions evaluated per row (each times the background) by the kernel explainer;
    ``None`` is shap's default ``2 * n_features + 2048`` (all coalitions up to 11 features)."""
    seed: int = 0
    """Seed of the row sample, the background sample and the kernel explainer."""
    min_rows: int = Field(default=20, ge=1)
    """Fewer explained rows than this gives ``insufficient_data``."""
    attribution_drift_threshold: float = Field(default=0.1, gt=0, le=1)
    """A feature drifts when |current share - reference share| of total mean |SHAP| exceeds this."""
    rank_correlation_threshold: float = Field(default=0.7, ge=-1, le=1)
    """Attribution ranking drifts when the Spearman correlation of mean |SHAP| falls below this."""
    features: dict[str, ExplainFeatureOverride] = Field(default_factory=dict)
    """Per-feature overrides, keyed by feature name."""


@dataclass(frozen=True, slots=True)
class Explainer:
    """A model wrapped with the SHAP explainer chosen for it (see :func:`make_explainer`)."""

    method: str
    """``tree``, ``linear`` or ``kernel``."""
    reason: str
    """Why this explainer was chosen."""
    output: str
    """Space explained: ``log_odds``, ``probability``, ``margin`` or ``prediction``."""
    features: tuple[str, ...]
    background: pd.DataFrame = field(repr=False, compare=False)
    model_output: ScoringFunction = field(repr=False, compare=False)
    """The model output in the explained space, from the model itself."""
    shap_explainer: Any = field(default=None, repr=False, compare=False)
    transform: Callable[[pd.DataFrame], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    groups: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Input-feature index of each transformed column (-1: depends on none)."""
    class_index: int | None = None
    sign: float = 1.0
    seed: int = 0
    nsamples: int | None = None


@dataclass(frozen=True, slots=True)
class GlobalImportance:
    """Mean |SHAP| per feature on a seeded sample of rows."""

    method: str
    reason: str
    output: str
    features: tuple[str, ...]
    mean_abs_shap: tuple[float | None, ...]
    n_rows: int
    """Rows explained (the sample)."""
    n_available: int
    """Rows in the frame the sample was drawn from."""
    base_value: float | None
    status: str
    """``ok``, or ``insufficient_data`` below ``min_rows`` explained rows."""
    values: np.ndarray = field(repr=False, compare=False)
    """SHAP values, one row per sampled row, one column per feature."""
    sample_index: pd.Index = field(repr=False, compare=False)

    @property
    def shares(self) -> tuple[float | None, ...]:
        """Each feature's share of the total mean |SHAP| (``None`` if the total is 0)."""
        known = [v for v in self.mean_abs_shap if v is not None]
        total = float(sum(known))
        if len(known) != len(self.mean_abs_shap) or total <= 0:
            return tuple(None for _ in self.features)
        return tuple(float(v) / total for v in known)


@dataclass(frozen=True, slots=True)
class RowExplanation:
    """Why the model gave one prediction: ``base_value + sum(attributions) == model_output``."""

    row: Hashable
    method: str
    output: str
    base_value: float
    model_output: float
    attributions: dict[str, float]
    values: dict[str, Any]
    """Feature values of the row (``None`` if missing)."""


@dataclass(frozen=True, slots=True)
class FeatureAttributionShift:
    """Change of one feature's share of total attribution."""

    feature: str
    reference_share: float | None
    current_share: float | None
    change: float | None
    threshold: float
    status: str


@dataclass(frozen=True, slots=True)
class AttributionDrift:
    """How the attribution profile moved between reference and current window."""

    method: str
    output: str
    features: tuple[FeatureAttributionShift, ...]
    max_abs_change: float | None
    threshold: float
    status: str
    rank_correlation: float | None
    rank_correlation_threshold: float
    rank_status: str
    n_reference: int
    n_current: int


# -- explainer construction -------------------------------------------------------


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


def _sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A seeded sample of ``size`` rows (all rows, in order, if there are fewer)."""
    if len(frame) <= size:
        return frame
    positions = np.sort(np.random.default_rng(seed).choice(len(frame), size=size, replace=False))
    return frame.iloc[positions]


def _feature_frame(frame: pd.DataFrame, features: tuple[str, ...], what: str) -> pd.DataFrame:
    """The feature columns of ``frame`` in schema order; :class:`ExplainError` if any is missing."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ExplainError(
            f"Explain: {what} lacks feature columns {missing!r}; expected {list(features)!r}."
        )
    return frame.loc[:, list(features)]


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
    if schema.task is Task.MULTICLASS:
        raise ExplainError(
            "Explain: multiclass_classification models are not supported yet; expected "
            "binary_classification or regression."
        )
    features = tuple(c.name for c in schema.features)
    if not features:
        raise ExplainError("Explain: the schema has no feature columns.")
    background = _feature_frame(background, features, "the background")
    if background.empty:
        raise ExplainError("Explain: the background has no rows; expected reference rows.")
    background = _sample(background, config.background_size, config.seed)

    def frame_of(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, list(features)]

    common: dict[str, Any] = {
        "features": features,
        "background": background,
        "seed": config.seed,
        "nsamples": config.agnostic_nsamples,
    }
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    prefix = model[:-1] if isinstance(model, Pipeline) and len(model.steps) > 1 else None
    fallback = ""
    if isinstance(final, _TREE_MODELS) or _is_linear(final):
        kind = "tree" if isinstance(final, _TREE_MODELS) else "linear"

        def transform(df: pd.DataFrame) -> np.ndarray:
            matrix = frame_of(df) if prefix is None else prefix.transform(frame_of(df))
            return _dense(matrix)

        groups: np.ndarray | None
        try:
            groups = _column_groups(transform, background)
        except (TypeError, ValueError) as exc:  # non-numeric input the model encodes itself
            groups, fallback = None, f"its input is not numeric after preprocessing ({exc})"
        else:
            if groups is None:
                fallback = "its preprocessing mixes input features"
        if groups is not None:
            built = _build_specific(kind, model, final, transform, groups, schema, common)
            if built is not None:
                return built
            fallback = "shap cannot read it"
        fallback = f"{type(final).__name__} is a {kind} model but {fallback}"
    output_fn, output, reason = _agnostic_output(model, frame_of, schema)
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

    def frame_of(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, list(features)]

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


# -- attribution ------------------------------------------------------------------


def _encode(frame: pd.DataFrame, categories: dict[str, pd.Index]) -> np.ndarray:
    """Frame as float codes: numeric columns as is, others as category positions (NaN missing)."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if name in categories:
            codes = categories[name].get_indexer(pd.Index(col))
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _decoder(
    background: pd.DataFrame, categories: dict[str, pd.Index]
) -> Callable[[np.ndarray], pd.DataFrame]:
    """Inverse of :func:`_encode` giving the original column dtypes back."""
    dtypes = background.dtypes

    def decode(matrix: np.ndarray) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for j, name in enumerate(background.columns):
            if name in categories:
                codes = np.nan_to_num(matrix[:, j], nan=-1).astype(np.int64)
                values = pd.Categorical.from_codes(codes, categories=categories[name])
                columns[name] = pd.Series(values).astype(dtypes[name])
            else:
                columns[name] = pd.Series(matrix[:, j]).astype(dtypes[name])
        return pd.DataFrame(columns)

    return decode


def _kernel_values(explainer: Explainer, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Kernel-explainer SHAP values and base values; the global numpy RNG state is restored."""
    background = explainer.background
    both = pd.concat([background, rows])
    categories = {
        name: pd.Index(both[name].dropna().unique())
        for name in both.columns
        if not pd.api.types.is_numeric_dtype(both[name].dtype)
        or pd.api.types.is_bool_dtype(both[name].dtype)
    }
    decode = _decoder(background, categories)

    def f(matrix: np.ndarray) -> np.ndarray:
        return explainer.model_output(decode(matrix))

    state = np.random.get_state()  # KernelExplainer samples from the global numpy RNG
    try:
        np.random.seed(explainer.seed)
        kernel = shap.KernelExplainer(f, _encode(background, categories))
        options: dict[str, Any] = {"l1_reg": False, "silent": True}
        if explainer.nsamples is not None:
            options["nsamples"] = explainer.nsamples
        values = kernel.shap_values(_encode(rows, categories), **options)
        base = float(np.ravel(kernel.expected_value)[0])
    finally:
        np.random.set_state(state)
    return np.asarray(values, dtype=np.float64), np.full(len(rows), base)


def _shap_values(explainer: Explainer, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values per input feature ``(n, p)`` and base value per row ``(n,)``."""
    if rows.empty:
        return np.empty((0, len(explainer.features))), np.empty(0)
    if explainer.method == KERNEL:
        return _kernel_values(explainer, rows)
    assert explainer.transform is not None and explainer.groups is not None
    values = np.asarray(explainer.shap_explainer.shap_values(explainer.transform(rows)))
    expected = np.ravel(np.asarray(explainer.shap_explainer.expected_value, dtype=np.float64))
    if values.ndim == 3:
        index = explainer.class_index if explainer.class_index is not None else values.shape[2] - 1
        values, base = values[:, :, index], expected[index]
    else:
        base = expected[0]
    values = explainer.sign * values
    grouping = np.zeros((values.shape[1], len(explainer.features)))
    owned = explainer.groups >= 0
    grouping[np.flatnonzero(owned), explainer.groups[owned]] = 1.0
    return values @ grouping, np.full(len(rows), explainer.sign * base)


def global_importance(
    explainer: Explainer, frame: pd.DataFrame, *, config: ExplainConfig
) -> GlobalImportance:
    """Mean |SHAP| per feature on a seeded sample of ``frame``.

    Parameters
    ----------
    explainer : Explainer
        From :func:`make_explainer`.
    frame : pandas.DataFrame
        Reference or window rows (extra columns are ignored).
    config : ExplainConfig
        ``sample_size`` (tree, linear) or ``agnostic_sample_size`` (kernel) rows
        are drawn with ``seed``; fewer than ``min_rows`` gives ``insufficient_data``.

    Returns
    -------
    GlobalImportance
    """
    rows = _feature_frame(frame, explainer.features, "the frame")
    size = config.agnostic_sample_size if explainer.method == KERNEL else config.sample_size
    sample = _sample(rows, size, config.seed)
    values, base = _shap_values(explainer, sample)
    mean_abs = (
        np.abs(values).mean(axis=0) if len(sample) else np.full(len(explainer.features), np.nan)
    )
    return GlobalImportance(
        method=explainer.method,
        reason=explainer.reason,
        output=explainer.output,
        features=explainer.features,
        mean_abs_shap=tuple(finite_or_none(v) for v in mean_abs),
        n_rows=len(sample),
        n_available=len(rows),
        base_value=finite_or_none(base[0]) if len(base) else None,
        status=OK if len(sample) >= config.min_rows else INSUFFICIENT_DATA,
        values=values,
        sample_index=sample.index,
    )


def _python(value: Any) -> Any:
    """A JSON-friendly Python scalar (``None`` for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def explain_rows(explainer: Explainer, rows: pd.DataFrame) -> list[RowExplanation]:
    """Explain individual predictions (on demand, e.g. from the dashboard).

    Parameters
    ----------
    explainer : Explainer
        From :func:`make_explainer`.
    rows : pandas.DataFrame
        The rows to explain; every row is explained (no sampling).

    Returns
    -------
    list of RowExplanation
        Base value, attribution and value per feature, and the model output, in the
        explained space; ``base_value + sum(attributions)`` equals ``model_output``.
    """
    frame = _feature_frame(rows, explainer.features, "the rows")
    values, base = _shap_values(explainer, frame)
    outputs = explainer.model_output(frame) if len(frame) else np.empty(0)
    result = []
    for i, (label, record) in enumerate(
        zip(frame.index, frame.itertuples(index=False), strict=True)
    ):
        result.append(
            RowExplanation(
                row=_python(label),
                method=explainer.method,
                output=explainer.output,
                base_value=float(base[i]),
                model_output=float(outputs[i]),
                attributions={f: float(values[i, j]) for j, f in enumerate(explainer.features)},
                values={f: _python(v) for f, v in zip(explainer.features, record, strict=True)},
            )
        )
    return result


# -- attribution drift and records -------------------------------------------------


def attribution_drift(
    reference: GlobalImportance, current: GlobalImportance, *, config: ExplainConfig
) -> AttributionDrift:
    """Compare the attribution profile of a window with the reference.

    Each feature's share of total mean |SHAP| is compared (drift if the absolute change
    exceeds its threshold), and the Spearman rank correlation of the mean |SHAP|
    values (:func:`scipy.stats.spearmanr`) is compared with
    ``rank_correlation_threshold`` (drift if lower).

    Parameters
    ----------
    reference, current : GlobalImportance
        From :func:`global_importance` with the same explainer.
    config : ExplainConfig
        Thresholds, per-feature overrides and ``min_rows``.

    Returns
    -------
    AttributionDrift

    Raises
    ------
    ExplainError
        If the two importances come from different explainers or features.
    ConfigError
        If an override names a feature that is not explained.
    """
    if reference.features != current.features or reference.method != current.method:
        raise ExplainError(
            "Explain: reference and current importance must come from the same explainer; "
            f"got {reference.method} {list(reference.features)!r} and "
            f"{current.method} {list(current.features)!r}."
        )
    unknown = sorted(set(config.features) - set(current.features))
    if unknown:
        raise ConfigError(
            f"Explain config key 'features.{unknown[0]}': not an explained feature; expected one "
            f"of {list(current.features)!r}."
        )
    enough = reference.status == OK and current.status == OK
    ref_shares, cur_shares = reference.shares, current.shares
    shifts = []
    for feature, ref, cur in zip(current.features, ref_shares, cur_shares, strict=True):
        override = config.features.get(feature)
        threshold = config.attribution_drift_threshold
        if override is not None and override.attribution_drift_threshold is not None:
            threshold = override.attribution_drift_threshold
        change = None if ref is None or cur is None else cur - ref
        if change is None or not enough:
            status = INSUFFICIENT_DATA
        else:
            status = DRIFT if abs(change) > threshold else OK
        shifts.append(FeatureAttributionShift(feature, ref, cur, change, threshold, status))
    changes = [abs(s.change) for s in shifts if s.change is not None]
    max_change = max(changes) if changes and len(changes) == len(shifts) else None
    if max_change is None or not enough:
        status = INSUFFICIENT_DATA
    else:
        status = DRIFT if any(s.status == DRIFT for s in shifts) else OK
    rho: float | None = None
    if len(current.features) >= 3 and None not in ref_shares and None not in cur_shares:
        rho = finite_or_none(stats.spearmanr(reference.mean_abs_shap, current.mean_abs_shap)[0])
    if rho is None or not enough:
        rank_status = INSUFFICIENT_DATA
    else:
        rank_status = DRIFT if rho < config.rank_correlation_threshold else OK
    return AttributionDrift(
        method=current.method,
        output=current.output,
        features=tuple(shifts),
        max_abs_change=max_change,
        threshold=config.attribution_drift_threshold,
        status=status,
        rank_correlation=rho,
        rank_correlation_threshold=config.rank_correlation_threshold,
        rank_status=rank_status,
        n_reference=reference.n_rows,
        n_current=current.n_rows,
    )


def explain_records(
    importance: GlobalImportance, drift: AttributionDrift | None
) -> list[MetricRecord]:
    """Flatten a window's importance (and its drift from the reference) into metric records.

    Metrics: ``mean_abs_shap`` and ``attribution_share`` per feature, and with ``drift``
    also ``attribution_rank_correlation`` and ``attribution_drift`` (max |share change|).

    Parameters
    ----------
    importance : GlobalImportance
        The window's importance.
    drift : AttributionDrift or None
        Its comparison with the reference, if there is one.

    Returns
    -------
    list of MetricRecord
    """
    details = {
        "method": importance.method,
        "reason": importance.reason,
        "output": importance.output,
        "sample_size": importance.n_rows,
        "n_available": importance.n_available,
    }
    records = [
        MetricRecord(
            ANALYZER, "mean_abs_shap", feature, None, value, None, importance.status, dict(details)
        )
        for feature, value in zip(importance.features, importance.mean_abs_shap, strict=True)
    ]
    if drift is None:
        for feature, share in zip(importance.features, importance.shares, strict=True):
            status = importance.status if share is not None else INSUFFICIENT_DATA
            extra: dict[str, Any] = {"reference_share": None, "change": None}
            records.append(
                MetricRecord(
                    ANALYZER,
                    "attribution_share",
                    feature,
                    None,
                    share,
                    None,
                    status,
                    {**details, **extra},
                )
            )
        return records
    drift_details = {**details, "reference_sample_size": drift.n_reference}
    for shift in drift.features:
        extra = {"reference_share": shift.reference_share, "change": shift.change}
        records.append(
            MetricRecord(
                ANALYZER,
                "attribution_share",
                shift.feature,
                None,
                shift.current_share,
                shift.threshold,
                shift.status,
                {**drift_details, **extra},
            )
        )
    records.append(
        MetricRecord(
            ANALYZER,
            "attribution_rank_correlation",
            None,
            None,
            drift.rank_correlation,
            drift.rank_correlation_threshold,
            drift.rank_status,
            dict(drift_details),
        )
    )
    worst = max(
        (s for s in drift.features if s.change is not None),
        key=lambda s: abs(s.change or 0.0),
        default=None,
    )
    records.append(
        MetricRecord(
            ANALYZER,
            "attribution_drift",
            None,
            None,
            drift.max_abs_change,
            drift.threshold,
            drift.status,
            {
                **drift_details,
                "feature": worst.feature if worst else None,
                "drifted_features": [s.feature for s in drift.features if s.status == DRIFT],
            },
        )
    )
    return records
