"""Bins of PSI / Jensen–Shannon / KL and the pooling of sparse categories, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial import distance

from monitors.analyzers import _drift_binning as binning
from monitors.analyzers import _drift_stats as dst
from monitors.analyzers.drift import DriftConfig, column_drift, prepare_reference
from storage.schema import ColumnSpec, ModelSchema

EPS = 1e-4


def make_schema(dtype: str) -> ModelSchema:
    cols = (
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
        ColumnSpec(name="x", role="feature", dtype=dtype),
        ColumnSpec(name="y_hat", role="prediction", dtype="float"),
    )
    return ModelSchema(task="regression", columns=cols)


def column(ref: object, cur: object, dtype: str = "float", config: DriftConfig | None = None):
    config = config or DriftConfig()
    schema = make_schema(dtype)
    profile = prepare_reference(pd.DataFrame({"x": ref}), schema=schema, config=config)
    return column_drift(profile, pd.DataFrame({"x": cur}), schema=schema, config=config).column("x")


def by_hand(edges: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shares of ``(-inf, e0), [e0, e1), ..., [e_last, inf)`` and PSI / JS / KL from them."""
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
    rp, cp = r / r.sum(), c / c.sum()
    rs, cs = np.where(rp == 0, EPS, rp), np.where(cp == 0, EPS, cp)
    psi = float(np.sum((cs - rs) * np.log(cs / rs)))
    return rp, cp, np.array([psi, distance.jensenshannon(rp, cp), stats.entropy(rs, cs)])


def check_against_hand(col, edges: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> None:
    details = col.metric("psi").details
    np.testing.assert_array_equal(details["edges"], edges)
    rp, cp, (psi, js, kl) = by_hand(edges, ref, cur)
    np.testing.assert_allclose(details["reference_proportions"], rp, rtol=1e-12)
    np.testing.assert_allclose(details["current_proportions"], cp, rtol=1e-12)
    assert col.metric("psi").value == pytest.approx(psi, rel=1e-12)
    assert col.metric("jensenshannon").value == pytest.approx(js, rel=1e-12)
    assert col.metric("kl").value == pytest.approx(kl, rel=1e-12)


@pytest.mark.parametrize("zero_share", [0.91, 0.95])
def test_zero_inflated_column_keeps_its_bins_and_a_shift_registers(zero_share: float) -> None:
    rng = np.random.default_rng(int(zero_share * 100))
    n = 20_000
    ref = np.where(rng.random(n) < zero_share, 0.0, rng.lognormal(0, 1, n))
    # more customers spend, and spend more
    cur = np.where(rng.random(n) < zero_share - 0.05, 0.0, rng.lognormal(1.0, 1, n))
    # plain quantile bins collapse: every decile of the reference is 0 -> one bin, PSI 0
    assert np.unique(np.quantile(ref, np.linspace(0, 1, 11))[1:-1]).tolist() == [0.0]
    # by hand: 0 is a point mass (>= 5 %): bin (-inf, nextafter(0)); the rest 9 quantile bins
    rest = np.sort(ref[ref != 0])
    edges = np.concatenate(
        [[np.nextafter(0.0, 1.0)], np.quantile(rest, np.linspace(0, 1, 10))[1:-1]]
    )
    col = column(ref, cur)
    assert col.metric("psi").details["point_masses"] == [0.0]
    check_against_hand(col, edges, ref, cur)
    assert col.metric("psi").value > 0.05 and col.metric("jensenshannon").value > 0.05
    assert col.drifted  # KS and Wasserstein see it too
    same = column(ref, np.where(rng.random(n) < zero_share, 0.0, rng.lognormal(0, 1, n)))
    assert same.metric("psi").value < 0.01 and not same.drifted


def test_one_sided_point_mass_at_the_maximum() -> None:
    rng = np.random.default_rng(3)
    n = 10_000
    ref = np.where(rng.random(n) < 0.93, 100.0, rng.uniform(0, 100, n))  # capped at 100
    cur = np.where(rng.random(n) < 0.80, 100.0, rng.uniform(0, 100, n))
    rest = np.sort(ref[ref != 100])
    edges = np.concatenate([np.quantile(rest, np.linspace(0, 1, 10))[1:-1], [100.0]])
    col = column(ref, cur)
    check_against_hand(col, edges, ref, cur)
    assert col.metric("psi").details["reference_proportions"][-1] == pytest.approx(
        np.mean(ref == 100)
    )
    assert col.metric("psi").value > 0.1


def test_integer_counts_get_one_bin_per_frequent_value() -> None:
    counts = [400, 1500, 2200, 2200, 1700, 1000, 500, 300, 150, 50]  # values 0..9, n = 10,000
    ref = np.repeat(np.arange(10.0), counts)
    cur = np.random.default_rng(4).poisson(4, 5_000).astype(float)
    # by hand: point masses (>= 500 = 5 %) are 1..6; the rest (400 zeros, 300 sevens, 150
    # eights, 50 nines) is cut into 10 - 6 = 4 quantile bins, whose inner quantiles of the
    # 900 sorted values are 0 (position 224.75), 7 (449.5) and 7 (674.25). Candidate edges
    # 0, 1, nextafter(1), 2, ..., 6, nextafter(6), 7: 0 cuts nothing off (dropped), and of
    # nextafter(k) and k + 1, which cut at the same place, the higher is kept.
    edges = np.arange(1.0, 8.0)
    col = column(ref, cur)
    assert col.metric("psi").details["point_masses"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    check_against_hand(col, edges, ref, cur)
    assert col.metric("psi").details["reference_counts"] == counts[:7] + [500]


def test_two_distinct_values_give_two_bins() -> None:
    ref = np.zeros(10_000)
    ref[:3] = 1.0  # 0.03 %: not a point mass, yet a second bin
    edges, masses = binning.reference_edges(np.sort(ref), 10, 0.05)
    assert edges.tolist() == [1.0] and masses.tolist() == [0.0]


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hst.integers(2, 400),
        elements=hst.sampled_from([0.0, 1.0, 2.5, -3.0, 7.0]) | hst.floats(-1e3, 1e3),
    ),
    hst.integers(2, 20),
)
def test_reference_bins_never_collapse(values: np.ndarray, n_bins: int) -> None:
    ordered = np.sort(values)
    edges, _ = binning.reference_edges(ordered, n_bins, 0.05)
    counts = dst.bin_counts(ordered, edges)
    if np.unique(ordered).size >= 2:
        assert counts.size >= 2
    assert (counts > 0).all()  # no empty reference bin
    assert counts.sum() == ordered.size


