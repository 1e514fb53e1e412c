"""``GET /v1/models`` and ``GET /v1/models/{name}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from monitors.service.auth import require_scope
from monitors.service.keys import Principal
from monitors.service.operations import model_detail, model_list
from monitors.service.routers._common import ModelName, in_thread, problems, settings_of
from monitors.service.schemas import ModelDetail, ModelSummary

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get(
    "",
    response_model=list[ModelSummary],
    summary="List models",
    responses=problems(401, 403, 503),
)
async def get_models(
    request: Request, principal: Annotated[Principal, Depends(require_scope("read"))]
) -> list[ModelSummary]:
    """Registered models (a key restricted to one model sees only that one)."""
    url = settings_of(request).database_url
    return await in_thread(model_list, url=url, principal=principal)


@router.get(
    "/{name}",
    response_model=ModelDetail,
    response_model_by_alias=True,
    summary="One model",
    responses=problems(400, 401, 403, 404, 503),
)
async def get_model(
    request: Request,
    name: ModelName,
    principal: Annotated[Principal, Depends(require_scope("read"))],
) -> ModelDetail:
    """Schema, window, reference version, rows received and the last analysed window."""
    return await in_thread(model_detail, url=settings_of(request).database_url, name=name)
