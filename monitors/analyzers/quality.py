"""Data-quality checks of one window against a reference profile.

Per monitored column (features, sensitive attributes, prediction, score, label):

``missing_share``
    Share of rows whose value is null. Breach when above the threshold (default
    ``0.1``). For the label column the value is reported with no threshold and never
    breaches: labels arrive late, and their coverage is the performance analyzer's
    ``label_coverage``.
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.errors import ConfigError
from storage.schema import ColumnSpec, DType, Kind, ModelSchema, Role

__all__ = [
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

ANALYZER = "quality"


class QualityOverride(BaseModel):
    """Per-column threshold overrides; ``None`` keeps the model-wide value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of nulls is above this."""
    type_mismatch_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values of the wrong type is above this."""
    out_of_range_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values outside the reference range is above this."""
    new_category_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values unseen in the reference is above this."""
    check_constant: bool | None = None
    """Whether a column that became constant is a breach."""


class QualityConfig(BaseModel):
    """Thresholds of the data-quality checks, model-wide and per column.

    Examples
    --------
    >>> cfg = QualityConfig(missing_share=0.2, features={"age": QualityOverride(missing_share=0.5)})
    >>> cfg.features["age"].missing_share
    0.5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """Breach when the share of null values of a column is above this (not for the label)."""
    type_mismatch_share: float = Field(default=0.0, ge=0.0, le=1.0)
    """Breach when the share of non-null values of the wrong type is above this (any)."""
    out_of_range_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """Breach when the share of non-null numeric values outside the reference [min, max]
    is above this."""
    new_category_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """Breach when the share of non-null categorical values unseen in the reference is
    above this."""
    check_constant: bool = True
    """A column with <= 1 distinct non-null value that had more in the reference breaches."""
    max_new_categories_listed: int = Field(default=20, ge=0)
    """How many new categories (most frequent first) are listed in the details."""
    quarantined_rows: int = Field(default=0, ge=0)
    """Breach when more rows than this were quarantined at ingest for the window."""
    schema_mismatch: int = Field(default=0, ge=0)
    """Breach when more schema columns than this are missing from the logged data."""
    expected_rows: int | None = Field(default=None, gt=0)
    """Expected rows per window; ``row_count_ratio`` is ``None`` without it."""
    min_row_count_ratio: float | None = Field(default=None, ge=0.0)
    """Breach when ``row_count_ratio`` is below this (needs ``expected_rows``)."""
    max_row_count_ratio: float | None = Field(default=None, ge=0.0)
    """Breach when ``row_count_ratio`` is above this (needs ``expected_rows``)."""
    features: dict[str, QualityOverride] = Field(default_factory=dict)
    """Per-column overrides, keyed by column name (features, sensitive, prediction,
    score or label)."""


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """What the reference says about one column, computed once per reference."""

    name: str
    kind: str
    n_rows: int
    n_non_null: int
    minimum: float | None
    """Smallest non-null reference value (numeric columns)."""
    maximum: float | None
    """Largest non-null reference value (numeric columns)."""
    categories: frozenset[Any] | None
    """Distinct non-null reference values (categorical and boolean columns)."""
    varied: bool
    """Whether the reference has more than one distinct non-null value."""


@dataclass(frozen=True, slots=True)
class QualityReference:
    """Reference profiles of every monitored column."""

    n_rows: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of ``name``, or ``None`` if the reference did not have it."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One check: its value, the threshold it was judged against and the verdict."""

    metric: str
    value: float | None
    threshold: float | None
    status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnQuality:
    """The checks of one column in one window."""

    column: str
    role: str
    kind: str
    n_rows: int
    n_non_null: int
    checks: tuple[QualityCheck, ...]

    def check(self, metric: str) -> QualityCheck:
        """The check called ``metric``; :class:`KeyError` if it did not run."""
        for c in self.checks:
            if c.metric == metric:
                return c
        raise KeyError(f"column {self.column!r} has no {metric!r} check")


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Data quality of one window: model-level checks and per-column checks."""

    n_rows: int
    n_reference_rows: int
    dataset: tuple[QualityCheck, ...]
    columns: tuple[ColumnQuality, ...]

    def column(self, name: str) -> ColumnQuality:
        """The checks of column ``name``; :class:`KeyError` if it was not checked."""
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(f"column {name!r} was not checked")

    def check(self, metric: str) -> QualityCheck:
        """The model-level check called ``metric``."""
        for c in self.dataset:
            if c.metric == metric:
                return c
        raise KeyError(f"no model-level check {metric!r}")

    @property
    def breaches(self) -> list[tuple[str | None, QualityCheck]]:
        """``(column or None, check)`` of every breached check."""
        out: list[tuple[str | None, QualityCheck]] = [
            (None, c) for c in self.dataset if c.status == BREACH
        ]
        for col in self.columns:
            out.extend((col.column, c) for c in col.checks if c.status == BREACH)
        return out


# -- helpers -------------------------------------------------------------------------------


def _monitored(schema: ModelSchema) -> list[ColumnSpec]:
    """Columns checked for quality, in schema order."""
    roles = (Role.FEATURE, Role.SENSITIVE, Role.PREDICTION, Role.SCORE, Role.LABEL)
    return [c for c in schema.columns if c.role in roles]


def _json_scalar(value: Any) -> Any:
    """A JSON-friendly Python scalar (numpy scalars unwrapped, NaN to ``None``)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _is_numeric_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _as_float(series: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, int]:
    """Values as a float array (NaN = missing or unparsable) and the count of type mismatches."""
    if pd.api.types.is_bool_dtype(series.dtype) or _is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        mismatched = 0
        if spec.dtype is DType.INT:
            finite = np.isfinite(values)
            mismatched = int(np.count_nonzero(values[finite] != np.round(values[finite])))
        return values, mismatched
    coerced = pd.to_numeric(series, errors="coerce")
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    mismatched = int(np.count_nonzero(series.notna().to_numpy() & np.isnan(values)))
    if spec.dtype is DType.INT:
        finite = np.isfinite(values)
        mismatched += int(np.count_nonzero(values[finite] != np.round(values[finite])))
    return values, mismatched


