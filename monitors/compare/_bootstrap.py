"""The bootstrap, its intervals and the verdicts taken on them.

Resamples are drawn as row counts (``k`` resamples at a time, ``k × n`` bounded so a
window of any size fits in memory), seeded: the same rows and seed give the same
intervals. In shadow mode one count vector weighs both models' rows (a paired
bootstrap of the difference); in split mode each model gets its own (unpaired).

The interval of a difference is the *expanded* percentile interval of the resampled
differences at confidence ``1 - alpha`` (:func:`expanded_alpha`: a little wider in small
samples, where the plain percentile interval covers too rarely); its two-sided p-value
is ``2 × min(P*(Δ ≤ 0), P*(Δ ≥ 0))`` (add-one corrected) put on the same scale, and its
standard error the standard deviation of the resampled differences. The minimum detectable effect is
``(z_{1-α/2} + z_{power}) × se``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from monitors.compare._config import BETTER, INSUFFICIENT, NO_DIFFERENCE, WORSE
from monitors.compare._metrics import Key, Values

BUDGET = 2_000_000
"""Largest ``k × n`` of one block of resample weights (16 MB of float64)."""


def weights(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``(n, k)`` row counts of ``k`` bootstrap resamples of ``n`` rows (one per column)."""
    if n == 0:
        return np.zeros((0, k))
    draws = rng.integers(0, n, size=(k, n)) * k + np.arange(k)[:, None]
    return np.bincount(draws.ravel(), minlength=n * k).reshape(n, k).astype(np.float64)


def blocks(total: int, n: int) -> Iterator[int]:
    """Block sizes adding up to ``total`` with ``size × n <= BUDGET``."""
    size = max(1, min(total, BUDGET // max(n, 1)))
    done = 0
    while done < total:
        yield min(size, total - done)
        done += size


Evaluate = Callable[[np.ndarray], Values]


def bootstrap(
    evaluate_baseline: Evaluate,
    evaluate_candidate: Evaluate,
    *,
    n_baseline: int,
    n_candidate: int,
    paired: bool,
    n_bootstrap: int,
    seed: int,
) -> dict[Key, tuple[np.ndarray, np.ndarray]]:
    """Resampled values of every metric, baseline and candidate (``n_bootstrap`` each)."""
    rng = np.random.default_rng(seed)
    parts: dict[Key, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    # small products: one BLAS thread is faster, and never oversubscribes a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        for k in blocks(n_bootstrap, max(n_baseline, n_candidate) * (1 if paired else 2)):
            wb = weights(rng, n_baseline, k)
            wc = wb if paired else weights(rng, n_candidate, k)
            base, cand = evaluate_baseline(wb), evaluate_candidate(wc)
            for key in base.keys() & cand.keys():
                lists = parts.setdefault(key, ([], []))
                lists[0].append(base[key])
                lists[1].append(cand[key])
    return {key: (np.concatenate(b), np.concatenate(c)) for key, (b, c) in parts.items()}


@dataclass(frozen=True, slots=True)
class Inference:
    """Interval, p-value, standard error and minimum detectable effect of a difference."""

    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    se: float | None
    mde: float | None
    n_valid: int


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def expanded_alpha(alpha: float, n: int) -> float:
    """The percentile level that widens a bootstrap interval for ``n`` rows.

    Hesterberg's *expanded percentile* interval: the percentile bootstrap is too narrow
    in small samples (it uses the plug-in variance and normal tails), so its level is
    taken where ``z = sqrt(n / (n - 1)) · t_{n-1}``.

    Examples
    --------
    >>> round(expanded_alpha(0.05, 30), 4), round(expanded_alpha(0.05, 10_000), 4)
    (0.0375, 0.05)
    """
    if n < 3:
        return alpha
    q = math.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha / 2, n - 1)
    return float(2 * stats.norm.sf(q))


def _p_value(p_boot: float, n: int) -> float:
    """A bootstrap tail probability on the scale of the expanded interval's ``alpha``."""
    if n < 3 or p_boot >= 1.0:
        return min(1.0, p_boot)
    t = stats.norm.isf(p_boot / 2) / math.sqrt(n / (n - 1))
    return float(min(1.0, 2 * stats.t.sf(t, n - 1)))


def infer(deltas: np.ndarray, *, alpha: float, power: float, n: int) -> Inference:
    """Expanded percentile interval, p-value, se and MDE from resampled differences.

    ``n`` is the number of rows behind the difference (the smaller side's). The interval
    excludes 0 exactly when the p-value is below ``alpha``. Fewer than half the
    resamples defined (a metric undefined in most resamples) gives no interval.
    """
    valid = deltas[np.isfinite(deltas)]
    if valid.size < max(2, deltas.size // 2):
        return Inference(None, None, None, None, None, int(valid.size))
    level = expanded_alpha(alpha, n)
    low, high = np.quantile(valid, [level / 2, 1 - level / 2])
    below = (np.count_nonzero(valid <= 0) + 1) / (valid.size + 1)
    above = (np.count_nonzero(valid >= 0) + 1) / (valid.size + 1)
    p_value = _p_value(min(1.0, 2 * min(below, above)), n)
    se = float(valid.std(ddof=1))
    mde = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se
    return Inference(_finite(low), _finite(high), p_value, se, _finite(mde), int(valid.size))


def verdict(
    delta: float | None,
    ci_low: float | None,
    ci_high: float | None,
    *,
    direction: str,
    min_effect: float = 0.0,
) -> str:
    """``candidate_better`` / ``candidate_worse`` when the interval excludes 0 on that side
    (and the difference is at least ``min_effect``), else ``no_difference``."""
    if delta is None or ci_low is None or ci_high is None:
        return INSUFFICIENT
    sign = 1.0 if direction == "higher_is_better" else -1.0
    gain_low, gain_high = sorted((sign * ci_low, sign * ci_high))
    if gain_low > 0 and abs(delta) >= min_effect:
        return BETTER
    if gain_high < 0 and abs(delta) >= min_effect:
        return WORSE
    return NO_DIFFERENCE


def mcnemar(base_correct: np.ndarray, cand_correct: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test on paired correctness: (baseline-only right, candidate-only
    right, two-sided p-value of the binomial test of the discordant pairs)."""
    b = int(np.count_nonzero(base_correct & ~cand_correct))
    c = int(np.count_nonzero(~base_correct & cand_correct))
    if b + c == 0:
        return b, c, 1.0
    return b, c, float(stats.binomtest(c, b + c, 0.5).pvalue)


def wilson(k: int, n: int, alpha: float) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion ``k / n``.

    Examples
    --------
    >>> [round(v, 4) for v in wilson(5, 10, 0.05)]
    [0.2366, 0.7634]
    """
    if n == 0:
        return None, None
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
