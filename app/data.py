"""Cached loaders: the only place the pages reach the database.

Every loader takes the database URL first (so two databases never share a cache
entry) and calls query functions from :mod:`storage` / :mod:`monitors`. Reads are
cached for :data:`TTL` seconds; the engine is a process-wide resource. A SQLAlchemy
session is always closed before :func:`monitors.windows.load_window` runs
(two SQLite libraries must never hold one file at the same time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage import alerts as alert_queries
from storage import queries
from storage.engine import database_url as resolve_url
from storage.engine import get_engine, read_engine, session_scope
from storage.errors import StorageError
from storage.metrics import quarantine_examples
from storage.registry import (
    get_model,
    latest_artifact,
    list_models,
    model_schema,
)

TTL = 60
"""Seconds a loaded frame is reused before the database is read again."""

GROUP_METRICS = (
    "selection_rate",
    "accuracy",
    "tpr",
    "fpr",
    "fnr",
    "precision",
    "count",
)
"""Per-group fairness metrics offered on the fairness page (those stored are shown)."""

DRIFT_SCORE = "jensenshannon"
"""Metric shown in the drift heatmap: defined for numeric and categorical columns, in [0, 1]."""


def database_url() -> str:
    """The database URL of this run (``DRIFTWARDEN_DATABASE_URL`` or the default)."""
    return resolve_url(None)


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    """The process-wide engine of ``url`` (migrated on first use)."""
    return get_engine(url)


def _reader(url: str) -> Engine:
    return read_engine(engine(url))


@dataclass(frozen=True)
class ModelInfo:
    """What the pages need to know about one model."""

    name: str
    task: str
    window: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    sensitive: tuple[str, ...]
    has_label: bool
    id_column: str
    has_artifact: bool
    first: datetime | None
    last: datetime | None


@st.cache_data(ttl=TTL, show_spinner=False)
def model_names(url: str) -> list[str]:
    """Registered model names, sorted."""
    with session_scope(_reader(url)) as session:
        return [m.name for m in list_models(session)]


@st.cache_data(ttl=TTL, show_spinner=False)
def model_info(url: str, name: str) -> ModelInfo:
    """Schema summary and analysed range of one model (raises ``UnknownModelError``)."""
    with session_scope(_reader(url)) as session:
        model = get_model(session, name)
        schema = model_schema(model)
        span = queries.analysed_range(session, model)
        artifact = latest_artifact(session, model) is not None
        return ModelInfo(
            name=model.name,
            task=model.task,
            window=model.window,
            features=tuple(c.name for c in schema.features),
            categorical=tuple(
                c.name for c in schema.features if schema.kind_of(c.name).value == "categorical"
            ),
            sensitive=tuple(c.name for c in schema.sensitive),
            has_label=schema.label is not None,
            id_column=schema.id.name,
            has_artifact=artifact,
            first=None if span is None else span[0],
            last=None if span is None else span[1],
        )


@st.cache_data(ttl=TTL, show_spinner=False)
def overview(url: str) -> pd.DataFrame:
    """:func:`storage.queries.model_overview`."""
    with session_scope(_reader(url)) as session:
        return queries.model_overview(session)


def _values(url: str, name: str, **kwargs: Any) -> pd.DataFrame:
    with session_scope(_reader(url)) as session:
        return queries.metric_values(session, model=get_model(session, name), **kwargs)


@st.cache_data(ttl=TTL, show_spinner=False)
def drift_scores(url: str, name: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Feature × window: ``score`` (:data:`DRIFT_SCORE`), ``drifted`` (0/1/NaN), ``status``."""
    frame = _values(
        url, name, metrics=["drift_detected", DRIFT_SCORE], analyzer="drift", start=start, end=end
    )
    frame = frame[frame["feature"].notna()]
    detected = frame[frame["metric"] == "drift_detected"][
        ["window_start", "feature", "value", "status"]
    ].rename(columns={"value": "drifted"})
    score = frame[frame["metric"] == DRIFT_SCORE][["window_start", "feature", "value"]].rename(
        columns={"value": "score"}
    )
    merged = detected.merge(score, on=["window_start", "feature"], how="outer")
    return merged.sort_values(["feature", "window_start"]).reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def dataset_drift(url: str, name: str, start: datetime, end: datetime) -> pd.DataFrame:
    """``dataset_drift_share`` and ``domain_classifier_auc`` over time."""
    return _values(
        url,
        name,
        metrics=["dataset_drift_share", "domain_classifier_auc"],
        analyzer="drift",
        start=start,
        end=end,
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def feature_drift(
    url: str, name: str, feature: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """Every drift metric of one feature over time, with ``details``."""
    return _values(url, name, analyzer="drift", feature=feature, start=start, end=end, details=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def analyzer_values(
    url: str, name: str, analyzer: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """Every stored value of one analyzer in the period (without ``details``)."""
    return _values(url, name, analyzer=analyzer, start=start, end=end)


@st.cache_data(ttl=TTL, show_spinner=False)
def metric_details(
    url: str,
    name: str,
    metrics: tuple[str, ...],
    start: datetime,
    end: datetime,
    feature: str | None = None,
) -> pd.DataFrame:
    """Values of a few metrics with their ``details`` (histograms, matrices, intervals)."""
    return _values(
        url, name, metrics=list(metrics), feature=feature, start=start, end=end, details=True
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def attribute_values(
    url: str, name: str, attribute: str, metrics: tuple[str, ...], start: datetime, end: datetime
) -> pd.DataFrame:
    """Fairness values of some metrics of one sensitive attribute or intersection."""
    return _values(
        url,
        name,
        analyzer="fairness",
        metrics=list(metrics),
        feature=attribute,
        start=start,
        end=end,
        details=True,
    )


def with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``ci_low``, ``ci_high`` and ``n`` taken out of ``details``."""
    frame = frame.copy()
    for key in ("ci_low", "ci_high", "n"):
        frame[key] = frame["details"].map(lambda d, k=key: (d or {}).get(k)).astype("float64")
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def fairness_attributes(url: str, name: str) -> list[str]:
    """Attributes and intersections that have stored fairness values."""
    with session_scope(_reader(url)) as session:
        model = get_model(session, name)
        return queries.metric_features(
            session, model=model, metric="selection_rate", analyzer="fairness"
        ) or queries.metric_features(
            session, model=model, metric="disparate_impact_ratio", analyzer="fairness"
        )


@st.cache_data(ttl=TTL, show_spinner=False)
def windows(url: str, name: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Analysed windows with their row and label counts."""
    with session_scope(_reader(url)) as session:
        return queries.window_counts(session, get_model(session, name), start=start, end=end)


@st.cache_data(ttl=TTL, show_spinner=False)
def quarantine(url: str, name: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Latest quarantined rows of the period (reason and original values)."""
    with session_scope(_reader(url)) as session:
        return quarantine_examples(
            session,
            get_model(session, name),
            start_us=int(start.timestamp() * 1_000_000),
            end_us=int(end.timestamp() * 1_000_000),
            limit=50,
        )


def _alert_rules(session: Session, name: str | None) -> pd.DataFrame:
    """Alert rules of one model (or all) as a table."""
    return pd.DataFrame(
        [
            {
                "rule": r.name,
                "model": r.model,
                "metric": r.metric,
                "feature": r.feature,
                "group": r.group,
                "condition": f"{r.op} {r.threshold:g} for {r.for_windows} window(s)",
                "severity": r.severity,
                "channels": ", ".join(map(str, r.channels)),
                "enabled": r.enabled,
            }
            for r in alert_queries.rules(session, model=name)
        ],
        columns=[
            "rule",
            "model",
            "metric",
            "feature",
            "group",
            "condition",
            "severity",
            "channels",
            "enabled",
        ],
    )


def _alert_series(session: Session, name: str | None) -> pd.DataFrame:
    """Alert series of one model (or all) with their state."""
    return pd.DataFrame(
        [
            {
                "id": s.id,
                "rule": r.name,
                "model": r.model,
                "feature": s.feature or None,
                "group": s.group or None,
                "state": s.state,
                "since": s.since,
                "open_since": s.open_since,
                "last_window_end": s.last_window_end,
                "last_value": s.last_value,
                "acknowledged_by": s.acknowledged_by,
                "acknowledged_at": s.acknowledged_at,
            }
            for s, r in alert_queries.series(session, model=name)
        ],
        columns=[
            "id",
            "rule",
            "model",
            "feature",
            "group",
            "state",
            "since",
            "open_since",
            "last_window_end",
            "last_value",
            "acknowledged_by",
            "acknowledged_at",
        ],
    )


def _alert_history(session: Session, name: str | None) -> pd.DataFrame:
    """The latest 500 alert events of one model (or all), oldest first."""
    return pd.DataFrame(
        [
            {
                "at": e.at,
                "rule": r.name,
                "feature": s.feature or None,
                "group": s.group or None,
                "from": e.from_state,
                "to": e.to_state,
                "window_start": e.window_start,
                "value": e.value,
                "threshold": e.threshold,
                "silenced": e.silenced,
            }
            for e, s, r in alert_queries.events(session, model=name, limit=500)
        ],
        columns=[
            "at",
            "rule",
            "feature",
            "group",
            "from",
            "to",
            "window_start",
            "value",
            "threshold",
            "silenced",
        ],
    )


def _alert_silences(session: Session, name: str | None) -> pd.DataFrame:
    """Silences that apply to one model (or all)."""
    return pd.DataFrame(
        [
            {
                "rule": s.rule,
                "model": s.model,
                "feature": s.feature,
                "until": s.until,
                "reason": s.reason,
                "author": s.author,
            }
            for s in alert_queries.silences(session)
            if name is None or s.model in (None, name)
        ],
        columns=["rule", "model", "feature", "until", "reason", "author"],
    )


def _alert_outbox(session: Session) -> pd.DataFrame:
    """Pending and dead outbox messages (of every model)."""
    return pd.DataFrame(
        [
            {
                "id": m.id,
                "channel": m.channel,
                "status": m.status,
                "attempts": m.attempts,
                "next_attempt_at": m.next_attempt_at,
                "created_at": m.created_at,
                "last_error": m.last_error,
                "series": m.series_key,
            }
            for m in alert_queries.outbox_messages(session, statuses=["pending", "dead"])
        ],
        columns=[
            "id",
            "channel",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "last_error",
            "series",
        ],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def alerts(url: str, name: str | None) -> dict[str, pd.DataFrame]:
    """Rules, series states, history, silences and outbox (of one model, or all)."""
    with session_scope(_reader(url)) as session:
        rules = _alert_rules(session, name)
        series = _alert_series(session, name)
        history = _alert_history(session, name)
        silences = _alert_silences(session, name)
        outbox = _alert_outbox(session)
    return {
        "rules": rules,
        "series": series,
        "history": history.iloc[::-1].reset_index(drop=True),
        "silences": silences,
        "outbox": outbox,
    }


def clear() -> None:
    """Forget every cached frame (after the page changed something)."""
    st.cache_data.clear()


def drift_since(detected: pd.DataFrame) -> datetime | None:
    """Start of the current streak of drifted windows (``value == 1``), or ``None``.

    ``detected`` holds one feature's ``drift_detected`` rows in window order.
    """
    since = None
    for start, value in zip(detected["window_start"], detected["value"], strict=True):
        since = (since or start) if value == 1 else None
    return None if since is None else pd.Timestamp(since).to_pydatetime()


@st.cache_resource(show_spinner=False)
def _explainer(url: str, name: str, artifact_sha256: str) -> Any:
    """The SHAP explainer of a model's artifact (rebuilt when a new artifact is stored)."""
    from monitors.analyzers.explain import ExplainError
    from monitors.explanations import model_explainer

    try:
        return model_explainer(url, name)
    except ExplainError as exc:
        raise MissingInputError(str(exc)) from exc


class MissingInputError(StorageError, LookupError):
    """Raised when something a page needs (artifact, reference) is not stored."""


@dataclass(frozen=True)
class PredictionExplanation:
    """SHAP attribution of one logged prediction."""

    prediction_id: str
    at: datetime
    method: str
    output: str
    base_value: float
    model_output: float
    attributions: pd.DataFrame  # feature, value, attribution


@st.cache_data(ttl=TTL, show_spinner="Explaining the prediction…")
def explain_prediction(url: str, name: str, prediction_id: str) -> PredictionExplanation | None:
    """Explain one logged prediction by its id; ``None`` if no row has that id.

    Raises
    ------
    MissingInputError
        If the model has no stored artifact or reference.
    """
    from monitors.explanations import explain_prediction as explain_one

    with session_scope(_reader(url)) as session:
        model = get_model(session, name)
        at = queries.prediction_time(session, model, prediction_id)
        artifact = latest_artifact(session, model)
        sha = None if artifact is None else artifact.sha256
    if sha is None:
        raise MissingInputError(
            f"model {name!r} has no stored artifact: store one with Client.set_artifact(...) "
            "to explain predictions"
        )
    if at is None:
        return None
    explained = explain_one(url, name, prediction_id, explainer=_explainer(url, name, sha))
    if explained is None:
        return None
    table = pd.DataFrame(
        {
            "feature": list(explained.attributions),
            "value": [str(explained.values.get(f)) for f in explained.attributions],
            "attribution": list(explained.attributions.values()),
        }
    )
    return PredictionExplanation(
        prediction_id=prediction_id,
        at=at,
        method=explained.method,
        output=explained.output,
        base_value=explained.base_value,
        model_output=explained.model_output,
        attributions=table,
    )


def verify_report(url: str, blob: bytes, name: str) -> Any:
    """Verify an exported report's bytes against the database and the trusted key, if set.

    Not cached: a verification must always look at the current database.
    """
    import os

    from monitors.reports.signing import VERIFY_KEY_ENV, load_public_key
    from monitors.reports.verify import verify_bytes

    key_text = os.environ.get(VERIFY_KEY_ENV, "")
    key = load_public_key(key_text) if key_text.strip() else None
    return verify_bytes(blob, name=name, database_url=url, public_key=key)