_BOOL_TEXT = ["true", "false", "True", "False", "TRUE", "FALSE", "0", "1"]


def _type_mismatches(series: pd.Series, spec: ColumnSpec) -> int:
    """Count of non-null values that do not fit the declared dtype."""
    if spec.dtype not in (DType.BOOL, DType.STRING):
        return _as_float(series, spec)[1]
    if spec.dtype is DType.BOOL:
        if pd.api.types.is_bool_dtype(series.dtype):
            return 0
        non_null = series.dropna()
        if _is_numeric_dtype(series):
            return int((~non_null.isin([0, 1])).sum())
        ok = non_null.map(
            lambda v: isinstance(v, bool | np.bool_) or v in (0, 1) or str(v) in _BOOL_TEXT
        )
        return int((~ok.astype(bool)).sum())
    # STRING
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return 0
    non_null = series.dropna()
    if pd.api.types.is_object_dtype(series.dtype):
        return int((~non_null.map(lambda v: isinstance(v, str)).astype(bool)).sum())
    return len(non_null)


def _value_counts(series: pd.Series) -> pd.Series:
    """Counts of the distinct non-null values (hash-based, no sort of strings)."""
    return series.value_counts(dropna=True, sort=False)


def _top_counts(counts: pd.Series, k: int) -> list[dict[str, Any]]:
    """The ``k`` largest counts, most frequent first, ties by value text (row-order free)."""
    if k == 0 or counts.empty:
        return []
    arr = counts.to_numpy()
    if len(arr) > k:
        kth = np.partition(arr, len(arr) - k)[len(arr) - k]
        counts = counts[arr >= kth]
    items = sorted(
        ((_json_scalar(v), int(c)) for v, c in counts.items()), key=lambda t: (-t[1], str(t[0]))
    )
    return [{"value": v, "count": c} for v, c in items[:k]]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _share_check(
    metric: str,
    count: int,
    denominator: int,
    threshold: float | None,
    details: dict[str, Any],
    *,
    reason_if_empty: str,
) -> QualityCheck:
    value = _ratio(count, denominator)
    details = {"count": count, "n": denominator, **details}
    if value is None:
        return QualityCheck(
            metric, None, threshold, INSUFFICIENT_DATA, {**details, "reason": reason_if_empty}
        )
    status = BREACH if threshold is not None and value > threshold else OK
    return QualityCheck(metric, value, threshold, status, details)


def _pick(override: QualityOverride | None, name: str, default: Any) -> Any:
    if override is None:
        return default
    value = getattr(override, name)
    return default if value is None else value


# -- reference -----------------------------------------------------------------------------


def _profile(series: pd.Series, spec: ColumnSpec, kind: Kind) -> ColumnProfile:
    n_rows = len(series)
    if kind is Kind.NUMERIC:
        values, _ = _as_float(series, spec)
        present = values[~np.isnan(values)]
        if present.size == 0:
            return ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
        lo, hi = float(present.min()), float(present.max())
        return ColumnProfile(
            spec.name, kind.value, n_rows, int(present.size), lo, hi, None, hi > lo
        )
    counts = _value_counts(series)
    categories = frozenset(_json_scalar(v) for v in counts.index.tolist())
    n_non_null = int(counts.sum())
    if n_non_null == 0:
        return ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
    return ColumnProfile(
        spec.name, kind.value, n_rows, n_non_null, None, None, categories, len(counts) > 1
    )


