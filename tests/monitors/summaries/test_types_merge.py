"""Window summaries: JSON round trip, merge of shards equals the whole, the sample."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _data import assert_json_close, binary_log, binary_schema, regression_log, regression_schema

from monitors.analyzers.drift import DriftConfig
from monitors.errors import ConfigError
from monitors.summaries.memory import summarize_frame
from monitors.summaries.merge import merge, merge_all
from monitors.summaries.sample import sample_frame
from monitors.summaries.spec import SummaryConfig, build_spec
from monitors.summaries.types import WindowSummary


@pytest.fixture(scope="module")
def binary() -> tuple:
    reference = binary_log(5_000, seed=1)
    schema = binary_schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=3, drift=DriftConfig())
    return schema, spec


def _shards(frame, k: int, seed: int):
    """``frame`` cut into ``k`` disjoint shards of uneven sizes in a shuffled order."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cuts = np.sort(np.random.default_rng(seed + 1).choice(len(frame), k - 1, replace=False))
    return [frame.iloc[part] for part in np.split(order, cuts)]


@pytest.mark.parametrize("k", [2, 5])
def test_merging_shards_equals_the_summary_of_the_whole(binary, k: int) -> None:
    schema, spec = binary
    window = binary_log(20_000, seed=2, shift=0.4)
    whole = summarize_frame(window, spec)
    merged = merge_all([summarize_frame(s, spec) for s in _shards(window, k, seed=k)])
    # counts, minima, maxima, categories, cells and the sample exactly; sums to rounding
    assert_json_close(merged.to_json(), whole.to_json(), rel=1e-9)
    assert merged.fairness == whole.fairness
    assert merged.confusion == whole.confusion
    assert merged.sample == whole.sample
    for a, b in zip(merged.numeric, whole.numeric, strict=True):
        assert (a.bins, a.counts, a.bin_min, a.bin_max) == (b.bins, b.counts, b.bin_min, b.bin_max)


def test_regression_shards_merge_too() -> None:
    reference = regression_log(3_000, seed=1)
    schema = regression_schema(reference)
    spec = build_spec(reference, schema=schema, reference_version=1, drift=DriftConfig())
    window = regression_log(10_000, seed=4, shift=0.5)
    whole = summarize_frame(window, spec)
    merged = merge_all([summarize_frame(s, spec) for s in _shards(window, 3, seed=9)])
    assert_json_close(merged.to_json(), whole.to_json(), rel=1e-9)


def test_json_round_trip_is_lossless(binary) -> None:
    _, spec = binary
    summary = summarize_frame(binary_log(3_000, seed=5), spec)
    text = json.dumps(summary.to_json(), allow_nan=False)  # strict JSON
    assert WindowSummary.from_json(json.loads(text)) == summary


def test_from_json_refuses_another_format(binary) -> None:
    _, spec = binary
    data = summarize_frame(binary_log(100, seed=5), spec).to_json()
    data["format_version"] = 99
    with pytest.raises(ConfigError, match=re.escape("format_version: expected 1; got 99")):
        WindowSummary.from_json(data)


def test_merge_refuses_summaries_of_different_specs(binary) -> None:
    schema, spec = binary
    other = build_spec(
        binary_log(5_000, seed=8), schema=schema, reference_version=4, drift=DriftConfig()
    )
    window = binary_log(500, seed=6)
    with pytest.raises(ConfigError, match="must share their spec"):
        merge(summarize_frame(window, spec), summarize_frame(window, other))


def test_unseen_categories_past_top_k_keep_exact_totals(binary) -> None:
    schema, _ = binary
    reference = binary_log(5_000, seed=1)
    spec = build_spec(
        reference,
        schema=schema,
        reference_version=1,
        drift=DriftConfig(),
        config=SummaryConfig(top_k=3),
    )
    window = binary_log(6_000, seed=7)
    window["cat_b"] = [f"new{i % 10}" for i in range(len(window))]  # 10 unseen categories
    merged = merge_all([summarize_frame(s, spec) for s in _shards(window, 3, seed=3)])
    col = merged.categorical_column("cat_b")
    assert col is not None
    assert len(col.values) == 3
    assert sum(col.counts) + col.other_count == len(window)
    assert col.other_distinct >= 7


def test_the_sample_is_bounded_uniform_and_round_trips(binary) -> None:
    _, spec = binary
    window = binary_log(50_000, seed=11)
    summary = summarize_frame(window, spec)
    assert len(summary.sample.keys) == spec.sample_size == 10_000
    assert not summary.sample.complete
    frame = sample_frame(summary.sample, spec)
    share, expected = frame["flag"].mean(), window["flag"].mean()
    # a uniform sample of 10,000 rows: the share's sd is sqrt(p (1 - p) / 10,000) ~ 0.005;
    # 4 sd leaves a false failure rate below 1e-4
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / 10_000)
    rows = window.set_index("id").loc[frame["id"]].reset_index()[frame.columns]
    assert rows.astype(str).equals(frame.astype(str))


def test_a_small_window_is_all_in_its_sample(binary) -> None:
    _, spec = binary
    window = binary_log(800, seed=12)
    summary = summarize_frame(window, spec)
    assert summary.sample.complete
    frame = sample_frame(summary.sample, spec)
    assert sorted(frame["id"]) == sorted(window["id"])
