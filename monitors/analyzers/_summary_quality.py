"""Data quality from a window summary: the same checks as :func:`data_quality`, from counts.

Every check is exact: missing, type-mismatch and out-of-range counts are counted by the
executor (the reference range is an edge of the fine bins, and each bin's minimum and
maximum place it wholly inside or outside the range); new categories are exact while a
column has at most ``top_k`` unseen categories (beyond, ``n_new_categories`` counts the
pooled ones too and the list holds the top ``top_k``); ``constant`` comes from the minimum
and maximum (numeric) or the number of distinct values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._quality_column import (
    _NO_LABELS,
    _NO_REFERENCE,
    _NO_VALUES,
    _constant_check,
    _label_coverage_check,
    _missing_check,
    _pick,
    no_reference_range,
    range_share,
    share_check,
)
from monitors.analyzers._quality_config import QualityConfig
from monitors.analyzers._quality_dataset import dataset_checks
from monitors.analyzers._quality_reference import monitored_columns
from monitors.analyzers._quality_types import (
    ColumnProfile,
    ColumnQuality,
    QualityCheck,
    QualityReference,
    QualityReport,
)
from monitors.analyzers._quality_values import top_counts
from monitors.analyzers.base import INSUFFICIENT_DATA
from monitors.analyzers.quality import _check_overrides
from monitors.summaries.types import CategoricalSummary, NumericSummary, WindowSummary
from storage.schema import ColumnSpec, Kind, ModelSchema, Role


def _range_check(
    col: NumericSummary, profile: ColumnProfile | None, threshold: float, empty: str
) -> QualityCheck:
    """``out_of_range_share`` from the bins: a bin lies wholly below, inside or above."""
    if (missing := no_reference_range(profile, threshold)) is not None:
        return missing
    assert profile is not None and profile.minimum is not None and profile.maximum is not None
    counts = np.asarray(col.counts, dtype=np.int64)
    below = int(counts[np.asarray(col.bin_max) < profile.minimum].sum())
    above = int(counts[np.asarray(col.bin_min) > profile.maximum].sum())
    below += col.n_neginf if profile.minimum > -np.inf else 0
    above += col.n_posinf if profile.maximum < np.inf else 0
    n = col.n + col.n_posinf + col.n_neginf
    return range_share(below, above, n, profile, threshold, empty)


def _category_check(
    col: CategoricalSummary,
    counts: pd.Series,
    profile: ColumnProfile | None,
    threshold: float,
    listed_max: int,
    empty: str,
) -> QualityCheck:
    """``new_category_share``: values never seen in the reference, the top ones listed."""
    if profile is None or profile.n_non_null <= 0:
        return QualityCheck(
            "new_category_share", None, threshold, INSUFFICIENT_DATA, {"reason": _NO_REFERENCE}
        )
    assert profile.categories is not None
    new = counts[~counts.index.isin(list(profile.categories))]
    listed = top_counts(new, listed_max)
    n_new = len(new) + col.other_distinct
    return share_check(
        "new_category_share",
        int(new.sum()) + col.other_count,
        int(counts.sum()) + col.other_count,
        threshold,
        {
            "new_categories": listed,
            "n_new_categories": n_new,
            "truncated": n_new > len(listed),
        },
        reason_if_empty=empty,
    )


def _numeric_checks(
    col: NumericSummary,
    profile: ColumnProfile | None,
    threshold: float,
    empty: str,
) -> tuple[QualityCheck, np.ndarray]:
    """The range check and the window's extreme values (for the constant check)."""
    if col.n + col.n_posinf + col.n_neginf == 0:
        extremes = np.empty(0)
    else:
        lo = -np.inf if col.n_neginf else col.min
        hi = np.inf if col.n_posinf else col.max
        extremes = np.array([lo, hi], dtype=np.float64)
    return _range_check(col, profile, threshold, empty), extremes


def column_quality_from_summary(
    col: NumericSummary | CategoricalSummary,
    n_rows: int,
    spec: ColumnSpec,
    kind: Kind,
    profile: ColumnProfile | None,
    config: QualityConfig,
) -> ColumnQuality:
    """Every check of one column from its summary (see the module docstring)."""
    override = config.features.get(spec.name)
    n_non_null = n_rows - col.n_missing
    is_label = spec.role is Role.LABEL
    empty = _NO_LABELS if is_label else _NO_VALUES
    checks = [
        _label_coverage_check(col.n_missing, n_rows)
        if is_label
        else _missing_check(spec, col.n_missing, n_rows, override, config),
        share_check(
            "type_mismatch_share",
            col.n_type_mismatch,
            n_non_null,
            _pick(override, "type_mismatch_share", config.type_mismatch_share),
            {"expected_dtype": spec.dtype.value, "got_dtype": col.dtype_name},
            reason_if_empty=empty,
        ),
    ]
    values: np.ndarray | None = None
    counts: pd.Series | None = None
    if isinstance(col, NumericSummary):
        threshold = _pick(override, "out_of_range_share", config.out_of_range_share)
        check, values = _numeric_checks(col, profile, threshold, empty)
        checks.append(check)
    else:
        counts = pd.Series(list(col.counts), index=pd.Index(list(col.values), dtype=object))
        threshold = _pick(override, "new_category_share", config.new_category_share)
        listed_max = config.max_new_categories_listed
        checks.append(_category_check(col, counts, profile, threshold, listed_max, empty))
        if col.other_distinct:  # the pooled categories count as distinct values too
            counts = pd.concat([counts, pd.Series([1] * col.other_distinct, dtype=np.int64)])
    check_constant = _pick(override, "check_constant", config.check_constant)
    checks.append(_constant_check(values, counts, n_non_null, profile, check_constant, empty))
    return ColumnQuality(
        column=spec.name,
        role=spec.role.value,
        kind=kind.value,
        n_rows=n_rows,
        n_non_null=n_non_null,
        checks=tuple(checks),
    )


def _column_summary(
    summary: WindowSummary, name: str, kind: Kind
) -> NumericSummary | CategoricalSummary | None:
    """The summary of ``name`` in the form its quality kind needs."""
    if kind is Kind.NUMERIC:
        return summary.numeric_column(name)
    return summary.categorical_column(name)


def data_quality_from_summary(
    reference: QualityReference,
    summary: WindowSummary,
    *,
    schema: ModelSchema,
    config: QualityConfig,
    quarantined: Mapping[str, int] | None = None,
    missing_columns: Sequence[str] = (),
) -> QualityReport:
    """:func:`monitors.analyzers.quality.data_quality` from a window summary."""
    monitored = monitored_columns(schema)
    names = [c.name for c in monitored]
    _check_overrides(config, names)
    present: dict[str, Any] = {}
    for s in monitored:
        col = _column_summary(summary, s.name, schema.kind_of(s.name))
        if col is not None:
            present[s.name] = col
    missing_set = set(missing_columns) | {n for n in names if n not in present}
    missing = [n for n in schema.names if n in missing_set]
    missing += sorted(n for n in missing_set if n not in schema.names)
    columns = [
        column_quality_from_summary(
            present[s.name],
            summary.n_rows,
            s,
            schema.kind_of(s.name),
            reference.column(s.name),
            config,
        )
        for s in monitored
        if s.name not in missing_set
    ]
    return QualityReport(
        n_rows=summary.n_rows,
        n_reference_rows=reference.n_rows,
        dataset=dataset_checks(reference, summary.n_rows, config, quarantined or {}, missing),
        columns=tuple(columns),
    )
