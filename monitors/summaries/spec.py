"""The summary spec: the fine bins, categories and sample a window summary counts.

Built once per reference version from the reference rows, with the drift analyzer's own
binning rules (:func:`monitors.analyzers._drift_binning.reference_edges`):

* numeric columns: the union of the drift analyzer's default bins (``DriftConfig.n_bins``
  quantile bins plus point masses holding >= ``point_mass_share`` of the reference), the
  fine bins (``fine_bins`` = 2,000 quantile bins, every value holding >= 1/``fine_bins`` of
  the reference a bin of its own) and the reference range (edges at the reference minimum
  and just above its maximum, for ``out_of_range_share``). Because the fine edges contain
  the default edges, counts on the default bins are sums of fine counts: PSI, KL and
  Jensen–Shannon from a summary equal the row path's exactly;
* categorical and boolean columns: the reference categories (the drift analyzer's order);
* the score column of a binary classifier: its fine edges refined by the calibration bins
  (``PerformanceConfig.calibration_bins``: an edge just above each inner edge, since a
  score on an inner edge belongs to the lower calibration bin);
* latency: fixed log-spaced bins, 100 per decade from 0.001 ms to 10^9 ms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from monitors.analyzers._drift_binning import reference_edges
from monitors.analyzers._drift_reference import category_counts, drift_kind, finite_values
from monitors.analyzers.drift import DriftConfig
from monitors.summaries.types import CategoricalSpec, NumericSpec, SummarySpec, Value
from storage.schema import Kind, ModelSchema, Role

#: Latency bin edges (ms): 0, then 100 log-spaced edges per decade from 1e-3 to 1e9.
LATENCY_EDGES: tuple[float, ...] = (0.0, *(float(10.0 ** (k / 100.0)) for k in range(-300, 901)))


class SummaryConfig(BaseModel):
    """Settings of window summaries (documented defaults, see ``docs/scale.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fine_bins: int = Field(2000, ge=10, le=100_000)
    """Reference quantile bins per numeric column (KS within the largest bin mass,
    Wasserstein within the bin width)."""
    top_k: int = Field(1000, ge=1)
    """Unseen categories counted one by one per column; the rest are one exact total."""
    sample_size: int = Field(10_000, ge=1)
    """Rows of the uniform random sample (domain classifier, SHAP, Anderson–Darling)."""
    sample_salt: str = "driftwarden"
    """Salt of the per-row random key ``md5(salt || prediction_id)``."""


def _numeric_edges(
    series: pd.Series | None, drift: DriftConfig, fine_bins: int
) -> tuple[float, ...]:
    """Fine interior edges of one numeric reference column (see the module docstring)."""
    if series is None:
        return ()
    values, _, _ = finite_values(series)
    ordered = np.sort(values)
    if ordered.size == 0:
        return ()
    default, _ = reference_edges(ordered, drift.n_bins, drift.point_mass_share)
    fine, _ = reference_edges(ordered, fine_bins, 1.0 / fine_bins)
    bounds = np.array([ordered[0], np.nextafter(ordered[-1], np.inf)])
    edges = np.unique(np.concatenate([default, fine, bounds]))
    return tuple(float(e) for e in edges)


def _categories(series: pd.Series | None) -> tuple[Value, ...]:
    """Reference categories in the drift analyzer's order (by count, then text)."""
    if series is None:
        return ()
    cats, _, _ = category_counts(series)
    return tuple(cats)


def _score_edges(fine: tuple[float, ...], calibration_bins: int) -> tuple[float, ...]:
    """The score column's fine edges plus one just above each inner calibration edge."""
    inner = np.linspace(0.0, 1.0, calibration_bins + 1)[1:-1]
    edges = np.unique(np.concatenate([np.asarray(fine), np.nextafter(inner, np.inf)]))
    return tuple(float(e) for e in edges)


def _kinds(schema: ModelSchema, name: str) -> set[Kind]:
    """How a column is counted: its drift kind and its quality kind."""
    return {drift_kind(schema, name), schema.kind_of(name)}


def build_spec(
    reference: pd.DataFrame,
    *,
    schema: ModelSchema,
    reference_version: int,
    drift: DriftConfig,
    calibration_bins: int = 10,
    config: SummaryConfig | None = None,
) -> SummarySpec:
    """The spec of every window summary on this reference version.

    Parameters
    ----------
    reference : DataFrame
        The reference rows (user column names); columns it lacks get no bins.
    schema : ModelSchema
    reference_version : int
    drift : DriftConfig
        ``n_bins`` and ``point_mass_share`` give the default bins the fine bins refine.
    calibration_bins : int
        ``PerformanceConfig.calibration_bins``.
    config : SummaryConfig, optional

    Returns
    -------
    SummarySpec
    """
    config = config or SummaryConfig()
    numeric: list[NumericSpec] = []
    categorical: list[CategoricalSpec] = []
    score_edges: tuple[float, ...] = ()
    for spec in schema.drift_columns():
        series = reference[spec.name] if spec.name in reference.columns else None
        kinds = _kinds(schema, spec.name)
        if Kind.NUMERIC in kinds:
            edges = _numeric_edges(series, drift, config.fine_bins)
            numeric.append(NumericSpec(spec.name, edges, spec.dtype.value))
            if spec.role is Role.SCORE:
                score_edges = _score_edges(edges, calibration_bins)
        if kinds - {Kind.NUMERIC}:
            categorical.append(CategoricalSpec(spec.name, _categories(series), spec.dtype.value))
    shift = 0.0
    label = schema.label
    centre = label.name if label is not None else schema.prediction.name
    if not schema.task.is_classification and centre in reference:
        values, _, _ = finite_values(reference[centre])  # the label's mean, else the
        shift = float(values.mean()) if values.size else 0.0  # prediction's
    return SummarySpec(
        reference_version=reference_version,
        task=schema.task.value,
        id=schema.id.name,
        timestamp=schema.timestamp.name,
        prediction=schema.prediction.name,
        label=schema.label.name if schema.label else None,
        score=schema.score.name if schema.score else None,
        latency=schema.latency.name if schema.latency else None,
        sensitive=tuple(c.name for c in schema.sensitive),
        classes=tuple(schema.classes or ()),
        positive_class=schema.positive_class,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        score_edges=score_edges,
        latency_edges=LATENCY_EDGES if schema.latency else (),
        label_shift=shift,
        top_k=config.top_k,
        sample_size=config.sample_size,
        sample_salt=config.sample_salt,
        sample_columns=tuple(c.name for c in schema.columns),
        sample_dtypes=tuple(c.dtype.value for c in schema.columns),
        fine_bins=config.fine_bins,
    )


def layout_matches(spec: SummarySpec, schema: ModelSchema) -> bool:
    """Whether summaries counted on ``spec`` hold cells in the layout ``schema`` reads.

    A column added to the schema later (``ingest --add-columns``: a new sensitive
    attribute, say) changes the layout: fairness keys are ``(*sensitive, label,
    prediction)`` of the spec's columns, so an older summary must not be read with the
    newer schema (reports and re-analysis then use the rows, or skip the window).
    """
    return (
        spec.task == schema.task.value
        and spec.prediction == schema.prediction.name
        and spec.label == (schema.label.name if schema.label else None)
        and spec.sensitive == tuple(c.name for c in schema.sensitive)
        and {s.column for s in spec.numeric} | {s.column for s in spec.categorical}
        <= {c.name for c in schema.columns}
    )
