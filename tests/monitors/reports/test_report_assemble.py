"""The assembled report against fairlearn, and its reproducibility and hash."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from report_helpers import END, MODEL, START, MonitoredModel
from sklearn.metrics import accuracy_score, precision_score

from monitors.analyzers.fairness import DisparityThresholds, FairnessConfig
from monitors.errors import ReportError
from monitors.reports.assemble import ReportInputs, assemble_report, software_versions
from monitors.reports.canonical import canonical_float, canonical_json, content_sha256
from monitors.reports.export import gather_inputs
from monitors.reports.render import render_json

CONFIG = FairnessConfig(n_bootstrap=50, seed=3)
METRICS: dict[str, Any] = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
    "precision": lambda y, p: precision_score(y, p, zero_division=np.nan),
    "accuracy": accuracy_score,
}
DISPARITY_FUNCS = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
    "equal_opportunity_difference": equal_opportunity_difference,
}


@pytest.fixture(scope="module")
def inputs(monitored: MonitoredModel) -> ReportInputs:
    return gather_inputs(monitored.url, MODEL, start=START, end=END)[0]


@pytest.fixture(scope="module")
def content(inputs: ReportInputs) -> dict[str, Any]:
    return dict(assemble_report(inputs, config=CONFIG).content)


def _period_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["ts"] >= START) & (frame["ts"] < END)]


FEATURES = [("sex",), ("age_band",), ("sex", "age_band")]


def _group_name(attrs: tuple[str, ...], key: Any) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return "&".join(f"{a}={v}" for a, v in zip(attrs, values, strict=True))


@pytest.mark.parametrize("attrs", FEATURES, ids=["&".join(a) for a in FEATURES])
def test_group_metrics_equal_fairlearn(
    monitored: MonitoredModel, content: dict[str, Any], attrs: tuple[str, ...]
) -> None:
    rows = _period_rows(monitored.frame)
    mf = MetricFrame(
        metrics=METRICS,
        y_true=rows["label"].to_numpy(),
        y_pred=rows["pred"].to_numpy(),
        sensitive_features=rows[list(attrs)].astype(object),
    )
    feature = "&".join(attrs)
    groups = {g["group"]: g for g in content["groups"] if g["feature"] == feature}
    sizes = rows.groupby(list(attrs)).size()
    assert len(groups) == len(mf.by_group) == len(sizes)
    for key, expected in mf.by_group.iterrows():
        group = groups[_group_name(attrs, key)]
        assert group["n"] == sizes.loc[key]
        assert group["insufficient_data"] == (sizes.loc[key] < CONFIG.min_group_size)
        for metric in METRICS:
            got = group["metrics"][metric]
            assert got["value"] == pytest.approx(expected[metric], rel=1e-9, abs=1e-12)
            assert got["ci_low"] <= got["value"] + 1e-12 <= got["ci_high"] + 2e-12


@pytest.mark.parametrize("attrs", FEATURES, ids=["&".join(a) for a in FEATURES])
def test_disparities_and_impact_ratios_equal_fairlearn(
    monitored: MonitoredModel, content: dict[str, Any], attrs: tuple[str, ...]
) -> None:
    rows = _period_rows(monitored.frame)
    sf = rows[list(attrs)].astype(object)
    feature = "&".join(attrs)
    disparities = {d["metric"]: d for d in content["disparities"] if d["feature"] == feature}
    thresholds = DisparityThresholds()
    for name, func in DISPARITY_FUNCS.items():
        expected = func(rows["label"], rows["pred"], sensitive_features=sf)
        got = disparities[name]
        assert got["value"] == pytest.approx(expected, rel=1e-9)
        limit = getattr(thresholds, name)
        assert got["threshold"] == limit
        passed = expected <= limit if name.endswith("difference") else expected >= limit
        assert got["passed"] is bool(passed)
    rates = MetricFrame(
        metrics=selection_rate, y_true=rows["label"], y_pred=rows["pred"], sensitive_features=sf
    ).by_group
    table = "by_intersectional_category" if len(attrs) > 1 else "by_category"
    impact = {r["category"]: r for r in content["impact_ratios"][table] if r["feature"] == feature}
    assert len(impact) == len(rates)
    for key, rate in rates.items():
        row = impact[_group_name(attrs, key)]
        assert row["selection_rate"] == pytest.approx(rate, rel=1e-9)
        assert row["impact_ratio"] == pytest.approx(rate / rates.max(), rel=1e-9)
        assert row["passed"] is bool(rate / rates.max() >= 0.8)
        assert row["most_selected"] is bool(rate == rates.max())
    dir_ = disparities["disparate_impact_ratio"]
    assert dir_["value"] == pytest.approx(rates.min() / rates.max(), rel=1e-9)


def test_parameters_and_sections(inputs: ReportInputs, content: dict[str, Any]) -> None:
    params = content["parameters"]
    assert params["model"] == MODEL
    assert params["reference_version"] == 1
    assert params["period"]["start"] == START.isoformat()
    assert params["sensitive_attributes"] == ["sex", "age_band"]
    assert params["thresholds"]["four_fifths"] == 0.8
    assert params["bootstrap"]["n_resamples"] == 50
    assert params["bootstrap"]["seed"] == 3
    assert content["data"]["n_rows"] == len(inputs.frame)
    flagged = {(g["feature"], g["group"]) for g in content["insufficient_data"]}
    small = {(g["feature"], g["group"]) for g in content["groups"] if g["n"] < 30}
    assert small and small <= flagged
    assert content["software"] == software_versions()
    assert set(content["software"]) >= {"driftwarden", "fairlearn", "numpy", "pandas"}
    assert content["methodology"]["limitations"]


def test_drift_summary_and_alert_history(content: dict[str, Any]) -> None:
    drift = content["drift_attribution_summary"]["drift"]
    assert drift == [
        {
            "analyzer": "drift",
            "metric": "psi",
            "feature": "x",
            "n_windows": 2,
            "n_flagged": 1,
            "min": 0.05,
            "max": 0.31,
            "last": 0.31,
            "threshold": 0.2,
        }
    ]
    assert [r["metric"] for r in content["drift_attribution_summary"]["attribution"]] == [
        "attribution_share"
    ]
    history = content["alert_history"]
    assert history["rules"] == ["dir-sex"]
    [event] = history["events"]
    assert (event["rule"], event["from_state"], event["to_state"]) == (
        "dir-sex",
        "pending",
        "firing",
    )
    assert event["value"] == 0.61


def test_empty_drift_summary_has_a_sentence(inputs: ReportInputs) -> None:
    bare = ReportInputs(
        model=inputs.model,
        schema=inputs.schema,
        reference_version=None,
        start=inputs.start,
        end=inputs.end,
        frame=inputs.frame,
    )
    content = assemble_report(bare, config=CONFIG).content
    summary = content["drift_attribution_summary"]
    assert summary["drift"] == [] and summary["attribution"] == []
    assert "No drift or attribution metrics" in summary["note"]
    assert content["alert_history"]["events"] == []


def test_same_inputs_give_byte_identical_json(inputs: ReportInputs) -> None:
    first = assemble_report(inputs, config=CONFIG)
    second = assemble_report(inputs, config=CONFIG)
    assert render_json(first) == render_json(second)
    assert first.content_sha256 == second.content_sha256
    assert first.content_sha256 == hashlib.sha256(canonical_json(first.content)).hexdigest()


def test_changed_label_or_threshold_changes_the_hash(inputs: ReportInputs) -> None:
    base = assemble_report(inputs, config=CONFIG).content_sha256
    frame = inputs.frame.copy()
    frame.loc[frame.index[0], "label"] = 1 - frame["label"].iloc[0]
    relabelled = ReportInputs(**{**_fields(inputs), "frame": frame})
    assert assemble_report(relabelled, config=CONFIG).content_sha256 != base
    stricter = CONFIG.model_copy(
        update={"thresholds": DisparityThresholds(demographic_parity_difference=0.05)}
    )
    assert assemble_report(inputs, config=stricter).content_sha256 != base


def _fields(inputs: ReportInputs) -> dict[str, Any]:
    return {name: getattr(inputs, name) for name in ReportInputs.__slots__}


def test_json_export_is_canonical(inputs: ReportInputs) -> None:
    report = assemble_report(inputs, config=CONFIG)
    data = render_json(report)
    doc = json.loads(data)
    assert doc["content_sha256"] == report.content_sha256 == content_sha256(doc)
    assert data == canonical_json(doc) + b"\n"
    assert b"NaN" not in data and b"Infinity" not in data
    assert list(doc) == sorted(doc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2 / 3, 0.6666666667),
        (1e-20 / 3, 3.333333333e-21),
        (-0.0, 0.0),
        (123456789012.0, 123456789000.0),
    ],
)
def test_canonical_float(value: float, expected: float) -> None:
    assert canonical_float(value) == expected
    assert canonical_float(canonical_float(value) or 0.0) == canonical_float(value)


def test_empty_period_and_inverted_period_are_refused(inputs: ReportInputs) -> None:
    empty = ReportInputs(**{**_fields(inputs), "frame": inputs.frame.iloc[:0]})
    msg = (
        f"model 'credit': no logged rows between {START.isoformat()} and {END.isoformat()}; "
        "expected at least one"
    )
    with pytest.raises(ReportError, match=re.escape(msg)):
        assemble_report(empty, config=CONFIG)
    inverted = ReportInputs(**{**_fields(inputs), "start": END, "end": START})
    with pytest.raises(ReportError, match=re.escape("report period: expected --from before --to")):
        assemble_report(inverted, config=CONFIG)