def _ranked(ref: np.ndarray, cur: np.ndarray) -> tuple[list, np.ndarray, np.ndarray]:
    """Categories in the analyzer's order (reference by count then name, unseen after)."""
    rc = pd.Series(ref).value_counts()
    order = sorted(rc.index, key=lambda k: (-rc[k], str(k)))
    cc = pd.Series(cur).value_counts()
    unseen = sorted((k for k in cc.index if k not in rc.index), key=lambda k: (-cc[k], str(k)))
    cats = order + unseen
    r = np.array([rc.get(k, 0) for k in cats])
    c = np.array([cc.get(k, 0) for k in cats])
    return cats, r, c


def test_ten_thousand_level_categorical_pools_its_sparse_levels() -> None:
    rng = np.random.default_rng(10)
    levels = np.array([f"z{i:05d}" for i in range(10_000)])
    ref = levels[rng.integers(0, 10_000, 50_000)]
    cur = levels[rng.integers(0, 10_000, 5_000)]
    col = column(pd.Series(ref, dtype="str"), pd.Series(cur, dtype="str"), dtype="string")
    # by hand: n_eff = 50000 * 5000 / 55000 = 4545 -> 1 + 4545 // 100 = 46 bins: the 45
    # categories with the largest pooled count alone, the rest pooled
    cats, r, c = _ranked(ref, cur)
    # ties of pooled count broken by the category's text, never by either sample's count
    top = np.array(sorted(range(len(cats)), key=lambda i: (-(r[i] + c[i]), cats[i]))[:45])
    rest = np.setdiff1d(np.arange(len(cats)), top)
    rg = np.append(r[top], r[rest].sum())
    cg = np.append(c[top], c[rest].sum())
    details = col.metric("psi").details
    assert details["categories"][:45] == [cats[i] for i in top]
    assert details["categories"][45] == f"(other: {rest.size} categories)"
    assert details["reference_counts"] == rg.tolist() and details["current_counts"] == cg.tolist()
    rp, cp = rg / rg.sum(), cg / cg.sum()
    assert col.metric("jensenshannon").value == pytest.approx(distance.jensenshannon(rp, cp))
    assert col.metric("tvd").value == pytest.approx(0.5 * np.abs(rp - cp).sum())
    # the chi-square runs on these bins, those expected < 5 times in the window (pooled
    # count * 5000 / 55000) merged in order of pooled count until each cell reaches 5
    order = np.argsort(-(rg + cg), kind="stable")
    cells, acc, cell_r, cell_c = [], 0.0, 0, 0
    for i in order:
        acc += (rg[i] + cg[i]) * 5_000 / 55_000
        cell_r, cell_c = cell_r + rg[i], cell_c + cg[i]
        if acc >= 5:
            cells.append((cell_r, cell_c))
            acc, cell_r, cell_c = 0.0, 0, 0
    if cell_r + cell_c:
        last = cells.pop()
        cells.append((last[0] + cell_r, last[1] + cell_c))
    chi = stats.chi2_contingency(np.array(cells).T, correction=False)
    details = col.metric("chi2").details
    assert details["cells_bins"] == len(cells)
    assert details["p_value_bins"] == pytest.approx(chi.pvalue)
    # the other test pools every category by the same rule; the p-value is the smaller, doubled
    assert col.metric("chi2").p_value == pytest.approx(
        min(1.0, 2 * min(details["p_value_bins"], details["p_value_categories"]))
    )
    # same distribution: a small distance and no drift (all 10,000 levels: JS 0.5)
    assert col.metric("jensenshannon").value < 0.05 and not col.drifted
    full = distance.jensenshannon(r / r.sum(), c / c.sum())
    assert full > 0.4


