"""Quarantine of one ingest batch: rejected rows with their reason and original values.

Invalid rows, conflicting duplicates and rejected labels are collected as Arrow columns
and written to the ``quarantine`` table in the batch's transaction. Each row has a
stable key — sha256 of the model, the kind of rejection and the row's original values —
unique per model, so a re-sent file quarantines each bad row once: a row already in
quarantine is counted as such (``already``), not written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Table

from monitors.collectors.validate import Problem, ValidatedBatch
from storage import bulk
from storage.logs import ROW as PHYS_ROW
from storage.models import QuarantinedRow
from storage.schema import ModelSchema


def json_rows(frame: pd.DataFrame) -> list[str]:
    """Original values of rows as JSON objects (NaN → null, timestamps ISO)."""
    return _json_and_canonical(frame)[0]


def _json_and_canonical(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Each row as JSON in column order, and its values in sorted column order (for its key)."""
    names = [str(c) for c in frame.columns]
    order = sorted(range(len(names)), key=names.__getitem__)
    prefix = json.dumps([names[i] for i in order], ensure_ascii=False)
    columns = [_json_column(frame.iloc[:, i]) for i in range(len(names))]
    values, canonical = [], []
    for row in zip(*columns, strict=True) if columns else [() for _ in range(len(frame))]:
        record = dict(zip(names, row, strict=True))
        values.append(json.dumps(record, ensure_ascii=False, allow_nan=False, default=str))
        canonical.append(
            prefix
            + json.dumps([row[i] for i in order], ensure_ascii=False, allow_nan=False, default=str)
        )
    return values, canonical


def _json_column(series: pd.Series) -> list[object]:
    """A column's values, JSON-safe and exact (NaN/NA → null, times → ISO), column-wise."""
    if pd.api.types.is_float_dtype(series.dtype) and not isinstance(series.dtype, pd.ArrowDtype):
        array = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(array)
        return [v if ok else None for v, ok in zip(array.tolist(), finite.tolist(), strict=True)]
    if series.dtype.kind in "iub" and not series.hasnans:
        return series.to_numpy().tolist()
    return [_json_value(v) for v in series.tolist()]


