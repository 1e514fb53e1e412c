"""The explained rows and columns of a frame: the schema's features, a seeded sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitors.analyzers._explain_types import ExplainError


def sample_rows(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A seeded sample of ``size`` rows (all rows, in order, if there are fewer)."""
    if len(frame) <= size:
        return frame
    positions = np.sort(np.random.default_rng(seed).choice(len(frame), size=size, replace=False))
    return frame.iloc[positions]


def feature_frame(frame: pd.DataFrame, features: tuple[str, ...], what: str) -> pd.DataFrame:
    """The feature columns of ``frame`` in schema order; :class:`ExplainError` if any is missing."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ExplainError(
            f"Explain: {what} lacks feature columns {missing!r}; expected {list(features)!r}."
        )
    return frame.loc[:, list(features)]
