"""Tests for monitors.analyzers.explain against shap called directly on the same model."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import shap
from scipy import stats
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from monitors.analyzers.explain import (
    ExplainConfig,
    ExplainError,
    ExplainFeatureOverride,
    attribution_drift,
    explain_records,
    explain_rows,
    global_importance,
    make_explainer,
)
from monitors.errors import ConfigError
from storage.schema import infer_schema

NUMERIC = ["income", "debt_ratio", "age", "tenure"]
ALL = [*NUMERIC, "purpose"]
CFG = ExplainConfig(sample_size=300, background_size=50)
AGNOSTIC = ExplainConfig(agnostic_sample_size=6, background_size=12)


def lending(n: int, seed: int) -> pd.DataFrame:
    """Lending-like rows: the default depends mostly on income and debt ratio."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": [f"r{seed}-{i}" for i in range(n)],
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            "income": rng.normal(50, 15, n),
            "debt_ratio": rng.uniform(0, 1, n),
            "age": rng.normal(40, 10, n),
            "tenure": rng.exponential(5, n),
            "purpose": pd.Series(rng.choice(["car", "home", "study"], n), dtype="str"),
        }
    )
    logit = (
        -0.08 * (frame.income - 50)
        + 3 * (frame.debt_ratio - 0.5)
        + 0.8 * (frame.purpose == "study")
        + rng.normal(0, 0.5, n)
    )
    frame["default"] = (logit > 0).astype(int)
    frame["amount"] = 2 * frame.income + 10 * frame.debt_ratio + rng.normal(0, 1, n)
    return frame


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return lending(800, seed=1)


def binary_schema(frame: pd.DataFrame, features: list[str], positive_class: int | None = None):
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="default",
        features=features,
        positive_class=positive_class,
    )


def regression_schema(frame: pd.DataFrame, features: list[str]):
    return infer_schema(
        frame, task="regression", id="id", timestamp="ts", prediction="amount", features=features
    )


@pytest.fixture(scope="module")
def hgb(reference):
    return HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        reference[NUMERIC], reference["default"]
    )


def assert_additive(explainer, rows: pd.DataFrame, expected_output: np.ndarray) -> None:
    explained = explain_rows(explainer, rows)
    np.testing.assert_allclose([r.model_output for r in explained], expected_output, atol=1e-9)
    totals = [r.base_value + sum(r.attributions.values()) for r in explained]
    np.testing.assert_allclose(totals, expected_output, atol=1e-6)


# -- tree -------------------------------------------------------------------------


def test_tree_hist_gradient_boosting_matches_shap(reference, hgb) -> None:
    schema = binary_schema(reference, NUMERIC)
    explainer = make_explainer(hgb, reference, schema=schema, config=CFG)
    assert (explainer.method, explainer.output) == ("tree", "log_odds")
    assert "TreeExplainer" in explainer.reason

    importance = global_importance(explainer, reference, config=CFG)
    assert importance.n_rows == 300 and importance.n_available == 800
    sample = reference.loc[importance.sample_index, NUMERIC]
    direct = shap.TreeExplainer(hgb)
    expected = direct.shap_values(sample)
    np.testing.assert_allclose(importance.values, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(importance.mean_abs_shap, np.abs(expected).mean(axis=0))
    assert importance.base_value == pytest.approx(float(np.ravel(direct.expected_value)[0]))
    assert_additive(explainer, reference.iloc[:25], hgb.decision_function(reference[NUMERIC][:25]))


def test_tree_random_forest_regressor_matches_shap(reference) -> None:
    model = RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0)
    model.fit(reference[NUMERIC], reference["amount"])
    schema = regression_schema(reference, NUMERIC)
    explainer = make_explainer(model, reference, schema=schema, config=CFG)
    assert (explainer.method, explainer.output) == ("tree", "prediction")

    importance = global_importance(explainer, reference, config=CFG)
    expected = shap.TreeExplainer(model).shap_values(
        reference.loc[importance.sample_index, NUMERIC]
    )
    np.testing.assert_allclose(importance.values, expected, rtol=1e-10, atol=1e-10)
    assert_additive(explainer, reference.iloc[:25], model.predict(reference[NUMERIC][:25]))


def test_negative_positive_class_flips_the_log_odds(reference, hgb) -> None:
    schema = binary_schema(reference, NUMERIC, positive_class=0)
    explainer = make_explainer(hgb, reference, schema=schema, config=CFG)
    rows = reference.iloc[:10]
    expected = shap.TreeExplainer(hgb).shap_values(rows[NUMERIC])
    explained = explain_rows(explainer, rows)
    np.testing.assert_allclose([list(r.attributions.values()) for r in explained], -expected)
    assert_additive(explainer, rows, -hgb.decision_function(rows[NUMERIC]))


