"""A deterministic lending scenario: model ``credit`` with known drifts and a fairness regression.

Synthetic loan applicants with three sensitive attributes (``sex``, ``age_band`` and an
ethnicity-like ``group``) and a scikit-learn gradient-boosting classifier trained at
demo time. Starting :data:`START` (UTC), 60 daily windows of predictions carry:

* a **gradual drift** in ``income`` (its mean falls steadily, about -0.3 % a day);
* a **sudden shift** in ``credit_score`` (+40 points: a bureau rescaled its scores)
  from :data:`SHIFT_DAY` on;
* a **new category** ``crypto`` of ``purpose`` from :data:`NEW_CATEGORY_DAY` on;
* a **fairness regression** for ``group=D`` in the last 14 days (its approvals are
  cut by about four fifths, so its disparate impact ratio falls below 0.8);
* **labels arriving with a delay**: labels exist for rows older than
  :data:`LABEL_DELAY_DAYS` days at the end of the scenario, so the last windows have
  estimated performance only (CBPE, calibrated on the labelled reference) and the
  others show estimate and realized side by side;
* a **stuck score** on :data:`STUCK_DAY`: for eight hours the scoring service returned
  its fallback score :data:`STUCK_SCORE` for every applicant (a third of the day's rows),
  which the ``anomalies`` analyzer flags (``stuck_score_share``);
* a **candidate model** ``credit_v2`` scoring the same requests in shadow mode, slightly
  more accurate overall but worse for young applicants (:mod:`monitors.demo.candidate`),
  compared with ``credit`` by the comparison ``credit-v2-shadow``.

Everything derives from the seed: the same call gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from monitors.demo.candidate import CANDIDATE_RULES, load_candidate

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 60
SHIFT_DAY = 35
NEW_CATEGORY_DAY = 40
FAIRNESS_DAYS = 14
LABEL_DELAY_DAYS = 7
STUCK_DAY = 20
STUCK_SCORE = 0.5
STUCK_HOURS = (6, 14)
MODEL = "credit"
FEATURES_NUMERIC = ["income", "debt_ratio", "credit_score", "loan_amount", "employment_years"]
FEATURES_CATEGORICAL = ["purpose", "home_ownership"]
SENSITIVE = ["sex", "age_band", "group"]
PURPOSES = ["car", "home", "education", "business", "medical"]


@dataclass(frozen=True)
class Scenario:
    """The generated data and the fitted model."""

    reference: pd.DataFrame
    production: pd.DataFrame  # without labels; ``label`` kept in ``labels``
    labels: pd.DataFrame  # prediction_id, label for rows old enough to be labelled
    model: object
    start: datetime
    end: datetime  # end of the last window
    # production rows whose score the fairness regression cut (group D, last 14 days)
    fairness_cut: np.ndarray | None = None


def _applicants(rng: np.random.Generator, n: int, day: float | None) -> pd.DataFrame:
    drift = 0.0 if day is None else day
    sex = rng.choice(["F", "M"], n)
    age_band = rng.choice(["18-24", "25-34", "35-49", "50+"], n, p=[0.15, 0.35, 0.3, 0.2])
    group = rng.choice(["A", "B", "C", "D"], n, p=[0.3, 0.25, 0.25, 0.2])
    income = rng.lognormal(10.8, 0.45, n) * (1 - 0.003 * drift)
    debt_ratio = np.clip(rng.beta(2, 5, n), 0, 1)
    credit_score = np.clip(rng.normal(680, 60, n), 300, 850)
    if day is not None and day >= SHIFT_DAY:
        credit_score = np.clip(credit_score + 40, 300, 850)
    loan_amount = np.round(rng.lognormal(9.5, 0.6, n), 2)
    employment_years = rng.poisson(6, n).astype(float)
    probs = [0.3, 0.25, 0.15, 0.15, 0.15]
    purpose = rng.choice(PURPOSES, n, p=probs).astype(object)
    if day is not None and day >= NEW_CATEGORY_DAY:
        purpose[rng.random(n) < 0.08] = "crypto"
    home = rng.choice(["rent", "own", "mortgage"], n, p=[0.4, 0.2, 0.4])
    return pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "credit_score": credit_score,
            "loan_amount": loan_amount,
            "employment_years": employment_years,
            "purpose": purpose.astype(str),
            "home_ownership": home,
            "sex": sex,
            "age_band": age_band,
            "group": group,
        }
    )


def _true_repaid(rng: np.random.Generator, frame: pd.DataFrame) -> np.ndarray:
    logit = (
        -1.0
        + 0.9 * (np.log(frame["income"]) - 10.8) / 0.45
        - 2.5 * (frame["debt_ratio"] - 0.28)
        + 0.02 * (frame["credit_score"] - 680)
        - 0.4 * (np.log(frame["loan_amount"]) - 9.5)
        + 0.05 * frame["employment_years"]
        + 1.2
    )
    # an array, not a Series: a Series sliced [n:] keeps its index and would align to NaN
    # when assigned to the reference frame (whose labels CBPE calibrates on)
    p = 1 / (1 + np.exp(-logit.to_numpy(dtype=np.float64)))
    return (rng.random(len(frame)) < p).astype(int)


def _fit(frame: pd.DataFrame, labels: np.ndarray, seed: int) -> object:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encode = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                FEATURES_CATEGORICAL,
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model = Pipeline(
        [
            ("encode", encode),
            ("model", HistGradientBoostingClassifier(max_iter=100, random_state=seed)),
        ]
    )
    model.fit(frame[FEATURES_NUMERIC + FEATURES_CATEGORICAL], labels)
    return model


def generate(
    *, rows_per_day: int = 1000, days: int = DAYS, reference_rows: int = 10_000, seed: int = 7
) -> Scenario:
    """Build the scenario (pure: no I/O)."""
    rng = np.random.default_rng(seed)
    train = _applicants(rng, reference_rows * 2, None)
    repaid = _true_repaid(rng, train)
    model = _fit(train.iloc[:reference_rows], repaid[:reference_rows], seed)
    features = FEATURES_NUMERIC + FEATURES_CATEGORICAL

    def score(frame: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(frame[features])[:, 1]  # type: ignore[attr-defined]

    reference = train.iloc[reference_rows:].reset_index(drop=True)
    reference["score"] = score(reference)
    reference["approved"] = (reference["score"] >= 0.5).astype(int)
    reference["repaid"] = repaid[reference_rows:]
    reference["prediction_id"] = [f"ref-{i:06d}" for i in range(len(reference))]
    reference["ts"] = (
        START
        - timedelta(days=30)
        + pd.to_timedelta(np.sort(rng.uniform(0, 30 * 86400, len(reference))), unit="s")
    )
    reference["latency_ms"] = np.round(rng.gamma(4, 6, len(reference)), 2)

    parts, cuts = [], []
    for day in range(days):
        frame = _applicants(rng, rows_per_day, day)
        frame["repaid"] = _true_repaid(rng, frame)
        frame["score"] = score(frame)
        hit = np.zeros(rows_per_day, dtype=bool)
        if day >= days - FAIRNESS_DAYS:
            hit = (frame["group"] == "D").to_numpy() & (rng.random(rows_per_day) < 0.8)
            frame.loc[hit, "score"] = frame.loc[hit, "score"] * 0.3
        cuts.append(hit)
        frame["approved"] = (frame["score"] >= 0.5).astype(int)
        seconds = np.sort(rng.uniform(0, 86400, rows_per_day))
        frame["ts"] = START + timedelta(days=day) + pd.to_timedelta(seconds, unit="s")
        frame["prediction_id"] = [f"d{day:03d}-{i:06d}" for i in range(rows_per_day)]
        if day == STUCK_DAY:  # the service fell back to a constant score for eight hours
            stuck = (seconds >= STUCK_HOURS[0] * 3600) & (seconds < STUCK_HOURS[1] * 3600)
            frame.loc[stuck, "score"] = STUCK_SCORE
            frame.loc[stuck, "approved"] = int(STUCK_SCORE >= 0.5)
        frame["latency_ms"] = np.round(
            rng.gamma(4, 6 + (3 if day >= SHIFT_DAY else 0), rows_per_day), 2
        )
        parts.append(frame)
    production = pd.concat(parts, ignore_index=True)
    end = START + timedelta(days=days)
    labelled = production["ts"] < end - timedelta(days=LABEL_DELAY_DAYS)
    labels = production.loc[labelled, ["prediction_id", "repaid"]].reset_index(drop=True)
    columns = ["prediction_id", "ts", *features, *SENSITIVE, "approved", "score", "latency_ms"]
    return Scenario(
        reference=reference[[*columns, "repaid"]],
        production=production[columns],
        labels=labels,
        model=model,
        start=START,
        end=end,
        fairness_cut=np.concatenate(cuts) if cuts else None,
    )


DEMO_CONFIG = {
    "drift": {"multivariate_sample": 1000, "multivariate_folds": 3, "multivariate_max_iter": 30},
    "explain": {"sample_size": 300},
    "fairness": {"n_bootstrap": 300},
}

DEMO_RULES = (
    """\
