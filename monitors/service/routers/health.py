"""``GET /healthz`` (the process answers) and ``GET /readyz`` (the database is usable).

Neither needs a key: orchestrators probe them. ``/healthz`` never touches the database,
so it keeps answering while PostgreSQL restarts; ``/readyz`` answers 503 with
``Retry-After`` until the database answers and is at the newest migration.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from monitors.service.operations import readiness
from monitors.service.routers._common import in_thread, problems, settings_of
from monitors.service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up (no database access)."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Readiness", responses=problems(503))
async def readyz(request: Request) -> Readiness:
    """The database is reachable and its schema is at the newest migration."""
    return await in_thread(readiness, url=settings_of(request).database_url)
