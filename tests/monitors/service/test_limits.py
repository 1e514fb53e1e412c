"""Limits: body size (413, also chunked and gzip), rows per request (413), request time (503)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.monitors.service.support import MODEL, Keys, Server, json_rows, predictions

PRED = f"/v1/models/{MODEL}/predictions"
LIMIT = 64 * 1024  # --max-body-mib 0.0625


@pytest.fixture(scope="module")
def limited(service_url: str, keys: Keys, workdir: Path) -> Iterator[Server]:
    """64 KiB bodies, 50 rows, 2 s per request."""
    server = Server(
        service_url,
        workdir,
        "--max-body-mib",
        "0.0625",
        "--max-rows",
        "50",
        "--timeout",
        "2",
    )
    yield server
    server.stop()


def _assert_problem(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


def test_declared_oversize_body_is_413(limited: Server, keys: Keys) -> None:
    body = b"[" + b" " * LIMIT + b"]"
    with limited.client(keys.ingest) as http:
        response = http.post(PRED, content=body, headers={"Content-Type": "application/json"})
    _assert_problem(response, 413, "larger than 65,536 bytes")


def test_chunked_oversize_body_is_413(limited: Server, keys: Keys) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(40):
            yield b" " * 4096
        yield b"]"

    with limited.client(keys.ingest) as http:
        response = http.post(PRED, content=chunks(), headers={"Content-Type": "application/json"})
    _assert_problem(response, 413, "larger than 65,536 bytes")


def test_gzip_bomb_is_413(limited: Server, keys: Keys) -> None:
    body = gzip.compress(b"[" + b" " * (50 * LIMIT) + b"]")
    assert len(body) < LIMIT
    with limited.client(keys.ingest) as http:
        response = http.post(
            PRED,
            content=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    _assert_problem(response, 413, "decompressed body is larger")


@pytest.mark.parametrize("media", ["application/json", "application/x-ndjson", "text/csv"])
def test_too_many_rows_is_413(limited: Server, keys: Keys, media: str) -> None:
    frame = predictions(51, prefix="many-")
    if media == "text/csv":
        body = frame.to_csv(index=False).encode()
    elif media == "application/json":
        body = json.dumps(json_rows(frame)).encode()
    else:
        body = "\n".join(json.dumps(r) for r in json_rows(frame)).encode()
    with limited.client(keys.ingest) as http:
        response = http.post(PRED, content=body, headers={"Content-Type": media})
    _assert_problem(response, 413, "at most 50")


def test_a_request_past_the_time_limit_is_503_with_retry_after(limited: Server, keys: Keys) -> None:
    def trickle() -> Iterator[bytes]:
        yield b"["
        time.sleep(4)
        yield b"]"

    began = time.monotonic()
    with limited.client(keys.ingest) as http:
        response = http.post(PRED, content=trickle(), headers={"Content-Type": "application/json"})
    assert time.monotonic() - began < 10
    _assert_problem(response, 503, "longer than 2 s")
    assert response.headers["retry-after"] == "5"
    with limited.client() as http:
        assert http.get("/healthz").status_code == 200
