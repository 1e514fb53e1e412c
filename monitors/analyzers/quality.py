"""Data-quality checks of one window against a reference profile.

Per monitored column (features, sensitive attributes, prediction, score, label):

``missing_share``
    Share of rows whose value is null. Breach when above the threshold (default
    ``0.1``). Not computed for the label column: labels arrive after the predictions,
    so a window without them is not missing data.
``label_coverage`` (label column only)
    Share of rows whose label has arrived (``details``: ``labelled``, ``rows``).
    Reported with no threshold and never a breach; alert on the performance
    analyzer's ``label_coverage`` (``feature`` ``None``) to judge it.
``type_mismatch_share``
    Share of non-null values that do not fit the column's declared dtype (text in a
    numeric column, a non-integral number in an ``int`` column, anything but
    true/false/0/1 in a ``bool`` column, non-text in a ``string`` column). Breach when
    above the threshold (default ``0.0``: any mismatch).
``out_of_range_share``
    Numeric columns: share of non-null values outside the reference ``[min, max]``.
    Breach when above the threshold (default ``0.05``).
``new_category_share``
    Categorical and boolean columns: share of non-null values never seen in the
    reference; the new values with their counts (most frequent first, at most
    ``max_new_categories_listed``) are in ``details["new_categories"]``. Breach when
    above the threshold (default ``0.05``).
``constant``
    ``1.0`` when the column has at most one distinct non-null value in the window
    although it had more than one in the reference, else ``0.0``; ``1.0`` is a breach.

Model-level (``feature`` is ``None``): ``row_count``, ``row_count_ratio``,
``quarantined_rows`` and ``schema_mismatch``.

A share whose denominator is zero (empty window, or no non-null values) is ``None``
with status ``insufficient_data``; so is a comparison with a reference that has no
non-null values for the column. Verdicts are strict: a value *above* its threshold
breaches, so a threshold of ``1.0`` switches a share check off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from monitors.analyzers._quality_column import column_quality
from monitors.analyzers._quality_config import QualityConfig, QualityOverride
from monitors.analyzers._quality_dataset import dataset_checks
from monitors.analyzers._quality_reference import monitored_columns, prepare_quality_reference
from monitors.analyzers._quality_types import (
    ANALYZER,
    ColumnProfile,
    ColumnQuality,
    QualityCheck,
    QualityReference,
    QualityReport,
)
from monitors.analyzers.base import MetricRecord, finite_or_none
from monitors.errors import ConfigError
from storage.schema import ModelSchema

__all__ = [
    "ANALYZER",
    "ColumnProfile",
    "ColumnQuality",
    "QualityCheck",
    "QualityConfig",
    "QualityOverride",
    "QualityReference",
    "QualityReport",
    "data_quality",
    "prepare_quality_reference",
    "quality_records",
]


def _check_overrides(config: QualityConfig, names: list[str]) -> None:
    """Raise if ``config.features`` names a column that is not checked."""
    unknown = [k for k in config.features if k not in names]
    if unknown:
        raise ConfigError(
            f"QualityConfig.features: {unknown[0]!r} is not a checked column of this model; "
            f"expected one of {names!r}."
        )


def _missing_columns(
    schema: ModelSchema, names: list[str], current: pd.DataFrame, missing_columns: Sequence[str]
) -> tuple[set[str], list[str]]:
    """Columns missing from the logged data (given, or absent from ``current``), schema order."""
    missing_set = set(missing_columns) | {n for n in names if n not in current.columns}
    missing = [n for n in schema.names if n in missing_set]
    missing += sorted(n for n in missing_set if n not in schema.names)
    return missing_set, missing


def data_quality(
    reference: QualityReference,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: QualityConfig,
    quarantined: Mapping[str, int] | None = None,
    missing_columns: Sequence[str] = (),
) -> QualityReport:
    """Check the quality of one window against the reference profile.

    Parameters
    ----------
    reference : QualityReference
        From :func:`prepare_quality_reference`.
    current : pandas.DataFrame
        The window, with the user's column names.
    schema : ModelSchema
        The model's schema.
    config : QualityConfig
        Thresholds; ``config.features`` keys must be monitored schema columns.
    quarantined : mapping of str to int, optional
        Rows of the window quarantined at ingest, counted by reason. ``None`` counts as
        no quarantined rows.
    missing_columns : sequence of str
        Schema columns missing from the logged data. Monitored columns absent from
        ``current`` are added to them. Their per-column checks are skipped.

    Returns
    -------
    QualityReport

    Raises
    ------
    ConfigError
        If ``config.features`` names a column that is not checked, or a quarantine
        count is not a non-negative integer.

    Examples
    --------
    >>> from storage.schema import infer_schema
    >>> ref = pd.DataFrame({"id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01"] * 2),
    ...                     "x": [1.0, 3.0], "y": [0.5, 0.7]})
    >>> s = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y")
    >>> cur = ref.assign(x=[2.0, 9.0])
    >>> r = data_quality(prepare_quality_reference(ref, schema=s), cur, schema=s,
    ...                  config=QualityConfig())
    >>> r.column("x").check("out_of_range_share").value
    0.5
    """
    monitored = monitored_columns(schema)
    names = [c.name for c in monitored]
    _check_overrides(config, names)
    missing_set, missing = _missing_columns(schema, names, current, missing_columns)
    columns = [
        column_quality(current[s.name], s, schema.kind_of(s.name), reference.column(s.name), config)
        for s in monitored
        if s.name not in missing_set
    ]
    return QualityReport(
        n_rows=len(current),
        n_reference_rows=reference.n_rows,
        dataset=dataset_checks(reference, len(current), config, quarantined or {}, missing),
        columns=tuple(columns),
    )


def quality_records(report: QualityReport) -> list[MetricRecord]:
    """Flatten a :class:`QualityReport` into stored metric records.

    Model-level checks have ``feature=None``; per-column checks carry the column name.
    ``group`` is always ``None``.

    Parameters
    ----------
    report : QualityReport

    Returns
    -------
    list of MetricRecord
    """
    out = [
        MetricRecord(
            ANALYZER,
            c.metric,
            None,
            None,
            finite_or_none(c.value),
            c.threshold,
            c.status,
            dict(c.details),
        )
        for c in report.dataset
    ]
    for col in report.columns:
        out.extend(
            MetricRecord(
                ANALYZER,
                c.metric,
                col.column,
                None,
                finite_or_none(c.value),
                c.threshold,
                c.status,
                {"role": col.role, "kind": col.kind, **c.details},
            )
            for c in col.checks
        )
    return out
