"""What the prediction and label ingests share: the target model, running counts, records."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Table

from monitors.collectors.validate import Problem
from monitors.errors import ValidationError
from storage import bulk
from storage.engine import get_engine, session_scope
from storage.logs import log_table
from storage.models import IngestBatch, Model, ModelColumn
from storage.registry import get_model, ingest_policy, model_schema
from storage.schema import DType, IngestPolicy, ModelSchema

MAX_PROBLEMS = 1000
STRICT_SHOWN = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """A model's log table, columns and ingest policy, read once per batch."""

    model: Model
    schema: ModelSchema
    columns: list[ModelColumn]
    table: Table
    policy: IngestPolicy

    @property
    def physical(self) -> dict[str, str]:
        """User column name → physical column name."""
        return {c.name: c.physical for c in self.columns}

    @property
    def by_physical(self) -> dict[str, str]:
        """Physical column name → user column name."""
        return {c.physical: c.name for c in self.columns}


def load_target(url: str | None, model_name: str) -> Target:
    """The model, its schema, columns, log table and ingest policy.

    Raises
    ------
    UnknownModelError
        If the model is not registered.
    """
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, model_name)
        return Target(
            model=model,
            schema=model_schema(model),
            columns=list(model.columns),
            table=log_table(model),
            policy=ingest_policy(model),
        )


@dataclass
class Tally:
    """Running counts of one batch (``rows`` is also the row offset of the next chunk)."""

    rows: int = 0
    already: int = 0
    problems: list[Problem] = field(default_factory=list)

    def keep_problems(self, problems: Sequence[Problem]) -> None:
        """Keep problems up to :data:`MAX_PROBLEMS` in all."""
        self.problems.extend(problems[: max(0, MAX_PROBLEMS - len(self.problems))])


def reject_if_strict(strict: bool, problems: Sequence[Problem]) -> None:
    """In strict mode, any problem rejects the whole batch (the transaction rolls back)."""
    if not strict or not problems:
        return
    shown = "; ".join(str(p) for p in problems[:STRICT_SHOWN])
    more = len(problems) - STRICT_SHOWN
    raise ValidationError(
        f"strict mode: the batch was rejected, nothing stored. {shown}"
        + (f" (and {more} more problems)" if more > 0 else "")
    )


def write_batch(conn: bulk.BulkConnection, record: dict[str, object], received_us: int) -> None:
    """Append the batch record (what the batch did) in the batch's transaction."""
    bulk.append_rows(
        conn,
        cast(Table, IngestBatch.__table__),
        {**{k: [v] for k, v in record.items()}, "received_at": [received_us]},
    )


def now_us() -> int:
    """The current time in epoch microseconds."""
    return time.time_ns() // 1000


def micros(at: datetime) -> int:
    """Epoch microseconds of an aware (or UTC) datetime."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def time_range(policy: IngestPolicy, received_us: int) -> tuple[int, int]:
    """Plausible timestamps (epoch µs) for a batch received at ``received_us``."""
    high = received_us + policy.max_future // timedelta(microseconds=1)
    return micros(policy.min_timestamp), high


def arrow_column(series: pd.Series, dtype: DType) -> pa.Array:
    """A converted column as the Arrow type its log column stores."""
    if dtype in (DType.INT, DType.TIMESTAMP):
        return pa.array(series, type=pa.int64(), from_pandas=True)
    if dtype is DType.FLOAT:
        return pa.array(series.to_numpy(dtype="float64"), type=pa.float64(), from_pandas=True)
    if dtype is DType.BOOL:
        return pa.array(series, type=pa.bool_(), from_pandas=True)
    return pa.array(series, type=pa.string(), from_pandas=True)


def row_numbers(rows: np.ndarray) -> pa.Array:
    """Row numbers of the good rows, staged beside them as ``m_row``."""
    return pa.array(np.asarray(rows, dtype=np.int64))
