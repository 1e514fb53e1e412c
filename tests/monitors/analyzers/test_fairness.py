"""Tests of the fairness analyzer against fairlearn's MetricFrame and disparity functions."""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, mean_absolute_error, precision_score

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK
from monitors.analyzers.fairness import (
    DisparityThresholds,
    FairnessConfig,
    FairnessOverride,
    FairnessReport,
    fairness_records,
    group_fairness,
)
from monitors.errors import ConfigError, SchemaError
from storage.schema import ModelSchema, infer_schema

LABELS = {"str": ("no", "yes"), "int": (0, 1)}
DISPARITY_FUNCS: dict[str, Callable[..., float]] = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
    "equal_opportunity_difference": equal_opportunity_difference,
}
LABEL_DISPARITIES = {
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
}


# -- data ---------------------------------------------------------------------------


def make_frame(
    n: int = 3000,
    *,
    seed: int = 0,
    labels: str = "str",
    attrs: dict[str, tuple[list[str], list[float]]] | None = None,
    missing_label: float = 0.15,
) -> pd.DataFrame:
    """Binary-classification window whose rates depend on the groups."""
    rng = np.random.default_rng(seed)
    attrs = attrs or {
        "sex": (["F", "M"], [0.45, 0.55]),
        "age_band": (["18-24", "25-34", "35-64", "65+"], [0.2, 0.4, 0.37, 0.03]),
    }
    frame: dict[str, Any] = {
        "id": [f"p{i}" for i in range(n)],
        "ts": pd.Timestamp("2024-05-01", tz="UTC"),
    }
    shift = np.zeros(n)
    for j, (name, (values, probs)) in enumerate(attrs.items()):
        codes = rng.choice(len(values), size=n, p=probs)
        frame[name] = pd.Series(np.asarray(values, dtype=object)[codes], dtype="str")
        shift += 0.08 * codes / max(len(values) - 1, 1) * (1 if j % 2 == 0 else -1)
    truth = rng.random(n) < 0.4 + shift
    pred = np.where(truth, rng.random(n) < 0.75 + shift, rng.random(n) < 0.2 + shift)
    neg, pos = LABELS[labels]
    if labels == "str":
        frame["y"] = pd.Series(np.where(truth, pos, neg), dtype="str")
        frame["y"][rng.random(n) < missing_label] = None
        frame["p"] = pd.Series(np.where(pred, pos, neg), dtype="str")
    else:
        y = np.where(truth, pos, neg).astype(np.float64)
        y[rng.random(n) < missing_label] = np.nan
        frame["y"] = y
        frame["p"] = np.where(pred, pos, neg).astype(np.int64)
    return pd.DataFrame(frame)


def schema_of(
    df: pd.DataFrame, *, sensitive: list[str], task: str = "binary_classification", **kw: Any
) -> ModelSchema:
    return infer_schema(
        df,
        task=task,
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        sensitive=sensitive,
        features=[],
        **kw,
    )


def groups_by_feature(report: FairnessReport, feature: str) -> dict[tuple[str, ...], Any]:
    return {tuple(v for _, v in g.values): g for g in report.groups if g.feature == feature}


def as_dict(by_group: pd.Series | pd.DataFrame) -> dict[tuple[str, ...], Any]:
    out = {}
    for key, row in by_group.iterrows() if isinstance(by_group, pd.DataFrame) else by_group.items():
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(str(k) for k in key)] = row
    return out


def metric_functions(pos: Any, *, weighted: bool) -> dict[str, Callable[..., Any]]:
    """fairlearn/sklearn metric per name; fairlearn's ``count`` ignores weights."""
    fns: dict[str, Callable[..., Any]] = {
        "selection_rate": partial(selection_rate, pos_label=pos),
        "tpr": partial(true_positive_rate, pos_label=pos),
        "fpr": partial(false_positive_rate, pos_label=pos),
        "fnr": partial(false_negative_rate, pos_label=pos),
        "precision": partial(precision_score, pos_label=pos, zero_division=0.0),
        "accuracy": accuracy_score,
    }
    if weighted:
        fns["count"] = lambda y_true, y_pred, sample_weight: float(np.sum(sample_weight))
    else:
        fns["count"] = count
    return fns


