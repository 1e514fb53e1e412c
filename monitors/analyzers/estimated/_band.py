"""Sampling-error band and thresholds from reference chunks of the window's size.

For a window of ``n`` usable rows and a reference of ``N`` labelled rows:

* chunk size ``m = n`` if ``n <= N // min_reference_chunks``, else
  ``m = N // min_reference_chunks``;
* ``k = clip(max_band_rows // m, min_reference_chunks, reference_chunks)`` chunks, each
  a random sample of ``m`` reference rows without replacement (consecutive slices of
  seeded shuffles of the reference, seed ``(config.seed, m)``: the same window size
  always gets the same chunks);
* the realized metric is computed on every chunk; ``mean`` is their mean and
  ``sd(n) = std(ddof=1) / sqrt((N - m) / (N - 1)) * sqrt(m / n)`` — the first factor
  undoes the finite-population shrinkage of sampling without replacement, the second
  is the ``1 / sqrt(n)`` law of a mean (1 when ``m = n``), which the ratio metrics
  (precision, F1, AUC …) follow to first order.

Band: ``estimate ± band_sigmas * sd``; thresholds: ``mean ± threshold_sigmas * sd``
unless fixed in the config; both clipped to the metric's range ([0, 1] for scores,
[0, ∞) for errors). The status is ``breach`` outside the thresholds (either side, as
NannyML alerts), ``insufficient_data`` below ``min_rows`` rows or without a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, finite_or_none
from monitors.analyzers.estimated._config import LOWER_IS_BETTER, EstimatedConfig
from monitors.analyzers.estimated._types import EstimatedMetric

ChunkValues = Callable[[np.ndarray], Mapping[str, np.ndarray]]
"""``(k, m) row indices into the reference -> {metric: realized value per chunk}``."""


@dataclass(frozen=True, slots=True)
class ChunkSpread:
    """Mean and standard deviation (at the window's size) of a metric over reference chunks."""

    mean: float | None
    sd: float | None
    chunk_size: int
    n_chunks: int
    scaled: bool


def chunk_plan(n_reference: int, n: int, config: EstimatedConfig) -> tuple[int, int] | None:
    """``(chunk size, number of chunks)``, or ``None`` if chunks cannot be formed.

    Examples
    --------
    >>> chunk_plan(10_000, 500, EstimatedConfig()), chunk_plan(10_000, 5_000, EstimatedConfig())
    ((500, 100), (1000, 100))
    """
    size = min(n, n_reference // config.min_reference_chunks)
    if n <= 0 or size < 2:
        return None
    k = min(config.reference_chunks, max(config.min_reference_chunks, config.max_band_rows // size))
    return size, k


def chunk_indices(n_reference: int, size: int, k: int, *, seed: int) -> np.ndarray:
    """``(k, size)`` row indices: consecutive slices of seeded shuffles of the reference."""
    rng = np.random.default_rng([seed, size])
    per_shuffle = n_reference // size
    blocks = []
    for _ in range(-(-k // per_shuffle)):
        order = rng.permutation(n_reference)[: per_shuffle * size]
        blocks.append(order.reshape(per_shuffle, size))
    return np.concatenate(blocks)[:k]


def reference_spread(
    values: ChunkValues, n_reference: int, n: int, *, config: EstimatedConfig
) -> dict[str, ChunkSpread]:
    """Spread of each metric over reference chunks for a window of ``n`` rows."""
    plan = chunk_plan(n_reference, n, config)
    if plan is None:
        return {}
    size, k = plan
    idx = chunk_indices(n_reference, size, k, seed=config.seed)
    fpc = math.sqrt((n_reference - size) / (n_reference - 1))
    scale = math.sqrt(size / n) / fpc if fpc > 0 else math.nan
    out = {}
    for metric, raw in values(idx).items():
        finite = raw[np.isfinite(raw)]
        if finite.size < 2:
            out[metric] = ChunkSpread(None, None, size, int(finite.size), size != n)
            continue
        sd = float(np.std(finite, ddof=1)) * scale
        out[metric] = ChunkSpread(float(finite.mean()), sd, size, int(finite.size), size != n)
    return out


def _clip(value: float | None, metric: str) -> float | None:
    if value is None:
        return None
    high = math.inf if metric in LOWER_IS_BETTER else 1.0
    return min(max(value, 0.0), high)


def judge(
    metric: str,
    value: float | None,
    spread: ChunkSpread | None,
    n: int,
    *,
    config: EstimatedConfig,
    details: dict[str, Any],
) -> EstimatedMetric:
    """Attach band, thresholds and status to one estimate."""
    value = finite_or_none(value)
    sd = spread.sd if spread is not None else None
    details = {**details, "band_sigmas": config.band_sigmas}
    if spread is not None:
        details.update(
            reference_chunk_size=spread.chunk_size,
            reference_chunks=spread.n_chunks,
            reference_chunk_mean=spread.mean,
            sd_rescaled=spread.scaled,
        )
    override = config.thresholds.get(metric)
    if override is not None:
        lower, upper = override.lower, override.upper
        details["threshold_source"] = "config"
    elif spread is not None and spread.mean is not None and sd is not None:
        lower = _clip(spread.mean - config.threshold_sigmas * sd, metric)
        upper = _clip(spread.mean + config.threshold_sigmas * sd, metric)
        details["threshold_source"] = f"reference chunks: mean ± {config.threshold_sigmas:g} sd"
    else:
        lower = upper = None
        details["threshold_source"] = "none: too few reference rows for two chunks"
    ci_low = ci_high = None
    if value is not None and sd is not None:
        ci_low = _clip(value - config.band_sigmas * sd, metric)
        ci_high = _clip(value + config.band_sigmas * sd, metric)
    if value is None or n < config.min_rows:
        status = INSUFFICIENT_DATA
        if n < config.min_rows:
            details["min_rows"] = config.min_rows
    elif (lower is not None and value < lower) or (upper is not None and value > upper):
        status = BREACH
    else:
        status = OK
    return EstimatedMetric(metric, value, ci_low, ci_high, sd, lower, upper, status, n, details)
