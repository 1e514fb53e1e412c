"""PostgreSQL restarts under the service: /healthz keeps answering, clients get 503 with
Retry-After while the database is away, and ingest resumes afterwards with nothing lost.

The test starts its own throwaway cluster (``scripts/pgcluster.py`` on its own directory
and port) and stops and starts it; the shared test server is never touched.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from monitors.collectors import Client
from monitors.service.keys import create_key
from tests.monitors.service.support import (
    MODEL,
    Server,
    free_port,
    json_rows,
    predictions,
    register,
)

pytestmark = pytest.mark.postgres

PRED = f"/v1/models/{MODEL}/predictions"
BATCH = 200


@pytest.fixture
def cluster() -> object:
    """A throwaway PostgreSQL cluster: ``(directory, port, url)``; removed afterwards.

    Its directory is in the system temp folder, not under pytest's: the cluster runs as
    another OS user when root, and pytest's folder (mode 0700, reset by every pytest
    session on the machine) is not reliably reachable for it.
    """
    from scripts import pgcluster

    directory, port = Path(tempfile.mkdtemp(prefix="dw-pg-restart-")) / "pg", free_port()
    try:
        url = pgcluster.start(directory, port)
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot start a PostgreSQL cluster: {exc}")
        pytest.skip(f"cannot start a PostgreSQL cluster: {exc}")
    yield directory, port, url
    pgcluster.remove(directory)
    directory.parent.rmdir()


def _send_until_stored(base: str, key: str, body: list[dict[str, object]], log: list[int]) -> dict:
    """POST one batch, honouring 503 + Retry-After, until it is answered 200."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        while True:
            try:
                response = c.post(PRED, json=body)
            except httpx.TransportError:
                log.append(0)
                time.sleep(0.5)
                continue
            log.append(response.status_code)
            if response.status_code == 200:
                return response.json()
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["retry-after"]) > 0
            assert time.monotonic() < deadline, "ingest did not resume"
            time.sleep(min(float(response.headers["retry-after"]), 1.0))


def test_postgres_restart(cluster: tuple[Path, int, str], tmp_path: Path) -> None:
    from scripts import pgcluster

    directory, port, url = cluster
    register(url)
    key = create_key(url, "restart", scope="admin").key
    server = Server(url, tmp_path, "--timeout", "20")
    frame = predictions(BATCH * 40, prefix="rs-", seed=5)
    batches = [json_rows(frame.iloc[i : i + BATCH]) for i in range(0, len(frame), BATCH)]
    statuses: list[int] = []
    results: list[dict] = []
    try:
        results.append(_send_until_stored(server.base, key, batches[0], statuses))

        def sender() -> None:
            for body in batches[1:]:
                results.append(_send_until_stored(server.base, key, body, statuses))
                time.sleep(0.1)

        thread = threading.Thread(target=sender)
        thread.start()
        time.sleep(0.5)
        pgcluster.stop(directory)
        healthy, unready = 0, 0
        with httpx.Client(base_url=server.base, timeout=10) as http:
            for _ in range(10):  # the database is away: the process still answers
                assert http.get("/healthz").status_code == 200
                healthy += 1
                ready = http.get("/readyz")
                assert ready.status_code == 503 and "retry-after" in ready.headers
                unready += 1
                time.sleep(0.2)
            down = http.post(PRED, json=batches[0], headers={"Authorization": f"Bearer {key}"})
        assert down.status_code == 503 and down.headers["retry-after"] == "5"
        assert down.json()["type"].endswith("database-unavailable")
        pgcluster.start(directory, port)
        thread.join(timeout=180)
        assert not thread.is_alive()
        with httpx.Client(base_url=server.base, timeout=10) as http:
            assert http.get("/readyz").status_code == 200
    finally:
        server.stop()
    assert 503 in statuses, "the restart was not seen by the senders"
    assert len(results) == len(batches)
    stored = Client(url).load_window(MODEL, columns=["id"])["id"]
    ids = [i for i in stored if str(i).startswith("rs-")]
    assert sorted(ids) == sorted(frame["id"]) and len(set(ids)) == len(ids)
    assert "Traceback" not in server.log()