def fairlearn_by_group(
    df: pd.DataFrame, cols: list[str], pos: Any, *, weight: str | None = None
) -> tuple[dict[tuple[str, ...], Any], dict[tuple[str, ...], Any]]:
    """(all-rows metrics, labelled-rows metrics) by group from MetricFrame."""
    fns = metric_functions(pos, weighted=weight is not None)
    sel_names = ["count", "selection_rate"]
    lab_names = ["tpr", "fpr", "fnr", "precision", "accuracy"]

    def frame(data: pd.DataFrame, names: list[str], y_true: str) -> pd.DataFrame:
        params = {m: {"sample_weight": data[weight].to_numpy()} for m in names} if weight else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mf = MetricFrame(
                metrics={m: fns[m] for m in names},
                y_true=data[y_true].to_numpy(),
                y_pred=data["p"].to_numpy(),
                sensitive_features=data[cols],
                sample_params=params,
            )
        return mf.by_group

    labelled = df[df["y"].notna()].copy()
    if pd.api.types.is_float_dtype(labelled["y"]):
        labelled["y"] = labelled["y"].astype(np.int64)
    return as_dict(frame(df, sel_names, "p")), as_dict(frame(labelled, lab_names, "y"))


def binarised(df: pd.DataFrame, pos: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all rows, labelled rows) with 0/1 prediction and label, as fairlearn's disparities need."""
    out = df.copy()
    out["p01"] = (out["p"] == pos).astype(np.int64)
    labelled = out[out["y"].notna()].copy()
    labelled["y01"] = (labelled["y"] == pos).astype(np.int64)
    out["y01"] = out["p01"]  # ignored by selection-rate metrics
    return out, labelled


def fairlearn_disparity(
    name: str, df: pd.DataFrame, cols: list[str], pos: Any, *, weight: str | None = None
) -> float:
    rows, labelled = binarised(df, pos)
    data = labelled if name in LABEL_DISPARITIES else rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            DISPARITY_FUNCS[name](
                data["y01"].to_numpy(),
                data["p01"].to_numpy(),
                sensitive_features=data[cols],
                sample_weight=None if weight is None else data[weight].to_numpy(),
            )
        )


