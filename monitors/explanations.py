"""Explanations of stored models: the model object behind a SHAP explainer, one prediction by id.

The model is the latest artifact stored with :meth:`Client.set_artifact` (loaded through
skops with its trusted-type list, never unpickled) or an in-process scoring function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from monitors.analyzers.explain import (
    Explainer,
    ExplainError,
    RowExplanation,
    explain_rows,
    make_explainer,
)
from monitors.config import model_config
from monitors.windows import load_window
from storage.engine import get_engine, read_engine, session_scope
from storage.models import Model
from storage.queries import prediction_time
from storage.registry import get_model, latest_artifact, load_reference, model_schema

Scorer = Callable[[pd.DataFrame], np.ndarray]


def artifact_model(session: Session, model: Model) -> object | None:
    """The model's latest stored artifact, loaded with its trusted types; ``None`` if none."""
    from monitors.artifacts import load_artifact

    artifact = latest_artifact(session, model)
    if artifact is None:
        return None
    return load_artifact(artifact.data, trusted=artifact.trusted)


def model_explainer(url: str | None, name: str, *, scorer: Scorer | None = None) -> Explainer:
    """The SHAP explainer of a registered model (its artifact, or ``scorer``).

    Raises
    ------
    ExplainError
        If the model has neither an artifact nor a scoring function, or no reference.
    """
    with session_scope(read_engine(get_engine(url))) as session:
        model = get_model(session, name)
        schema = model_schema(model)
        config = model_config(name, model.config).explain
        reference = load_reference(session, model)
        model_obj: object | None = scorer if scorer is not None else artifact_model(session, model)
    if model_obj is None:
        raise ExplainError(
            f"model {name!r} has no stored artifact: store one with Client.set_artifact(...) "
            "or pass a scoring function to explain predictions"
        )
    if reference is None:
        raise ExplainError(f"model {name!r} has no reference data to explain against")
    return make_explainer(model_obj, reference[1], schema=schema, config=config)


def explain_prediction(
    url: str | None,
    name: str,
    prediction_id: str,
    *,
    explainer: Explainer | None = None,
    scorer: Scorer | None = None,
) -> RowExplanation | None:
    """SHAP explanation of one logged prediction, by id; ``None`` if no row has that id.

    The result states its output space in ``output`` (``log_odds``, ``probability``,
    ``log``, ``raw`` or ``prediction``, see :data:`~monitors.analyzers.explain.OUTPUT_SPACES`),
    in which ``base_value + sum(attributions) == model_output``.
    """
    with session_scope(read_engine(get_engine(url))) as session:
        model = get_model(session, name)
        at = prediction_time(session, model, prediction_id)
        id_column = model_schema(model).id.name
    if at is None:
        return None
    # the session is closed: load_window may open a SQLite file through ADBC now
    rows = load_window(url, name, at, at + timedelta(microseconds=1))
    rows = rows[rows[id_column].astype(str) == prediction_id]
    if rows.empty:
        return None
    explainer = explainer or model_explainer(url, name, scorer=scorer)
    return explain_rows(explainer, rows.head(1))[0]
