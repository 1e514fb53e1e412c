"""Data-quality analyzer: every share against a direct pandas computation."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK
from monitors.analyzers.quality import (
    QualityConfig,
    QualityOverride,
    QualityReport,
    data_quality,
    prepare_quality_reference,
    quality_records,
)
from monitors.errors import ConfigError
from storage.schema import ColumnSpec, ModelSchema, infer_schema

CFG = QualityConfig()


def _reference(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": pd.Series([f"r{i}" for i in range(n)], dtype="str"),
            "ts": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "age": rng.uniform(18, 90, n),
            "income": rng.normal(50_000, 10_000, n),
            "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune"], n), dtype="str"),
            "plan": pd.Series(rng.choice(["basic", "pro"], n), dtype="str"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
            "pred": rng.integers(0, 2, n),
            "score": rng.random(n),
            "label": rng.integers(0, 2, n),
        }
    )


def _schema(reference: pd.DataFrame) -> ModelSchema:
    return infer_schema(
        reference,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex"],
    )


def _current(reference: pd.DataFrame, n: int = 100, seed: int = 1) -> pd.DataFrame:
    """A window with NaN, out-of-range values, new categories and a constant column."""
    rng = np.random.default_rng(seed)
    cur = _reference(n, seed).assign(id=pd.Series([f"c{i}" for i in range(n)], dtype="str"))
    age = cur["age"].to_numpy().copy()
    age[:15] = np.nan
    age[15:20] = 150.0  # above the reference max
    age[20:22] = 1.0  # below the reference min
    city = cur["city"].copy()
    city[:3] = None
    city[3:10] = "Rome"
    city[10:12] = "Kyiv"
    label = cur["label"].astype(float)
    label[rng.random(n) < 0.9] = np.nan
    return cur.assign(age=age, city=city, plan=pd.Series(["pro"] * n, dtype="str"), label=label)


@pytest.fixture
def setup() -> tuple[pd.DataFrame, pd.DataFrame, ModelSchema]:
    ref = _reference()
    return ref, _current(ref), _schema(ref)


def _run(ref: pd.DataFrame, cur: pd.DataFrame, schema: ModelSchema, **kw: object) -> QualityReport:
    return data_quality(
        prepare_quality_reference(ref, schema=schema),
        cur,
        schema=schema,
        config=CFG,
        **kw,  # type: ignore[arg-type]
    )


def test_missing_share_matches_pandas(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    ref, cur, schema = setup
    report = _run(ref, cur, schema)
    for name in ("age", "income", "city", "plan", "sex", "pred", "score"):
        check = report.column(name).check("missing_share")
        assert check.value == pytest.approx(cur[name].isna().mean()), name
        assert check.threshold == 0.1
        assert check.status == (BREACH if cur[name].isna().mean() > 0.1 else OK)
    assert report.column("age").check("missing_share").status == BREACH


def test_label_reports_coverage_not_missing_values(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    """Labels arrive late: the label column gets ``label_coverage``, never ``missing_share``."""
    ref, cur, schema = setup
    label = _run(ref, cur, schema).column("label")
    assert "missing_share" not in {c.metric for c in label.checks}
    check = label.check("label_coverage")
    assert check.value == pytest.approx(cur["label"].notna().mean())
    assert check.value < 0.5
    assert (check.threshold, check.status) == (None, OK)
    assert check.details["labelled"] == int(cur["label"].notna().sum())
    assert check.details["rows"] == len(cur)
    records = quality_records(_run(ref, cur, schema))
    assert [r.metric for r in records if r.feature == "label"][0] == "label_coverage"
    assert not [r for r in records if r.feature == "label" and r.metric == "missing_share"]


def test_window_without_labels_is_not_missing_data(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    """No label yet: coverage 0, no breach anywhere, checks that need values say why."""
    ref, cur, schema = setup
    report = _run(ref, cur.assign(label=np.nan), schema)
    label = report.column("label")
    assert (label.check("label_coverage").value, label.check("label_coverage").status) == (0, OK)
    assert not [c for c in label.checks if c.status == BREACH]
    for metric in ("type_mismatch_share", "new_category_share", "constant"):
        check = label.check(metric)
        assert check.status == INSUFFICIENT_DATA
        assert check.details["reason"] == "no labels in the window yet"
    empty = _run(ref, cur.iloc[0:0], schema).column("label").check("label_coverage")
    assert (empty.value, empty.status, empty.details["reason"]) == (
        None,
        INSUFFICIENT_DATA,
        "empty window",
    )


def test_out_of_range_share_matches_pandas(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    ref, cur, schema = setup
    report = _run(ref, cur, schema)
    for name in ("age", "income", "score"):
        lo, hi = ref[name].min(), ref[name].max()
        values = cur[name].dropna()
        expected = ((values < lo) | (values > hi)).mean()
        check = report.column(name).check("out_of_range_share")
        assert check.value == pytest.approx(expected), name
        assert check.details["reference_min"] == lo
        assert check.details["reference_max"] == hi
    age = report.column("age").check("out_of_range_share")
    assert (age.details["below"], age.details["above"]) == (2, 5)
    assert age.status == BREACH


def test_new_categories_match_pandas(setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema]) -> None:
    ref, cur, schema = setup
    check = _run(ref, cur, schema).column("city").check("new_category_share")
    values = cur["city"].dropna()
    is_new = ~values.isin(set(ref["city"].dropna()))
    assert check.value == pytest.approx(is_new.mean())
    assert check.details["new_categories"] == [
        {"value": "Rome", "count": 7},
        {"value": "Kyiv", "count": 2},
    ]
    assert check.status == BREACH


def test_new_categories_are_capped_most_frequent_first() -> None:
    ref = _reference()
    schema = _schema(ref)
    cur = _reference(300, seed=4)
    city = [f"town{i % 30:02d}" if i < 30 + 29 else "Oslo" for i in range(300)]
    city[:5] = ["town00"] * 5
    cur = cur.assign(city=pd.Series(city, dtype="str"))
    check = (
        data_quality(
            prepare_quality_reference(ref, schema=schema),
            cur,
            schema=schema,
            config=QualityConfig(max_new_categories_listed=20),
        )
        .column("city")
        .check("new_category_share")
    )
    counts = cur["city"][~cur["city"].isin(["Oslo", "Lima", "Pune"])].value_counts()
    listed = check.details["new_categories"]
    assert len(listed) == 20
    assert check.details["n_new_categories"] == 30
    assert check.details["truncated"] is True
    assert listed[0] == {"value": "town00", "count": int(counts["town00"])}
    expected = sorted(counts.items(), key=lambda vc: (-vc[1], vc[0]))[:20]
    assert [(item["value"], item["count"]) for item in listed] == expected


def test_constant_column(setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema]) -> None:
    ref, cur, schema = setup
    report = _run(ref, cur, schema)
    plan = report.column("plan").check("constant")
    assert ref["plan"].nunique() > 1 and cur["plan"].nunique() == 1
    assert (plan.value, plan.status, plan.details["value"]) == (1.0, BREACH, "pro")
    assert report.column("city").check("constant").value == 0.0
    numeric = _run(ref, cur.assign(income=7.0), schema).column("income").check("constant")
    assert (numeric.value, numeric.status) == (1.0, BREACH)
    off = data_quality(
        prepare_quality_reference(ref, schema=schema),
        cur,
        schema=schema,
        config=QualityConfig(features={"plan": QualityOverride(check_constant=False)}),
    )
    assert off.column("plan").check("constant").status == OK


def test_constant_reference_is_not_a_breach() -> None:
    ref = _reference().assign(plan=pd.Series(["pro"] * 200, dtype="str"))
    schema = _schema(ref)
    cur = _current(ref)
    check = _run(ref, cur, schema).column("plan").check("constant")
    assert (check.value, check.status) == (0.0, OK)


def test_type_mismatch_share() -> None:
    ref = _reference()
    schema = _schema(ref)
    cur = _reference(10, seed=3)
    age = pd.Series([20, "forty", 33.5, None, "n/a", 50, 60, 70, 80, 85], dtype=object)
    pred = cur["pred"].astype(float)
    pred[:3] = [0.5, 1.0, 0.0]  # 0.5 is not an int
    cur = cur.assign(age=age, pred=pred)
    report = _run(ref, cur, schema)
    age_check = report.column("age").check("type_mismatch_share")
    non_null = age.dropna()
    expected = pd.to_numeric(non_null, errors="coerce").isna().mean()
    assert age_check.value == pytest.approx(expected)
    assert age_check.status == BREACH
    # parsed values still get the range check
    assert report.column("age").check("out_of_range_share").details["n"] == 7
    assert report.column("pred").check("type_mismatch_share").value == pytest.approx(1 / 10)
    assert report.column("income").check("type_mismatch_share").value == 0.0


def test_int_categorical_prediction_new_class() -> None:
    ref = _reference()
    schema = _schema(ref)
    cur = _reference(50, seed=9)
    pred = cur["pred"].copy()
    pred[:4] = 2
    check = _run(ref, cur.assign(pred=pred), schema).column("pred").check("new_category_share")
    assert check.value == pytest.approx(4 / 50)
    assert check.details["new_categories"] == [{"value": 2, "count": 4}]


def test_per_feature_override_and_unknown_key(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    ref, cur, schema = setup
    prepared = prepare_quality_reference(ref, schema=schema)
    config = QualityConfig(features={"age": QualityOverride(missing_share=0.5)})
    report = data_quality(prepared, cur, schema=schema, config=config)
    check = report.column("age").check("missing_share")
    assert (check.threshold, check.status) == (0.5, OK)
    bad = QualityConfig(features={"agee": QualityOverride(missing_share=0.5)})
    names = ["age", "income", "city", "plan", "sex", "pred", "score", "label"]
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"QualityConfig.features: 'agee' is not a checked column of this model; "
            f"expected one of {names!r}."
        ),
    ):
        data_quality(prepared, cur, schema=schema, config=bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing_shares": 0.1}, "missing_shares"),
        ({"missing_share": 1.5}, "missing_share"),
        ({"features": {"age": {"missing": 0.2}}}, "features.age.missing"),
    ],
)
def test_bad_config_names_the_key(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        QualityConfig(**kwargs)  # type: ignore[arg-type]


def test_model_level_checks(setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema]) -> None:
    ref, cur, schema = setup
    report = data_quality(
        prepare_quality_reference(ref, schema=schema),
        cur.drop(columns=["sex"]),
        schema=schema,
        config=QualityConfig(expected_rows=400, min_row_count_ratio=0.5),
        quarantined={"bad_type": 3, "missing_id": 1},
        missing_columns=["income"],
    )
    rows = report.check("row_count")
    assert rows.value == len(cur)
    assert rows.details == {"reference_rows": len(ref), "ratio": len(cur) / len(ref)}
    ratio = report.check("row_count_ratio")
    assert (ratio.value, ratio.threshold, ratio.status) == (len(cur) / 400, 0.5, BREACH)
    quarantine = report.check("quarantined_rows")
    assert (quarantine.value, quarantine.status) == (4.0, BREACH)
    assert quarantine.details["by_reason"] == {"bad_type": 3, "missing_id": 1}
    mismatch = report.check("schema_mismatch")
    assert (mismatch.value, mismatch.status) == (2.0, BREACH)
    assert mismatch.details["missing_columns"] == ["income", "sex"]
    checked = [c.column for c in report.columns]
    assert "sex" not in checked and "income" not in checked


def test_model_level_defaults_are_ok(setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema]) -> None:
    ref, cur, schema = setup
    report = _run(ref, cur, schema)
    assert report.check("quarantined_rows").status == OK
    assert report.check("schema_mismatch").value == 0.0
    assert report.check("row_count_ratio").value is None
    with pytest.raises(
        ConfigError,
        match=re.escape("quarantined['x']: expected a non-negative row count; got -1."),
    ):
        _run(ref, cur, schema, quarantined={"x": -1})


def test_empty_window_is_insufficient_and_does_not_crash(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    ref, cur, schema = setup
    report = _run(ref, cur.iloc[:0], schema)
    assert report.check("row_count").value == 0.0
    assert report.check("row_count").status == INSUFFICIENT_DATA
    for col in report.columns:
        for check in col.checks:
            assert check.value is None, (col.column, check.metric)
            assert check.status == INSUFFICIENT_DATA
    json.dumps([r.details for r in quality_records(report)], allow_nan=False)


def test_all_null_column_and_column_absent_from_reference() -> None:
    ref = _reference()
    schema = _schema(ref).with_column(ColumnSpec(name="tenure", role="feature", dtype="float"))
    cur = _current(ref).assign(tenure=np.arange(100.0), income=np.nan)
    report = _run(ref, cur, schema)
    assert report.column("income").check("missing_share").value == 1.0
    assert report.column("income").check("out_of_range_share").status == INSUFFICIENT_DATA
    tenure = report.column("tenure").check("out_of_range_share")
    assert tenure.value is None
    assert tenure.details["reason"] == "no non-null values for this column in the reference"


def test_records_are_json_serialisable(
    setup: tuple[pd.DataFrame, pd.DataFrame, ModelSchema],
) -> None:
    ref, cur, schema = setup
    records = quality_records(_run(ref, cur, schema, quarantined={"bad": 2}))
    for r in records:
        assert r.analyzer == "quality"
        json.dumps(r.details, allow_nan=False)
    model_level = {r.metric for r in records if r.feature is None}
    assert model_level == {"row_count", "row_count_ratio", "quarantined_rows", "schema_mismatch"}
    age = {r.metric for r in records if r.feature == "age"}
    assert age == {"missing_share", "type_mismatch_share", "out_of_range_share", "constant"}
    city = {r.metric for r in records if r.feature == "city"}
    assert city == {"missing_share", "type_mismatch_share", "new_category_share", "constant"}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_results(seed: int) -> None:
    ref = _reference(80)
    schema = _schema(ref)
    cur = _current(ref, n=60)
    rng = np.random.default_rng(seed)
    a = _run(ref, cur, schema)
    b = _run(
        ref.sample(frac=1.0, random_state=rng),
        cur.sample(frac=1.0, random_state=rng),
        schema,
    )
    ra, rb = quality_records(a), quality_records(b)
    assert [(r.metric, r.feature, r.status) for r in ra] == [
        (r.metric, r.feature, r.status) for r in rb
    ]
    for x, y in zip(ra, rb, strict=True):
        assert (x.value is None) == (y.value is None)
        if x.value is not None:
            assert y.value == pytest.approx(x.value)
        if x.metric == "new_category_share":
            assert x.details["new_categories"] == y.details["new_categories"]
