"""SHAP exactness: every explainer states its output space and adds up to the model in it.

For each model the expected output is computed here from the model's own public methods
(``predict``, ``log(predict)``, ``decision_function``, ``predict_proba``), not taken from
the explainer, and ``base_value + sum(attributions)`` must equal it to 1e-6.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    SGDClassifier,
    TweedieRegressor,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import (
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)
from sklearn.svm import LinearSVC

from monitors.analyzers._explain_columns import UntraceableError, model_columns, trace
from monitors.analyzers._explain_frames import sample_rows
from monitors.analyzers.explain import (
    OUTPUT_SPACES,
    ExplainConfig,
    ExplainError,
    explain_records,
    explain_rows,
    global_importance,
    make_explainer,
)
from storage.schema import infer_schema

NUMERIC = ["a", "b", "flag"]
ALL = [*NUMERIC, "p"]
CONFIG = ExplainConfig(background_size=100, sample_size=200, agnostic_sample_size=4)
TOLERANCE = 1e-6


def frame(n: int, seed: int, flag_rate: float) -> pd.DataFrame:
    """Rows whose targets depend on a, b, a binary flag and a category p (known truth)."""
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "id": [f"r{seed}-{i}" for i in range(n)],
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "flag": (rng.random(n) < flag_rate).astype(float),
            "p": pd.Series(rng.choice(["x", "y", "z"], n), dtype="str"),
        }
    )
    eta = 0.5 + 0.4 * out["a"] - 0.3 * out["b"] + 1.2 * out["flag"] + 0.3 * (out["p"] == "z")
    mu = np.exp(eta)
    out["count"] = rng.poisson(mu).astype(float)
    out["positive"] = rng.gamma(2.0, mu / 2.0)
    # compound Poisson-gamma: exact zeros and a continuous positive part (Tweedie, 1 < p < 2)
    out["claims"] = np.array([rng.gamma(2.0, 0.5, k).sum() for k in rng.poisson(mu / 2)])
    out["amount"] = 3 * out["a"] - 2 * out["b"] + 4 * out["flag"] + rng.normal(0, 0.5, n)
    logit = out["a"] - 0.5 * out["b"] + 2.5 * out["flag"] + 0.5 * (out["p"] == "z")
    out["default"] = (logit + rng.logistic(size=n) > 0).astype(int)
    return out


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    """Training rows with a 10 % flag, so that every model learns it."""
    return frame(3000, seed=0, flag_rate=0.10)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """Reference rows with a 1 % flag, none of it in the seeded 100-row background."""
    ref = frame(1000, seed=1, flag_rate=0.0)
    background = sample_rows(ref, CONFIG.background_size, CONFIG.seed).index
    outside = ref.index.difference(background)
    flagged = np.random.default_rng(2).choice(outside, size=10, replace=False)
    ref.loc[flagged, "flag"] = 1.0
    return ref


def schema(ref: pd.DataFrame, task: str, target: str, features: list[str]) -> Any:
    return infer_schema(
        ref, task=task, id="id", timestamp="ts", prediction=target, features=features
    )


def log_predict(model: Any, x: pd.DataFrame) -> np.ndarray:
    return np.log(model.predict(x))


def predict(model: Any, x: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(x), dtype=float)


def decision(model: Any, x: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.decision_function(x), dtype=float)


def proba(model: Any, x: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


def one_hot(last: Any, remainder: Any = "passthrough") -> Any:
    pre = make_column_transformer((OneHotEncoder(), ["p"]), remainder=remainder)
    return make_pipeline(pre, last)


BINARY, REGRESSION = "binary_classification", "regression"
Case = tuple[Callable[[], Any], str, str, list[str], str, str, Callable[[Any, pd.DataFrame], Any]]
CASES: dict[str, Case] = {
    # tree
    "hgb_classifier": (
        lambda: HistGradientBoostingClassifier(max_iter=40, random_state=0),
        BINARY, "default", NUMERIC, "tree", "log_odds", decision,
    ),
    "gb_classifier_one_hot": (
        lambda: one_hot(GradientBoostingClassifier(n_estimators=30, random_state=0)),
        BINARY, "default", ALL, "tree", "log_odds", decision,
    ),
    "random_forest_classifier": (
        lambda: RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
        BINARY, "default", NUMERIC, "tree", "probability", proba,
    ),
    "random_forest_regressor": (
        lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
        REGRESSION, "amount", NUMERIC, "tree", "prediction", predict,
    ),
    "gb_regressor_huber": (
        lambda: GradientBoostingRegressor(loss="huber", n_estimators=30, random_state=0),
        REGRESSION, "amount", NUMERIC, "tree", "prediction", predict,
    ),
    "hgb_poisson": (
        lambda: HistGradientBoostingRegressor(loss="poisson", max_iter=40, random_state=0),
        REGRESSION, "count", NUMERIC, "tree", "log", log_predict,
    ),
    "hgb_gamma_one_hot": (
        lambda: one_hot(HistGradientBoostingRegressor(loss="gamma", max_iter=40)),
        REGRESSION, "positive", ALL, "tree", "log", log_predict,
    ),
    # linear
    "scaler_logistic": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        BINARY, "default", NUMERIC, "linear", "log_odds", decision,
    ),
    "one_hot_scaler_logistic": (
        lambda: one_hot(LogisticRegression(), remainder=StandardScaler()),
        BINARY, "default", ALL, "linear", "log_odds", decision,
    ),
    "sgd_log_loss": (
        lambda: make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0)),
        BINARY, "default", NUMERIC, "linear", "log_odds", decision,
    ),
    "sgd_modified_huber": (
        lambda: make_pipeline(
            StandardScaler(), SGDClassifier(loss="modified_huber", random_state=0)
        ),
        BINARY, "default", NUMERIC, "linear", "raw", decision,
    ),
    "linear_svc": (
        lambda: make_pipeline(StandardScaler(), LinearSVC()),
        BINARY, "default", NUMERIC, "linear", "raw", decision,
    ),
    "ridge": (lambda: Ridge(), REGRESSION, "amount", NUMERIC, "linear", "prediction", predict),
    "poisson": (
        lambda: make_pipeline(StandardScaler(), PoissonRegressor()),
        REGRESSION, "count", NUMERIC, "linear", "log", log_predict,
    ),
    "poisson_one_hot": (
        lambda: one_hot(PoissonRegressor(), remainder=StandardScaler()),
        REGRESSION, "count", ALL, "linear", "log", log_predict,
    ),
    "gamma": (
        lambda: GammaRegressor(), REGRESSION, "positive", NUMERIC, "linear", "log", log_predict,
    ),
    "tweedie_log": (
        lambda: TweedieRegressor(power=1.5),
        REGRESSION, "claims", NUMERIC, "linear", "log", log_predict,
    ),
    "tweedie_identity": (
        lambda: TweedieRegressor(power=0),
        REGRESSION, "amount", NUMERIC, "linear", "prediction", predict,
    ),
    # model-agnostic
    "knn_classifier": (
        lambda: one_hot(KNeighborsClassifier(n_neighbors=15), remainder=StandardScaler()),
        BINARY, "default", ALL, "kernel", "probability", proba,
    ),
    "knn_regressor": (
        lambda: make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=15)),
        REGRESSION, "amount", NUMERIC, "kernel", "prediction", predict,
    ),
    "pca_poisson": (
        lambda: make_pipeline(StandardScaler(), PCA(n_components=2), PoissonRegressor()),
        REGRESSION, "count", NUMERIC, "kernel", "prediction", predict,
    ),
    "gb_exponential_loss": (  # shap's TreeExplainer base is off for this loss: kernel
        lambda: GradientBoostingClassifier(loss="exponential", n_estimators=20, random_state=0),
        BINARY, "default", NUMERIC, "kernel", "probability", proba,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def fitted(train) -> dict[str, Any]:
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, (factory, _, target, features, *_) in CASES.items():
            models[name] = factory().fit(train[features], train[target])
    return models


def assert_exact(explainer: Any, rows: pd.DataFrame, expected: np.ndarray) -> list[Any]:
    explained = explain_rows(explainer, rows)
    np.testing.assert_allclose([r.model_output for r in explained], expected, atol=1e-9)
    totals = [r.base_value + sum(r.attributions.values()) for r in explained]
    np.testing.assert_allclose(totals, expected, rtol=0, atol=TOLERANCE)
    assert {r.output for r in explained} == {explainer.output}
    return explained


@pytest.mark.parametrize("name", list(CASES))
def test_base_plus_attributions_equals_the_model_output_in_the_stated_space(
    name, fitted, reference
) -> None:
    _, task, target, features, method, output, output_of = CASES[name]
    model = fitted[name]
    explainer = make_explainer(
        model, reference, schema=schema(reference, task, target, features), config=CONFIG
    )
    assert (explainer.method, explainer.output) == (method, output), explainer.reason
    assert output in OUTPUT_SPACES
    if method != "kernel":
        assert f"in {output} space" in explainer.reason
    flagged = reference[reference["flag"] == 1].head(3)
    rows = pd.concat([reference.head(3), flagged])
    assert_exact(explainer, rows, output_of(model, rows[features]))


def test_log_space_is_the_log_of_the_prediction(fitted, reference) -> None:
    # the example: base + sum was e^-scale (2.95) while labelled a prediction (19.03)
    model = fitted["hgb_poisson"]
    explainer = make_explainer(
        model, reference, schema=schema(reference, REGRESSION, "count", NUMERIC), config=CONFIG
    )
    (row,) = explain_rows(explainer, reference.iloc[:1])
    total = row.base_value + sum(row.attributions.values())
    assert np.exp(total) == pytest.approx(model.predict(reference[NUMERIC].iloc[:1])[0])
    direct = shap.TreeExplainer(model).shap_values(reference[NUMERIC].iloc[:1])
    np.testing.assert_allclose(list(row.attributions.values()), direct[0], atol=1e-12)


@pytest.mark.parametrize(
    "name", ["hgb_classifier", "scaler_logistic", "poisson", "poisson_one_hot", "knn_regressor"]
)
def test_a_flag_constant_in_the_background_keeps_its_attribution(name, fitted, reference) -> None:
    _, task, target, features, _, _, output_of = CASES[name]
    model = fitted[name]
    explainer = make_explainer(
        model, reference, schema=schema(reference, task, target, features), config=CONFIG
    )
    # 1 % prevalence in the reference, all zero in the 100-row background
    assert reference["flag"].mean() == pytest.approx(0.01)
    assert len(explainer.background) == 100 and (explainer.background["flag"] == 0).all()
    flagged = reference[reference["flag"] == 1]
    explained = assert_exact(explainer, flagged, output_of(model, flagged[features]))
    flag = np.array([r.attributions["flag"] for r in explained])
    assert (np.abs(flag) > 0.05).all()
    if explainer.method == "linear":  # flag's own column: coef * (x - background mean)
        transformed = model[:-1].transform(flagged[features])
        names = list(model[:-1].get_feature_names_out())
        column = next(i for i, n in enumerate(names) if n.endswith("flag"))
        background = model[:-1].transform(explainer.background[features])
        direct = shap.LinearExplainer(model[-1], background).shap_values(transformed)
        np.testing.assert_allclose(flag, direct[:, column], atol=1e-12)


def test_every_record_states_the_output_space(fitted, reference) -> None:
    model = fitted["poisson"]
    explainer = make_explainer(
        model, reference, schema=schema(reference, REGRESSION, "count", NUMERIC), config=CONFIG
    )
    importance = global_importance(explainer, reference, config=CONFIG)
    records = explain_records(importance, None)
    assert records and {r.details["output"] for r in records} == {"log"}


def test_a_model_on_some_features_gives_the_others_zero(train, reference) -> None:
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    model.fit(train[["flag", "a"]], train["default"])  # other order, no b
    explainer = make_explainer(
        model, reference, schema=schema(reference, BINARY, "default", NUMERIC), config=CONFIG
    )
    rows = reference[reference["flag"] == 1]
    explained = assert_exact(explainer, rows, decision(model, rows[["flag", "a"]]))
    assert all(r.attributions["b"] == 0.0 for r in explained)
    direct = shap.TreeExplainer(model).shap_values(rows[["flag", "a"]])
    np.testing.assert_allclose([r.attributions["flag"] for r in explained], direct[:, 0])


# -- tracing transformed columns by name --------------------------------------------


def test_trace_column_transformer_with_indicator_and_one_hot(train) -> None:
    numeric = make_pipeline(SimpleImputer(add_indicator=True), StandardScaler())
    data = train[ALL].copy()
    data.loc[data.index[:5], "b"] = np.nan
    pre = make_column_transformer((OneHotEncoder(), ["p"]), (numeric, ["b", "a"])).fit(data)
    owners, names = trace(pre, tuple(ALL))
    assert list(names) == [
        "onehotencoder__p_x",
        "onehotencoder__p_y",
        "onehotencoder__p_z",
        "pipeline__b",
        "pipeline__a",
        "pipeline__missingindicator_b",
    ]
    assert [ALL[o] for o in owners] == ["p", "p", "p", "b", "a", "b"]


def test_trace_non_verbose_names_and_unions(train) -> None:
    pre = make_column_transformer(
        (OneHotEncoder(), ["p"]), remainder="passthrough", verbose_feature_names_out=False
    )
    model = make_pipeline(pre, make_union(StandardScaler(), SplineTransformer(n_knots=3)))
    model.fit(train[ALL])
    owners, names = trace(model, tuple(ALL))
    assert len(owners) == model.transform(train[ALL].head(2)).shape[1] == len(names)
    traced = dict(zip(names, (ALL[o] for o in owners), strict=True))
    assert traced["standardscaler__p_z"] == "p" and traced["standardscaler__a"] == "a"
    assert traced["splinetransformer__flag_sp_0"] == "flag"
    assert traced["splinetransformer__p_x_sp_0"] == "p"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (PCA(n_components=2), "column 'pca0' matches no input column by name"),
        (PolynomialFeatures(), "column '1' matches no input column by name"),
        (Normalizer(), "Normalizer mixes input columns"),
    ],
    ids=["pca", "polynomial", "normalizer"],
)
def test_untraceable_steps(train, step, message) -> None:
    step.fit(train[NUMERIC])
    with pytest.raises(UntraceableError, match=re.escape(message)):
        trace(step, tuple(NUMERIC))


def test_ambiguous_names_are_not_guessed(train) -> None:
    data = train[["a", "b"]].rename(columns={"b": "a_b"})
    spline = SplineTransformer(n_knots=3).fit(data)  # 'a_b_sp_0': a's or a_b's?
    with pytest.raises(UntraceableError, match="matches several input columns by name"):
        trace(spline, ("a", "a_b"))


@pytest.mark.parametrize(
    ("fit_on", "message"),
    [
        (
            lambda t: t[["a", "b", "count"]],
            "Explain: the model was fitted on columns ['count'] that are not schema features; "
            "expected columns among ['a', 'b', 'flag'].",
        ),
        (
            lambda t: t[["a", "b"]].to_numpy(),
            "Explain: the model was fitted on 2 unnamed columns; expected the schema's 3 "
            "features ['a', 'b', 'flag'] in schema order.",
        ),
    ],
    ids=["unknown_column", "unnamed_width"],
)
def test_model_columns_errors(train, fit_on, message) -> None:
    model = Ridge().fit(fit_on(train), train["amount"])
    with pytest.raises(ExplainError, match=re.escape(message)):
        model_columns(model, tuple(NUMERIC))
