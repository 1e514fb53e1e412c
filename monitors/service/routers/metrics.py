"""``GET /v1/models/{name}/metrics``: stored results (the ``driftwarden metrics`` records)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from monitors.service.auth import require_scope
from monitors.service.keys import Principal
from monitors.service.operations import metric_export
from monitors.service.routers._common import ModelName, in_thread, problems, settings_of
from monitors.service.schemas import MetricRecord
from monitors.timeparse import ISO_EXAMPLE, parse_time_or_none

router = APIRouter(prefix="/v1/models", tags=["metrics"])


@router.get(
    "/{name}/metrics",
    response_model=list[MetricRecord],
    summary="Stored metric results",
    responses=problems(400, 401, 403, 404, 503),
)
async def get_metrics(
    request: Request,
    name: ModelName,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    from_: Annotated[
        str | None,
        Query(alias="from", description=f"Windows starting at or after (ISO 8601: {ISO_EXAMPLE})."),
    ] = None,
    to: Annotated[str | None, Query(description="Windows ending at or before (ISO 8601).")] = None,
    analyzer: Annotated[str | None, Query(description="Only this analyzer (drift …).")] = None,
    metric: Annotated[str | None, Query(description="Only this metric (psi …).")] = None,
    feature: Annotated[str | None, Query(description="Only this feature.")] = None,
) -> list[MetricRecord]:
    """One record per window, analyzer, metric, feature and group, in window order."""
    start = parse_time_or_none(from_, option="from")
    end = parse_time_or_none(to, option="to")
    return await in_thread(
        metric_export,
        url=settings_of(request).database_url,
        name=name,
        start=start,
        end=end,
        analyzer=analyzer,
        metric=metric,
        feature=feature,
    )