def prepare_quality_reference(reference: pd.DataFrame, *, schema: ModelSchema) -> QualityReference:
    """Profile the reference once: numeric ``[min, max]``, category sets, variability.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference data with the user's column names. A monitored column absent from it
        (added to the schema later) gets an empty profile, and the range, category and
        constant checks of that column report ``insufficient_data``.
    schema : ModelSchema
        The model's schema; features, sensitive attributes, prediction, score and
        label are profiled.

    Returns
    -------
    QualityReference

    Examples
    --------
    >>> from storage.schema import infer_schema
    >>> ref = pd.DataFrame({"id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01"] * 2),
    ...                     "x": [1.0, 3.0], "y": [0.5, 0.7]})
    >>> s = infer_schema(ref, task="regression", id="id", timestamp="ts", prediction="y")
    >>> p = prepare_quality_reference(ref, schema=s).column("x")
    >>> (p.minimum, p.maximum, p.varied)
    (1.0, 3.0, True)
    """
    profiles = []
    n_rows = len(reference)
    for spec in _monitored(schema):
        kind = schema.kind_of(spec.name)
        if spec.name not in reference.columns:
            profiles.append(
                ColumnProfile(spec.name, kind.value, n_rows, 0, None, None, None, False)
            )
            continue
        profiles.append(_profile(reference[spec.name], spec, kind))
    return QualityReference(n_rows=n_rows, columns=tuple(profiles))


# -- window --------------------------------------------------------------------------------


