"""Synthetic prediction logs for the summary tests (fixed seeds, known shifts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from storage.schema import ModelSchema, infer_schema

START = pd.Timestamp("2024-03-01", tz="UTC")


def binary_log(
    n: int,
    *,
    seed: int,
    shift: float = 0.0,
    n_numeric: int = 6,
    start: pd.Timestamp = START,
    infinite: bool = True,
) -> pd.DataFrame:
    """A binary classifier's log: numeric features (continuous, integer, point mass,
    low-cardinality, with missing and infinite values), categorical ones, two sensitive
    attributes, score, prediction, label (some missing) and latency.

    ``shift`` moves the first numeric feature by ``shift`` standard deviations, the
    first categorical's shares, and the group ``sex=F``'s selection rate. ``infinite=False``
    leaves out the infinite values (ingest refuses them).
    """
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "id": [f"r{seed}-{i}" for i in range(n)],
        "ts": start + pd.to_timedelta(rng.integers(0, 86_400_000_000, n), unit="us"),
    }
    for j in range(n_numeric):
        kind = j % 6
        if kind == 0:
            col = rng.normal(shift if j == 0 else 0.0, 1.0, n)
        elif kind == 1:
            col = rng.lognormal(0.0, 1.0, n)
        elif kind == 2:
            col = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(2.0, n))  # point mass
        elif kind == 3:
            col = rng.integers(0, 4, n).astype(np.float64)  # low cardinality
        elif kind == 4:
            col = rng.integers(18, 90, n).astype(np.float64)  # integer-valued
        else:
            col = rng.uniform(-5, 5, n)
        if j % 3 == 1:
            col[rng.random(n) < 0.02] = np.nan
        if j == 5:
            col[rng.random(n) < 0.001] = np.inf if infinite else np.nan
        data[f"x{j}"] = col
    p_a = np.clip(np.array([0.5, 0.3, 0.2]) + np.array([-shift, shift / 2, shift / 2]) * 0.2, 0, 1)
    p_a /= p_a.sum()
    data["cat_a"] = rng.choice(["a", "b", "c"], n, p=p_a)
    cat_b = rng.choice([f"k{i}" for i in range(40)], n)
    if shift:
        cat_b[rng.random(n) < 0.01] = "unseen"
    data["cat_b"] = cat_b
    data["flag"] = rng.random(n) < 0.4
    sex = rng.choice(["F", "M"], n, p=[0.45, 0.55])
    age = rng.choice(["18-30", "31-50", "51+"], n).astype(object)
    age[rng.random(n) < 0.01] = None
    data["sex"] = sex
    data["age_band"] = age
    logit = 0.8 * np.nan_to_num(np.asarray(data["x0"]), posinf=0) - 0.2 + rng.normal(0, 1, n)
    logit = logit + np.where(sex == "F", -shift, 0.0)
    score = 1 / (1 + np.exp(-logit))
    data["score"] = score
    data["pred"] = (score >= 0.5).astype(np.int64)
    label = (rng.random(n) < 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))).astype(float)
    label[rng.random(n) < 0.1] = np.nan
    data["label"] = pd.array([None if np.isnan(v) else int(v) for v in label], dtype="Int64")
    data["latency"] = rng.lognormal(3.0, 0.5, n)
    frame = pd.DataFrame(data)
    frame["age_band"] = frame["age_band"].astype("str")
    frame.loc[frame["age_band"] == "None", "age_band"] = None
    frame["sex"] = frame["sex"].astype("str")
    frame["cat_a"] = frame["cat_a"].astype("str")
    frame["cat_b"] = frame["cat_b"].astype("str")
    frame["flag"] = frame["flag"].astype("boolean")
    frame["pred"] = frame["pred"].astype("Int64")
    return frame


def binary_schema(frame: pd.DataFrame) -> ModelSchema:
    """The schema of :func:`binary_log`."""
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex", "age_band"],
        latency_ms="latency",
        positive_class=1,
    )


def regression_log(n: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A regression model's log: two features, one sensitive attribute, label and prediction."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    z = rng.uniform(0, 10, n)
    group = rng.choice(["g1", "g2", "g3"], n)
    y = 3 * x + 0.5 * z + rng.normal(0, 1, n) + 50
    pred = 3 * x + 0.5 * z + 50 + np.where(group == "g1", shift, 0.0)
    label = y.copy()
    label[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "id": [f"q{seed}-{i}" for i in range(n)],
            "ts": START + pd.to_timedelta(rng.integers(0, 86_400_000_000, n), unit="us"),
            "x": x,
            "z": z,
            "group": pd.array(group, dtype="str"),
            "pred": pred,
            "label": label,
        }
    )


def regression_schema(frame: pd.DataFrame) -> ModelSchema:
    """The schema of :func:`regression_log`."""
    return infer_schema(
        frame,
        task="regression",
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
        sensitive=["group"],
    )


def assert_json_close(a: object, b: object, *, rel: float = 1e-9, path: str = "") -> None:
    """Equal JSON trees: integers, text and structure exactly, floats to ``rel``."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            assert_json_close(a[key], b[key], rel=rel, path=f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_json_close(x, y, rel=rel, path=f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, int | float), path
        assert abs(a - b) <= rel * max(abs(a), abs(b), 1e-300), (path, a, b)
    else:
        assert a == b and type(a) is type(b), (path, a, b)