def test_tree_after_one_hot_preprocessing_sums_columns_back(reference) -> None:
    pre = make_column_transformer((OneHotEncoder(), ["purpose"]), remainder="passthrough")
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=20, random_state=0))
    model.fit(reference[ALL], reference["default"])
    explainer = make_explainer(model, reference, schema=binary_schema(reference, ALL), config=CFG)
    assert explainer.method == "tree" and "Pipeline" in explainer.reason

    rows = reference.iloc[:30]
    direct = shap.TreeExplainer(model[-1]).shap_values(model[:-1].transform(rows[ALL]))
    # One-hot columns come first, then the numeric columns in order.
    explained = explain_rows(explainer, rows)
    got = np.array([[r.attributions[f] for f in ALL] for r in explained])
    np.testing.assert_allclose(got[:, -1], direct[:, :3].sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(got[:, :4], direct[:, 3:], atol=1e-12)
    assert_additive(explainer, rows, model.decision_function(rows[ALL]))
    assert explained[0].values["purpose"] == rows["purpose"].iloc[0]
    assert explained[0].row == rows.index[0]


# -- linear -----------------------------------------------------------------------


def test_linear_scaler_logistic_pipeline_matches_shap(reference) -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        reference[NUMERIC], reference["default"]
    )
    explainer = make_explainer(
        model, reference, schema=binary_schema(reference, NUMERIC), config=CFG
    )
    assert (explainer.method, explainer.output) == ("linear", "log_odds")
    assert len(explainer.background) == CFG.background_size

    importance = global_importance(explainer, reference, config=CFG)
    direct = shap.LinearExplainer(model[-1], model[:-1].transform(explainer.background))
    expected = direct.shap_values(
        model[:-1].transform(reference.loc[importance.sample_index, NUMERIC])
    )
    np.testing.assert_allclose(importance.values, expected, rtol=1e-9, atol=1e-12)
    assert importance.base_value == pytest.approx(float(np.ravel(direct.expected_value)[0]))
    assert_additive(
        explainer, reference.iloc[:25], model.decision_function(reference[NUMERIC][:25])
    )


def test_linear_with_one_hot_is_additive_per_input_feature(reference) -> None:
    pre = make_column_transformer((OneHotEncoder(), ["purpose"]), remainder=StandardScaler())
    model = make_pipeline(pre, LogisticRegression()).fit(reference[ALL], reference["default"])
    explainer = make_explainer(model, reference, schema=binary_schema(reference, ALL), config=CFG)
    assert explainer.method == "linear"
    assert_additive(explainer, reference.iloc[:25], model.decision_function(reference[ALL][:25]))


# -- model-agnostic ---------------------------------------------------------------


@pytest.fixture(scope="module")
def knn(reference):
    return KNeighborsClassifier(n_neighbors=15).fit(reference[NUMERIC], reference["default"])


def test_agnostic_knn_matches_shap_kernel(reference, knn) -> None:
    explainer = make_explainer(
        knn, reference, schema=binary_schema(reference, NUMERIC), config=AGNOSTIC
    )
    assert (explainer.method, explainer.output) == ("kernel", "probability")
    assert "KNeighborsClassifier is neither a tree nor a linear model" in explainer.reason

    importance = global_importance(explainer, reference, config=AGNOSTIC)
    assert importance.n_rows == AGNOSTIC.agnostic_sample_size
    rows = reference.loc[importance.sample_index, NUMERIC]

    def proba(matrix: np.ndarray) -> np.ndarray:
        return knn.predict_proba(pd.DataFrame(matrix, columns=NUMERIC))[:, 1]

    np.random.seed(AGNOSTIC.seed)
    direct = shap.KernelExplainer(proba, explainer.background.to_numpy(dtype=float))
    expected = direct.shap_values(rows.to_numpy(dtype=float), l1_reg=False, silent=True)
    np.testing.assert_allclose(importance.values, expected, atol=1e-12)
    assert importance.base_value == pytest.approx(float(np.ravel(direct.expected_value)[0]))
    assert_additive(explainer, reference.iloc[:3], knn.predict_proba(reference[NUMERIC][:3])[:, 1])


def test_agnostic_is_deterministic_and_leaves_global_rng_alone(reference, knn) -> None:
    explainer = make_explainer(
        knn, reference, schema=binary_schema(reference, NUMERIC), config=AGNOSTIC
    )
    np.random.seed(123)
    state = np.random.get_state()
    first = global_importance(explainer, reference, config=AGNOSTIC)
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2] == state[2]
    second = global_importance(
        make_explainer(knn, reference, schema=binary_schema(reference, NUMERIC), config=AGNOSTIC),
        reference,
        config=AGNOSTIC,
    )
    np.testing.assert_array_equal(first.values, second.values)
    assert first == second


