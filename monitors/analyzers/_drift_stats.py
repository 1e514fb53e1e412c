"""Two-sample statistics for the drift analyzer, computed from pre-sorted arrays.

The drift analyzer keeps the reference sorted once (:func:`monitors.analyzers.drift.
prepare_reference`) and sorts each window column once. Everything numeric is then derived
from one *merge* of the two sorted arrays:

* the merge is a stable sort of a complex array whose real part is the value and whose
  imaginary part tags the sample (0 = reference, 1 = current). Both halves are already
  sorted, so NumPy's timsort only merges two runs (linear time);
* a cumulative sum of the tags gives, at every distinct value, how many reference and
  current values are ``<=`` it. From those counts come the Kolmogorov–Smirnov statistic
  (as :func:`scipy.stats.ks_2samp`), the Wasserstein-1 distance (as
  :func:`scipy.stats.wasserstein_distance`: the integral of ``|F_ref - F_cur|``) and the
  midrank Anderson–Darling k-sample statistic (as :func:`scipy.stats.anderson_ksamp` with
  ``variant='midrank'``), using the same floating-point expressions as SciPy so that values
  agree to ~1e-15 relative (the test-suite and ``bench/analyze.py`` check 1e-12).

P-values are not re-derived: the KS p-value comes from SciPy (``ks_2samp`` itself when
``max(n, m) <= 10000``, where SciPy's default is the exact distribution, unless the
asymptotic p-value is below 1e-10; otherwise ``scipy.stats.kstwo.sf`` with SciPy's
asymptotic ``en``), and the Anderson–Darling p-value
uses SciPy's interpolation table (Scholz & Stephens 1987), capped to ``[0.001, 0.25]``
exactly as SciPy caps it.

Categorical statistics work on small count vectors and call SciPy directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

FloatArray = NDArray[np.float64]

#: ``ks_2samp(method="auto")`` is exact up to this sample size (SciPy's ``MAX_AUTO_N``).
KS_EXACT_MAX_N = 10_000
#: Asymptotic KS p-values below this are reported as they are (see :func:`ks_pvalue`).
KS_EXACT_BELOW = 1e-10

# Scholz & Stephens (1987), Table 2: interpolation coefficients used by scipy.stats.anderson_ksamp
_AD_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_AD_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_AD_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
_AD_SIG = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


@dataclass(frozen=True, slots=True, eq=False)
class SortedComparison:
    """Statistics of two sorted samples, derived from one merge.

    ``values``/``ref_counts``/``cur_counts`` are filled only when the union has at most
    ``keep_values_up_to`` distinct values (low-cardinality numeric columns).
    """

    n_reference: int
    n_current: int
    n_unique: int
    ks_statistic: float
    wasserstein: float
    ad_statistic: float | None
    ad_p_value: float | None
    values: FloatArray | None
    ref_counts: NDArray[np.int64] | None
    cur_counts: NDArray[np.int64] | None


@lru_cache(maxsize=64)
def _ad_h_g(total: int) -> tuple[float, float]:
    """``h`` and ``g`` of Scholz & Stephens for ``total`` observations (as SciPy computes them)."""
    hs_cs = (1.0 / np.arange(total - 1, 1, -1)).cumsum()
    h = float(hs_cs[-1] + 1)
    g = float((hs_cs / np.arange(2, total)).sum())
    return h, g


def anderson_ksamp_pvalue(a2kn: float, sizes: tuple[int, int]) -> tuple[float, float]:
    """Standardised statistic and interpolated p-value, as :func:`scipy.stats.anderson_ksamp`.

    Parameters
    ----------
    a2kn : float
        The midrank ``A2akN`` sum.
    sizes : tuple of int
        Sample sizes ``(n, m)``.

    Returns
    -------
    tuple of float
        ``(statistic, p_value)``; the p-value is capped to ``[0.001, 0.25]`` like SciPy's.
    """
    k = 2
    n = np.array(sizes)
    total = int(n.sum())
    big_h = (1.0 / n).sum()
    h, g = _ad_h_g(total)
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * big_h
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * big_h + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * total**3 + b * total**2 + c * total + d) / (
        (total - 1.0) * (total - 2.0) * (total - 3.0)
    )
    m = k - 1
    a2 = float((a2kn - m) / math.sqrt(sigmasq))
    critical = _AD_B0 + _AD_B1 / math.sqrt(m) + _AD_B2 / m
    if a2 < critical.min():
        p = float(_AD_SIG.max())
    elif a2 > critical.max():
        p = float(_AD_SIG.min())
    else:
        pf = np.polyfit(critical, np.log(_AD_SIG), 2)
        p = math.exp(np.polyval(pf, a2))
    return a2, p


def ks_pvalue(statistic: float, ref: FloatArray, cur: FloatArray) -> float:
    """Two-sided KS p-value as ``scipy.stats.ks_2samp(ref, cur)`` (default ``method='auto'``).

    SciPy's exact distribution for ``max(n, m) <= 10000`` — except where the asymptotic
    p-value is below :data:`KS_EXACT_BELOW`: there SciPy's exact algorithm takes up to a
    second per column (10,000 vs 5,000 rows, a clear shift) and the asymptotic value, which
    differs by a few percent of a number below 1e-10, is reported instead.
    """
    n1, n2 = ref.size, cur.size
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    asymptotic = float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0, 1))
    if max(n1, n2) <= KS_EXACT_MAX_N and asymptotic >= KS_EXACT_BELOW:
        return float(stats.ks_2samp(ref, cur).pvalue)
    return asymptotic


def _merged_counts(
    ref: FloatArray, cur: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, int]:
    """Merge two sorted samples: distinct values and the counts ``<=`` each of them.

    Returns ``(z, ca, cb, tot, n_unique)``: the distinct values ``z``, the reference and
    current counts ``<= z`` (``side='right'``), the pooled counts ``tot`` (``None`` when
    there are no ties, so every value is its own group) and the number of distinct values.
    """
    n, m = int(ref.size), int(cur.size)
    total = n + m
    merged = np.empty(total, dtype=np.complex128)
    merged.real[:n] = ref
    merged.real[n:] = cur
    merged.imag[:n] = 0.0
    merged.imag[n:] = 1.0
    merged.sort(kind="stable")  # timsort: a linear merge of the two sorted runs
    values: FloatArray = np.ascontiguousarray(merged.real)
    cb: FloatArray = np.cumsum(merged.imag)  # current values <= position
    del merged
    change = values[1:] != values[:-1]
    n_unique = int(np.count_nonzero(change)) + 1
    ties = n_unique != total
    if not ties:  # every position ends its own group: use the arrays as they are
        zstar = values
        ca = np.arange(1, total + 1, dtype=np.float64)  # becomes reference counts below
    else:
        ends = np.flatnonzero(change)
        ends = np.append(ends, total - 1)
        zstar = np.asarray(values[ends], dtype=np.float64)
        cb = np.asarray(cb[ends], dtype=np.float64)
        ca = np.add(ends, 1.0, dtype=np.float64)
        del ends
    del change
    tot: FloatArray | None = ca.copy() if ties else None
    ca -= cb  # reference values <= z (side='right' counts)
    return zstar, ca, cb, tot, n_unique


def _ks_wasserstein(
    zstar: FloatArray, ca: FloatArray, cb: FloatArray, n: int, m: int, n_unique: int
) -> tuple[float, float, FloatArray, FloatArray]:
    """KS statistic and Wasserstein-1 distance, and two scratch buffers for the AD step."""
    # Kolmogorov-Smirnov: exactly scipy's cdf1 - cdf2 at every observed value
    diffs = ca / n
    tmp = cb / m
    diffs -= tmp
    ks_stat = max(float(np.clip(-diffs.min(), 0, 1)), float(diffs.max()))

    # Wasserstein-1: sum |F_ref - F_cur| * (z[k+1] - z[k]) (ties contribute 0 in scipy)
    wass = 0.0
    if n_unique > 1:
        np.abs(diffs, out=diffs)
        deltas = tmp[:-1]
        np.subtract(zstar[1:], zstar[:-1], out=deltas)
        deltas *= diffs[:-1]
        wass = float(np.sum(deltas))
    return ks_stat, wass, diffs, tmp


def _anderson_darling(
    ca: FloatArray, tot: FloatArray | None, n: int, m: int, diffs: FloatArray, tmp: FloatArray
) -> tuple[float, float]:
    """Midrank Anderson–Darling statistic and p-value; ``diffs``/``tmp`` are overwritten.

    scipy's ``_anderson_ksamp_midrank`` with k = 2: the same floating-point expressions in
    the same order, written into reused buffers.
    """
    total = n + m
    mij = np.empty_like(ca)  # f_ref = ca - ca_left, then M = ca - f_ref / 2
    mij[0] = ca[0]
    np.subtract(ca[1:], ca[:-1], out=mij[1:])
    mij *= 0.5
    np.subtract(ca, mij, out=mij)
    lj: FloatArray | float
    if tot is None:
        lj = 1.0
        bj = np.arange(0, total, dtype=np.float64)  # B = left + lj / 2
        bj += 0.5
    else:
        lj = np.diff(tot, prepend=0.0)
        bj = tot - lj
        bj += lj / 2.0
    # N*M_ref - B*n == -(N*M_cur - B*m) exactly (integers and halves), so both samples
    # contribute the same inner terms; they are computed once.
    mij *= total
    np.multiply(bj, n, out=diffs)
    mij -= diffs
    np.square(mij, out=mij)
    mij *= lj / float(total)
    np.subtract(total, bj, out=tmp)
    tmp *= bj
    tmp -= total * lj / 4.0
    mij /= tmp
    s = mij.sum()
    a2kn = 0.0
    a2kn += s / np.int64(n)
    a2kn += s / np.int64(m)
    a2kn *= (total - 1.0) / total
    return anderson_ksamp_pvalue(float(a2kn), (n, m))


def compare_sorted(
    ref: FloatArray, cur: FloatArray, *, keep_values_up_to: int = 0
) -> SortedComparison:
    """KS statistic, Wasserstein-1 and Anderson–Darling of two sorted, finite samples.

    Parameters
    ----------
    ref, cur : ndarray of float64
        Ascending, finite, non-empty samples.
    keep_values_up_to : int
        Also return the distinct values with per-sample counts when the union has at most
        this many distinct values.

    Returns
    -------
    SortedComparison
    """
    n, m = int(ref.size), int(cur.size)
    zstar, ca, cb, tot, n_unique = _merged_counts(ref, cur)
    ks_stat, wass, diffs, tmp = _ks_wasserstein(zstar, ca, cb, n, m, n_unique)
    ad_stat: float | None = None
    ad_p: float | None = None
    if n_unique >= 2:
        ad_stat, ad_p = _anderson_darling(ca, tot, n, m, diffs, tmp)
    del diffs, tmp
    values_out: FloatArray | None = None
    ref_counts: NDArray[np.int64] | None = None
    cur_counts: NDArray[np.int64] | None = None
    if n_unique <= keep_values_up_to:
        values_out = np.array(zstar, dtype=np.float64)
        ref_counts = np.diff(ca, prepend=0.0).astype(np.int64)
        cur_counts = np.diff(cb, prepend=0.0).astype(np.int64)
    return SortedComparison(
        n_reference=n,
        n_current=m,
        n_unique=n_unique,
        ks_statistic=ks_stat,
        wasserstein=wass,
        ad_statistic=ad_stat,
        ad_p_value=ad_p,
        values=values_out,
        ref_counts=ref_counts,
        cur_counts=cur_counts,
    )


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> NDArray[np.int64]:
    """Counts in the bins ``(-inf, e0), [e0, e1), ..., [e_last, inf)`` of a sorted array."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(cuts, prepend=0, append=sorted_values.size).astype(np.int64)


