"""Metadata tables (typed ORM). Per-model prediction logs live in :mod:`storage.logs`.

Conventions:

* times are timezone-aware UTC (:class:`UTCDateTime` stores UTC on SQLite too);
* "no feature" / "no group" is stored as ``''`` so that the unique key on metric
  results works on every database (NULLs are distinct in unique constraints);
  :mod:`storage.metrics` turns it back into ``None``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Dialect,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: driftwarden stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Model(Base):
    """A registered model: name, task, window size, schema and settings."""

    __tablename__ = "model"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    task: Mapped[str] = mapped_column(String(32))
    window: Mapped[str] = mapped_column(String(16), default="1d")
    schema_json: Mapped[dict[str, Any]] = mapped_column("schema")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    log_table: Mapped[str] = mapped_column(String(32))
    next_column: Mapped[int] = mapped_column(default=0)
    retention_days: Mapped[int | None]
    # overrides of ``storage.schema.IngestPolicy`` (plausible times, missing-value text);
    # ``None``: the defaults (migration 0003)
    ingest_policy: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    columns: Mapped[list[ModelColumn]] = relationship(
        back_populates="model", order_by="ModelColumn.position", cascade="all, delete-orphan"
    )


class ModelColumn(Base):
    """Map from a user's column name to its generated physical column name."""

    __tablename__ = "model_column"
    __table_args__ = (
        UniqueConstraint("model_id", "physical"),
        UniqueConstraint("model_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    physical: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    dtype: Mapped[str] = mapped_column(String(16))
    categorical: Mapped[bool] = mapped_column(default=False)

    model: Mapped[Model] = relationship(back_populates="columns")


class ReferenceDataset(Base):
    """A versioned reference dataset of one model, stored as Parquet bytes."""

    __tablename__ = "reference_dataset"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    version: Mapped[int]
    n_rows: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelArtifact(Base):
    """A versioned model artifact (skops bytes), never unpickled from untrusted sources."""

    __tablename__ = "model_artifact"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    version: Mapped[int]
    format: Mapped[str] = mapped_column(String(16), default="skops")
    sha256: Mapped[str] = mapped_column(String(64))
    trusted: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IngestBatch(Base):
    """One ``log`` / ``ingest`` call: what was stored, already present, quarantined.

    ``n_rows = stored + already_present + quarantined + already_quarantined``;
    ``quarantined`` counts rows this batch added to the quarantine, ``already_quarantined``
    bad rows that an earlier batch had quarantined already (same row key), so the sum of
    ``quarantined`` over batches is the number of distinct quarantined rows.
    """

    __tablename__ = "ingest_batch"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # predictions | labels
    source: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    n_rows: Mapped[int]
    stored: Mapped[int]
    already_present: Mapped[int]
    conflicts: Mapped[int]
    quarantined: Mapped[int]
    # migration 0003
    already_quarantined: Mapped[int] = mapped_column(default=0, server_default="0")
    # JSON text {column: count} of values stored as missing that were sent as text
    # ("NA", "null" ...) among the rows this batch stored; None when there were none
    coerced_to_missing: Mapped[str | None] = mapped_column(Text)


class QuarantinedRow(Base):
    """A row that failed validation or conflicts with a stored row, kept with its reason.

    ``row_key`` (sha256 of model, kind and the row's original values) is unique per
    model, so re-sending a file quarantines each bad row once (migration 0003; rows
    quarantined before it have no key).
    """

    __tablename__ = "quarantine"
    __table_args__ = (
        Index("ix_quarantine_model_ts", "model_id", "ts"),
        UniqueConstraint("model_id", "row_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    batch_id: Mapped[str] = mapped_column(String(32), index=True)
    row_number: Mapped[int] = mapped_column(BigInteger)
    prediction_id: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[int | None] = mapped_column(BigInteger)  # epoch microseconds when parseable
    column: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # invalid | conflict | unknown_id
    values: Mapped[str] = mapped_column(Text)  # original values, JSON text
    received_at: Mapped[int] = mapped_column(BigInteger)  # epoch microseconds
    row_key: Mapped[str | None] = mapped_column(String(64))


class WindowRun(Base):
    """One analysed window of one model: rows and labels seen when it was analysed."""

    __tablename__ = "window_run"
    __table_args__ = (UniqueConstraint("model_id", "window_start", "window_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    n_rows: Mapped[int]
    n_labels: Mapped[int]
    reference_version: Mapped[int | None]
    analyzed_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricResult(Base):
    """One stored number: model, window, analyzer, metric, feature, group."""

    __tablename__ = "metric_result"
    __table_args__ = (
        UniqueConstraint(
            "model_id",
            "window_start",
            "window_end",
            "analyzer",
            "metric",
            "feature",
            "group_key",
            name="uq_metric_result_key",
        ),
        Index("ix_metric_result_model_metric_window", "model_id", "metric", "window_start"),
        Index("ix_metric_result_model_analyzer_window", "model_id", "analyzer", "window_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    analyzer: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    feature: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column("group_key", Text, default="")
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(24))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRule(Base):
    """An alert rule, applied from a YAML file or the CLI."""

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(64))
    feature: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column("group_key", Text)
    op: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float]
    for_windows: Mapped[int] = mapped_column(default=1)
    repeat_seconds: Mapped[int] = mapped_column(default=86400)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    channels: Mapped[list[Any]] = mapped_column(default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertChannel(Base):
    """A named notification channel. Holds names of environment variables, never secrets."""

    __tablename__ = "alert_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertSeries(Base):
    """Current state of one rule × feature/group series."""

    __tablename__ = "alert_series"
    __table_args__ = (UniqueConstraint("rule_id", "feature", "group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"))
    feature: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column("group_key", Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="ok")
    since: Mapped[datetime | None]
    consecutive: Mapped[int] = mapped_column(default=0)
    last_window_end: Mapped[datetime | None]
    last_value: Mapped[float | None]
    last_notified_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    # start of the open incident (first breaching window of the firing streak); set when the
    # series fires, kept through ``no_data`` windows, cleared when it resolves (migration 0002)
    open_since: Mapped[datetime | None]


class AlertEvent(Base):
    """A state change of a series, kept forever (history)."""

    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("alert_series.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rule.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    silenced: Mapped[bool] = mapped_column(default=False)


class Silence(Base):
    """Suppresses notifications (state is still recorded) until a time."""

    __tablename__ = "alert_silence"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    feature: Mapped[str | None] = mapped_column(Text)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A notification waiting for delivery, with attempts and the next try."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_event.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    series_key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ReportExport(Base):
    """One exported fairness report file set, so a file can be verified later."""

    __tablename__ = "report_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(128))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    software_version: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key of the HTTP collector (``driftwarden keys``); only a salted hash is kept.

    The key a client sends is ``dwk_<key_id>_<secret>``: ``key_id`` finds the row, the
    secret is checked against ``secret_hash`` (scrypt with the row's own ``salt``;
    ``algorithm`` names the parameters). ``scope`` is ``ingest``, ``read`` or ``admin``;
    ``model`` restricts the key to one model (``None``: every model). Migration 0004.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(64))  # hex
    secret_hash: Mapped[str] = mapped_column(String(128))  # hex
    algorithm: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Comparison(Base):
    """A candidate model compared with a baseline (``driftwarden compare add``).

    ``mode`` is ``shadow`` (both score the same requests, joined on the id) or ``split``
    (each its own traffic; ``split`` is the candidate's declared share). A model is the
    candidate of at most one comparison: the comparison's results are stored as metric
    results of the candidate (analyzer ``comparison``). ``config`` holds the comparison
    settings (``monitors.compare.ComparisonConfig``). Migration 0005.
    """

    __tablename__ = "comparison"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    baseline_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("model.id", ondelete="CASCADE"), unique=True
    )
    mode: Mapped[str] = mapped_column(String(16))
    split: Mapped[float | None]
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComparisonWindow(Base):
    """One compared window: the row and label counts of both models it was computed on."""

    __tablename__ = "comparison_window"
    __table_args__ = (UniqueConstraint("comparison_id", "window_start", "window_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparison.id", ondelete="CASCADE"), index=True
    )
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    n_baseline: Mapped[int]
    n_candidate: Mapped[int]
    n_labels_baseline: Mapped[int]
    n_labels_candidate: Mapped[int]
    verdict: Mapped[str | None] = mapped_column(String(24))
    analyzed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelSource(Base):
    """Where a model's window summaries are computed (migration 0006).

    ``executor``: ``postgres`` (push-down into the store's log table) or ``spark``
    (``source`` is ``parquet:PATH`` or ``spark:TABLE``, a log that stays in the data lake).
    A model without a row uses the in-memory path.
    """

    __tablename__ = "model_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"), unique=True)
    executor: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SummarySpecRow(Base):
    """The bins a model's window summaries are counted on, per reference (gzip JSON)."""

    __tablename__ = "summary_spec"
    __table_args__ = (UniqueConstraint("model_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    reference_version: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WindowSummaryRow(Base):
    """One analysed window's summary (gzip JSON), kept after its rows are purged."""

    __tablename__ = "window_summary"
    __table_args__ = (UniqueConstraint("model_id", "window_start", "window_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    reference_version: Mapped[int]
    spec_sha256: Mapped[str] = mapped_column(String(64))
    format_version: Mapped[int]
    executor: Mapped[str] = mapped_column(String(16))
    n_rows: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