def test_agnostic_with_categorical_feature_and_mixing_preprocessing(reference) -> None:
    pre = make_column_transformer((OneHotEncoder(), ["purpose"]), remainder=StandardScaler())
    model = make_pipeline(pre, PCA(n_components=3), LogisticRegression())
    model.fit(reference[ALL], reference["default"])
    explainer = make_explainer(
        model, reference, schema=binary_schema(reference, ALL), config=AGNOSTIC
    )
    assert explainer.method == "kernel"
    assert explainer.reason.startswith(
        "LogisticRegression is a linear model but its preprocessing cannot be traced to input "
        "features by name (column 'pca0' matches no input column by name)"
    )
    rows = reference.iloc[:2]
    assert_additive(explainer, rows, model.predict_proba(rows[ALL])[:, 1])
    assert {r.values["purpose"] for r in explain_rows(explainer, rows)} <= {"car", "home", "study"}


def test_scoring_function_is_explained_without_artifact(reference) -> None:
    def score(frame: pd.DataFrame) -> np.ndarray:
        return 0.5 * frame["income"].to_numpy() - 3.0 * frame["debt_ratio"].to_numpy()

    schema = regression_schema(reference, NUMERIC)
    explainer = make_explainer(score, reference, schema=schema, config=AGNOSTIC)
    assert explainer.method == "kernel" and "scoring function" in explainer.reason
    rows = reference.iloc[:3]
    assert_additive(explainer, rows, score(rows))
    # An additive function's exact SHAP values are f_i(x_i) - mean over background.
    explained = explain_rows(explainer, rows)
    expected = 0.5 * (rows["income"] - explainer.background["income"].mean())
    np.testing.assert_allclose([r.attributions["income"] for r in explained], expected)
    assert all(r.attributions["age"] == 0 for r in explained)


# -- attribution drift and records ------------------------------------------------


@pytest.fixture(scope="module")
def drift_case(reference, hgb):
    schema = binary_schema(reference, NUMERIC)
    config = ExplainConfig(sample_size=400)
    explainer = make_explainer(hgb, reference, schema=schema, config=config)
    ref = global_importance(explainer, reference, config=config)
    same = global_importance(explainer, lending(600, seed=2), config=config)
    shifted_frame = lending(600, seed=3)
    shifted_frame["income"] = 50.0  # constant: income no longer explains anything
    shifted = global_importance(explainer, shifted_frame, config=config)
    return config, ref, same, shifted


def test_attribution_drift_ignores_a_window_from_the_same_distribution(drift_case) -> None:
    config, ref, same, _ = drift_case
    drift = attribution_drift(ref, same, config=config)
    assert drift.status == OK and drift.rank_status == OK
    changes = np.array(same.shares) - np.array(ref.shares)
    assert drift.max_abs_change == pytest.approx(np.abs(changes).max())
    assert drift.rank_correlation == pytest.approx(
        stats.spearmanr(ref.mean_abs_shap, same.mean_abs_shap)[0]
    )


def test_attribution_drift_flags_a_feature_whose_importance_vanishes(drift_case) -> None:
    config, ref, _, shifted = drift_case
    drift = attribution_drift(ref, shifted, config=config)
    # tree_path_dependent SHAP still credits a constant feature (it differs from the
    # training expectation), but much less than in the reference.
    assert shifted.mean_abs_shap[0] < ref.mean_abs_shap[0] / 2
    assert drift.status == DRIFT
    income = drift.features[0]
    assert income.feature == "income" and income.status == DRIFT
    assert income.change == pytest.approx(shifted.shares[0] - ref.shares[0])
    assert drift.rank_correlation == pytest.approx(
        stats.spearmanr(ref.mean_abs_shap, shifted.mean_abs_shap)[0]
    )


def test_per_feature_threshold_override(drift_case) -> None:
    config, ref, _, shifted = drift_case
    loose = config.model_copy(
        update={"features": {"income": ExplainFeatureOverride(attribution_drift_threshold=1.0)}}
    )
    drift = attribution_drift(ref, shifted, config=loose)
    assert drift.features[0].threshold == 1.0 and drift.features[0].status == OK


