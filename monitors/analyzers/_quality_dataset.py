"""Model-level quality checks: row count, rows against expectation, quarantine, schema."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from monitors.analyzers._quality_config import QualityConfig
from monitors.analyzers._quality_types import QualityCheck, QualityReference
from monitors.analyzers._quality_values import ratio
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK
from monitors.errors import ConfigError


def _row_count_ratio(n_rows: int, config: QualityConfig) -> QualityCheck:
    """Rows / ``expected_rows`` against the configured bounds (ok without expectation)."""
    if config.expected_rows is None:
        return QualityCheck(
            "row_count_ratio",
            None,
            None,
            OK,
            {"reason": "expected_rows is not configured", "expected_rows": None},
        )
    ratio_ = n_rows / config.expected_rows
    lo, hi = config.min_row_count_ratio, config.max_row_count_ratio
    low = lo is not None and ratio_ < lo
    high = hi is not None and ratio_ > hi
    return QualityCheck(
        "row_count_ratio",
        ratio_,
        hi if high else lo if lo is not None else hi,
        BREACH if low or high else OK,
        {"expected_rows": config.expected_rows, "min": lo, "max": hi},
    )


def _quarantine_check(quarantined: Mapping[str, int], config: QualityConfig) -> QualityCheck:
    """Rows quarantined at ingest, by reason; errors for counts that are not row counts."""
    by_reason: dict[str, int] = {}
    for reason, count in quarantined.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ConfigError(
                f"quarantined[{reason!r}]: expected a non-negative row count; got {count!r}."
            )
        by_reason[str(reason)] = int(count)
    total = sum(by_reason.values())
    return QualityCheck(
        "quarantined_rows",
        float(total),
        float(config.quarantined_rows),
        BREACH if total > config.quarantined_rows else OK,
        {"by_reason": by_reason},
    )


def dataset_checks(
    reference: QualityReference,
    n_rows: int,
    config: QualityConfig,
    quarantined: Mapping[str, int],
    missing: list[str],
) -> tuple[QualityCheck, ...]:
    """``row_count``, ``row_count_ratio``, ``quarantined_rows`` and ``schema_mismatch``."""
    row_count = QualityCheck(
        "row_count",
        float(n_rows),
        None,
        OK if n_rows else INSUFFICIENT_DATA,
        {"reference_rows": reference.n_rows, "ratio": ratio(n_rows, reference.n_rows)},
    )
    ratio_check = _row_count_ratio(n_rows, config)
    quarantine_check = _quarantine_check(quarantined, config)
    schema_check = QualityCheck(
        "schema_mismatch",
        float(len(missing)),
        float(config.schema_mismatch),
        BREACH if len(missing) > config.schema_mismatch else OK,
        {"missing_columns": missing},
    )
    return (row_count, ratio_check, quarantine_check, schema_check)
