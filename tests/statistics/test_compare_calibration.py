"""Comparison verdicts with a known truth: false-verdict rate, interval coverage and power.

Each case draws ``DRAWS`` independent windows with a fixed seed and runs the real
:func:`monitors.compare.compare_window` on each. Tolerances come from the binomial
spread of the number of draws: with ``N = 200`` draws an observed rate whose true value
is ``α = 0.05`` has standard deviation ``sqrt(α (1 - α) / N) ≈ 0.0154``; the tests allow
three of them (a false alarm of the test itself about once in 700 runs).

* **Same model in split mode** — one model scores all requests, randomly split in two:
  every difference is truly 0, so ``candidate_better`` / ``candidate_worse`` is a false
  verdict; the unpaired bootstrap interval must cover 0.
* **Exchangeable models in shadow mode** — two models of equal strength with
  independent errors (same true accuracy): McNemar's test and the paired bootstrap must
  keep their size.
* **Known better candidate** — strengths 0.2 vs 0.35 (true accuracy difference
  0.1442): the paired interval covers it at the nominal rate, and the verdict is
  ``candidate_better`` nearly always at 600 requests.
"""

from __future__ import annotations

import math

import numpy as np

from monitors.compare import ComparisonConfig, compare_window
from storage.schema import infer_schema
from tests.monitors.compare.compare_support import START, accuracy_of, requests, scored

DRAWS = 200
ALPHA = 0.05
TOLERANCE = 3 * math.sqrt(ALPHA * (1 - ALPHA) / DRAWS)  # ≈ 0.046
CONFIG = ComparisonConfig(alpha=ALPHA, n_bootstrap=500, fairness=False, seed=0)


def _schema(frame, *, score: bool):
    return infer_schema(
        frame,
        task="binary_classification",
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p" if score else None,
        label="y",
    )


def _false_rate(verdicts: list[str]) -> float:
    return sum(v in ("candidate_better", "candidate_worse") for v in verdicts) / len(verdicts)


def test_same_model_split_keeps_its_size() -> None:
    verdicts: dict[str, list[str]] = {"accuracy": [], "roc_auc": []}
    covered = 0
    for i in range(DRAWS):
        req = scored(requests(400, seed=1000 + i, start=START), 0.2, seed=5000 + i)
        half = np.random.default_rng(9000 + i).random(len(req)) < 0.5
        base, cand = req[~half], req[half]
        result = compare_window(
            base,
            cand,
            baseline_schema=_schema(base, score=True),
            candidate_schema=_schema(cand, score=True),
            mode="split",
            split=0.5,
            config=CONFIG.model_copy(update={"seed": i}),
        )
        for metric in verdicts:
            verdicts[metric].append(result.get(metric).verdict)
        acc = result.get("accuracy")
        covered += acc.ci_low <= 0 <= acc.ci_high
    rates = {m: _false_rate(v) for m, v in verdicts.items()}
    print(f"same model, split: false verdict rates {rates}; 0 covered {covered / DRAWS:.3f}")
    assert all(rate <= ALPHA + TOLERANCE for rate in rates.values()), rates
    assert covered / DRAWS >= 1 - ALPHA - TOLERANCE


def test_exchangeable_models_in_shadow_keep_their_size() -> None:
    verdicts: dict[str, list[str]] = {"accuracy": [], "recall": [], "roc_auc": []}
    covered = 0
    for i in range(DRAWS):
        req = requests(400, seed=2000 + i, start=START)
        base, cand = scored(req, 0.2, seed=6000 + i), scored(req, 0.2, seed=7000 + i)
        result = compare_window(
            base,
            cand,
            baseline_schema=_schema(base, score=True),
            candidate_schema=_schema(cand, score=True),
            mode="shadow",
            config=CONFIG.model_copy(update={"seed": i}),
        )
        for metric in verdicts:
            verdicts[metric].append(result.get(metric).verdict)
        acc = result.get("accuracy")
        covered += acc.ci_low <= 0 <= acc.ci_high
    rates = {m: _false_rate(v) for m, v in verdicts.items()}
    print(f"exchangeable models, shadow: false verdict rates {rates}; 0 covered {covered / DRAWS}")
    assert all(rate <= ALPHA + TOLERANCE for rate in rates.values()), rates
    assert covered / DRAWS >= 1 - ALPHA - TOLERANCE


def test_known_better_candidate_is_found_and_its_interval_covers_the_truth() -> None:
    truth = accuracy_of(0.35) - accuracy_of(0.2)
    covered = better = 0
    for i in range(DRAWS):
        req = requests(600, seed=3000 + i, start=START)
        base, cand = scored(req, 0.2, seed=8000 + i), scored(req, 0.35, seed=8500 + i)
        result = compare_window(
            base,
            cand,
            baseline_schema=_schema(base, score=False),
            candidate_schema=_schema(cand, score=False),
            mode="shadow",
            config=CONFIG.model_copy(update={"seed": i}),
        )
        acc = result.get("accuracy")
        covered += acc.ci_low <= truth <= acc.ci_high
        better += result.verdict.verdict == "candidate_better"
    print(f"known better: coverage {covered / DRAWS:.3f}, power {better / DRAWS:.3f}")
    assert covered / DRAWS >= 1 - ALPHA - TOLERANCE
    assert better / DRAWS >= 0.95
