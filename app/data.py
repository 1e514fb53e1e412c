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

from app import format as fmt
from storage import queries
from storage.alerts import series as alert_series
from storage.engine import database_url as resolve_url
from storage.engine import get_engine, read_engine, session_scope
from storage.errors import StorageError
from storage.metrics import quarantine_examples
from storage.models import Model
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

_SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}

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


def read_only(url: str) -> Engine:
    """The read-only engine of ``url`` (for the loaders of other ``app`` modules)."""
    return _reader(url)


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
    label: str | None
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
            label=None if schema.label is None else schema.label.name,
            id_column=schema.id.name,
            has_artifact=artifact,
            first=None if span is None else span[0],
            last=None if span is None else span[1],
        )


@st.cache_data(ttl=TTL, show_spinner=False)
def overview(url: str) -> pd.DataFrame:
    """:func:`storage.queries.model_overview`, with what is wrong in each model's last window.

    Adds ``drifting`` (features, per the schema, with ``drift_detected == 1`` in the
    last analysed window, sorted), ``drifting_outputs`` (prediction, score or label
    columns that drift there) and ``firing`` (``rule (severity)`` of firing alert
    series, most severe first); ``drifting_features`` then counts features only.
    """
    with session_scope(_reader(url)) as session:
        frame = queries.model_overview(session)
        by_model = {m.name: m for m in list_models(session)}
        drifting, outputs = [], []
        for name in frame["model"]:
            features, others = _last_window_drift(session, by_model[name])
            drifting.append(features)
            outputs.append(others)
        firing: dict[str, list[tuple[int, str]]] = {}
        for s, r in alert_series(session):
            if s.state == "firing":
                rank = _SEVERITY_ORDER.get(r.severity, len(_SEVERITY_ORDER))
                firing.setdefault(r.model, []).append((rank, f"{r.name} ({r.severity})"))
    frame["drifting"] = drifting
    frame["drifting_outputs"] = outputs
    frame["drifting_features"] = [len(d) for d in drifting]
    frame["firing"] = [[t for _, t in sorted(set(firing.get(n, [])))] for n in frame["model"]]
    return frame


def _last_window_drift(session: Session, model: Model) -> tuple[list[str], list[str]]:
    """Features and other columns (prediction, score, label) drifting in the last window."""
    runs = queries.window_counts(session, model)
    if runs.empty:
        return [], []
    last = runs["window_start"].max()
    found = queries.metric_values(session, model=model, metrics=["drift_detected"], start=last)
    names = sorted(found.loc[(found["value"] == 1) & found["feature"].notna(), "feature"])
    features = {c.name for c in model_schema(model).features}
    return [n for n in names if n in features], [n for n in names if n not in features]


@st.cache_data(ttl=TTL, show_spinner=False)
def last_window(url: str, name: str, start: datetime, end: datetime) -> pd.Series | None:
    """The last analysed window of the period (``window_start``, ``window_end``,
    ``n_rows``, ``n_labels``), or ``None``."""
    runs = windows(url, name, start, end)
    return None if runs.empty else runs.iloc[-1]


@st.cache_data(ttl=TTL, show_spinner=False)
def window_disparities(url: str, name: str, window_start: datetime, end: datetime) -> pd.DataFrame:
    """Every attribute's disparities (with ``details``) in the window starting ``window_start``."""
    from monitors.analyzers.fairness import DISPARITIES

    frame = _values(
        url,
        name,
        metrics=list(DISPARITIES),
        analyzer="fairness",
        start=window_start,
        end=end,
        details=True,
    )
    return frame[frame["window_start"] == window_start].reset_index(drop=True)


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
            "value": [fmt.text(explained.values.get(f)) for f in explained.attributions],
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


@st.cache_data(ttl=TTL, show_spinner=False)
def rule_series(url: str, name: str) -> list[tuple[str, str, str]]:
    """Stored ``(metric, feature, group)`` of a model (``""``: none), for the "try a rule" panel."""
    from monitors.alerts.backtest import metric_catalogue

    return metric_catalogue(_reader(url), name)


@st.cache_data(ttl=TTL, show_spinner="Backtesting the rule…")
def rule_backtest(url: str, rule: dict[str, Any]) -> Any:
    """:func:`monitors.alerts.backtest.preview_rule`: a rule replayed on the stored history.

    Reads only; the rule (rule-file keys) is never saved.
    """
    from monitors.alerts.backtest import preview_rule

    return preview_rule(_reader(url), rule)
