"""Tests for monitors.artifacts: skops round trip and the trust allow-list."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skops.io.exceptions import UntrustedTypesFoundException

from monitors.artifacts import ArtifactError, dump_artifact, load_artifact
from monitors.errors import MonitorError


class DoublingTransformer(TransformerMixin, BaseEstimator):
    """A custom class skops does not trust."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2.0


CUSTOM = f"{DoublingTransformer.__module__}.DoublingTransformer"


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


@pytest.mark.parametrize(
    "model",
    [
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
        RandomForestRegressor(n_estimators=5, random_state=0),
        make_pipeline(StandardScaler(), LogisticRegression()),
    ],
    ids=["hgb", "random_forest", "scaler_logreg"],
)
def test_round_trip_predicts_the_same(model, data) -> None:
    X, y = data
    model.fit(X, y)
    loaded = load_artifact(dump_artifact(model))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_hist_gradient_boosting_needs_the_allow_list(data) -> None:
    X, y = data
    blob = dump_artifact(HistGradientBoostingClassifier(max_iter=5).fit(X, y))
    # skops itself does not trust the TreePredictor; the allow-list does.
    assert sio.get_untrusted_types(data=blob) == [
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    ]
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(blob)
    assert load_artifact(blob).n_iter_ == 5


def test_untrusted_custom_type_is_refused_by_name(data) -> None:
    X, y = data
    blob = dump_artifact(make_pipeline(DoublingTransformer(), LogisticRegression()).fit(X, y))
    msg = (
        f"Model artifact: refusing to load untrusted types ['{CUSTOM}']; expected only "
        "scikit-learn/numpy types or types passed in 'trusted'."
    )
    with pytest.raises(ArtifactError, match=re.escape(msg)):
        load_artifact(blob)


def test_custom_type_loads_when_trusted_explicitly(data) -> None:
    X, y = data
    model = make_pipeline(DoublingTransformer(), LogisticRegression()).fit(X, y)
    loaded = load_artifact(dump_artifact(model), trusted=[CUSTOM])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_sklearn_prefixed_name_not_defined_in_sklearn_is_refused(monkeypatch) -> None:
    # A name under "sklearn." that resolves to a re-export of a foreign function is refused.
    monkeypatch.setattr(
        sio, "get_untrusted_types", lambda data: ["sklearn.utils.fixes.np.load", "numpy.dtype"]
    )
    blob = dump_artifact(LogisticRegression())
    msg = "refusing to load untrusted types ['sklearn.utils.fixes.np.load']"
    with pytest.raises(ArtifactError, match=re.escape(msg)):
        load_artifact(blob)


def _zip_without_schema() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("other.txt", "x")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("blob", "msg"),
    [
        (
            b"definitely not a model",
            "Model artifact: expected a skops archive (a zip file written by dump_artifact), "
            "got 22 bytes that cannot be read: File is not a zip file",
        ),
        (b"", "Model artifact: expected a skops archive, got 0 bytes."),
        (
            _zip_without_schema(),
            "Model artifact: expected a skops archive (a zip file written by dump_artifact), got",
        ),
        ("text", "Model artifact: expected bytes, got str."),
    ],
    ids=["garbage", "empty", "zip_without_schema", "not_bytes"],
)
def test_bad_bytes_give_a_clear_error(blob, msg) -> None:
    with pytest.raises(ArtifactError, match=re.escape(msg)) as info:
        load_artifact(blob)
    assert isinstance(info.value, MonitorError)
    assert isinstance(info.value, ValueError)


def test_pickle_bytes_are_not_unpickled() -> None:
    import pickle

    blob = pickle.dumps(LogisticRegression())
    with pytest.raises(ArtifactError, match=re.escape("expected a skops archive")):
        load_artifact(blob)
