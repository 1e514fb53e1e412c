"""Verdict policies, the false-discovery step, records, sensitive attributes, domain classifier."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from monitors.analyzers import _drift_multivariate as mv
from monitors.analyzers.base import DRIFT, OK
from monitors.analyzers.drift import (
    DriftConfig,
    benjamini_hochberg,
    column_drift,
    drift_config,
    drift_records,
    multivariate_drift,
    prepare_reference,
)
from monitors.errors import ConfigError
from storage.schema import ColumnSpec, ModelSchema


def make_schema(
    features: dict[str, str], *, sensitive: dict[str, str] | None = None
) -> ModelSchema:
    cols = [
        ColumnSpec(name="id", role="id", dtype="string"),
        ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
    ]
    cols += [ColumnSpec(name=n, role="feature", dtype=d) for n, d in features.items()]
    cols += [
        ColumnSpec(name=n, role="sensitive", dtype=d, categorical=d != "int")
        for n, d in (sensitive or {}).items()
    ]
    cols.append(ColumnSpec(name="y_hat", role="prediction", dtype="float"))
    return ModelSchema(task="regression", columns=tuple(cols))


def run(ref: pd.DataFrame, cur: pd.DataFrame, schema: ModelSchema, config: DriftConfig):
    profile = prepare_reference(ref, schema=schema, config=config)
    return column_drift(profile, cur, schema=schema, config=config)


def step_up(p: np.ndarray, alpha: float) -> np.ndarray:
    """Benjamini–Hochberg by its definition: reject the k smallest, k the largest with
    p_(k) <= k alpha / m."""
    m = p.size
    order = np.argsort(p)
    ok = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    reject = np.zeros(m, dtype=bool)
    if ok.size:
        reject[order[: ok[-1] + 1]] = True
    return reject


def test_benjamini_hochberg_rejects_what_the_step_up_rule_rejects() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        m = int(rng.integers(1, 30))
        p = np.where(rng.random(m) < 0.3, rng.random(m) * 0.01, rng.random(m))
        q = benjamini_hochberg(p)
        assert (q >= p - 1e-15).all() and (q <= 1).all()
        for alpha in (0.01, 0.05, 0.2):
            np.testing.assert_array_equal(q <= alpha, step_up(p, alpha))


def test_significant_effect_needs_both_and_evidently_keeps_its_split() -> None:
    """Same windows, both policies: each verdict is exactly its rule on the reported numbers."""
    rng = np.random.default_rng(1)
    schema = make_schema({"x": "float"})
    ref = pd.DataFrame({"x": rng.normal(size=3000)})
    new, old = DriftConfig(), DriftConfig(policy="evidently")
    p_new, p_old = (prepare_reference(ref, schema=schema, config=c) for c in (new, old))
    seen = set()
    for n, shift in [(40, 0.0), (40, 0.3), (40, 0.6), (20_000, 0.04), (20_000, 0.15)]:
        for _ in range(10):
            cur = pd.DataFrame({"x": rng.normal(shift, 1, n)})
            a = column_drift(p_new, cur, schema=schema, config=new).column("x")
            b = column_drift(p_old, cur, schema=schema, config=old).column("x")
            assert a.rule == "significant_effect" and a.p_metric == "ks"
            assert a.effect_metric == "wasserstein_normed" and a.effect_threshold == 0.1
            significant = a.p_value_adjusted is not None and a.p_value_adjusted < 0.05
            assert a.drifted == (significant and a.effect_size >= 0.1)
            assert b.rule == "evidently" and b.method == "wasserstein_normed"
            assert b.drifted == (b.metric("wasserstein_normed").value >= 0.1)
            seen.add((a.drifted, b.drifted))
    # small windows: evidently flags noise the p-value rejects; huge ones: a significant
    # 0.04-std shift is not an effect
    assert (False, True) in seen and (True, True) in seen and (False, False) in seen


def test_false_discovery_step_spans_the_window_columns() -> None:
    rng = np.random.default_rng(2)
    n = 400
    features = {f"f{i}": "float" for i in range(6)}
    schema = make_schema(features)
    ref = pd.DataFrame({name: rng.normal(size=3000) for name in features})
    ref["y_hat"] = rng.normal(size=3000)
    cur = pd.DataFrame({name: rng.normal(size=n) for name in features})
    cur["f0"] = rng.normal(0.35, 1, n)
    cur["y_hat"] = rng.normal(size=n)
    report = run(ref, cur, schema, DriftConfig())
    raw = np.array([c.p_value for c in report.columns])
    expected = benjamini_hochberg(raw)
    for col, q in zip(report.columns, expected, strict=True):
        assert col.p_value_adjusted == pytest.approx(q)
    assert report.column("f0").drifted
    unadjusted = run(ref, cur, schema, DriftConfig(fdr="none"))
    assert all(c.p_value_adjusted == c.p_value for c in unadjusted.columns)
    # records carry both numbers and say which rule decided
    records = drift_records(report)
    json.dumps([r.details for r in records], allow_nan=False)
    det = next(r for r in records if r.metric == "drift_detected" and r.feature == "f0")
    assert det.value == 1.0 and det.threshold == 0.05
    assert det.details["rule"] == "significant_effect" and det.details["p_metric"] == "ks"
    assert det.details["p_value_adjusted"] == pytest.approx(report.column("f0").p_value_adjusted)
    assert det.details["effect_metric"] == "wasserstein_normed"
    assert det.details["effect_size"] == pytest.approx(report.column("f0").effect_size)
    assert "Benjamini–Hochberg-adjusted over 7 columns" in det.details["reason"]
    ks = next(r for r in records if r.metric == "ks" and r.feature == "f0")
    assert ks.details["decides"] is True and ks.details["rule"].startswith("p_value < 0.05")
    assert ks.details["p_value_adjusted"] == det.details["p_value_adjusted"]
    psi = next(r for r in records if r.metric == "psi" and r.feature == "f0")
    assert psi.details["decides"] is False and psi.details["rule"].startswith("value >= 0.1")


def test_per_feature_policy_and_effect_threshold() -> None:
    rng = np.random.default_rng(3)
    schema = make_schema({"a": "float", "b": "float"})
    ref = pd.DataFrame({"a": rng.normal(size=20_000), "b": rng.normal(size=20_000)})
    cur = pd.DataFrame({"a": rng.normal(0.07, 1, 50_000), "b": rng.normal(0.07, 1, 50_000)})
    config = drift_config(
        {"features": {"a": {"effect_threshold": 0.04}, "b": {"policy": "evidently"}}}
    )
    report = run(ref, cur, schema, config)
    a, b = report.column("a"), report.column("b")
    assert a.rule == "significant_effect" and a.effect_threshold == 0.04 and a.drifted
    assert b.rule == "evidently" and b.method == "wasserstein_normed" and not b.drifted
    assert not run(ref, cur, schema, DriftConfig()).column("a").drifted  # 0.07 < 0.1
    with pytest.raises(ConfigError, match=re.escape("drift config key 'policy': Input should be")):
        drift_config({"policy": "strict"})


def test_sensitive_attributes_drift_but_do_not_count_in_the_share() -> None:
    rng = np.random.default_rng(4)
    schema = make_schema({"x": "float"}, sensitive={"sex": "string", "age_band": "int"})
    n = 2000
    ref = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
            "age_band": rng.integers(0, 8, n),  # an integer code: tested as categories
            "y_hat": rng.normal(size=n),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "sex": pd.Series(rng.choice(["F", "M"], n, p=[0.7, 0.3]), dtype="str"),
            "age_band": rng.integers(0, 8, n),
            "y_hat": rng.normal(size=n),
        }
    )
    report = run(ref, cur, schema, DriftConfig())
    sex = report.column("sex")
    assert sex.drifted and sex.kind == "categorical" and sex.p_metric == "chi2"
    assert report.column("age_band").kind == "categorical"
    assert report.counted_columns == ("x",) and report.dataset_share == 0.0
    records = drift_records(report)
    det = next(r for r in records if r.metric == "drift_detected" and r.feature == "sex")
    assert det.status == DRIFT and det.value == 1.0
    assert {r.metric for r in records if r.feature == "sex"} >= {"chi2", "z_test", "psi"}


def test_delong_auc_equals_sklearn_and_hash_folds_keep_duplicates_together() -> None:
    rng = np.random.default_rng(5)
    y = np.repeat([0.0, 1.0], 300)
    scores = np.round(rng.normal(y * 0.5, 1), 1)  # with ties
    auc, var = mv.delong(y, scores)
    assert auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert 0 < var < 0.01
    x = rng.integers(0, 3, (600, 2)).astype(float)  # 9 distinct rows, many duplicates
    fold, n_dup = mv.hash_folds(x, y, 5, rng)
    assert n_dup == 600
    for row in np.unique(x, axis=0):
        assert np.unique(fold[(x == row).all(axis=1)]).size == 1


def test_a_window_equal_to_the_reference_is_not_drift() -> None:
    rng = np.random.default_rng(6)
    schema = make_schema({"a": "float", "b": "float", "c": "string"})
    ref = pd.DataFrame(
        {
            "a": rng.normal(size=100),
            "b": rng.integers(0, 3, 100).astype(float),
            "c": pd.Series(rng.choice(list("pq"), 100), dtype="str"),
        }
    )
    for cur in (ref.copy(), ref.sample(frac=1.0, random_state=1)):
        res = multivariate_drift(ref, cur, schema=schema, config=DriftConfig())
        assert res.status == OK and not res.drifted and res.n_duplicate_rows == 200
        assert res.auc_ci is not None and res.auc_ci[0] <= 0.5
    rec = drift_records(run(ref, ref, schema, DriftConfig()), res)[-1]
    assert rec.details["ci_method"] == "DeLong" and rec.details["ci_low"] <= 0.5
