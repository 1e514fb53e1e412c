"""The checks of one column in one window: missing, dtype, range or new categories, constant."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._quality_config import QualityConfig, QualityOverride
from monitors.analyzers._quality_types import ColumnProfile, ColumnQuality, QualityCheck
from monitors.analyzers._quality_values import (
    as_float,
    json_scalar,
    ratio,
    top_counts,
    type_mismatches,
    value_counts,
)
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK
from storage.schema import ColumnSpec, Kind, Role

_NO_REFERENCE = "no non-null values for this column in the reference"
_NO_VALUES = "no non-null values in the window"
_NO_LABELS = "no labels in the window yet"


def share_check(
    metric: str,
    count: int,
    denominator: int,
    threshold: float | None,
    details: dict[str, Any],
    *,
    reason_if_empty: str,
) -> QualityCheck:
    """A share judged against ``threshold``; ``insufficient_data`` when the denominator is 0."""
    value = ratio(count, denominator)
    details = {"count": count, "n": denominator, **details}
    if value is None:
        return QualityCheck(
            metric, None, threshold, INSUFFICIENT_DATA, {**details, "reason": reason_if_empty}
        )
    status = BREACH if threshold is not None and value > threshold else OK
    return QualityCheck(metric, value, threshold, status, details)


def _pick(override: QualityOverride | None, name: str, default: Any) -> Any:
    """The override's setting ``name`` if it has one, else ``default``."""
    if override is None:
        return default
    value = getattr(override, name)
    return default if value is None else value


def _read(
    series: pd.Series, spec: ColumnSpec, kind: Kind
) -> tuple[np.ndarray | None, pd.Series | None, int, int]:
    """Non-null numbers (numeric) or value counts (others), missing count and type mismatches."""
    if kind is Kind.NUMERIC:
        values, mismatched = as_float(series, spec)
        nan_mask = np.isnan(values)
        if pd.api.types.is_float_dtype(series.dtype):
            n_missing = int(np.count_nonzero(nan_mask))
        else:
            n_missing = int(series.isna().sum())
        return values[~nan_mask], None, n_missing, mismatched
    n_missing = int(series.isna().sum())
    return None, value_counts(series), n_missing, type_mismatches(series, spec)


def _missing_check(
    spec: ColumnSpec,
    n_missing: int,
    n_rows: int,
    override: QualityOverride | None,
    config: QualityConfig,
) -> QualityCheck:
    """``missing_share`` of a column other than the label, judged against its threshold."""
    return share_check(
        "missing_share",
        n_missing,
        n_rows,
        _pick(override, "missing_share", config.missing_share),
        {},
        reason_if_empty="empty window",
    )


def _label_coverage_check(n_missing: int, n_rows: int) -> QualityCheck:
    """``label_coverage`` of the label column: labelled rows / rows, reported, never judged.

    Labels arrive after the predictions, so a window without them is not missing data.
    """
    labelled = n_rows - n_missing
    coverage = ratio(labelled, n_rows)
    details: dict[str, Any] = {"labelled": labelled, "rows": n_rows}
    if coverage is None:
        return QualityCheck(
            "label_coverage", None, None, INSUFFICIENT_DATA, {**details, "reason": "empty window"}
        )
    details["reason"] = (
        "labels arrive after the predictions: coverage is reported, not judged "
        "(alert on the performance analyzer's label_coverage)"
    )
    return QualityCheck("label_coverage", coverage, None, OK, details)


def range_share(
    below: int, above: int, n: int, profile: ColumnProfile, threshold: float, empty: str
) -> QualityCheck:
    """``out_of_range_share`` of ``below + above`` of ``n`` values (rows and summaries)."""
    return share_check(
        "out_of_range_share",
        below + above,
        n,
        threshold,
        {
            "below": below,
            "above": above,
            "reference_min": profile.minimum,
            "reference_max": profile.maximum,
        },
        reason_if_empty=empty,
    )


def no_reference_range(profile: ColumnProfile | None, threshold: float) -> QualityCheck | None:
    """The ``out_of_range_share`` verdict when the reference gives no range, else ``None``."""
    if profile is None or profile.n_non_null <= 0:
        return QualityCheck(
            "out_of_range_share", None, threshold, INSUFFICIENT_DATA, {"reason": _NO_REFERENCE}
        )
    return None