def _json_value(value: object) -> object:
    """A JSON-safe value that keeps numbers exact (NaN/NA → null, times → ISO)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _ts_of(series: pd.Series | None) -> list[int | None]:
    """Epoch microseconds of the (parseable) timestamps of a column; ``None`` where not."""
    if series is None:
        return []
    parsed = (
        pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        if not pd.api.types.is_datetime64_any_dtype(series.dtype)
        else series
    )
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize("UTC")
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    out: list[int | None] = []
    for value in naive.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")):
        out.append(None if np.isnat(value) else int(value.view("int64")))
    return out


class Quarantine:
    """Accumulates quarantine rows of one batch as Arrow columns."""

    def __init__(self, model_id: int, batch_id: str, received_us: int) -> None:
        self.model_id, self.batch_id, self.received_us = model_id, batch_id, received_us
        self.rows: list[int] = []
        self.ids: list[str | None] = []
        self.ts: list[int | None] = []
        self.columns: list[str | None] = []
        self.reasons: list[str] = []
        self.kinds: list[str] = []
        self.values: list[str] = []
        self.keys: list[str] = []
        self.new = 0  # rows written by :meth:`write`; the others were in quarantine already

    def add(
        self,
        *,
        rows: Sequence[int],
        ids: Sequence[str | None],
        ts: Sequence[int | None],
        columns: Sequence[str | None],
        reasons: Sequence[str],
        kind: str,
        rows_of: pd.DataFrame,
    ) -> None:
        """Add rows of one kind, with their ids, times, columns, reasons and original values."""
        values, canonical = _json_and_canonical(rows_of)
        prefix = f"{self.model_id}\x1f{kind}\x1f"
        self.keys.extend(
            hashlib.sha256((prefix + text).encode("utf-8")).hexdigest() for text in canonical
        )
        self.rows.extend(rows)
        self.ids.extend(ids)
        self.ts.extend(ts)
        self.columns.extend(columns)
        self.reasons.extend(reasons)
        self.kinds += [kind] * len(rows)
        self.values.extend(values)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def already(self) -> int:
        """Rows of this batch that an earlier batch had quarantined (after :meth:`write`)."""
        return len(self.rows) - self.new

    def add_invalid(
        self,
        frame: pd.DataFrame,
        batch: ValidatedBatch,
        offset: int,
        id_name: str,
        ts_name: str | None,
    ) -> None:
        """Add the rows of ``frame`` that validation rejected, with all their problems."""
        if not len(batch.bad_positions):
            return
        by_row: dict[int, list[Problem]] = {}
        for problem in batch.problems:
            by_row.setdefault(problem.row, []).append(problem)
        bad = frame.iloc[batch.bad_positions]
        rows = [int(p) + 1 + offset for p in batch.bad_positions]
        ids = (
            [None if pd.isna(v) else str(v) for v in bad[id_name]]
            if id_name in bad
            else [None] * len(rows)
        )
        ts = _ts_of(bad[ts_name]) if ts_name and ts_name in bad else [None] * len(rows)
        columns, reasons = [], []
        for row in rows:
            problems = by_row.get(row, [])
            cols = sorted({p.column for p in problems if p.column})
            columns.append(", ".join(cols) if cols else None)
            reasons.append("; ".join(str(p) for p in problems))
        self.add(
            rows=rows,
            ids=ids,
            ts=ts,
            columns=columns,
            reasons=reasons,
            kind="invalid",
            rows_of=bad,
        )

    def add_conflicts(
        self,
        frame: pd.DataFrame,
        conflicts: pa.Table,
        by_phys: Mapping[str, str],
        offset: int,
        schema: ModelSchema,
    ) -> None:
        """Add conflicting duplicates (same id, other values), naming the differing columns.

        ``by_phys`` maps physical column names to the user's names.
        """
        rows = conflicts.column(PHYS_ROW).to_pylist()
        flag_cols = [
            n for n in conflicts.column_names if n in by_phys and by_phys[n] != schema.id.name
        ]
        flags = {n: conflicts.column(n).to_pylist() for n in flag_cols}
        positions = [int(r) - 1 - offset for r in rows]
        originals = frame.iloc[positions]
        ids = [str(v) for v in originals[schema.id.name].tolist()]
        columns, reasons = [], []
        for i, (row, pid) in enumerate(zip(rows, ids, strict=True)):
            differing = [by_phys[n] for n in flag_cols if flags[n][i]]
            columns.append(", ".join(differing))
            reasons.append(
                f"Row {row}: conflicting duplicate: prediction_id {pid!r} is already stored "
                f"with different values in column(s) {differing!r}; the stored row was kept"
            )
        self.add(
            rows=[int(r) for r in rows],
            ids=ids,
            ts=_ts_of(originals[schema.timestamp.name]),
            columns=columns,
            reasons=reasons,
            kind="conflict",
            rows_of=originals,
        )

    def add_rejected_labels(
        self,
        frame: pd.DataFrame,
        found: pa.Table,
        ids: list[str],
        *,
        kind: str,
        column: str,
        offset: int,
    ) -> None:
        """Add labels for unknown ids (``unknown_id``) or that differ from a stored one."""
        row_numbers = [int(r) for r in found.column(PHYS_ROW).to_pylist()]
        originals = frame.iloc[[r - 1 - offset for r in row_numbers]]
        text = (
            "no stored prediction has this prediction_id"
            if kind == "unknown_id"
            else "a different label is already stored for this prediction_id; kept"
        )
        self.add(
            rows=row_numbers,
            ids=ids,
            ts=[None] * len(ids),
            columns=[column] * len(ids),
            reasons=[f"Row {r}: {text}" for r in row_numbers],
            kind=kind,
            rows_of=originals,
        )

    def write(self, conn: bulk.BulkConnection) -> None:
        """Append the collected rows not yet in quarantine to the ``quarantine`` table."""
        n = len(self.rows)
        self.new = bulk.insert_new_rows(
            conn,
            cast(Table, QuarantinedRow.__table__),
            {
                "model_id": [self.model_id] * n,
                "batch_id": [self.batch_id] * n,
                "row_number": pa.array(self.rows, pa.int64()),
                "prediction_id": pa.array(self.ids, pa.string()),
                "ts": pa.array(self.ts, pa.int64()),
                "column": pa.array(self.columns, pa.string()),
                "reason": pa.array(self.reasons, pa.string()),
                "kind": pa.array(self.kinds, pa.string()),
                "values": pa.array(self.values, pa.string()),
                "received_at": [self.received_us] * n,
                "row_key": pa.array(self.keys, pa.string()),
            },
            key=["model_id", "row_key"],
        )


__all__ = ["Quarantine", "json_rows"]
