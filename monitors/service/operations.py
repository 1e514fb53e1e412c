"""What the routes call: decode a body, then the SDK/CLI library functions; shape the answer.

No ingest logic lives here or in a route: predictions go through
:func:`monitors.collectors.ingest.ingest_predictions` and labels through
:func:`monitors.collectors.ingest.ingest_labels` — the functions behind
``Client.log``/``Client.log_labels`` and ``driftwarden ingest``/``labels`` — so
validation, idempotency by ``prediction_id``, quarantine with reasons, ``strict`` and
one transaction per batch are exactly theirs. Each batch's ``source`` is
``http:<key name>``. Models come from the SDK's ``Client``; metric records are the
export records of ``driftwarden metrics`` (:data:`storage.metrics.EXPORT_COLUMNS`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd

from monitors.collectors import Client
from monitors.collectors.ingest import (
    IngestResult,
    LabelResult,
    ingest_labels,
    ingest_predictions,
)
from monitors.collectors.validate import NewColumns, Problem
from monitors.service.bodies import decode_body
from monitors.service.errors import NotReadyError
from monitors.service.keys import Principal
from monitors.service.schemas import (
    IngestSummary,
    LabelSummary,
    MetricRecord,
    ModelDetail,
    ModelSummary,
    Readiness,
    RowProblem,
)
from monitors.service.settings import ServiceSettings
from monitors.service.telemetry import Telemetry
from storage.engine import (
    current_revision,
    get_engine,
    head_revision,
    read_engine,
    session_scope,
)
from storage.metrics import EXPORT_COLUMNS, ingest_totals, last_window, metrics_frame
from storage.registry import get_model

__all__ = [
    "Body",
    "ingest_label_body",
    "ingest_prediction_body",
    "metric_export",
    "model_detail",
    "model_list",
    "readiness",
]


class Body:
    """A request body and the headers that say how to read it."""

    def __init__(self, data: bytes, content_type: str | None, content_encoding: str | None):
        self.data = data
        self.content_type = content_type
        self.content_encoding = content_encoding

    def frame(self, settings: ServiceSettings) -> pd.DataFrame:
        """The rows, decoded whole (see :func:`monitors.service.bodies.decode_body`)."""
        return decode_body(
            self.data,
            content_type=self.content_type,
            content_encoding=self.content_encoding,
            max_bytes=settings.max_body_bytes,
            max_rows=settings.max_rows,
        )


_sqlite_locks: dict[str, threading.Lock] = {}
_sqlite_locks_guard = threading.Lock()


def _writer(url: str) -> AbstractContextManager[object]:
    """One ingest at a time per SQLite file in this process; nothing on PostgreSQL.

    SQLite serialises writers anyway (``BEGIN IMMEDIATE``), and concurrent ADBC writers
    on one file in one process have been seen to fail with "disk I/O error"; bodies are
    still decoded in parallel, outside this lock.
    """
    from sqlalchemy.engine import make_url

    from storage.engine import database_url

    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite":
        return nullcontext()
    with _sqlite_locks_guard:
        return _sqlite_locks.setdefault(str(parsed.database), threading.Lock())


R = TypeVar("R", IngestResult, LabelResult)


def _store_body(
    settings: ServiceSettings, telemetry: Telemetry, body: Body, ingest: Callable[[pd.DataFrame], R]
) -> R:
    """Decode ``body``, store it with ``ingest`` (one writer per SQLite file), count the batch."""
    began = time.perf_counter()
    frame = body.frame(settings)
    with _writer(settings.database_url):
        result = ingest(frame)
    if isinstance(result, IngestResult):
        kind = "predictions"
        outcomes = {"stored": result.stored, "already_present": result.already_present}
    else:
        kind = "labels"
        outcomes = {"stored": result.updated, "already_present": result.already_set}
    outcomes["quarantined"] = result.quarantined
    outcomes["already_quarantined"] = result.already_quarantined
    telemetry.observe_batch(result.model, kind, time.perf_counter() - began, outcomes)
    return result


def _problems(problems: list[Problem], n: int) -> list[RowProblem]:
    return [RowProblem(row=p.row, column=p.column, reason=p.reason) for p in problems[:n]]


def _ingest_summary(result: IngestResult, n: int) -> IngestSummary:
    return IngestSummary(
        model=result.model,
        batch_id=result.batch_id,
        rows=result.rows,
        stored=result.stored,
        already_present=result.already_present,
        conflicts=result.conflicts,
        quarantined=result.quarantined,
        already_quarantined=result.already_quarantined,
        problems=_problems(result.problems, n),
        problems_total=len(result.problems),
        added_columns=result.added_columns,
        ignored_columns=result.ignored_columns,
        missing_columns=result.missing_columns,
        coerced_to_missing=result.coerced_to_missing,
        summary=result.summary(),
    )


def ingest_prediction_body(
    settings: ServiceSettings,
    telemetry: Telemetry,
    *,
    name: str,
    body: Body,
    principal: Principal,
    strict: bool,
    on_new_columns: NewColumns,
) -> IngestSummary:
    """Decode a body of predictions and store it as one batch (the SDK's ingest)."""
    result = _store_body(
        settings,
        telemetry,
        body,
        lambda frame: ingest_predictions(
            [frame],
            name,
            url=settings.database_url,
            strict=strict,
            on_new_columns=on_new_columns,
            source=f"http:{principal.name}",
        ),
    )
    return _ingest_summary(result, settings.problems_shown)


def _label_summary(result: LabelResult, n: int) -> LabelSummary:
    return LabelSummary(
        model=result.model,
        batch_id=result.batch_id,
        rows=result.rows,
        stored=result.updated,
        already_present=result.already_set,
        unknown_ids=result.unknown_ids[:n],
        unknown_total=len(result.unknown_ids),
        conflicting_ids=result.conflicting_ids[:n],
        conflicting_total=len(result.conflicting_ids),
        quarantined=result.quarantined,
        already_quarantined=result.already_quarantined,
        problems=_problems(result.problems, n),
        problems_total=len(result.problems),
        summary=result.summary(),
    )


def ingest_label_body(
    settings: ServiceSettings,
    telemetry: Telemetry,
    *,
    name: str,
    body: Body,
    principal: Principal,
    strict: bool,
    id_column: str | None,
    label_column: str | None,
) -> LabelSummary:
    """Decode a body of labels and backfill them by ``prediction_id`` (the SDK's backfill)."""
    result = _store_body(
        settings,
        telemetry,
        body,
        lambda frame: ingest_labels(
            [frame] if len(frame.columns) else [],  # ``[]``: a batch of no labels
            name,
            url=settings.database_url,
            id_column=id_column,
            label_column=label_column,
            strict=strict,
            source=f"http:{principal.name}",
        ),
    )
    return _label_summary(result, settings.problems_shown)


def model_list(url: str, principal: Principal) -> list[ModelSummary]:
    """Registered models the key may see, by name."""
    return [
        ModelSummary(
            name=info.name,
            task=info.task,
            window=info.window,
            reference_version=info.reference_version,
            features=[c.name for c in info.schema.features],
        )
        for info in Client(url).models()
        if principal.may_see(info.name)
    ]


def model_detail(url: str, name: str) -> ModelDetail:
    """One model: schema, settings, rows received over all batches, last analysed window."""
    info = Client(url).model(name)
    with session_scope(read_engine(get_engine(url))) as session:
        model = get_model(session, name)
        totals = ingest_totals(session, model)
        last = last_window(session, model)
        last_end = last.window_end if last is not None else None
    return ModelDetail(
        name=info.name,
        task=info.task,
        window=info.window,
        reference_version=info.reference_version,
        features=[c.name for c in info.schema.features],
        schema_=info.schema.model_dump(mode="json"),
        retention_days=info.retention_days,
        rows_received=totals["received"],
        rows_stored=totals["stored"],
        rows_already_present=totals["already_present"],
        rows_quarantined=totals["quarantined"],
        last_window_end=last_end,
    )


def _clean(value: Any) -> Any:
    """A JSON-ready value (as ``driftwarden metrics`` writes it): non-finite floats → null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metric_export(
    url: str,
    name: str,
    *,
    start: datetime | None,
    end: datetime | None,
    analyzer: str | None,
    metric: str | None,
    feature: str | None,
) -> list[MetricRecord]:
    """Stored results of a model (``driftwarden metrics`` records), optionally filtered."""
    with session_scope(read_engine(get_engine(url))) as session:
        frame = metrics_frame(
            session,
            model=get_model(session, name),
            start=start,
            end=end,
            analyzer=analyzer,
            metrics=[metric] if metric else None,
            feature=feature,
        )
    return [
        MetricRecord.model_validate({col: _clean(row[col]) for col in EXPORT_COLUMNS})
        for row in frame.to_dict(orient="records")
    ]


def readiness(url: str) -> Readiness:
    """Ready when the database answers and is at the newest migration.

    Raises
    ------
    NotReadyError
        If the schema is behind (run ``driftwarden db upgrade``).
    """
    engine = get_engine(url, migrate=False)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        raise NotReadyError(
            f"the database is at migration {revision or 'none'}; this version needs {head} "
            "(run 'driftwarden db upgrade')"
        )
    return Readiness(revision=revision, head=head)