def test_records_names_statuses_and_json(drift_case) -> None:
    config, ref, _, shifted = drift_case
    drift = attribution_drift(ref, shifted, config=config)
    records = explain_records(shifted, drift)
    by_metric: dict[str, list] = {}
    for record in records:
        assert record.analyzer == "explain"
        by_metric.setdefault(record.metric, []).append(record)
        assert record.details["method"] == "tree"
        assert record.details["output"] == "log_odds"
        assert record.details["sample_size"] == shifted.n_rows
        json.dumps(asdict(record), allow_nan=False)
    assert [r.feature for r in by_metric["mean_abs_shap"]] == NUMERIC
    assert [r.value for r in by_metric["mean_abs_shap"]] == list(shifted.mean_abs_shap)
    share = by_metric["attribution_share"][0]
    assert (share.feature, share.status, share.threshold) == ("income", DRIFT, 0.1)
    assert share.details["reference_share"] == ref.shares[0]
    assert share.details["change"] == drift.features[0].change
    (rank,) = by_metric["attribution_rank_correlation"]
    assert rank.feature is None and rank.value == drift.rank_correlation
    assert rank.threshold == config.rank_correlation_threshold
    (overall,) = by_metric["attribution_drift"]
    assert (overall.value, overall.status) == (drift.max_abs_change, DRIFT)
    assert overall.details["drifted_features"] == [
        s.feature for s in drift.features if s.status == DRIFT
    ]


def test_records_without_reference(drift_case) -> None:
    _, ref, _, _ = drift_case
    records = explain_records(ref, None)
    assert {r.metric for r in records} == {"mean_abs_shap", "attribution_share"}
    shares = [r.value for r in records if r.metric == "attribution_share"]
    assert sum(shares) == pytest.approx(1.0)


def test_small_window_is_insufficient_data(reference, hgb, drift_case) -> None:
    config, ref, _, _ = drift_case
    explainer = make_explainer(
        hgb, reference, schema=binary_schema(reference, NUMERIC), config=config
    )
    small = global_importance(explainer, reference.iloc[:5], config=config)
    empty = global_importance(explainer, reference.iloc[:0], config=config)
    assert small.status == INSUFFICIENT_DATA and empty.mean_abs_shap == (None,) * 4
    drift = attribution_drift(ref, small, config=config)
    assert drift.status == INSUFFICIENT_DATA and drift.rank_status == INSUFFICIENT_DATA
    assert {
        r.status for r in explain_records(empty, attribution_drift(ref, empty, config=config))
    } == {INSUFFICIENT_DATA}


# -- errors -----------------------------------------------------------------------


def test_multiclass_is_refused(reference, hgb) -> None:
    frame = reference.assign(default=reference["default"] + (reference["age"] > 50))
    schema = infer_schema(
        frame,
        task="multiclass_classification",
        id="id",
        timestamp="ts",
        prediction="default",
        features=NUMERIC,
    )
    msg = "Explain: multiclass_classification models are not supported yet"
    with pytest.raises(ExplainError, match=re.escape(msg)):
        make_explainer(hgb, frame, schema=schema, config=CFG)


@pytest.mark.parametrize(
    ("frame_of", "msg"),
    [
        (
            lambda f: f.drop(columns=["age"]),
            "Explain: the background lacks feature columns ['age']; expected "
            "['income', 'debt_ratio', 'age', 'tenure'].",
        ),
        (lambda f: f.iloc[:0], "Explain: the background has no rows; expected reference rows."),
    ],
    ids=["missing_column", "empty"],
)
def test_bad_background(reference, hgb, frame_of, msg) -> None:
    with pytest.raises(ExplainError, match=re.escape(msg)):
        make_explainer(
            hgb, frame_of(reference), schema=binary_schema(reference, NUMERIC), config=CFG
        )


def test_unknown_positive_class(reference, hgb) -> None:
    frame = reference.assign(default=reference["default"] + 1)
    schema = binary_schema(frame, NUMERIC)
    msg = "Explain: the schema's positive class 2 is not one of the model's classes [0, 1]."
    with pytest.raises(ExplainError, match=re.escape(msg)):
        make_explainer(hgb, reference, schema=schema, config=CFG)


def test_override_of_unknown_feature_is_a_config_error(drift_case) -> None:
    config, ref, same, _ = drift_case
    bad = config.model_copy(update={"features": {"colour": ExplainFeatureOverride()}})
    msg = "Explain config key 'features.colour': not an explained feature"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        attribution_drift(ref, same, config=bad)


@pytest.mark.parametrize(
    ("key", "value"),
    [("sample_size", 0), ("attribution_drift_threshold", 1.5), ("unknown", 1)],
)
def test_config_validation(key, value) -> None:
    with pytest.raises(ValueError, match=re.escape(key)):
        ExplainConfig(**{key: value})


def test_no_warnings_leak_from_tree_path(reference, hgb) -> None:
    explainer = make_explainer(hgb, reference, schema=binary_schema(reference, NUMERIC), config=CFG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain_rows(explainer, reference.iloc[:3])
