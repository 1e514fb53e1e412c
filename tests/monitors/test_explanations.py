"""One prediction explained by id through the SDK, against shap called directly."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from monitors.analyzers.explain import ExplainError
from monitors.collectors import Client
from monitors.explanations import model_explainer


def _frame(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(n)],
            "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="min"),
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            "y": (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int),
        }
    )


@pytest.fixture
def client(database_url: str) -> Client:
    return Client(database_url)


def test_explain_one_prediction_by_id_matches_shap(client: Client) -> None:
    reference = _frame(300, 0, "r")
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        reference[["a", "b", "c"]], reference["y"]
    )
    reference["y_hat"] = model.predict(reference[["a", "b", "c"]])
    client.register_model(
        "lin",
        task="binary_classification",
        reference=reference,
        id="id",
        timestamp="ts",
        prediction="y_hat",
        label="y",
    )
    logged = _frame(50, 1, "p")
    logged["y_hat"] = model.predict(logged[["a", "b", "c"]])
    client.log("lin", logged.drop(columns="y"))
    with pytest.raises(ExplainError, match=re.escape("model 'lin' has no stored artifact")):
        client.explain("lin", "p7")
    client.set_artifact("lin", model)

    explained = client.explain("lin", "p7")

    assert explained is not None
    row = logged.loc[logged["id"] == "p7", ["a", "b", "c"]]
    log_odds = model.decision_function(row)[0]
    assert explained.model_output == pytest.approx(log_odds, rel=1e-6)
    total = explained.base_value + sum(explained.attributions.values())
    assert total == pytest.approx(log_odds, rel=1e-6)
    # the same attributions as shap's LinearExplainer on the scaled features and the same
    # (seeded) background sample of the reference
    background = model_explainer(client.url, "lin").background[["a", "b", "c"]]
    scaler, linear = model[0], model[-1]
    direct = shap.LinearExplainer(linear, scaler.transform(background))(scaler.transform(row))
    direct = direct.values[0]
    assert list(explained.attributions.values()) == pytest.approx(list(direct), rel=1e-9)
    assert client.explain("lin", "no-such-id") is None


def test_explain_states_the_log_space_of_a_poisson_model(client: Client) -> None:
    reference = _frame(300, 2, "r")
    rng = np.random.default_rng(3)
    reference["flag"] = 0.0  # constant in the reference and so in the background
    reference["n"] = rng.poisson(np.exp(0.5 + 0.4 * reference["a"])).astype(float)
    train = _frame(1000, 4, "t")
    train["flag"] = (rng.random(len(train)) < 0.1).astype(float)
    train["n"] = rng.poisson(np.exp(0.5 + 0.4 * train["a"] + train["flag"])).astype(float)
    features = ["a", "b", "c", "flag"]
    model = make_pipeline(StandardScaler(), PoissonRegressor()).fit(train[features], train["n"])
    reference["n_hat"] = model.predict(reference[features])
    client.register_model(
        "claims",
        task="regression",
        reference=reference.drop(columns=["y", "n"]),
        id="id",
        timestamp="ts",
        prediction="n_hat",
    )
    logged = _frame(20, 5, "q").assign(flag=1.0)
    logged["n_hat"] = model.predict(logged[features])
    client.log("claims", logged.drop(columns="y"))
    client.set_artifact("claims", model)

    explained = client.explain("claims", "q3")

    assert explained is not None and explained.output == "log"
    row = logged.loc[logged["id"] == "q3", features]
    log_prediction = float(np.log(model.predict(row))[0])
    assert explained.model_output == pytest.approx(log_prediction, abs=1e-9)
    total = explained.base_value + sum(explained.attributions.values())
    assert total == pytest.approx(log_prediction, abs=1e-6)
    assert explained.attributions["flag"] == pytest.approx(
        model[-1].coef_[3] / model[0].scale_[3], rel=1e-9
    )
