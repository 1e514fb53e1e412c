"""Tests of the drift analyzer: every statistic against scipy computed directly."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from scipy import stats
from scipy.spatial import distance

from monitors.analyzers import _drift_stats as dst
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from monitors.analyzers.drift import (
    DriftConfig,
    column_drift,
    drift_config,
    drift_records,
    multivariate_drift,
    prepare_reference,
)
from monitors.errors import ConfigError
from storage.schema import ColumnSpec, ModelSchema

REL = 1e-12


def make_schema(features: dict[str, str], *, categorical: tuple[str, ...] = ()) -> ModelSchema:
    cols = [
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
    ]
    cols += [
        ColumnSpec(name=n, role="feature", dtype=d, categorical=n in categorical)
        for n, d in features.items()
    ]
    cols.append(ColumnSpec(name="y_hat", role="prediction", dtype="float"))
    return ModelSchema(task="regression", columns=tuple(cols))


def frame(**columns: object) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    n = len(df)
    df["id"] = pd.Series([str(i) for i in range(n)], dtype="str")
    df["ts"] = pd.Timestamp("2024-01-01", tz="UTC")
    if "y_hat" not in df:
        df["y_hat"] = np.linspace(0.0, 1.0, n)
    return df


def run(
    ref: pd.DataFrame, cur: pd.DataFrame, schema: ModelSchema, config: DriftConfig | None = None
):
    config = config or DriftConfig()
    profile = prepare_reference(ref, schema=schema, config=config)
    return column_drift(profile, cur, schema=schema, config=config)


def close(ours: float | None, theirs: float) -> bool:
    assert ours is not None
    return bool(abs(ours - theirs) <= REL * max(abs(theirs), 1e-300))


# ----------------------------------------------------------------- numeric statistics vs scipy
@pytest.mark.parametrize(
    ("n", "m", "rounding"),
    [(200, 350, None), (1500, 1200, 1), (12_000, 11_000, None), (5000, 5000, 0)],
)
def test_numeric_statistics_equal_scipy(n: int, m: int, rounding: int | None) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(size=n)
    b = rng.normal(0.1, 1.2, size=m)
    if rounding is not None:  # ties inside and across samples
        a, b = np.round(a, rounding), np.round(b, rounding)
    schema = make_schema({"x": "float"})
    config = DriftConfig(discrete_max_unique=1)
    report = run(frame(x=a), frame(x=b), schema, config)
    col = report.column("x")

    ks = stats.ks_2samp(a, b)
    assert close(col.metric("ks").value, ks.statistic)
    assert close(col.metric("ks").p_value, ks.pvalue)
    assert close(
        col.metric("wasserstein_normed").value, stats.wasserstein_distance(a, b) / np.std(a)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # p-value capped/floored
        ad = stats.anderson_ksamp([a, b], variant="midrank")
    assert close(col.metric("anderson_darling").value, ad.statistic)
    assert close(col.metric("anderson_darling").p_value, ad.pvalue)

    # bins: 10 reference quantiles, open outer bins (no value holds 5 % of the reference)
    # or, for integers, one bin per point mass; PSI/JS/KL from numpy/scipy directly
    psi_details = col.metric("psi").details
    edges = np.asarray(psi_details["edges"])
    if rounding in (None, 1):
        assert psi_details["point_masses"] == []
        np.testing.assert_array_equal(edges, np.unique(np.quantile(a, np.linspace(0, 1, 11)))[1:-1])
    else:  # integers -4..4: every value with >= 5 % has its own bin, [k, k + 1)
        values, counts = np.unique(a, return_counts=True)
        assert psi_details["point_masses"] == values[counts >= 0.05 * n].tolist()
        assert set(values[counts >= 0.05 * n]) <= set(edges)
    ref_p = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1) / n
    cur_p = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1) / m
    np.testing.assert_allclose(psi_details["reference_proportions"], ref_p, rtol=REL)
    np.testing.assert_allclose(psi_details["current_proportions"], cur_p, rtol=REL)
    eps = 1e-4
    r, c = np.where(ref_p == 0, eps, ref_p), np.where(cur_p == 0, eps, cur_p)
    assert close(col.metric("psi").value, float(np.sum((c - r) * np.log(c / r))))
    assert close(col.metric("jensenshannon").value, float(distance.jensenshannon(ref_p, cur_p)))
    assert close(col.metric("kl").value, float(stats.entropy(r, c)))


def test_compare_sorted_large_asymptotic_pvalue() -> None:
    rng = np.random.default_rng(7)
    a, b = np.sort(rng.normal(size=30_000)), np.sort(rng.normal(0.01, 1, size=25_000))
    cmp = dst.compare_sorted(a, b)
    ks = stats.ks_2samp(a, b)  # n > 10000: scipy's asymptotic p-value
    assert close(cmp.ks_statistic, ks.statistic)
    assert close(dst.ks_pvalue(cmp.ks_statistic, a, b), ks.pvalue)
    assert close(cmp.wasserstein, stats.wasserstein_distance(a, b))


# ----------------------------------------------------------------- categorical statistics
@pytest.mark.parametrize("variant", ["contingency", "goodness_of_fit"])
def test_categorical_statistics_equal_scipy_and_unseen_categories(variant: str) -> None:
    rng = np.random.default_rng(3)
    ref = rng.choice(["a", "b", "c"], size=800, p=[0.5, 0.3, 0.2])
    cur = np.concatenate([rng.choice(["a", "b", "c"], size=580, p=[0.4, 0.3, 0.3]), ["zz"] * 20])
    schema = make_schema({"c": "string"})
    config = DriftConfig(chi2_variant=variant)
    ref_frame = frame(c=pd.Series(ref, dtype="str"))
    report = run(ref_frame, frame(c=pd.Series(cur, dtype="str")), schema, config)
    col = report.column("c")
    cats = ["a", "b", "c", "zz"]
    rc = np.array([(ref == k).sum() for k in cats])
    cc = np.array([(cur == k).sum() for k in cats])
    eps = 1e-4
    if variant == "contingency":
        chi = stats.chi2_contingency(np.vstack([rc, cc]), correction=False)
    else:
        p_exp = np.where(rc == 0, eps, rc / rc.sum())
        p_exp = p_exp / p_exp.sum()
        chi = stats.chisquare(cc, p_exp * cc.sum())
    assert close(col.metric("chi2").value, chi.statistic)
    assert close(col.metric("chi2").p_value, chi.pvalue)
    assert col.metric("chi2").details["unseen_categories"] == [{"category": "zz", "count": 20}]
    assert col.details["unseen_categories"] == ["zz"]
    rp, cp = rc / rc.sum(), cc / cc.sum()
    assert close(col.metric("jensenshannon").value, float(distance.jensenshannon(rp, cp)))
    assert close(col.metric("tvd").value, float(0.5 * np.abs(rp - cp).sum()))
    r, c = np.where(rp == 0, eps, rp), np.where(cp == 0, eps, cp)
    assert close(col.metric("psi").value, float(np.sum((c - r) * np.log(c / r))))
    with pytest.raises(KeyError):
        col.metric("z_test")  # three or more categories: no z-test
    assert col.method == "chi2" and col.p_metric == "chi2"
    assert col.effect_metric == "jensenshannon"
    assert col.reason.startswith("chi2 and jensenshannon (categorical, 4 categories;")
    old = run(
        ref_frame,
        frame(c=pd.Series(cur, dtype="str")),
        schema,
        config.model_copy(update={"policy": "evidently"}),
    ).column("c")
    assert old.reason.startswith("chi2 (categorical, 4 categories, reference n=800 <= 1000")


def test_z_test_squared_equals_uncorrected_chi2_contingency() -> None:
    rng = np.random.default_rng(5)
    ref = rng.random(700) < 0.3
    cur = rng.random(400) < 0.4
    schema = make_schema({"flag": "bool"})
    evidently = DriftConfig(policy="evidently")
    col = run(frame(flag=ref), frame(flag=cur), schema, evidently).column("flag")
    table = np.array(
        [[(ref == v).sum() for v in (False, True)], [(cur == v).sum() for v in (False, True)]]
    )
    res = stats.chi2_contingency(table, correction=False)
    z = col.metric("z_test")
    assert close(z.value**2, res.statistic)
    assert close(z.p_value, res.pvalue)
    assert col.method == "z_test" and col.kind == "boolean"
    # the default policy's test of a 2 x 2 table: the same statistic, Fisher's exact p-value
    default = run(frame(flag=ref), frame(flag=cur), schema).column("flag")
    assert default.p_metric == "chi2" and close(default.statistic, res.statistic)
    assert close(default.p_value, stats.fisher_exact(table).pvalue)


# ----------------------------------------------------------------- automatic choice
@pytest.mark.parametrize(
    ("kind", "n_ref", "expected"),
    [
        ("numeric", 500, "ks"),
        ("numeric", 1000, "ks"),
        ("numeric", 1001, "wasserstein_normed"),
        ("numeric_discrete3", 500, "chi2"),
        ("numeric_discrete2", 500, "z_test"),
        ("numeric_discrete3", 3000, "jensenshannon"),
        ("categorical", 500, "chi2"),
        ("categorical", 3000, "jensenshannon"),
        ("binary", 500, "z_test"),
        ("binary", 3000, "jensenshannon"),
    ],
)
def test_automatic_choice(kind: str, n_ref: int, expected: str) -> None:
    rng = np.random.default_rng(n_ref)
    if kind == "numeric":
        ref, cur, dtype = rng.normal(size=n_ref), rng.normal(size=300), "float"
    elif kind.startswith("numeric_discrete"):
        k = int(kind[-1])
        ref, cur, dtype = rng.integers(0, k, n_ref) * 1.0, rng.integers(0, k, 300) * 1.0, "float"
    elif kind == "categorical":
        ref = pd.Series(rng.choice(list("abcd"), n_ref), dtype="str")
        cur, dtype = pd.Series(rng.choice(list("abcd"), 300), dtype="str"), "string"
    else:
        ref = pd.Series(rng.choice(["yes", "no"], n_ref), dtype="str")
        cur, dtype = pd.Series(rng.choice(["yes", "no"], 300), dtype="str"), "string"
    config = DriftConfig(policy="evidently")
    col = run(frame(x=ref), frame(x=cur), make_schema({"x": dtype}), config).column("x")
    assert col.method == expected and col.rule == "evidently"
    assert col.reason.startswith(f"{expected} (")
    side = "<=" if n_ref <= 1000 else ">"
    assert f"reference n={n_ref} {side} 1000" in col.reason
    decider = col.metric(expected)
    assert (col.statistic, col.p_value, col.threshold) == (
        decider.value,
        decider.p_value,
        decider.threshold,
    )


def test_every_numeric_result_reports_effect_size_and_p_value() -> None:
    rng = np.random.default_rng(0)
    col = run(
        frame(x=rng.normal(size=2000)), frame(x=rng.normal(size=2000)), make_schema({"x": "float"})
    ).column("x")
    names = [m.metric for m in col.metrics]
    assert names == ["ks", "wasserstein_normed", "psi", "jensenshannon", "kl", "anderson_darling"]
    assert (
        col.metric("ks").p_value is not None and col.metric("wasserstein_normed").value is not None
    )


# ----------------------------------------------------------------- missing values, tiny windows
def test_nans_are_excluded_and_counted() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=600), rng.normal(0.3, 1, size=500)
    b_nan = b.copy()
    b_nan[::10] = np.nan
    b_nan[1] = np.inf
    schema = make_schema({"x": "float", "c": "string"})
    cats_ref = pd.Series(rng.choice(list("ab"), 600), dtype="str")
    cats_cur = pd.Series(rng.choice(list("ab"), 500), dtype="str")
    cats_cur[::5] = None
    report = run(frame(x=a, c=cats_ref), frame(x=b_nan, c=cats_cur), schema)
    col = report.column("x")
    kept = b_nan[np.isfinite(b_nan)]
    assert close(col.metric("ks").value, stats.ks_2samp(a, kept).statistic)
    assert (col.n_current, col.n_missing_current, col.details["n_infinite_current"]) == (449, 50, 1)
    cat = report.column("c")
    assert (cat.n_current, cat.n_missing_current) == (400, 100)
    rec = next(
        r for r in drift_records(report) if r.metric == "drift_detected" and r.feature == "x"
    )
    assert rec.details["n_missing_current"] == 50


@pytest.mark.parametrize("n_current", [0, 1, 29])
def test_empty_or_tiny_window_is_insufficient_data(n_current: int) -> None:
    rng = np.random.default_rng(2)
    schema = make_schema({"x": "float", "c": "string"})
    ref = frame(x=rng.normal(size=500), c=pd.Series(rng.choice(list("ab"), 500), dtype="str"))
    cur = ref.iloc[:n_current]
    report = run(ref, cur, schema)
    assert {c.status for c in report.columns} == {INSUFFICIENT_DATA}
    assert report.dataset_status == INSUFFICIENT_DATA and report.dataset_share is None
    records = drift_records(report)
    assert {r.status for r in records} == {INSUFFICIENT_DATA}
    json.dumps([r.details for r in records], allow_nan=False)


def test_missing_column_in_window_is_insufficient_data() -> None:
    rng = np.random.default_rng(2)
    schema = make_schema({"x": "float", "z": "float"})
    ref = frame(x=rng.normal(size=500), z=rng.normal(size=500))
    col = run(ref, ref.drop(columns=["z"]), schema).column("z")
    assert col.status == INSUFFICIENT_DATA and "absent from the window" in col.reason


# ----------------------------------------------------------------- config
def test_per_feature_override_changes_method_and_threshold() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=3000), rng.normal(0.05, 1, size=3000)
    schema = make_schema({"x": "float", "w": "float"})
    evidently = DriftConfig(policy="evidently")
    base = run(frame(x=ref, w=ref), frame(x=cur, w=cur), schema, evidently)
    assert base.column("x").method == "wasserstein_normed"
    config = drift_config(
        {
            "policy": "evidently",
            "features": {
                "x": {"method": "psi", "threshold": 0.0001},
                "w": {"thresholds": {"wasserstein_normed": 0.01}},
            },
        }
    )
    over = run(frame(x=ref, w=ref), frame(x=cur, w=cur), schema, config)
    x, w = over.column("x"), over.column("w")
    assert x.method == "psi" and x.threshold == 0.0001 and x.drifted and x.rule == "method"
    assert "features['x'].method" in x.reason
    assert w.method == "wasserstein_normed" and w.threshold == 0.01
    assert w.drifted and not base.column("w").drifted
    assert over.column("y_hat").threshold == 0.1  # others keep the defaults


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"n_bin": 10}, "drift config key 'n_bin': Extra inputs are not permitted; got 10"),
        (
            {"thresholds": {"ks": 1.5}},
            "drift config key 'thresholds.ks': Input should be less than 1; got 1.5",
        ),
        (
            {"features": {"age": {"method": "foo"}}},
            "drift config key 'features.age.method': Input should be 'ks', 'wasserstein_normed'",
        ),
        (
            {"features": {"age": {"thresholds": {"chi2": 2.0}}}},
            "drift config key 'features.age': Value error, threshold for 'chi2' must be in (0, 1)",
        ),
        (
            {"dataset_drift_share": 0},
            "drift config key 'dataset_drift_share': Input should be greater than 0",
        ),
    ],
)
def test_bad_config_raises_config_error_naming_the_key(mapping: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        drift_config(mapping)
    with pytest.raises(pydantic.ValidationError, match=re.escape(message.split("'")[1])):
        DriftConfig.model_validate(mapping)


# ----------------------------------------------------------------- dataset drift and records
def test_dataset_drift_share_and_records_are_json() -> None:
    rng = np.random.default_rng(9)
    n = 2000
    ref = frame(
        a=rng.normal(size=n),
        b=rng.normal(size=n),
        c=pd.Series(rng.choice(list("xyz"), n), dtype="str"),
    )
    cur = frame(
        a=rng.normal(1, 1, size=n),
        b=rng.normal(size=n),
        c=pd.Series(rng.choice(list("xyz"), n, p=[0.8, 0.1, 0.1]), dtype="str"),
    )
    schema = make_schema({"a": "float", "b": "float", "c": "string"})
    report = run(ref, cur, schema)
    assert report.drifted_columns == ("a", "c")
    assert report.counted_columns == ("a", "b", "c")  # features only, not y_hat
    assert report.dataset_share == pytest.approx(2 / 3) and report.dataset_status == DRIFT
    records = drift_records(report)
    json.dumps([r.details for r in records], allow_nan=False)
    share = next(r for r in records if r.metric == "dataset_drift_share")
    assert share.feature is None and share.details["drifted_columns"] == ["a", "c"]
    det = next(r for r in records if r.metric == "drift_detected" and r.feature == "b")
    assert det.value == 0.0 and det.status == OK
    assert set(det.details) >= {
        "method",
        "reason",
        "statistic",
        "p_value",
        "threshold",
        "n_reference",
        "n_current",
        "n_missing_current",
    }
    by_feature = {(r.metric, r.feature) for r in records}
    for metric in ("ks", "wasserstein_normed", "psi", "jensenshannon", "kl", "anderson_darling"):
        assert (metric, "a") in by_feature
    for metric in ("chi2", "psi", "jensenshannon", "tvd"):
        assert (metric, "c") in by_feature
    psi = next(r for r in records if r.metric == "psi" and r.feature == "a")
    assert len(psi.details["edges"]) + 1 == len(psi.details["reference_proportions"])


def test_multivariate_drift_detects_joint_shift_and_records() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    x = rng.normal(size=n)
    ref = frame(
        a=x, b=x + rng.normal(0, 0.1, n), c=pd.Series(rng.choice(list("pq"), n), dtype="str")
    )
    x2 = rng.normal(size=n)  # same marginals, broken correlation between a and b
    cur = frame(
        a=x2,
        b=rng.permutation(x2) + rng.normal(0, 0.1, n),
        c=pd.Series(rng.choice(list("pq"), n), dtype="str"),
    )
    schema = make_schema({"a": "float", "b": "float", "c": "string"})
    config = DriftConfig(multivariate_sample=1000, multivariate_max_iter=20, multivariate_folds=3)
    mv = multivariate_drift(ref, cur, schema=schema, config=config)
    assert mv.auc is not None and mv.auc > 0.9 and mv.status == DRIFT
    assert {name for name, _ in mv.top_features[:2]} == {"a", "b"}
    same = multivariate_drift(ref, ref.sample(frac=1, random_state=0), schema=schema, config=config)
    assert same.auc is not None and same.auc < config.multivariate_threshold
    tiny = multivariate_drift(ref, cur.iloc[:10], schema=schema, config=config)
    assert tiny.status == INSUFFICIENT_DATA
    report = run(ref, cur, schema)
    rec = drift_records(report, mv)[-1]
    assert rec.metric == "domain_classifier_auc" and rec.details["cv_folds"] == 3
    json.dumps(rec.details, allow_nan=False)


# ----------------------------------------------------------------- properties
def test_false_positive_rate_under_the_null() -> None:
    """Windows drawn from the reference's distribution: p-value tests flag about alpha."""
    rng = np.random.default_rng(2024)
    schema = make_schema({"x": "float", "c": "string"})
    ref = frame(
        x=rng.normal(size=800),
        c=pd.Series(rng.choice(list("abc"), 800, p=[0.5, 0.3, 0.2]), dtype="str"),
    )
    config = DriftConfig()
    profile = prepare_reference(ref, schema=schema, config=config)
    flagged = {"x": 0, "c": 0}
    draws = 200
    for _ in range(draws):
        cur = frame(
            x=rng.normal(size=400),
            c=pd.Series(rng.choice(list("abc"), 400, p=[0.5, 0.3, 0.2]), dtype="str"),
        )
        report = column_drift(profile, cur, schema=schema, config=config)
        for name in flagged:
            flagged[name] += report.column(name).drifted
    assert report.column("x").method == "ks" and report.column("c").method == "chi2"
    for name, count in flagged.items():
        assert count / draws <= 2 * 0.05, (name, count)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=hst.integers(0, 2**31 - 1),
    shift=hst.floats(1.0, 5.0),
    n_ref=hst.sampled_from([300, 3000]),
)
def test_shifted_window_is_flagged_and_row_order_does_not_matter(
    seed: int, shift: float, n_ref: int
) -> None:
    rng = np.random.default_rng(seed)
    schema = make_schema({"x": "float", "c": "string"})
    ref = frame(x=rng.normal(size=n_ref), c=pd.Series(rng.choice(list("abc"), n_ref), dtype="str"))
    cur = frame(
        x=rng.normal(shift, 1, size=400),
        c=pd.Series(rng.choice(list("abc"), 400, p=[0.8, 0.1, 0.1]), dtype="str"),
    )
    config = DriftConfig()
    profile = prepare_reference(ref, schema=schema, config=config)
    report = column_drift(profile, cur, schema=schema, config=config)
    assert report.column("x").drifted and report.column("c").drifted
    shuffled = cur.sample(frac=1.0, random_state=seed % 1000).reset_index(drop=True)
    profile2 = prepare_reference(ref.sample(frac=1.0, random_state=1), schema=schema, config=config)
    again = column_drift(profile2, shuffled, schema=schema, config=config)
    assert drift_records(again) == drift_records(report)
