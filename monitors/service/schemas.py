"""Request and response models of the HTTP collector (pydantic; they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Health",
    "IngestSummary",
    "LabelSummary",
    "MetricRecord",
    "ModelDetail",
    "ModelSummary",
    "Problem",
    "Readiness",
    "RowProblem",
]


class RowProblem(BaseModel):
    """Why one row (or the body, or a parameter) was refused: where, and what was expected."""

    row: int | None = Field(None, description="Data row, counted from 1 (None: not one row).")
    column: str | None = Field(None, description="Column (or parameter) concerned.")
    reason: str


class Problem(BaseModel):
    """An error as RFC 9457 ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(None, description="The request path.")
    errors: list[RowProblem] | None = Field(
        None, description="Row/column reasons (first ones), when the problem is in the data."
    )


class IngestSummary(BaseModel):
    """What one POST of predictions did (the ingest summary of the SDK and CLI).

    ``rows = stored + already_present + quarantined + already_quarantined``.
    """

    model: str
    batch_id: str
    rows: int
    stored: int
    already_present: int = Field(description="Same prediction_id and values already stored.")
    conflicts: int = Field(description="Conflicting duplicates (quarantined, not overwritten).")
    quarantined: int = Field(description="Bad rows newly quarantined with their reasons.")
    already_quarantined: int = Field(description="Bad rows an earlier batch had quarantined.")
    problems: list[RowProblem] = Field(description="The first row problems.")
    problems_total: int = Field(description="Row problems found (the first 1,000 are counted).")
    added_columns: list[str]
    ignored_columns: list[str]
    missing_columns: list[str]
    coerced_to_missing: dict[str, int]
    summary: str


class LabelSummary(BaseModel):
    """What one POST of labels did."""

    model: str
    batch_id: str
    rows: int
    stored: int = Field(description="Labels written to stored predictions.")
    already_present: int = Field(description="The same label was already stored.")
    unknown_ids: list[str] = Field(description="First prediction ids that are not stored.")
    unknown_total: int
    conflicting_ids: list[str] = Field(description="First ids whose stored label differs.")
    conflicting_total: int
    quarantined: int
    already_quarantined: int
    problems: list[RowProblem]
    problems_total: int
    summary: str


class ModelSummary(BaseModel):
    """A registered model in the list."""

    name: str
    task: str
    window: str
    reference_version: int | None
    features: list[str]


class ModelDetail(ModelSummary):
    """One registered model: schema, settings, rows received and the last analysed window."""

    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    retention_days: int | None
    rows_received: int
    rows_stored: int
    rows_already_present: int
    rows_quarantined: int
    last_window_end: datetime | None

    model_config = ConfigDict(populate_by_name=True)


class MetricRecord(BaseModel):
    """One stored result (the export record of ``driftwarden metrics``)."""

    model: str
    window_start: datetime
    window_end: datetime
    analyzer: str
    metric: str
    feature: str | None
    group: str | None
    value: float | None
    threshold: float | None
    status: str
    details: dict[str, Any]


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The database answers and its schema is at the newest migration."""

    status: Literal["ready"] = "ready"
    revision: str | None
    head: str | None
