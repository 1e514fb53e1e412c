"""Attributions: mean |SHAP| per feature on a sample, and per-prediction explanations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._explain_config import ExplainConfig
from monitors.analyzers._explain_frames import feature_frame, sample_rows
from monitors.analyzers._explain_shap import shap_values
from monitors.analyzers._explain_types import (
    KERNEL,
    Explainer,
    GlobalImportance,
    RowExplanation,
)
from monitors.analyzers.base import INSUFFICIENT_DATA, OK, finite_or_none


def global_importance(
    explainer: Explainer, frame: pd.DataFrame, *, config: ExplainConfig
) -> GlobalImportance:
    """Mean |SHAP| per feature on a seeded sample of ``frame``.

    Parameters
    ----------
    explainer : Explainer
        From :func:`make_explainer`.
    frame : pandas.DataFrame
        Reference or window rows (extra columns are ignored).
    config : ExplainConfig
        ``sample_size`` (tree, linear) or ``agnostic_sample_size`` (kernel) rows
        are drawn with ``seed``; fewer than ``min_rows`` gives ``insufficient_data``.

    Returns
    -------
    GlobalImportance
    """
    rows = feature_frame(frame, explainer.features, "the frame")
    size = config.agnostic_sample_size if explainer.method == KERNEL else config.sample_size
    sample = sample_rows(rows, size, config.seed)
    values, base = shap_values(explainer, sample)
    mean_abs = (
        np.abs(values).mean(axis=0) if len(sample) else np.full(len(explainer.features), np.nan)
    )
    return GlobalImportance(
        method=explainer.method,
        reason=explainer.reason,
        output=explainer.output,
        features=explainer.features,
        mean_abs_shap=tuple(finite_or_none(v) for v in mean_abs),
        n_rows=len(sample),
        n_available=len(rows),
        base_value=finite_or_none(base[0]) if len(base) else None,
        status=OK if len(sample) >= config.min_rows else INSUFFICIENT_DATA,
        values=values,
        sample_index=sample.index,
    )


def _python(value: Any) -> Any:
    """A JSON-friendly Python scalar (``None`` for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def explain_rows(explainer: Explainer, rows: pd.DataFrame) -> list[RowExplanation]:
    """Explain individual predictions (on demand, e.g. from the dashboard).

    Parameters
    ----------
    explainer : Explainer
        From :func:`make_explainer`.
    rows : pandas.DataFrame
        The rows to explain; every row is explained (no sampling).

    Returns
    -------
    list of RowExplanation
        Base value, attribution and value per feature, and the model output, in the
        explained space; ``base_value + sum(attributions)`` equals ``model_output``.
    """
    frame = feature_frame(rows, explainer.features, "the rows")
    values, base = shap_values(explainer, frame)
    outputs = explainer.model_output(frame) if len(frame) else np.empty(0)
    result = []
    for i, (label, record) in enumerate(
        zip(frame.index, frame.itertuples(index=False), strict=True)
    ):
        result.append(
            RowExplanation(
                row=_python(label),
                method=explainer.method,
                output=explainer.output,
                base_value=float(base[i]),
                model_output=float(outputs[i]),
                attributions={f: float(values[i, j]) for j, f in enumerate(explainer.features)},
                values={f: _python(v) for f, v in zip(explainer.features, record, strict=True)},
            )
        )
    return result
