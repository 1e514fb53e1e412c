"""``GET /metrics``: Prometheus text format — the service's own metrics and stored gauges.

Needs a ``read`` (or ``admin``) key unless the service runs with ``--public-metrics``:
the gauges carry model, feature and group names (group names are values of sensitive
attributes). A key restricted to one model sees that model's gauges only; the service's
own counters are always included. Prometheus sends the key with
``authorization: {credentials_file: …}`` in its scrape config (docs/collector-service.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import generate_latest

from monitors.service.auth import bearer, require_scope
from monitors.service.exposition import StoredMetrics, registry_of
from monitors.service.keys import Principal
from monitors.service.routers._common import in_thread, problems, settings_of, telemetry_of

router = APIRouter(tags=["prometheus"])
#: The classic text format every Prometheus version scrapes (names are plain ASCII).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_read = require_scope("read")


def scraper(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
) -> Principal | None:
    """The scraping key's principal, or ``None`` with ``--public-metrics``."""
    if settings_of(request).public_metrics:
        return None
    return _read(request, credentials)


def _render(request: Request, principal: Principal | None) -> bytes:
    """The exposition text (service metrics, then stored-metric gauges)."""
    stored: StoredMetrics = request.app.state.stored
    models = None if principal is None or principal.model is None else {principal.model}
    families = stored.families(models)
    own = generate_latest(telemetry_of(request).registry)
    return own + generate_latest(registry_of(families))


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems(401, 403, 503),
    },
)
async def metrics(
    request: Request, principal: Annotated[Principal | None, Depends(scraper)]
) -> Response:
    """Service counters and histograms, latest stored metric values and alert states."""
    text = await in_thread(_render, request=request, principal=principal)
    return Response(text, media_type=CONTENT_TYPE)
