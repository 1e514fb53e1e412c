"""The simulated columns of ``bench/calibration.py``, shared with its Evidently peer script.

Pure NumPy (it runs in the main venv and in ``bench/.venv-peers``), so that both processes
draw exactly the same references and windows from the same seeds.

Column kinds and the shift used for power:

* ``normal``: N(0, 1); shift +0.5 (half a standard deviation);
* ``heavy_tailed``: Student t with 2 degrees of freedom (infinite variance); shift +0.5 robust
  standard deviations (IQR / 1.349 = 1.2105), i.e. +0.605;
* ``integer_counts``: Poisson(3); shift to Poisson(3 + 0.5 * sqrt(3));
* ``zero_inflated``: 92 % zeros, else lognormal(0, 1); shift +0.5 standard deviations of the
  mixture (0.7574) on every value;
* ``binary``: share of the second category 0.3; shift to 0.4 (10 points);
* ``categorical_10`` / ``_100`` / ``_1000``: Zipf shares (``1 / rank``) over 10, 100, 1,000
  levels; shift: the most frequent level gains 10 points, the others lose in proportion.

Categorical windows are integer codes.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

NUMERIC_KINDS = ("normal", "heavy_tailed", "integer_counts", "zero_inflated")
CATEGORICAL_KINDS = ("binary", "categorical_10", "categorical_100", "categorical_1000")
KINDS = NUMERIC_KINDS + CATEGORICAL_KINDS
REFERENCE_SIZES = (5_000, 100_000)
WINDOW_SIZES = (30, 60, 100, 300, 1_000, 10_000)
HYPOTHESES = ("null", "shift")

_ZI_ZERO = 0.92
_ZI_SD = math.sqrt((1 - _ZI_ZERO) * math.exp(2.0) - ((1 - _ZI_ZERO) * math.exp(0.5)) ** 2)  # 0.7574


def t2_robust_sd() -> float:
    """IQR / 1.349 of Student's t with 2 degrees of freedom (quartiles +-sqrt(2/3))."""
    return 2 * math.sqrt(2 / 3) / 1.349


def levels(kind: str) -> int:
    """Number of categories of a categorical kind."""
    return 2 if kind == "binary" else int(kind.rsplit("_", 1)[1])


def shares(kind: str, shifted: bool) -> np.ndarray:
    """Category shares of a categorical kind, before or after the shift."""
    if kind == "binary":
        p1 = 0.4 if shifted else 0.3
        return np.array([1 - p1, p1])
    k = levels(kind)
    p = 1.0 / np.arange(1, k + 1)
    p /= p.sum()
    if shifted:
        rest = p[1:] * (1 - p[0] - 0.1) / (1 - p[0])
        p = np.concatenate([[p[0] + 0.1], rest])
    return p


def rng_for(*key: object) -> np.random.Generator:
    """A generator seeded by a stable hash of ``key`` (same draws in every process)."""
    seed = zlib.crc32(repr(key).encode())
    return np.random.default_rng(np.random.SeedSequence([seed, 20_241_126]))


def draw(kind: str, shape: tuple[int, ...], rng: np.random.Generator, shifted: bool) -> np.ndarray:
    """Values of one column kind: float64 for numeric kinds, int64 codes for categorical."""
    if kind == "normal":
        return rng.normal(size=shape) + (0.5 if shifted else 0.0)
    if kind == "heavy_tailed":
        return rng.standard_t(2, size=shape) + (0.5 * t2_robust_sd() if shifted else 0.0)
    if kind == "integer_counts":
        lam = 3 + 0.5 * math.sqrt(3) if shifted else 3.0
        return rng.poisson(lam, size=shape).astype(np.float64)
    if kind == "zero_inflated":
        nonzero = rng.random(size=shape) >= _ZI_ZERO
        values = np.where(nonzero, rng.lognormal(0.0, 1.0, size=shape), 0.0)
        return values + (0.5 * _ZI_SD if shifted else 0.0)
    p = shares(kind, shifted)
    return np.searchsorted(np.cumsum(p), rng.random(size=shape) * p.sum(), side="right").clip(
        0, p.size - 1
    )


def reference(kind: str, n_reference: int, replicate: int) -> np.ndarray:
    """Reference sample number ``replicate`` of a cell."""
    return draw(kind, (n_reference,), rng_for("ref", kind, n_reference, replicate), False)


def windows(
    kind: str, n_reference: int, n_window: int, hypothesis: str, replicate: int, count: int
) -> np.ndarray:
    """``count`` windows (rows) of ``n_window`` values drawn for reference ``replicate``."""
    rng = rng_for("win", kind, n_reference, n_window, hypothesis, replicate)
    return draw(kind, (count, n_window), rng, hypothesis == "shift")