def _range_check(
    values: np.ndarray, profile: ColumnProfile | None, threshold: float, empty: str
) -> QualityCheck:
    """``out_of_range_share``: non-null values outside the reference ``[min, max]``."""
    if (missing := no_reference_range(profile, threshold)) is not None:
        return missing
    assert profile is not None and profile.minimum is not None and profile.maximum is not None
    below = int(np.count_nonzero(values < profile.minimum))
    above = int(np.count_nonzero(values > profile.maximum))
    return range_share(below, above, int(values.size), profile, threshold, empty)


def _category_check(
    counts: pd.Series, profile: ColumnProfile | None, threshold: float, listed_max: int, empty: str
) -> QualityCheck:
    """``new_category_share``: non-null values never seen in the reference, the top ones listed."""
    if profile is None or profile.n_non_null <= 0:
        return QualityCheck(
            "new_category_share",
            None,
            threshold,
            INSUFFICIENT_DATA,
            {"reason": _NO_REFERENCE},
        )
    assert profile.categories is not None
    known = counts.index.isin(list(profile.categories))
    new = counts[~known]
    n_new = int(new.sum())
    listed = top_counts(new, listed_max)
    return share_check(
        "new_category_share",
        n_new,
        int(counts.sum()),
        threshold,
        {
            "new_categories": listed,
            "n_new_categories": len(new),
            "truncated": len(new) > len(listed),
        },
        reason_if_empty=empty,
    )


def _window_constant(
    values: np.ndarray | None, counts: pd.Series | None
) -> tuple[bool, Any, int | None]:
    """Whether the window's non-null values are all equal, that value, and distinct count."""
    if values is not None:
        constant_now = values.size > 0 and bool(values.min() == values.max())
        constant_value: Any = float(values[0]) if constant_now else None
        n_distinct: int | None = (1 if constant_now else None) if values.size else 0
        return constant_now, constant_value, n_distinct
    assert counts is not None
    n_distinct = len(counts)
    constant_now = n_distinct == 1
    return constant_now, json_scalar(counts.index[0]) if constant_now else None, n_distinct


def _constant_check(
    values: np.ndarray | None,
    counts: pd.Series | None,
    n_non_null: int,
    profile: ColumnProfile | None,
    check_constant: bool,
    empty: str,
) -> QualityCheck:
    """``constant``: 1.0 when a column that varied in the reference has one value now."""
    constant_now, constant_value, n_distinct = _window_constant(values, counts)
    if n_non_null == 0:
        return QualityCheck("constant", None, None, INSUFFICIENT_DATA, {"reason": empty})
    if profile is None or profile.n_non_null <= 0:
        return QualityCheck("constant", None, None, INSUFFICIENT_DATA, {"reason": _NO_REFERENCE})
    became_constant = constant_now and profile.varied
    return QualityCheck(
        "constant",
        1.0 if became_constant else 0.0,
        None,
        BREACH if became_constant and check_constant else OK,
        {
            "distinct_in_window": n_distinct,
            "value": constant_value,
            "reference_varied": profile.varied,
            "checked": check_constant,
        },
    )


def column_quality(
    series: pd.Series,
    spec: ColumnSpec,
    kind: Kind,
    profile: ColumnProfile | None,
    config: QualityConfig,
) -> ColumnQuality:
    """Every check of one window column against its reference profile."""
    override = config.features.get(spec.name)
    n_rows = len(series)
    values, counts, n_missing, mismatched = _read(series, spec, kind)
    n_non_null = n_rows - n_missing
    is_label = spec.role is Role.LABEL
    empty = _NO_LABELS if is_label else _NO_VALUES
    checks = [
        _label_coverage_check(n_missing, n_rows)
        if is_label
        else _missing_check(spec, n_missing, n_rows, override, config),
        share_check(
            "type_mismatch_share",
            mismatched,
            n_non_null,
            _pick(override, "type_mismatch_share", config.type_mismatch_share),
            {"expected_dtype": spec.dtype.value, "got_dtype": str(series.dtype)},
            reason_if_empty=empty,
        ),
    ]
    if values is not None:
        threshold = _pick(override, "out_of_range_share", config.out_of_range_share)
        checks.append(_range_check(values, profile, threshold, empty))
    else:
        assert counts is not None
        threshold = _pick(override, "new_category_share", config.new_category_share)
        listed_max = config.max_new_categories_listed
        checks.append(_category_check(counts, profile, threshold, listed_max, empty))
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