def smoothed(proportions: FloatArray, epsilon: float) -> FloatArray:
    """Proportions with empty cells set to ``epsilon`` (PSI and KL need no zeros)."""
    out = np.array(proportions, dtype=np.float64)
    out[out == 0] = epsilon
    return out


def psi(ref_p: FloatArray, cur_p: FloatArray, epsilon: float) -> float:
    """Population stability index ``sum((cur - ref) * ln(cur / ref))`` with empty bins = epsilon."""
    r = smoothed(ref_p, epsilon)
    c = smoothed(cur_p, epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def kl_divergence(ref_p: FloatArray, cur_p: FloatArray, epsilon: float) -> float:
    """KL(reference || current) in nats, ``scipy.stats.entropy`` on epsilon-smoothed bins."""
    return float(stats.entropy(smoothed(ref_p, epsilon), smoothed(cur_p, epsilon)))


def js_distance(ref_p: FloatArray, cur_p: FloatArray) -> float:
    """Jensen–Shannon distance (natural log), ``scipy.spatial.distance.jensenshannon``."""
    return float(distance.jensenshannon(ref_p, cur_p))


def tv_distance(ref_p: FloatArray, cur_p: FloatArray) -> float:
    """Total variation distance ``0.5 * sum(|ref - cur|)``."""
    return float(0.5 * np.sum(np.abs(np.asarray(ref_p) - np.asarray(cur_p))))


def chi2_goodness_of_fit(
    ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64], epsilon: float
) -> tuple[float, float]:
    """Chi-square of the current counts against the reference proportions (Evidently's test).

    ``scipy.stats.chisquare(f_obs=current, f_exp=p_ref * n_current)``. Categories unseen in
    the reference get the reference proportion ``epsilon`` (then proportions are
    renormalised), so the statistic stays finite. It treats the reference proportions as
    exact, so its false-positive rate exceeds alpha when the reference is not much larger
    than the window. With a single category overall: ``(0.0, 1.0)``.
    """
    if ref_counts.size < 2:
        return 0.0, 1.0
    ref_p = ref_counts / ref_counts.sum()
    if np.any(ref_counts == 0):
        ref_p = smoothed(ref_p, epsilon)
        ref_p = ref_p / ref_p.sum()
    f_exp = ref_p * cur_counts.sum()
    res = stats.chisquare(cur_counts.astype(np.float64), f_exp)
    return float(res.statistic), float(res.pvalue)


