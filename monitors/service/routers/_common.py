"""What the routers share: the model-name path parameter, the services, a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Path, Request

from monitors.service.settings import ServiceSettings
from monitors.service.telemetry import Telemetry

T = TypeVar("T")

#: A model name as registered (``storage.schema.MODEL_NAME_RE``).
ModelName = Annotated[
    str,
    Path(
        description="Model name, as registered.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$",
        examples=["credit"],
    ),
]

_PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
_DESCRIPTIONS = {
    400: "Invalid body or parameter (row/column in `errors`).",
    401: "No valid API key.",
    403: "The key lacks the scope or is restricted to another model.",
    404: "Unknown model.",
    413: "Body or row count over the limit.",
    415: "Unsupported Content-Type or Content-Encoding.",
    422: "Batch rejected (strict mode, or a structural error such as a missing column).",
    503: "Database unavailable or request timed out; retry after `Retry-After` seconds.",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    503: {
        "Retry-After": {
            "schema": {"type": "string"},
            "required": True,
            "description": "Seconds to wait before sending again.",
        }
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json answers with these statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": _PROBLEM},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        out[status] = entry
    return out


def settings_of(request: Request) -> ServiceSettings:
    """The service's settings."""
    settings: ServiceSettings = request.app.state.settings
    return settings


def telemetry_of(request: Request) -> Telemetry:
    """The service's own metrics."""
    telemetry: Telemetry = request.app.state.telemetry
    return telemetry


async def in_thread(function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run blocking library code in a worker thread (given up on when the request times out)."""
    return await anyio.to_thread.run_sync(partial(function, **kwargs), abandon_on_cancel=True)