@pytest.mark.parametrize("policy", ["evidently", "significant_effect"])
def test_uniform_500_level_categorical_is_rarely_flagged(policy: str) -> None:
    """Identical uniform 600-level columns: Evidently's full-category JS flags every window."""
    rng = np.random.default_rng(600)
    config = DriftConfig(policy=policy)
    schema = make_schema("string")
    ref = pd.DataFrame({"x": pd.Categorical.from_codes(rng.integers(0, 600, 5_000), range(600))})
    profile = prepare_reference(ref, schema=schema, config=config)
    windows = 100
    flagged = 0
    for codes in rng.integers(0, 600, (windows, 1_000)):
        cur = pd.DataFrame({"x": pd.Categorical.from_codes(codes, range(600))})
        col = column_drift(profile, cur, schema=schema, config=config).column("x")
        flagged += col.drifted
    # a true rate of 5 % gives 5 +- 2.2 of 100 windows; 12 is three standard deviations up
    assert flagged <= 12


def test_chi2_pools_categories_expected_fewer_than_five_times() -> None:
    cats = list("abcdefgh")
    ref = np.repeat(cats, [400, 300, 200, 50, 20, 15, 10, 5])
    cur = np.repeat(cats, [50, 25, 15, 4, 3, 1, 1, 1])
    col = column(pd.Series(ref, dtype="str"), pd.Series(cur, dtype="str"), dtype="string")
    # every category, pooled by Cochran's rule: expected in the window = pooled count * 100 /
    # 1100: a 40.9, b 29.5, c 19.5 alone; d 4.9 + e 2.1 = 7.0 a cell; f + g + h = 3.0 < 5
    # joins it
    fine = stats.chi2_contingency(
        np.array([[400, 300, 200, 100], [50, 25, 15, 10]]), correction=False
    )
    # distance bins: n_eff = 1000 * 100 / 1100 = 91 -> 2 bins, 'a' and the rest; a table of
    # two cells gets Fisher's exact p-value
    two = np.array([[400, 600], [50, 50]])
    coarse_p = stats.fisher_exact(two).pvalue
    coarse_stat = stats.chi2_contingency(two, correction=False).statistic
    details = col.metric("chi2").details
    assert (details["cells_categories"], details["cells_bins"]) == (4, 2)
    assert details["p_value_categories"] == pytest.approx(fine.pvalue)
    assert details["p_value_bins"] == pytest.approx(coarse_p)
    assert col.metric("chi2").p_value == pytest.approx(min(1, 2 * min(fine.pvalue, coarse_p)))
    best = fine.statistic if fine.pvalue <= coarse_p else coarse_stat
    assert col.metric("chi2").value == pytest.approx(best)
    # when both groupings give the same cells there is one test, not doubled
    one = column(
        pd.Series(ref, dtype="str"),
        pd.Series(cur, dtype="str"),
        dtype="string",
        config=DriftConfig(category_bin_rows=1),
    )
    assert one.metric("chi2").details["tests"] == "one"
    assert one.metric("chi2").p_value == pytest.approx(fine.pvalue)


@pytest.mark.parametrize("policy", ["significant_effect", "evidently"])
def test_wasserstein_std_floor_and_constant_columns(policy: str) -> None:
    config = DriftConfig(policy=policy)
    rng = np.random.default_rng(5)
    n = 3_000
    same = column(np.full(n, 7.0), np.full(500, 7.0), config=config)
    assert not same.drifted and same.metric("wasserstein_normed").value == 0.0
    moved = column(np.full(n, 7.0), np.full(500, 8.0), config=config)
    assert moved.drifted
    # constant plus 1e-9 noise: std floored at 0.001, W / 0.001 ~ 1e-6, no drift
    noisy = column(
        7.0 + 1e-9 * rng.normal(size=n), 7.0 + 1e-9 * rng.normal(size=500), config=config
    )
    w = noisy.metric("wasserstein_normed")
    assert w.details["normalised_by"] == 0.001 and w.value < 1e-5
    assert not noisy.drifted or policy == "evidently" and noisy.method == "ks"
    assert column(np.full(n, 7.0), np.linspace(6, 8, 500), config=config).drifted
