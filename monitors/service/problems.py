"""One exception handler: the project's errors → RFC 9457 ``application/problem+json``.

=========================================  ======  =====================================
error                                      status  ``type`` (``urn:driftwarden:problem:``)
=========================================  ======  =====================================
:class:`AuthenticationError`               401     ``unauthorized`` (+ ``WWW-Authenticate``)
:class:`ForbiddenError`                    403     ``forbidden``
``UnknownModelError``, unknown route       404     ``unknown-model`` / ``not-found``
:class:`TooLargeError`                     413     ``too-large``
:class:`UnsupportedMediaError`             415     ``unsupported-media-type``
:class:`BodyError`                         400     ``invalid-body`` (row/column in ``errors``)
``ValidationError`` (``strict=true``)      422     ``rejected-batch``
other ``IngestError``/schema errors        422     ``rejected-batch``
bad parameter (``ConfigError``, pydantic)  400     ``invalid-parameter``
database away (connection refused/lost)    503     ``database-unavailable`` (+ ``Retry-After``)
request over its time limit                503     ``timeout`` (+ ``Retry-After``)
schema behind the code (``/readyz``)       503     ``not-ready`` (+ ``Retry-After``)
anything else                              500     ``internal`` (no detail; logged)
=========================================  ======  =====================================

A 4xx says what, where, what was expected and what came (the project's one-line
messages); a 5xx never echoes internals. Nothing here prints a key or a password.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from monitors.errors import ConfigError, IngestError, MonitorError, ValidationError
from monitors.service.errors import (
    AuthenticationError,
    BodyError,
    ForbiddenError,
    NotReadyError,
    TooLargeError,
    UnsupportedMediaError,
)
from monitors.service.schemas import Problem, RowProblem
from storage.errors import DatabaseUnavailableError, SchemaError, StorageError, UnknownModelError

__all__ = [
    "PROBLEM_TYPE",
    "database_unavailable",
    "install_handlers",
    "problem_body",
    "problem_response",
]

PROBLEM_TYPE = "urn:driftwarden:problem:"
MEDIA = "application/problem+json"
ACCEPTED = "application/json, application/x-ndjson, text/csv, application/vnd.apache.arrow.stream"
logger = logging.getLogger("driftwarden.service")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_body(
    status: int,
    slug: str,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: Iterable[RowProblem] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON members of a problem."""
    problem = Problem(
        type=PROBLEM_TYPE + slug,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) if errors is not None else None,
        **extra,
    )
    return problem.model_dump(mode="json", exclude_none=True)


def problem_response(
    status: int,
    slug: str,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: Iterable[RowProblem] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A ``JSONResponse`` with ``Content-Type: application/problem+json``."""
    body = problem_body(status, slug, detail, instance=instance, errors=errors, **extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=dict(headers or {}))


def _unavailable_types() -> tuple[type[BaseException], ...]:
    """Exception classes that mean "the database cannot be reached right now"."""
    import adbc_driver_manager
    import sqlalchemy.exc

    return (
        DatabaseUnavailableError,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        adbc_driver_manager.OperationalError,
        adbc_driver_manager.InterfaceError,
        ConnectionError,
    )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the database is away."""
    import sqlalchemy.exc

    kinds = _unavailable_types()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def _row_problems(exc: BaseException) -> list[RowProblem] | None:
    """Row/column reasons an error carries (a ``problems`` list, or a body error's place)."""
    if isinstance(exc, BodyError):
        return [RowProblem(row=exc.row, column=exc.column, reason=str(exc))]
    problems = getattr(exc, "problems", None)
    if problems:
        return [
            RowProblem(row=p.row, column=p.column, reason=p.reason) for p in list(problems)[:20]
        ]
    return None


def _classify(exc: BaseException) -> tuple[int, str]:
    """Status and problem slug of a project error."""
    table: list[tuple[type[BaseException], int, str]] = [
        (AuthenticationError, 401, "unauthorized"),
        (ForbiddenError, 403, "forbidden"),
        (UnknownModelError, 404, "unknown-model"),
        (TooLargeError, 413, "too-large"),
        (UnsupportedMediaError, 415, "unsupported-media-type"),
        (BodyError, 400, "invalid-body"),
        (ValidationError, 422, "rejected-batch"),
        (IngestError, 422, "rejected-batch"),
        (SchemaError, 422, "rejected-batch"),
        (ConfigError, 400, "invalid-parameter"),
        (NotReadyError, 503, "not-ready"),
    ]
    for kind, status, slug in table:
        if isinstance(exc, kind):
            return status, slug
    return 422, "rejected-batch"


def unavailable_response(request: Request, retry_after: int, detail: str) -> JSONResponse:
    """503 with ``Retry-After``."""
    return problem_response(
        503,
        "database-unavailable",
        detail,
        instance=request.url.path,
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def _retry_after(request: Request) -> int:
    """The service's ``Retry-After`` seconds (from its settings)."""
    return int(request.app.state.settings.retry_after_s)


async def project_error(request: Request, exc: Exception) -> JSONResponse:
    """A project error (``MonitorError``/``StorageError``) as its problem."""
    if database_unavailable(exc):
        return await database_error(request, exc)
    status, slug = _classify(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 415:
        headers["Accept-Post"] = ACCEPTED
    if status == 503:
        headers["Retry-After"] = str(_retry_after(request))
    return problem_response(
        status,
        slug,
        str(exc),
        instance=request.url.path,
        errors=_row_problems(exc),
        headers=headers,
    )


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 + ``Retry-After`` if the database is away; otherwise an internal error."""
    if not database_unavailable(exc):
        return await internal_error(request, exc)
    logger.warning("database unavailable: %s", type(exc).__name__)
    retry = _retry_after(request)
    detail = f"the database cannot be reached; retry in {retry} s (ingest is idempotent)"
    return unavailable_response(request, retry, detail)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors (unknown route 404, 405) as problems."""
    assert isinstance(exc, HTTPException)
    slug = "not-found" if exc.status_code == 404 else "http-error"
    return problem_response(
        exc.status_code, slug, str(exc.detail), instance=request.url.path, headers=exc.headers
    )


async def parameter_error(request: Request, exc: Exception) -> JSONResponse:
    """Invalid query or path parameters: 400 naming each parameter."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        RowProblem(
            row=None,
            column=".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path")),
            reason=str(e.get("msg", "invalid")),
        )
        for e in exc.errors()[:20]
    ]
    detail = "; ".join(f"{e.column}: {e.reason}" for e in errors) or "invalid request"
    return problem_response(
        400, "invalid-parameter", detail, instance=request.url.path, errors=errors
    )


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """500 without details (the traceback goes to the log), or 503 if the database is away."""
    if database_unavailable(exc):
        return await database_error(request, exc)
    logger.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "internal", "internal error (logged by the service)", instance=request.url.path
    )


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (project errors, HTTP errors, database errors)."""
    import adbc_driver_manager
    import sqlalchemy.exc

    app.add_exception_handler(MonitorError, project_error)
    app.add_exception_handler(StorageError, project_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, parameter_error)
    app.add_exception_handler(sqlalchemy.exc.SQLAlchemyError, database_error)
    app.add_exception_handler(adbc_driver_manager.Error, database_error)
    app.add_exception_handler(ConnectionError, database_error)
    app.add_exception_handler(Exception, internal_error)
