"""HTTP POST shared by the Slack and webhook notifiers (httpx, no redirects)."""

from __future__ import annotations

import logging
import os
import threading

import httpx

from monitors.alerts.notifiers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    Delivery,
    check_target,
    redact,
    retry_after_seconds,
)

RETRYABLE_STATUS = frozenset({408, 425, 429})


class _NoRequestLines(logging.Filter):
    """Drop httpx's ``HTTP Request: POST <url>`` lines: the URL may be a secret (Slack)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request")


logging.getLogger("httpx").addFilter(_NoRequestLines())

_clients: dict[tuple[int, float], httpx.Client] = {}
_lock = threading.Lock()


def _client(timeout: float) -> httpx.Client:
    """A shared client per process and timeout (building one costs an SSL context)."""
    key = (os.getpid(), timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
            _clients[key] = client
        return client


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    what: str,
    secrets: list[str | None],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Delivery:
    """POST ``body`` to ``url`` and classify the outcome.

    2xx is delivered; 408/425/429 and 5xx are retryable (``Retry-After`` honoured);
    other statuses (including redirects, which are not followed) are permanent; network
    errors and timeouts are retryable. ``what`` names the target in error texts (never
    the URL, which is a secret for Slack).
    """
    refused = check_target(url)
    if refused is not None:
        return Delivery.permanent(f"{what}: {refused}")
    try:
        response = _client(timeout).post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        return Delivery.retry(f"{what}: timed out ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return Delivery.retry(redact(f"{what}: {type(exc).__name__}: {exc}", [url, *secrets]))
    status = response.status_code
    if 200 <= status < 300:
        return Delivery.delivered()
    snippet = redact(response.text[:200].replace("\n", " "), [url, *secrets])
    error = f"{what}: HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else "")
    if status in RETRYABLE_STATUS or status >= 500:
        return Delivery.retry(
            error, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    return Delivery.permanent(error)
