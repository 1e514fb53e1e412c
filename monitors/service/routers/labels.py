"""``POST /v1/models/{name}/labels``: late labels by prediction id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from monitors.service.auth import require_scope
from monitors.service.keys import Principal
from monitors.service.operations import ingest_label_body
from monitors.service.routers._common import (
    ModelName,
    in_thread,
    problems,
    settings_of,
    telemetry_of,
)
from monitors.service.routers.predictions import ROWS_BODY, Strict, read_body
from monitors.service.schemas import LabelSummary

router = APIRouter(prefix="/v1/models", tags=["labels"])


@router.post(
    "/{name}/labels",
    response_model=LabelSummary,
    summary="Backfill labels",
    openapi_extra=ROWS_BODY,
    responses=problems(400, 401, 403, 404, 413, 415, 422, 503),
)
async def post_labels(
    request: Request,
    name: ModelName,
    principal: Annotated[Principal, Depends(require_scope("ingest"))],
    strict: Strict = False,
    id: Annotated[
        str | None, Query(description="Column with the prediction id (default: the schema's).")
    ] = None,
    label: Annotated[
        str | None, Query(description="Column with the label (default: the schema's).")
    ] = None,
) -> LabelSummary:
    """Store labels of logged predictions by prediction id; unknown ids and labels that
    differ from a stored one are reported and quarantined, never overwritten."""
    body = await read_body(request)
    return await in_thread(
        ingest_label_body,
        settings=settings_of(request),
        telemetry=telemetry_of(request),
        name=name,
        body=body,
        principal=principal,
        strict=strict,
        id_column=id,
        label_column=label,
    )
