"""Do the drift verdicts keep their false-positive rate, and do they find a known shift?

Each case draws windows from the reference's own distribution (every flag is a false
positive) or from a shifted one (every flag is a detection) and runs the analyzer's default
verdict (``column_drift`` with ``DriftConfig()``) on each. With ``W`` windows the observed
rate of a true rate ``p`` has a binomial standard deviation ``sqrt(p (1 - p) / W)``: a
false-positive case fails above ``0.05 + 3 * sqrt(0.05 * 0.95 / W)`` (0.083 for 400
windows), a power case below ``claim - 3 * sqrt(claim * (1 - claim) / W)``. Four reference
samples per case, so that one lucky reference does not decide. The large grid (every kind,
window sizes 30 to 10,000, references of 5,000 and 100,000 rows, Evidently side by side)
is ``bench/calibration.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitors.analyzers.drift import (
    DriftConfig,
    column_drift,
    multivariate_drift,
    prepare_reference,
)
from storage.schema import ColumnSpec, ModelSchema

ALPHA = 0.05
REFERENCES = 4


def bound_above(p: float, windows: int) -> float:
    return p + 3 * math.sqrt(p * (1 - p) / windows)


def bound_below(p: float, windows: int) -> float:
    return p - 3 * math.sqrt(p * (1 - p) / windows)


def one_feature(dtype: str) -> ModelSchema:
    cols = (
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
        ColumnSpec(name="x", role="feature", dtype=dtype),
        ColumnSpec(name="y_hat", role="prediction", dtype="float"),
    )
    return ModelSchema(task="regression", columns=cols)


def zipf(k: int, top_gain: float = 0.0) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1)
    p /= p.sum()
    if top_gain:
        p = np.concatenate([[p[0] + top_gain], p[1:] * (1 - p[0] - top_gain) / (1 - p[0])])
    return p


def draw(kind: str, shape: tuple[int, ...], rng: np.random.Generator, shifted: bool) -> np.ndarray:
    """Values of a column kind (numeric floats or categorical codes); ``shifted`` for power."""
    if kind == "normal":
        return rng.normal(0.5 if shifted else 0.0, 1.0, shape)
    if kind == "heavy_tailed":
        return rng.standard_t(2, shape)
    if kind == "zero_inflated":
        return np.where(rng.random(shape) < 0.92, 0.0, rng.lognormal(0, 1, shape))
    if kind == "binary":
        return (rng.random(shape) < (0.4 if shifted else 0.3)).astype(np.int64)
    p = zipf(int(kind.split("_")[1]), 0.1 if shifted else 0.0)
    return np.minimum(np.searchsorted(np.cumsum(p), rng.random(shape)), p.size - 1)


def frame(kind: str, values: np.ndarray) -> pd.DataFrame:
    if kind in ("normal", "heavy_tailed", "zero_inflated"):
        return pd.DataFrame({"x": values})
    if kind == "binary":
        return pd.DataFrame({"x": values.astype(bool)})
    k = int(kind.split("_")[1])
    return pd.DataFrame({"x": pd.Categorical.from_codes(values, categories=range(k))})


def flag_rate(kind: str, n_ref: int, n_win: int, windows: int, shifted: bool, seed: int) -> float:
    dtype = "string" if kind.startswith("categorical") else "bool" if kind == "binary" else "float"
    schema, config = one_feature(dtype), DriftConfig()
    rng = np.random.default_rng(seed)
    flagged = 0
    for _ in range(REFERENCES):
        ref = frame(kind, draw(kind, (n_ref,), rng, False))
        profile = prepare_reference(ref, schema=schema, config=config)
        for row in draw(kind, (windows // REFERENCES, n_win), rng, shifted):
            col = column_drift(profile, frame(kind, row), schema=schema, config=config).column("x")
            flagged += col.drifted
    return flagged / windows


@pytest.mark.parametrize(
    ("kind", "n_win"),
    [
        ("normal", 60),
        ("heavy_tailed", 60),
        ("zero_inflated", 100),
        ("binary", 300),
        ("categorical_100", 60),
        ("categorical_1000", 300),
    ],
)
def test_false_positive_rate_at_most_alpha(kind: str, n_win: int) -> None:
    windows = 400
    rate = flag_rate(kind, 5_000, n_win, windows, shifted=False, seed=n_win)
    assert rate <= bound_above(ALPHA, windows), rate


@pytest.mark.parametrize(
    ("kind", "n_win", "claim"),
    [("normal", 300, 0.95), ("binary", 1_000, 0.95), ("categorical_10", 1_000, 0.95)],
)
def test_power_on_a_known_shift(kind: str, n_win: int, claim: float) -> None:
    """Half a standard deviation, or 10 points of share moved onto one category."""
    windows = 200
    rate = flag_rate(kind, 5_000, n_win, windows, shifted=True, seed=7)
    assert rate >= bound_below(claim, windows), rate


def test_domain_classifier_false_positive_rate_at_100_rows_per_side() -> None:
    """The old rule (AUC >= 0.55) flagged about 15-23 % of such windows."""
    cols = [
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
        ColumnSpec(name="a", role="feature", dtype="float"),
        ColumnSpec(name="b", role="feature", dtype="float"),
        ColumnSpec(name="c", role="feature", dtype="string"),
        ColumnSpec(name="y_hat", role="prediction", dtype="float"),
    ]
    schema = ModelSchema(task="regression", columns=tuple(cols))
    rng = np.random.default_rng(100)

    def sample(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "a": rng.normal(size=n),
                "b": rng.exponential(size=n),
                "c": pd.Series(rng.choice(list("pqrs"), n), dtype="str"),
            }
        )

    # 20 boosting iterations instead of 50 to keep the test short: under no drift any
    # classifier's held-out AUC is null, so the interval's calibration is what is tested
    config = DriftConfig(multivariate_max_iter=20)
    windows = 100
    flagged = sum(
        multivariate_drift(sample(100), sample(100), schema=schema, config=config).drifted
        for _ in range(windows)
    )
    # nominal one-sided 2.5 % (lower bound of a 95 % interval above 0.5); the bound is
    # three binomial standard deviations above 5 %
    assert flagged / windows <= bound_above(ALPHA, windows), flagged