def chi2_homogeneity(
    ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> tuple[float, float]:
    """Two-sample chi-square test of homogeneity of the 2 x k table (reference, current).

    ``scipy.stats.chi2_contingency(table, correction=False)``: both samples are random, so
    the false-positive rate is alpha whatever the sizes; categories seen on one side only
    need no smoothing. For two categories it equals the pooled Z-test (``z**2``). With a
    single category overall: ``(0.0, 1.0)``.
    """
    if ref_counts.size < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
    return float(res.statistic), float(res.pvalue)


def fisher_exact_pvalue(ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]) -> float:
    """Two-sided p-value of Fisher's exact test of a 2 x 2 table (``scipy.stats.fisher_exact``).

    Used instead of the chi-square p-value when a table has two cells: there the chi-square
    (= pooled z) approximation flagged 7.5 % of same-distribution windows of 30 rows against a
    100,000-row reference at 5 %; Fisher's test keeps its size at every sample size.
    """
    table = np.vstack([ref_counts, cur_counts]).astype(np.int64)
    return float(stats.fisher_exact(table).pvalue)


def z_test_proportions(
    ref_counts: NDArray[np.int64], cur_counts: NDArray[np.int64]
) -> tuple[float, float]:
    """Pooled two-proportion Z-test on the share of the first category (two-sided).

    ``z = (p_ref - p_cur) / sqrt(P (1 - P) (1/n_ref + 1/n_cur))``, ``p = 2 * norm.sf(|z|)``;
    ``z**2`` equals the uncorrected ``chi2_contingency`` statistic of the 2x2 table.
    """
    n1 = float(ref_counts.sum())
    n2 = float(cur_counts.sum())
    p1 = ref_counts[0] / n1
    p2 = cur_counts[0] / n2
    pooled = (ref_counts[0] + cur_counts[0]) / (n1 + n2)
    var = pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var <= 0:
        return 0.0, 1.0
    z = float((p1 - p2) / math.sqrt(var))
    return z, float(2 * stats.norm.sf(abs(z)))