def cells_of(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Distinct (attributes, label, prediction) cells with their row counts."""
    cells = df.groupby([*cols, "y", "p"], dropna=False, observed=True).size()
    return cells.rename("w").reset_index()


def feature_sets(attrs: list[str]) -> list[list[str]]:
    if len(attrs) == 2:
        return [[attrs[0]], [attrs[1]], attrs]
    return [[a] for a in attrs] + [
        [attrs[0], attrs[1]],
        [attrs[0], attrs[2]],
        [attrs[1], attrs[2]],
        attrs,
    ]


def check_groups_equal(report: FairnessReport, cols: list[str], expect: Any) -> None:
    everyone, labelled = expect
    ours = groups_by_feature(report, "&".join(cols))
    assert set(ours) == set(everyone)
    for key, g in ours.items():
        assert g.estimate("count").value == pytest.approx(everyone[key]["count"], abs=1e-9)
        assert g.estimate("selection_rate").value == pytest.approx(
            everyone[key]["selection_rate"], abs=1e-12
        )
        for m in ["tpr", "fpr", "fnr", "precision", "accuracy"]:
            value = g.estimate(m).value
            if key not in labelled:
                assert value is None
            elif value is None:  # 0/0: fairlearn/sklearn report 0
                assert labelled[key][m] == 0.0
            else:
                assert value == pytest.approx(labelled[key][m], abs=1e-12)


# -- equality with fairlearn ----------------------------------------------------------


@pytest.mark.parametrize("labels", ["str", "int"])
def test_group_metrics_equal_metricframe_on_rows_and_weighted_cells(labels: str) -> None:
    df = make_frame(labels=labels)
    attrs = ["sex", "age_band"]
    schema = schema_of(df, sensitive=attrs)
    pos = LABELS[labels][1]
    report = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=0))
    assert report.features == ("sex", "age_band", "sex&age_band")
    for cols in feature_sets(attrs):
        check_groups_equal(report, cols, fairlearn_by_group(df, cols, pos))
        cells = cells_of(df, cols)
        check_groups_equal(report, cols, fairlearn_by_group(cells, cols, pos, weight="w"))
        ours = groups_by_feature(report, "&".join(cols))
        n_lab = df[df["y"].notna()].groupby(cols, observed=True).size()
        for key, g in ours.items():
            assert g.n_labelled == n_lab[key if len(key) > 1 else key[0]]


@pytest.mark.parametrize("labels", ["str", "int"])
def test_disparities_equal_fairlearn_on_rows_and_weighted_cells(labels: str) -> None:
    df = make_frame(labels=labels, seed=3)
    attrs = ["sex", "age_band"]
    pos = LABELS[labels][1]
    report = group_fairness(
        df, schema=schema_of(df, sensitive=attrs), config=FairnessConfig(n_bootstrap=0)
    )
    found = {(d.feature, d.metric): d for d in report.disparities}
    for cols in feature_sets(attrs):
        feature = "&".join(cols)
        cells = cells_of(df, cols)
        for name in DISPARITY_FUNCS:
            expected = fairlearn_disparity(name, df, cols, pos)
            assert found[feature, name].value == pytest.approx(expected, abs=1e-12)
            if len(cols) > 1:  # weighted cells: the intersection is enough
                weighted = fairlearn_disparity(name, cells, cols, pos, weight="w")
                assert found[feature, name].value == pytest.approx(weighted, abs=1e-12)
        assert found[feature, "disparate_impact_ratio"].value == pytest.approx(
            fairlearn_disparity("demographic_parity_ratio", df, cols, pos), abs=1e-12
        )


def test_disparate_impact_ratios_and_four_fifths_rule() -> None:
    df = make_frame(seed=5)
    report = group_fairness(
        df,
        schema=schema_of(df, sensitive=["sex", "age_band"]),
        config=FairnessConfig(n_bootstrap=0, four_fifths=0.9),
    )
    sel = MetricFrame(
        metrics={"selection_rate": partial(selection_rate, pos_label="yes")},
        y_true=df["p"],
        y_pred=df["p"],
        sensitive_features=df["age_band"],
    ).by_group["selection_rate"]
    di = next(
        d
        for d in report.disparities
        if d.feature == "age_band" and d.metric == "disparate_impact_ratio"
    )
    expected = {f"age_band={k}": v / sel.max() for k, v in sel.items()}
    assert dict(di.group_ratios) == pytest.approx(expected, abs=1e-12)
    assert di.value == pytest.approx(min(expected.values()), abs=1e-12)
    assert di.threshold == 0.9
    assert di.four_fifths_pass is (di.value >= 0.9)
    assert di.breach is (di.value < 0.9)


def test_restricted_disparities_equal_fairlearn_over_large_groups() -> None:
    df = make_frame(seed=7, n=2000)
    report = group_fairness(
        df,
        schema=schema_of(df, sensitive=["sex", "age_band"]),
        config=FairnessConfig(n_bootstrap=0, min_group_size=100),
    )
    found = {(d.feature, d.metric): d for d in report.disparities}
    for cols in feature_sets(["sex", "age_band"]):
        feature = "&".join(cols)
        for name in DISPARITY_FUNCS:
            sizes = (
                (df[df["y"].notna()] if name in LABEL_DISPARITIES else df)
                .groupby(cols, observed=True)
                .size()
            )
            big = sizes[sizes >= 100].index
            keep = df.set_index(cols).index.isin(big)
            expected = fairlearn_disparity(name, df[keep], cols, "yes")
            d = found[feature, name]
            assert d.restricted_value == pytest.approx(expected, abs=1e-12)
            small = sorted(
                "&".join(
                    f"{c}={v}" for c, v in zip(cols, k if len(cols) > 1 else (k,), strict=True)
                )
                for k in sizes[sizes < 100].index
            )
            assert sorted(d.excluded_groups) == small
    assert found["age_band", "demographic_parity_difference"].excluded_groups == ("age_band=65+",)


def test_three_attributes_give_every_pair_and_the_triple() -> None:
    attrs = {
        "sex": (["F", "M"], [0.5, 0.5]),
        "age_band": (["old", "young"], [0.4, 0.6]),
        "region": (["east", "north", "west"], [0.3, 0.3, 0.4]),
    }
    df = make_frame(attrs=attrs, seed=11)
    names = list(attrs)
    report = group_fairness(
        df, schema=schema_of(df, sensitive=names), config=FairnessConfig(n_bootstrap=0)
    )
    assert report.features == (
        "sex",
        "age_band",
        "region",
        "sex&age_band",
        "sex&region",
        "age_band&region",
        "sex&age_band&region",
    )
    for cols in (["sex", "region"], names):
        check_groups_equal(report, cols, fairlearn_by_group(df, cols, "yes"))
        d = next(
            d
            for d in report.disparities
            if d.feature == "&".join(cols) and d.metric == "equalized_odds_difference"
        )
        assert d.value == pytest.approx(
            fairlearn_disparity("equalized_odds_difference", df, cols, "yes"), abs=1e-12
        )
    g = groups_by_feature(report, "sex&age_band&region")[("F", "old", "west")]
    assert g.group == "sex=F&age_band=old&region=west"
    no_intersections = group_fairness(
        df,
        schema=schema_of(df, sensitive=names),
        config=FairnessConfig(n_bootstrap=0, max_intersection_size=2),
    )
    assert "sex&age_band&region" not in no_intersections.features
    alone = group_fairness(
        df,
        schema=schema_of(df, sensitive=names),
        config=FairnessConfig(n_bootstrap=0, intersections=False),
        sensitive=["region", "sex"],
    )
    assert alone.features == ("sex", "region")


def test_undefined_rates_are_none_with_reason_and_disparities_follow_fairlearn() -> None:
    df = make_frame(seed=2, n=1200)
    # group age_band=65+ gets only negative labels: its TPR is 0/0
    old = df["age_band"] == "65+"
    df.loc[old, "y"] = "no"
    report = group_fairness(
        df, schema=schema_of(df, sensitive=["age_band"]), config=FairnessConfig(n_bootstrap=50)
    )
    g = groups_by_feature(report, "age_band")[("65+",)]
    tpr = g.estimate("tpr")
    assert tpr.value is None
    assert tpr.insufficient_data
    assert tpr.reason == "no labelled rows with the positive label (0/0)"
    eop = next(d for d in report.disparities if d.metric == "equal_opportunity_difference")
    # fairlearn counts the group's TPR as 0 (sklearn's confusion-matrix normalisation)
    assert eop.value == pytest.approx(
        fairlearn_disparity("equal_opportunity_difference", df, ["age_band"], "yes"), abs=1e-12
    )
    record = next(
        r for r in fairness_records(report) if r.metric == "tpr" and r.group == "age_band=65+"
    )
    assert record.value is None
    assert record.status == INSUFFICIENT_DATA
    assert record.details["reason"] == "no labelled rows with the positive label (0/0)"


def test_ratio_of_all_zero_selection_rates_is_none() -> None:
    df = make_frame(seed=4, n=300)
    df["p"] = pd.Series(["no"] * len(df), dtype="str")
    schema = schema_of(df, sensitive=["sex"], positive_class="yes")
    report = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(fairlearn_disparity("demographic_parity_ratio", df, ["sex"], "yes"))
    records = {r.metric: r for r in fairness_records(report) if r.group is None}
    dpr = records["demographic_parity_ratio"]
    assert dpr.value is None
    assert dpr.status == INSUFFICIENT_DATA
    assert dpr.details["reason"] == "every group's rate is 0 (0/0)"
    assert records["demographic_parity_difference"].value == 0.0


# -- intervals ------------------------------------------------------------------------


def test_interval_coverage_on_simulated_data() -> None:
    """About 95 % of the intervals contain the true rate or disparity.

    The full coverage proof (disparity 0 and 0.1, 2 and 4 groups, 300 and 3,000 rows) is
    ``tests/statistics/test_fairness_coverage.py``.
    """
    rng = np.random.default_rng(12345)
    n, reps = 1000, 200
    p_group = {"a": 0.4, "b": 0.6}
    sel = {"a": 0.3, "b": 0.5}
    base = pd.DataFrame(
        {
            "id": ["x", "z"],
            "ts": pd.Timestamp("2024-01-01"),
            "g": ["a", "b"],
            "y": [0, 1],
            "p": [0, 1],
        }
    )
    schema = schema_of(base, sensitive=["g"])
    config = FairnessConfig(n_bootstrap=300, intersections=False)
    hits = {"selection_rate": 0, "dpd": 0, "count": 0}
    for rep in range(reps):
        g = np.where(rng.random(n) < p_group["a"], "a", "b")
        p = (rng.random(n) < np.where(g == "a", sel["a"], sel["b"])).astype(np.int64)
        df = pd.DataFrame(
            {
                "id": "x",
                "ts": pd.Timestamp("2024-01-01"),
                "g": pd.Series(g, dtype="str"),
                "y": p,
                "p": p,
            }
        )
        report = group_fairness(df, schema=schema, config=config.model_copy(update={"seed": rep}))
        a = groups_by_feature(report, "g")[("a",)]
        est = a.estimate("selection_rate")
        hits["selection_rate"] += est.ci_low <= sel["a"] <= est.ci_high
        cnt = a.estimate("count")
        hits["count"] += cnt.ci_low <= p_group["a"] * n <= cnt.ci_high
        dpd = next(d for d in report.disparities if d.metric == "demographic_parity_difference")
        hits["dpd"] += dpd.ci_low <= sel["b"] - sel["a"] <= dpd.ci_high
    for name, hit in hits.items():
        assert 0.90 <= hit / reps <= 0.99, (name, hit / reps)


def test_intervals_are_deterministic_and_independent_of_row_order() -> None:
    df = make_frame(seed=8, n=800)
    schema = schema_of(df, sensitive=["sex", "age_band"])
    config = FairnessConfig(n_bootstrap=200, seed=42)
    first = group_fairness(df, schema=schema, config=config)
    again = group_fairness(df, schema=schema, config=config)
    shuffled = group_fairness(
        df.sample(frac=1.0, random_state=1).reset_index(drop=True), schema=schema, config=config
    )
    other = group_fairness(df, schema=schema, config=config.model_copy(update={"seed": 43}))
    assert first == again
    assert first == shuffled
    # classification intervals are score intervals computed from the counts: no seed
    assert first.groups == other.groups
    for g in first.groups:
        for est in g.estimates:
            if est.value is not None and est.metric != "count":
                assert est.ci_low is not None and est.ci_high is not None
                assert est.ci_low <= est.ci_high
    for d in first.disparities:
        assert d.ci_low is not None and d.ci_high is not None and d.ci_low <= d.ci_high


def test_wilson_interval_has_the_spread_of_a_row_bootstrap() -> None:
    """The Wilson interval of a group's rate is as wide as a row bootstrap's, where it should be."""
    df = make_frame(seed=9, n=1500)
    schema = schema_of(df, sensitive=["sex"])
    report = group_fairness(
        df, schema=schema, config=FairnessConfig(n_bootstrap=2000, intersections=False)
    )
    rng = np.random.default_rng(0)
    female = (df["sex"] == "F").to_numpy()
    chosen = (df["p"] == "yes").to_numpy()
    sel = []
    for _ in range(1000):
        idx = rng.integers(0, len(df), len(df))
        sel.append(selection_rate(chosen[idx][female[idx]], chosen[idx][female[idx]]))
    low, high = np.quantile(sel, [0.025, 0.975])
    est = groups_by_feature(report, "sex")[("F",)].estimate("selection_rate")
    width = high - low
    assert est.ci_high - est.ci_low == pytest.approx(width, rel=0.2)
    assert est.ci_low == pytest.approx(low, abs=0.15 * width)


# -- small groups, missing values -----------------------------------------------------


def test_small_groups_are_flagged_and_kept() -> None:
    df = make_frame(seed=10, n=600)
    report = group_fairness(
        df,
        schema=schema_of(df, sensitive=["sex", "age_band"]),
        config=FairnessConfig(n_bootstrap=30),
    )
    small = groups_by_feature(report, "age_band")[("65+",)]
    assert small.n < 30
    assert small.insufficient_data
    records = fairness_records(report)
    mine = [r for r in records if r.group == "age_band=65+"]
    assert {r.metric for r in mine} == {
        "count",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "precision",
        "accuracy",
    }
    assert {r.status for r in mine} == {INSUFFICIENT_DATA}
    big = [r for r in records if r.group == "age_band=25-34"]
    assert {r.status for r in big} == {OK}
    dpd = next(
        r
        for r in records
        if r.feature == "age_band" and r.metric == "demographic_parity_difference"
    )
    assert "age_band=65+" in dpd.details["excluded_groups"]


def test_per_attribute_override_of_min_size_and_thresholds() -> None:
    df = make_frame(seed=10, n=1000)
    config = FairnessConfig(
        n_bootstrap=0,
        features={
            "age_band": FairnessOverride(
                min_group_size=5, thresholds={"demographic_parity_difference": 0.5}, four_fifths=0.1
            )
        },
    )
    report = group_fairness(df, schema=schema_of(df, sensitive=["sex", "age_band"]), config=config)
    assert not groups_by_feature(report, "age_band")[("65+",)].insufficient_data
    found = {(d.feature, d.metric): d for d in report.disparities}
    assert found["age_band", "demographic_parity_difference"].threshold == 0.5
    assert found["age_band", "disparate_impact_ratio"].threshold == 0.1
    assert found["sex", "demographic_parity_difference"].threshold == 0.1
    assert found["sex&age_band", "disparate_impact_ratio"].threshold == 0.8


@pytest.mark.parametrize("policy", ["group", "exclude"])
def test_missing_sensitive_values(policy: str) -> None:
    df = make_frame(seed=12, n=1500)
    df.loc[df.index[::25], "sex"] = None
    schema = schema_of(df, sensitive=["sex", "age_band"])
    report = group_fairness(
        df, schema=schema, config=FairnessConfig(n_bootstrap=0, missing_sensitive=policy)
    )
    assert dict(report.n_missing_sensitive) == {"sex": 60, "age_band": 0}
    if policy == "group":
        expected_df = df.assign(sex=df["sex"].fillna("<missing>"))
        assert groups_by_feature(report, "sex")[("<missing>",)].n == 60
    else:
        expected_df = df[df["sex"].notna()]
        assert ("<missing>",) not in groups_by_feature(report, "sex")
        assert sum(g.n for g in report.groups if g.feature == "age_band") == len(df)
    for cols in (["sex"], ["sex", "age_band"]):
        check_groups_equal(report, cols, fairlearn_by_group(expected_df, cols, "yes"))


def test_rows_without_prediction_are_left_out_and_counted() -> None:
    df = make_frame(seed=13, n=600)
    df.loc[df.index[:10], "p"] = None
    report = group_fairness(
        df, schema=schema_of(df, sensitive=["sex"]), config=FairnessConfig(n_bootstrap=0)
    )
    assert report.n_missing_prediction == 10
    assert report.n_rows == 590
    check_groups_equal(report, ["sex"], fairlearn_by_group(df.iloc[10:], ["sex"], "yes"))


# -- tasks ----------------------------------------------------------------------------


def test_regression_group_metrics_equal_metricframe() -> None:
    rng = np.random.default_rng(14)
    n = 1500
    sex = pd.Series(rng.choice(["F", "M"], n), dtype="str")
    y = rng.normal(10, 2, n) + (sex == "F").to_numpy()
    df = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "ts": pd.Timestamp("2024-01-01"),
            "sex": sex,
            "y": np.where(rng.random(n) < 0.2, np.nan, y),
            "p": y + rng.normal(0, 1, n),
        }
    )
    schema = schema_of(df, sensitive=["sex"], task="regression")
    config = FairnessConfig(n_bootstrap=100)
    report = group_fairness(df, schema=schema, config=config)
    assert report.metrics == ("count", "mean_prediction", "mae")
    assert report.disparities == ()
    mean = MetricFrame(
        metrics=mean_prediction, y_true=df["p"], y_pred=df["p"], sensitive_features=df["sex"]
    ).by_group
    labelled = df[df["y"].notna()]
    mae = MetricFrame(
        metrics=mean_absolute_error,
        y_true=labelled["y"],
        y_pred=labelled["p"],
        sensitive_features=labelled["sex"],
    ).by_group
    for (value,), g in groups_by_feature(report, "sex").items():
        assert g.estimate("mean_prediction").value == pytest.approx(mean[value], rel=1e-12)
        assert g.estimate("mae").value == pytest.approx(mae[value], rel=1e-12)
        assert g.n_labelled == (labelled["sex"] == value).sum()
        est = g.estimate("mae")
        assert est.ci_low < est.value < est.ci_high
    assert report == group_fairness(df, schema=schema, config=config)


def test_multiclass_one_vs_rest_and_accuracy_only() -> None:
    rng = np.random.default_rng(15)
    n = 1200
    classes = np.array(["cat", "dog", "eel"], dtype=object)
    y = rng.choice(3, n)
    p = np.where(rng.random(n) < 0.7, y, rng.choice(3, n))
    df = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "ts": pd.Timestamp("2024-01-01"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
            "y": pd.Series(classes[y], dtype="str"),
            "p": pd.Series(classes[p], dtype="str"),
        }
    )
    schema = schema_of(df, sensitive=["sex"], task="multiclass_classification")
    only_acc = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=0))
    assert only_acc.metrics == ("count", "accuracy")
    assert only_acc.disparities == ()
    acc = MetricFrame(
        metrics=accuracy_score, y_true=df["y"], y_pred=df["p"], sensitive_features=df["sex"]
    ).by_group
    for (value,), g in groups_by_feature(only_acc, "sex").items():
        assert g.estimate("accuracy").value == pytest.approx(acc[value], abs=1e-12)

    ovr = group_fairness(
        df, schema=schema, config=FairnessConfig(n_bootstrap=0, positive_class="dog")
    )
    binary = df.assign(y=(df["y"] == "dog").astype(np.int64), p=(df["p"] == "dog").astype(np.int64))
    _, labelled = fairlearn_by_group(binary, ["sex"], 1)
    for (value,), g in groups_by_feature(ovr, "sex").items():
        for m in ["tpr", "fpr", "precision"]:
            assert g.estimate(m).value == pytest.approx(labelled[(value,)][m], abs=1e-12)
        # accuracy stays multiclass accuracy
        assert g.estimate("accuracy").value == pytest.approx(acc[value], abs=1e-12)
    eod = next(d for d in ovr.disparities if d.metric == "equalized_odds_difference")
    assert eod.value == pytest.approx(
        fairlearn_disparity("equalized_odds_difference", binary, ["sex"], 1), abs=1e-12
    )


# -- export contract ------------------------------------------------------------------


def test_records_follow_the_export_contract() -> None:
    df = make_frame(seed=16, n=1500)
    report = group_fairness(
        df,
        schema=schema_of(df, sensitive=["sex", "age_band"]),
        config=FairnessConfig(
            n_bootstrap=100, thresholds=DisparityThresholds(demographic_parity_difference=0.0)
        ),
    )
    records = fairness_records(report)
    json.dumps([r.details for r in records], allow_nan=False)
    per_group = [r for r in records if r.group is not None]
    disp = [r for r in records if r.group is None]
    assert {r.analyzer for r in records} == {"fairness"}
    assert {r.metric for r in per_group} == {
        "count",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "precision",
        "accuracy",
    }
    assert {r.metric for r in disp} == {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "disparate_impact_ratio",
    }
    assert {r.feature for r in records} == {"sex", "age_band", "sex&age_band"}
    r = next(r for r in per_group if r.group == "sex=F&age_band=25-34" and r.metric == "tpr")
    assert r.feature == "sex&age_band"
    assert r.threshold is None
    assert set(r.details) >= {"ci_low", "ci_high", "n", "n_labelled"}
    assert all(type(v) in (int, float, str, type(None)) for v in r.details.values())
    for d in disp:
        assert set(d.details) >= {"ci_low", "ci_high", "restricted_value", "excluded_groups"}
        assert d.status in (OK, BREACH)
        assert isinstance(d.threshold, float)
    dpd = next(d for d in disp if d.metric == "demographic_parity_difference")
    assert dpd.status == BREACH and dpd.threshold == 0.0
    di = next(d for d in disp if d.feature == "sex" and d.metric == "disparate_impact_ratio")
    assert set(di.details["group_ratios"]) == {"sex=F", "sex=M"}
    assert di.details["four_fifths_pass"] is (di.value >= 0.8)


def test_without_label_column_only_selection_metrics() -> None:
    df = make_frame(seed=17, n=500).drop(columns=["y"])
    schema = infer_schema(
        df,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="p",
        sensitive=["sex"],
        features=[],
    )
    report = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=0))
    assert report.metrics == ("count", "selection_rate")
    assert {d.metric for d in report.disparities} == {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "disparate_impact_ratio",
    }


# -- errors ---------------------------------------------------------------------------


def test_errors_say_what_and_where() -> None:
    df = make_frame(seed=18, n=200)
    schema = schema_of(df, sensitive=["sex", "age_band"])
    config = FairnessConfig(n_bootstrap=0)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "sensitive: expected a non-empty subset of the schema's sensitive columns "
            "['sex', 'age_band']; got ['race']"
        ),
    ):
        group_fairness(df, schema=schema, config=config, sensitive=["race"])
    with pytest.raises(ConfigError, match=re.escape("features['age_band&sex']: expected")):
        group_fairness(
            df,
            schema=schema,
            config=FairnessConfig(features={"age_band&sex": FairnessOverride(min_group_size=3)}),
        )
    with pytest.raises(
        SchemaError,
        match=re.escape("fairness: columns ['age_band'] are in the schema but not in the data"),
    ):
        group_fairness(df.drop(columns=["age_band"]), schema=schema, config=config)
    with pytest.raises(
        ConfigError,
        match=re.escape("positive_class: expected one of the classes ['no', 'yes']; got 'maybe'"),
    ):
        group_fairness(df, schema=schema, config=FairnessConfig(positive_class="maybe"))
    no_pos = schema.model_copy(update={"positive_class": None})
    with pytest.raises(
        ConfigError,
        match=re.escape("positive_class: a binary_classification model needs a positive class"),
    ):
        group_fairness(df, schema=no_pos, config=config)
    plain = infer_schema(
        df,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="p",
        label="y",
        features=["sex"],
    )
    with pytest.raises(
        ConfigError,
        match=re.escape("sensitive: the model schema has no sensitive columns to analyse"),
    ):
        group_fairness(df, schema=plain, config=config)


def test_empty_window_and_window_without_labels_give_reasons() -> None:
    df = make_frame(seed=19, n=400)
    schema = schema_of(df, sensitive=["sex"])
    empty = group_fairness(df.iloc[:0], schema=schema, config=FairnessConfig(n_bootstrap=10))
    assert empty.groups == ()
    assert {d.reason for d in empty.disparities} == {"no rows"}
    assert {r.status for r in fairness_records(empty)} == {INSUFFICIENT_DATA}

    unlabelled = df.assign(y=pd.Series([None] * len(df), dtype="str"))
    report = group_fairness(unlabelled, schema=schema, config=FairnessConfig(n_bootstrap=10))
    found = {d.metric: d for d in report.disparities}
    assert found["equal_opportunity_difference"].value is None
    assert found["equal_opportunity_difference"].reason == "no labelled rows"
    assert found["demographic_parity_difference"].value is not None
    g = report.groups[0]
    assert g.n_labelled == 0
    assert g.estimate("accuracy").value is None
    assert g.estimate("accuracy").reason == "no labelled rows"
