"""Synthetic shadow traffic with a known truth: a baseline and a better candidate.

Every request has a true label ``y`` (P = 0.5), a sensitive ``sex`` and a feature ``x``.
A model with *strength* ``a`` scores ``s = a·y + (1 - a)·U`` (``U`` uniform) and predicts
``s >= 0.5``, so its true accuracy is known in closed form (:func:`accuracy_of`). A
weak group (``weak_group``) can be given its own strength (0: scores at random).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


def accuracy_of(strength: float) -> float:
    """True accuracy of a model of this strength (threshold 0.5, P(y = 1) = 0.5).

    ``y = 1``: right when ``U >= (0.5 - a) / (1 - a)``; ``y = 0``: right when
    ``U < 0.5 / (1 - a)``.

    Examples
    --------
    >>> round(accuracy_of(0.2), 4), accuracy_of(0.0)
    (0.625, 0.5)
    """
    right_pos = 1 - max(0.0, (0.5 - strength) / (1 - strength))
    right_neg = min(1.0, 0.5 / (1 - strength))
    return 0.5 * right_pos + 0.5 * right_neg


def requests(n: int, *, seed: int, start: datetime | None, days: int = 1, prefix: str = "r"):
    """Ids, times, ``x``, ``sex`` and ``y`` of ``n`` requests a day (a reference if no start)."""
    rng = np.random.default_rng(seed)
    total = n * days
    if start is None:
        ts = pd.Timestamp(START - timedelta(days=30)) + pd.to_timedelta(
            np.sort(rng.uniform(0, 30 * 86400, total)), unit="s"
        )
    else:
        seconds = np.repeat(np.arange(days), n) * 86400 + rng.uniform(0, 86399, total)
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(seconds), unit="s")
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i:06d}" for i in range(total)],
            "ts": ts,
            "x": rng.normal(0.0, 1.0, total),
            "sex": pd.Series(rng.choice(["F", "M"], total), dtype="str"),
            "y": rng.integers(0, 2, total),
        }
    )


def scored(
    frame: pd.DataFrame,
    strength: float,
    *,
    seed: int,
    weak_group: str | None = None,
    weak_strength: float = 0.0,
) -> pd.DataFrame:
    """``frame`` with a model's score ``p`` and prediction ``yhat``."""
    rng = np.random.default_rng(seed)
    a = np.full(len(frame), strength)
    if weak_group is not None:
        a[(frame["sex"] == weak_group).to_numpy()] = weak_strength
    p = a * frame["y"].to_numpy() + (1 - a) * rng.random(len(frame))
    out = frame.copy()
    out["p"] = p
    out["yhat"] = (p >= 0.5).astype(int)
    return out


def register_pair(
    url: str,
    *,
    baseline: str = "base",
    candidate: str = "cand",
    config: dict | None = None,
    reference_rows: int = 2000,
) -> None:
    """Register two models with the same schema and their own labelled references."""
    from monitors.collectors import Client

    client = Client(url)
    ref = requests(reference_rows, seed=11, start=None, prefix="ref")
    cheap = config or {
        "drift": {"multivariate": False},
        "fairness": {"n_bootstrap": 0, "intersections": False},
    }
    for name, strength, seed in ((baseline, 0.2, 12), (candidate, 0.35, 13)):
        client.register_model(
            name,
            task="binary_classification",
            reference=scored(ref, strength, seed=seed),
            id="id",
            timestamp="ts",
            prediction="yhat",
            score="p",
            label="y",
            sensitive=["sex"],
            window="1d",
            config=cheap,
        )
