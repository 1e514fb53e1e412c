"""HTTP POST shared by the Slack and webhook notifiers (httpx, no redirects, pinned address).

The target's host is resolved once; the addresses are checked (see
:mod:`monitors.alerts.notifiers.target`) and the request is sent to one of them, with the
URL's host replaced by the IP, the original ``Host`` header and, for HTTPS, the original
host as TLS server name (SNI and certificate check, httpx's ``sni_hostname`` extension).
``DRIFTWARDEN_WEBHOOK_CA_FILE`` names an extra CA bundle (PEM) trusted for HTTPS targets.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading

import httpx

from monitors.alerts.notifiers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    Delivery,
    env_value,
    redact,
    retry_after_seconds,
)
from monitors.alerts.notifiers.target import Target, parse_target, refusal, resolve_addresses
from monitors.errors import ConfigError

RETRYABLE_STATUS = frozenset({408, 425, 429})
CA_FILE_ENV = "DRIFTWARDEN_WEBHOOK_CA_FILE"


class _NoRequestLines(logging.Filter):
    """Drop httpx's ``HTTP Request: POST <url>`` lines: the URL may be a secret (Slack)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request")


logging.getLogger("httpx").addFilter(_NoRequestLines())

_clients: dict[tuple[int, float, str, str | None], httpx.Client] = {}
_lock = threading.Lock()


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The default verifying context, plus ``ca_file``'s certificates when given."""
    context = httpx.create_ssl_context(trust_env=False)
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


def _client(timeout: float, host: str) -> httpx.Client:
    """A shared client per process, timeout and target host.

    One per host: its pool is keyed by the pinned IP, and a connection verified for one
    host name must not be reused for another name served from the same IP.
    """
    ca_file = env_value(CA_FILE_ENV)
    key = (os.getpid(), timeout, host, ca_file)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
                verify=_tls_context(ca_file),
            )
            _clients[key] = client
        return client


def _pinned_urls(target: Target, addresses: tuple[str, ...]) -> list[str]:
    """The URLs actually requested (to redact them from error texts)."""
    urls = []
    for address in addresses:
        try:
            urls.append(str(target.pinned_url(address)))
        except httpx.InvalidURL:
            continue
    return urls


def _send_pinned(
    client: httpx.Client,
    target: Target,
    addresses: tuple[str, ...],
    body: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    """POST to the first of ``addresses`` that accepts a connection (the last error if none)."""
    request_headers = {**headers, "Host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    error: httpx.TransportError | None = None
    for address in addresses:
        try:
            url = target.pinned_url(address)
        except httpx.InvalidURL:  # e.g. a scoped IPv6 address ("fe80::1%eth0")
            continue
        try:
            return client.post(url, content=body, headers=request_headers, extensions=extensions)
        except httpx.ConnectError as exc:
            error = exc
    raise error or httpx.ConnectError("no usable address")


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
    errors and timeouts are retryable. A malformed URL, a host that does not resolve and
    a non-public address (unless allowed) are permanent. ``what`` names the target in
    error texts (never the URL, which is a secret for Slack).
    """
    try:
        target = parse_target(url)
    except ConfigError as exc:
        return Delivery.permanent(f"{what}: {exc}")
    try:
        addresses = resolve_addresses(target)
    except (OSError, UnicodeError) as exc:
        if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN:
            return Delivery.retry(f"{what}: the target host could not be resolved right now")
        return Delivery.permanent(f"{what}: the target host does not resolve")
    refused = refusal(addresses)
    if refused is not None:
        return Delivery.permanent(f"{what}: {refused}")
    hidden = [url, *secrets, *_pinned_urls(target, addresses)]
    try:
        client = _client(timeout, target.host)
    except (OSError, ssl.SSLError) as exc:
        return Delivery.permanent(
            f"{what}: {CA_FILE_ENV} could not be loaded as a PEM CA bundle ({exc.strerror or exc})"
        )
    try:
        response = _send_pinned(client, target, addresses, body, headers)
    except httpx.TimeoutException as exc:
        return Delivery.retry(f"{what}: timed out ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return Delivery.retry(redact(f"{what}: {type(exc).__name__}: {exc}", hidden))
    status = response.status_code
    if 200 <= status < 300:
        return Delivery.delivered()
    snippet = redact(response.text[:200].replace("\n", " "), hidden)
    error = f"{what}: HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else "")
    if status in RETRYABLE_STATUS or status >= 500:
        return Delivery.retry(
            error, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    return Delivery.permanent(error)
