"""``POST /v1/models/{name}/predictions``: log predictions from any language."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from monitors.service.auth import require_scope
from monitors.service.bodies import media_kind
from monitors.service.keys import Principal
from monitors.service.operations import Body, ingest_prediction_body
from monitors.service.routers._common import (
    ModelName,
    in_thread,
    problems,
    settings_of,
    telemetry_of,
)
from monitors.service.schemas import IngestSummary

router = APIRouter(prefix="/v1/models", tags=["predictions"])

_ROW = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    "description": "One row: column name → value (text, number, boolean or null).",
}
#: The request body of both ingest routes, in its four media types.
ROWS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": _ROW}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One JSON object per line."}
            },
            "text/csv": {"schema": {"type": "string", "description": "Header row, then rows."}},
            "application/vnd.apache.arrow.stream": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}

Strict = Annotated[
    bool, Query(description="Reject the whole batch (422, nothing stored) if any row is bad.")
]


async def read_body(request: Request) -> Body:
    """The body of an ingest request; an unsupported Content-Type is refused before reading."""
    media_kind(request.headers.get("content-type"))
    return Body(
        await request.body(),
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
    )


@router.post(
    "/{name}/predictions",
    response_model=IngestSummary,
    summary="Log predictions",
    openapi_extra=ROWS_BODY,
    responses=problems(400, 401, 403, 404, 413, 415, 422, 503),
)
async def post_predictions(
    request: Request,
    name: ModelName,
    principal: Annotated[Principal, Depends(require_scope("ingest"))],
    strict: Strict = False,
    on_new_columns: Annotated[
        Literal["ignore", "add", "quarantine", "error"],
        Query(
            description="Columns not in the schema: ignore them (reported), add them as new "
            "nullable features, quarantine rows that use them, or reject the batch."
        ),
    ] = "ignore",
) -> IngestSummary:
    """Validate and store rows as one batch: re-sent ids are not stored twice, bad rows
    are quarantined with their reasons (first ones listed), a malformed body stores nothing."""
    body = await read_body(request)
    return await in_thread(
        ingest_prediction_body,
        settings=settings_of(request),
        telemetry=telemetry_of(request),
        name=name,
        body=body,
        principal=principal,
        strict=strict,
        on_new_columns=on_new_columns,
    )
