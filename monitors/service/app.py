"""The application factory: ``create_app(settings)`` → a FastAPI app ready for uvicorn.

Middleware, outermost first: request telemetry (every answer is counted, 413 and
timeouts too), the request time limit, the body size limit. Errors become
``application/problem+json`` in :mod:`.problems`. The OpenAPI document (``/openapi.json``)
lists the four request media types of the ingest routes, the problem responses of each
route and the bearer-key scheme.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from monitors.service.exposition import StoredMetrics
from monitors.service.keys import KeyChecker
from monitors.service.limits import BodyLimitMiddleware, TimeoutMiddleware
from monitors.service.problems import database_unavailable, install_handlers
from monitors.service.routers import health, labels, metrics, models, predictions, prometheus
from monitors.service.schemas import Problem, RowProblem
from monitors.service.settings import ServiceSettings
from monitors.service.telemetry import Telemetry, TelemetryMiddleware
from storage.engine import get_engine, redact

__all__ = ["create_app"]

logger = logging.getLogger("driftwarden.service")

DESCRIPTION = """\
HTTP collector of driftwarden: model servers in any language log predictions and late
labels; monitoring reads models and stored metric results. Every `/v1` call needs
`Authorization: Bearer <key>` (`driftwarden keys create`). Errors are RFC 9457
`application/problem+json`. See docs/collector-service.md.
"""


def _version() -> str:
    try:
        return version("driftwarden")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with the problem schema, and without FastAPI's 422 default."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in (Problem, RowProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {}).get("application/json")
            if default is not None:
                responses.pop("422")
                responses.setdefault("400", _parameter_problem())
    app.openapi_schema = doc
    return doc


def _parameter_problem() -> dict[str, Any]:
    return {
        "description": "Invalid parameter.",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


async def _connect(settings: ServiceSettings) -> None:
    """Open (and migrate) the database at start-up; if it is away, serve anyway."""
    try:
        await anyio.to_thread.run_sync(get_engine, settings.database_url)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        logger.warning(
            "database %s not reachable at start-up; /readyz answers 503 until it is",
            redact(settings.database_url),
        )


def create_app(settings: ServiceSettings) -> FastAPI:
    """The collector service for ``settings`` (see :class:`~.settings.ServiceSettings`).

    Examples
    --------
    >>> from monitors.service.app import create_app
    >>> from monitors.service.settings import ServiceSettings
    >>> app = create_app(ServiceSettings(database_url="sqlite:///:memory:"))
    >>> "/v1/models/{name}/predictions" in app.openapi()["paths"]
    True
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await _connect(settings)
        yield

    app = FastAPI(
        title="driftwarden collector",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    telemetry = Telemetry()
    app.state.settings = settings
    app.state.telemetry = telemetry
    app.state.keys = KeyChecker(settings.database_url)
    app.state.stored = StoredMetrics(settings, telemetry)
    install_handlers(app)
    for module in (predictions, labels, models, metrics, health, prometheus):
        app.include_router(module.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        TimeoutMiddleware, seconds=settings.request_timeout_s, retry_after=settings.retry_after_s
    )
    app.add_middleware(TelemetryMiddleware, telemetry=telemetry)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
