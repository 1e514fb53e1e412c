"""Transport limits as ASGI middleware: body size (413) and request time (503 + Retry-After).

The body limit looks at ``Content-Length`` first (a declared oversize body is refused
before a byte of it is read) and counts the bytes of chunked bodies as they arrive;
:mod:`.bodies` applies the same cap after ``gzip`` is undone. The time limit covers the
whole request, reading the body included (a client that trickles its body is cut off);
an ingest already writing when the time is up runs on in its thread and commits or
rolls back whole — sending the batch again is safe, ingest is idempotent.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitors.service.errors import TooLargeError
from monitors.service.problems import MEDIA, problem_body

__all__ = ["BodyLimitMiddleware", "TimeoutMiddleware"]


async def _send_problem(
    send: Send, status: int, slug: str, detail: str, path: str, headers: dict[str, str]
) -> None:
    """Send a whole problem+json response."""
    body = json.dumps(problem_body(status, slug, detail, instance=path)).encode()
    raw = [(b"content-type", MEDIA.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = f"the request body is larger than {self.max_bytes:,} bytes; split the batch"
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_problem(send, 413, "too-large", too_large, scope.get("path", ""), {})
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLargeError(too_large)
            return message

        await self.app(scope, counted, send)


class TimeoutMiddleware:
    """Answer 503 with ``Retry-After`` when a request runs past ``seconds``."""

    def __init__(self, app: ASGIApp, *, seconds: float, retry_after: int) -> None:
        self.app = app
        self.seconds = seconds
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            with anyio.fail_after(self.seconds):
                await self.app(scope, receive, tracked)
        except TimeoutError:
            if started:
                raise
            detail: Any = (
                f"the request took longer than {self.seconds:g} s; send it again "
                f"in {self.retry_after} s (ingest is idempotent)"
            )
            await _send_problem(
                send,
                503,
                "timeout",
                detail,
                scope.get("path", ""),
                {"Retry-After": str(self.retry_after)},
            )