def _column_quality(
    series: pd.Series,
    spec: ColumnSpec,
    kind: Kind,
    profile: ColumnProfile | None,
    config: QualityConfig,
) -> ColumnQuality:
    override = config.features.get(spec.name)
    n_rows = len(series)
    is_label = spec.role is Role.LABEL
    checks: list[QualityCheck] = []
    no_reference = "no non-null values for this column in the reference"

    values: np.ndarray | None = None
    counts: pd.Series | None = None
    if kind is Kind.NUMERIC:
        values, mismatched = _as_float(series, spec)
        nan_mask = np.isnan(values)
        if pd.api.types.is_float_dtype(series.dtype):
            n_missing = int(np.count_nonzero(nan_mask))
        else:
            n_missing = int(series.isna().sum())
        values = values[~nan_mask]
    else:
        n_missing = int(series.isna().sum())
        mismatched = _type_mismatches(series, spec)
        counts = _value_counts(series)
    n_non_null = n_rows - n_missing

    # missing_share
    if is_label:
        share = _ratio(n_missing, n_rows)
        checks.append(
            QualityCheck(
                "missing_share",
                share,
                None,
                OK if share is not None else INSUFFICIENT_DATA,
                {
                    "count": n_missing,
                    "n": n_rows,
                    "reason": "labels arrive late: no threshold; see performance label_coverage"
                    if share is not None
                    else "empty window",
                },
            )
        )
    else:
        checks.append(
            _share_check(
                "missing_share",
                n_missing,
                n_rows,
                _pick(override, "missing_share", config.missing_share),
                {},
                reason_if_empty="empty window",
            )
        )

    # type_mismatch_share
    checks.append(
        _share_check(
            "type_mismatch_share",
            mismatched,
            n_non_null,
            _pick(override, "type_mismatch_share", config.type_mismatch_share),
            {"expected_dtype": spec.dtype.value, "got_dtype": str(series.dtype)},
            reason_if_empty="no non-null values in the window",
        )
    )

    reference_known = profile is not None and profile.n_non_null > 0
    if kind is Kind.NUMERIC:
        assert values is not None
        threshold = _pick(override, "out_of_range_share", config.out_of_range_share)
        if not reference_known:
            checks.append(
                QualityCheck(
                    "out_of_range_share",
                    None,
                    threshold,
                    INSUFFICIENT_DATA,
                    {"reason": no_reference},
                )
            )
        else:
            assert profile is not None and profile.minimum is not None
            assert profile.maximum is not None
            below = int(np.count_nonzero(values < profile.minimum))
            above = int(np.count_nonzero(values > profile.maximum))
            checks.append(
                _share_check(
                    "out_of_range_share",
                    below + above,
                    int(values.size),
                    threshold,
                    {
                        "below": below,
                        "above": above,
                        "reference_min": profile.minimum,
                        "reference_max": profile.maximum,
                    },
                    reason_if_empty="no non-null values in the window",
                )
            )
        constant_now = values.size > 0 and bool(values.min() == values.max())
        constant_value: Any = float(values[0]) if constant_now else None
        n_distinct: int | None = (1 if constant_now else None) if values.size else 0
    else:
        assert counts is not None
        threshold = _pick(override, "new_category_share", config.new_category_share)
        if not reference_known:
            checks.append(
                QualityCheck(
                    "new_category_share",
                    None,
                    threshold,
                    INSUFFICIENT_DATA,
                    {"reason": no_reference},
                )
            )
        else:
            assert profile is not None and profile.categories is not None
            known = counts.index.isin(list(profile.categories))
            new = counts[~known]
            n_new = int(new.sum())
            listed = _top_counts(new, config.max_new_categories_listed)
            checks.append(
                _share_check(
                    "new_category_share",
                    n_new,
                    int(counts.sum()),
                    threshold,
                    {
                        "new_categories": listed,
                        "n_new_categories": len(new),
                        "truncated": len(new) > len(listed),
                    },
                    reason_if_empty="no non-null values in the window",
                )
            )
        n_distinct = len(counts)
        constant_now = n_distinct == 1
        constant_value = _json_scalar(counts.index[0]) if constant_now else None

    # constant
    check_constant = _pick(override, "check_constant", config.check_constant)
    if n_non_null == 0:
        checks.append(
            QualityCheck(
                "constant",
                None,
                None,
                INSUFFICIENT_DATA,
                {"reason": "no non-null values in the window"},
            )
        )
    elif not reference_known:
        checks.append(
            QualityCheck("constant", None, None, INSUFFICIENT_DATA, {"reason": no_reference})
        )
    else:
        assert profile is not None
        became_constant = constant_now and profile.varied
        checks.append(
            QualityCheck(
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
        )
    return ColumnQuality(
        column=spec.name,
        role=spec.role.value,
        kind=kind.value,
        n_rows=n_rows,
        n_non_null=n_non_null,
        checks=tuple(checks),
    )


def _dataset_checks(
    reference: QualityReference,
    n_rows: int,
    config: QualityConfig,
    quarantined: Mapping[str, int],
    missing: list[str],
) -> tuple[QualityCheck, ...]:
    ratio_ref = _ratio(n_rows, reference.n_rows)
    row_count = QualityCheck(
        "row_count",
        float(n_rows),
        None,
        OK if n_rows else INSUFFICIENT_DATA,
        {"reference_rows": reference.n_rows, "ratio": ratio_ref},
    )
    if config.expected_rows is None:
        ratio_check = QualityCheck(
            "row_count_ratio",
            None,
            None,
            OK,
            {"reason": "expected_rows is not configured", "expected_rows": None},
        )
    else:
        ratio = n_rows / config.expected_rows
        lo, hi = config.min_row_count_ratio, config.max_row_count_ratio
        low = lo is not None and ratio < lo
        high = hi is not None and ratio > hi
        ratio_check = QualityCheck(
            "row_count_ratio",
            ratio,
            hi if high else lo if lo is not None else hi,
            BREACH if low or high else OK,
            {"expected_rows": config.expected_rows, "min": lo, "max": hi},
        )
    by_reason: dict[str, int] = {}
    for reason, count in quarantined.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ConfigError(
                f"quarantined[{reason!r}]: expected a non-negative row count; got {count!r}."
            )
        by_reason[str(reason)] = int(count)
    total = sum(by_reason.values())
    quarantine_check = QualityCheck(
        "quarantined_rows",
        float(total),
        float(config.quarantined_rows),
        BREACH if total > config.quarantined_rows else OK,
        {"by_reason": by_reason},
    )
    schema_check = QualityCheck(
        "schema_mismatch",
        float(len(missing)),
        float(config.schema_mismatch),
        BREACH if len(missing) > config.schema_mismatch else OK,
        {"missing_columns": missing},
    )
    return (row_count, ratio_check, quarantine_check, schema_check)


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
    monitored = _monitored(schema)
    names = [c.name for c in monitored]
    unknown = [k for k in config.features if k not in names]
    if unknown:
        raise ConfigError(
            f"QualityConfig.features: {unknown[0]!r} is not a checked column of this model; "
            f"expected one of {names!r}."
        )
    missing_set = set(missing_columns) | {n for n in names if n not in current.columns}
    missing = [n for n in schema.names if n in missing_set]
    missing += sorted(n for n in missing_set if n not in schema.names)

    columns = []
    for spec in monitored:
        if spec.name in missing_set:
            continue
        columns.append(
            _column_quality(
                current[spec.name],
                spec,
                schema.kind_of(spec.name),
                reference.column(spec.name),
                config,
            )
        )
    return QualityReport(
        n_rows=len(current),
        n_reference_rows=reference.n_rows,
        dataset=_dataset_checks(reference, len(current), config, quarantined or {}, missing),
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