# Demo alert rules for the lending scenario. No channels: states are recorded and shown in
# the dashboard; add e.g. `channels: [ml-team]` with a `channels:` section to be notified.
rules:
  - name: credit-score-drift
    model: credit
    metric: drift_detected
    feature: credit_score
    op: ">="
    threshold: 1
    for: 1
    repeat: 24h
    severity: warning
  - name: new-purpose-category
    model: credit
    metric: new_category_share
    feature: purpose
    op: ">"
    threshold: 0.01
    for: 1
    repeat: 24h
    severity: info
  # daily groups of ~200 applicants make the ratio noisy: alert a margin below four-fifths
  - name: group-disparate-impact
    model: credit
    metric: disparate_impact_ratio
    feature: group
    op: "<"
    threshold: 0.75
    for: 2
    repeat: 24h
    severity: critical
  # a third of one day's applicants got the same score: the service's fallback value
  - name: credit-stuck-score
    model: credit
    metric: stuck_score_share
    op: ">"
    threshold: 0.2
    for: 1
    repeat: 24h
    severity: critical
"""
    + CANDIDATE_RULES
)


def load_demo(
    url: str | None = None,
    *,
    rows_per_day: int = 1000,
    days: int = DAYS,
    seed: int = 7,
    with_artifact: bool = True,
    with_candidate: bool = True,
) -> Scenario:
    """Generate the scenario and store it: register ``credit``, log, backfill labels.

    With ``with_candidate`` also register ``credit_v2``, log its shadow predictions and
    labels, and define the comparison ``credit-v2-shadow`` (:mod:`monitors.demo.candidate`).
    """
    from monitors.collectors import Client

    scenario = generate(rows_per_day=rows_per_day, days=days, seed=seed)
    client = Client(url)
    existing = {m.name for m in client.models()}
    if MODEL not in existing:
        client.register_model(
            MODEL,
            task="binary_classification",
            reference=scenario.reference,
            id="prediction_id",
            timestamp="ts",
            prediction="approved",
            score="score",
            label="repaid",
            sensitive=SENSITIVE,
            categorical=FEATURES_CATEGORICAL,
            latency_ms="latency_ms",
            window="1d",
            config=DEMO_CONFIG,
        )
        if with_artifact:
            client.set_artifact(MODEL, scenario.model)
    client.log(MODEL, scenario.production, source="demo")
    client.log_labels(MODEL, scenario.labels, id="prediction_id", label="repaid")
    if with_candidate:
        load_candidate(url, scenario, config=DEMO_CONFIG)
    return scenario


def apply_demo_rules(url: str | None = None) -> None:
    """Apply :data:`DEMO_RULES` (drift, new category, fairness, stuck score, candidate)."""
    from monitors.alerts.rules import apply_rules, parse_rule_file
    from storage.engine import get_engine, session_scope

    with session_scope(get_engine(url)) as session:
        apply_rules(session, parse_rule_file(DEMO_RULES, source="demo rules"))
