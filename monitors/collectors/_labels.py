"""Label backfill by ``prediction_id``: validate, update, quarantine — one transaction.

Re-exported by :mod:`monitors.collectors.ingest` (``ingest_labels``, ``LabelResult``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from monitors.collectors._batch import (
    Tally,
    Target,
    arrow_column,
    load_target,
    now_us,
    reject_if_strict,
    row_numbers,
    write_batch,
)
from monitors.collectors.quarantine import Quarantine
from monitors.collectors.validate import Problem, ValidatedBatch, validate_labels
from monitors.errors import IngestError, ValidationError
from storage import bulk
from storage.logs import ROW as PHYS_ROW
from storage.schema import ColumnSpec, DType


@dataclass(frozen=True)
class LabelResult:
    """What one label backfill did."""

    model: str
    batch_id: str
    rows: int
    updated: int
    already_set: int
    unknown_ids: list[str]
    conflicting_ids: list[str]
    quarantined: int
    problems: list[Problem] = field(default_factory=list)
    already_quarantined: int = 0

    def summary(self) -> str:
        """One line: stored / already present / unknown / conflicting / quarantined."""
        text = (
            f"{self.model}: {self.rows} labels: stored {self.updated}, already present "
            f"{self.already_set}, unknown prediction_id {len(self.unknown_ids)}, conflicting "
            f"{len(self.conflicting_ids)}, quarantined {self.quarantined}"
        )
        if self.already_quarantined:
            text += f" (+{self.already_quarantined} already in quarantine)"
        return text


@dataclass
class _LabelTally(Tally):
    """Running counts of a batch of labels."""

    updated: int = 0
    unknown: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)


def ingest_labels(
    chunks: Iterable[pd.DataFrame],
    model_name: str,
    *,
    url: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    strict: bool = False,
    source: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> LabelResult:
    """Backfill labels by ``prediction_id``.

    Labels for ids that are not stored are reported back (``unknown_ids``) and kept in
    quarantine; a label that differs from one already stored is reported
    (``conflicting_ids``), quarantined and not overwritten.

    Raises
    ------
    UnknownModelError
        If the model is not registered.
    IngestError
        If the model has no label column or the file lacks a column;
        :class:`ValidationError` in strict mode.
    """
    target = load_target(url, model_name)
    schema = target.schema
    if schema.label is None:
        raise IngestError(f"model {model_name!r} has no label column; labels cannot be stored")
    columns = (id_column or schema.id.name, label_column or schema.label.name)
    batch_id, received = uuid.uuid4().hex, now_us()
    q = Quarantine(target.model.id, batch_id, received)
    tally = _LabelTally()
    with bulk.bulk_connection(url) as conn, conn.transaction():
        conn.lock_model(target.model.id)
        for frame in chunks:
            frame = frame.reset_index(drop=True)
            _store_labels(
                conn, frame, target, q, tally, label=schema.label, columns=columns, strict=strict
            )
            if on_chunk is not None:
                on_chunk(len(frame))
        q.write(conn)
        record = {
            "id": batch_id,
            "model_id": target.model.id,
            "kind": "labels",
            "source": source,
            "n_rows": tally.rows,
            "stored": tally.updated,
            "already_present": tally.already,
            "conflicts": len(tally.conflicting),
            "quarantined": q.new,
            "already_quarantined": q.already,
        }
        write_batch(conn, record, received)
    return LabelResult(
        model=model_name,
        batch_id=batch_id,
        rows=tally.rows,
        updated=tally.updated,
        already_set=tally.already,
        unknown_ids=tally.unknown,
        conflicting_ids=tally.conflicting,
        quarantined=q.new,
        problems=tally.problems,
        already_quarantined=q.already,
    )


def _label_arrow(
    validated: ValidatedBatch, id_name: str, label: ColumnSpec, id_phys: str, label_phys: str
) -> pa.Table:
    """Validated labels → Arrow with physical names (id, label, m_row)."""
    good = validated.good
    return pa.table(
        {
            id_phys: arrow_column(good[id_name], DType.STRING),
            label_phys: arrow_column(good[label.name], label.dtype),
            PHYS_ROW: row_numbers(validated.rows),
        }
    )


def _store_labels(
    conn: bulk.BulkConnection,
    frame: pd.DataFrame,
    target: Target,
    q: Quarantine,
    tally: _LabelTally,
    *,
    label: ColumnSpec,
    columns: tuple[str, str],
    strict: bool,
) -> None:
    """Validate one chunk of labels, store the good ones, quarantine the rejected ones."""
    schema, offset = target.schema, tally.rows
    id_column, label_column = columns
    id_phys, label_phys = target.physical[schema.id.name], target.physical[label.name]
    validated = validate_labels(
        frame,
        schema,
        id_column=id_column,
        label_column=label_column,
        row_offset=offset,
        missing_values=target.policy.missing_values,
    )
    reject_if_strict(strict, validated.problems)
    tally.keep_problems(validated.problems)
    q.add_invalid(frame, validated, offset, id_column, None)
    outcome = bulk.store_labels(
        conn,
        target.table,
        _label_arrow(validated, schema.id.name, label, id_phys, label_phys),
        id_column=id_phys,
        label_column=label_phys,
        labeled_at_us=q.received_us,
    )
    for kind, found, sink in [
        ("unknown_id", outcome.unknown, tally.unknown),
        ("conflict", outcome.conflicts, tally.conflicting),
    ]:
        if not found.num_rows:
            continue
        ids = [str(v) for v in found.column(id_phys).to_pylist()]
        if strict:
            raise ValidationError(
                f"strict mode: {len(ids)} label(s) rejected ({kind.replace('_', ' ')}), "
                f"e.g. prediction_id {ids[0]!r}; nothing stored"
            )
        sink.extend(ids)
        column = id_column if kind == "unknown_id" else label_column
        q.add_rejected_labels(frame, found, ids, kind=kind, column=column, offset=offset)
    tally.rows += len(frame)
    tally.updated += outcome.updated
    tally.already += outcome.already_set
