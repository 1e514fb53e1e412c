"""The lending demo's candidate model ``credit_v2``, scored in shadow of ``credit``.

``credit_v2`` is a logistic regression on the applicant's log income, debt ratio, credit
score, log loan amount and years employed — the form of the true repayment model — so
it is slightly more accurate than ``credit`` (about +1 point). A new rule of its
pre-processing docks young applicants, though: its score is multiplied by
:data:`YOUNG_PENALTY` for ``age_band=18-24``, which costs that group about a fifth of
its recall (repaid loans it would now decline). It scores the same requests as
``credit`` (same ``prediction_id``; shadow mode), behind the same upstream service, so
the scores of the requests hit by the fairness regression for ``group=D`` in the last
14 days are cut alike (``Scenario.fairness_cut``); the stuck score of one day is
``credit``'s alone.

The comparison ``credit-v2-shadow`` (:data:`COMPARISON`) is defined by
:func:`load_candidate`; a demo rule fires on the candidate's lower recall for the young
(:data:`CANDIDATE_RULES`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

CANDIDATE: Final = "credit_v2"
COMPARISON: Final = "credit-v2-shadow"
YOUNG: Final = "18-24"
YOUNG_PENALTY: Final = 0.75

CANDIDATE_RULES: Final = """\
  # the candidate (shadow) approves fewer young applicants who repay: significantly lower
  # recall than credit for age_band=18-24 (the interval of the difference below 0)
  - name: credit-v2-recall-young
    model: credit_v2
    metric: recall_delta
    feature: age_band
    group: "age_band=18-24"
    op: "<"
    threshold: 0
    require_significant: true
    for: 1
    repeat: 24h
    severity: warning
"""


def _design(frame: pd.DataFrame) -> np.ndarray:
    """The candidate's inputs: the logistic truth's terms."""
    return np.column_stack(
        [
            np.log(frame["income"].to_numpy(dtype=np.float64)),
            frame["debt_ratio"].to_numpy(dtype=np.float64),
            frame["credit_score"].to_numpy(dtype=np.float64),
            np.log(frame["loan_amount"].to_numpy(dtype=np.float64)),
            frame["employment_years"].to_numpy(dtype=np.float64),
        ]
    )


def fit_candidate(reference: pd.DataFrame) -> Any:
    """The candidate's logistic regression, fitted on the labelled reference (deterministic)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(_design(reference), reference["repaid"].to_numpy())


def candidate_frame(
    model: Any, frame: pd.DataFrame, *, cut: np.ndarray | None = None
) -> pd.DataFrame:
    """``frame`` with the candidate's ``score`` and ``approved`` in place of the baseline's.

    ``cut`` marks rows whose score the upstream fairness regression cuts to 30 %.
    """
    score = model.predict_proba(_design(frame))[:, 1]
    young = (frame["age_band"] == YOUNG).to_numpy()
    score = np.where(young, score * YOUNG_PENALTY, score)
    if cut is not None:
        score = np.where(cut, score * 0.3, score)
    out = frame.copy()
    out["score"] = score
    out["approved"] = (score >= 0.5).astype(int)
    return out


def load_candidate(url: str | None, scenario: Any, *, config: dict[str, Any]) -> None:
    """Register ``credit_v2``, log its shadow predictions and labels, define the comparison.

    Parameters
    ----------
    url : str or None
        Database URL.
    scenario : monitors.demo.lending.Scenario
        The generated demo (reference with labels, production rows, labels).
    config : dict
        The candidate's analysis config (the demo's).
    """
    from monitors.collectors import Client
    from monitors.compare.service import add_comparison, comparisons

    model = fit_candidate(scenario.reference)
    client = Client(url)
    if CANDIDATE not in {m.name for m in client.models()}:
        client.register_model(
            CANDIDATE,
            task="binary_classification",
            reference=candidate_frame(model, scenario.reference),
            id="prediction_id",
            timestamp="ts",
            prediction="approved",
            score="score",
            label="repaid",
            sensitive=["sex", "age_band", "group"],
            categorical=["purpose", "home_ownership"],
            latency_ms="latency_ms",
            window="1d",
            config=config,
        )
    shadow = candidate_frame(model, scenario.production, cut=scenario.fairness_cut)
    client.log(CANDIDATE, shadow, source="demo")
    client.log_labels(CANDIDATE, scenario.labels, id="prediction_id", label="repaid")
    if COMPARISON not in {c.name for c in comparisons(url)}:
        add_comparison(url, COMPARISON, baseline="credit", candidate=CANDIDATE, mode="shadow")
