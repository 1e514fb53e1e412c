"""GET /v1/models, /v1/models/{name}, /v1/models/{name}/metrics, /healthz, /readyz."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from monitors.export import metric_records
from storage.engine import head_revision
from tests.monitors.service.support import (
    MODEL,
    Keys,
    Server,
    json_rows,
    predictions,
    store_results,
)

METRICS = f"/v1/models/{MODEL}/metrics"


@pytest.fixture(scope="module")
def windows(service_url: str) -> tuple[datetime, datetime, datetime]:
    return store_results(service_url)


@pytest.fixture(scope="module")
def reader(server: Server, keys: Keys, windows: object) -> Iterator[object]:
    with server.client(keys.read) as http:
        yield http


def test_health_and_readiness(server: Server) -> None:
    with server.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": head_revision(), "head": head_revision()}


def test_models(server: Server, keys: Keys, reader: object) -> None:
    with server.client(keys.ingest) as http:
        http.post(f"/v1/models/{MODEL}/predictions", json=json_rows(predictions(3, prefix="g-")))
    with server.client(keys.read) as http:
        listed = http.get("/v1/models").json()
        one = http.get(f"/v1/models/{MODEL}").json()
        missing = http.get("/v1/models/nope")
        invalid = http.get("/v1/models/-bad name")
    assert listed[0] == {
        "name": MODEL,
        "task": "binary_classification",
        "window": "1d",
        "reference_version": 1,
        "features": ["age", "region"],
    }
    assert one["schema"]["columns"][0] == {
        "name": "id",
        "role": "id",
        "dtype": "string",
        "categorical": False,
    }
    assert (one["rows_received"], one["rows_stored"]) == (3, 3)
    assert one["last_window_end"] is not None
    assert missing.status_code == 404 and missing.json()["type"].endswith("unknown-model")
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["column"] == "name"


def test_metrics_are_the_export_records(
    server: Server, keys: Keys, service_url: str, windows: tuple[datetime, datetime, datetime]
) -> None:
    s1, s2, end = windows
    with server.client(keys.read) as http:
        everything = http.get(METRICS).json()
        psi = http.get(METRICS, params={"metric": "psi", "feature": "age"}).json()
        late = http.get(METRICS, params={"from": s2.isoformat(), "analyzer": "drift"}).json()
        early = http.get(METRICS, params={"to": s2.isoformat()}).json()
        bad = http.get(METRICS, params={"from": "03/02/2026"})
    export = metric_records(service_url, MODEL)
    assert len(everything) == len(export) == 10
    for got, want in zip(everything, export, strict=True):
        assert {k: v for k, v in got.items() if "window" not in k} == {
            k: v for k, v in want.items() if "window" not in k
        }
        assert datetime.fromisoformat(got["window_start"]) == datetime.fromisoformat(
            want["window_start"]
        )
    assert [r["value"] for r in psi] == [0.05, 0.3]
    assert {(r["metric"], r["feature"]) for r in late} == {("psi", "age"), ("psi", "region")}
    assert len(early) == 7 and {r["window_start"][:10] for r in early} == {s1.date().isoformat()}
    assert bad.status_code == 400 and "from" in bad.json()["detail"]


def test_unknown_route_is_a_problem(server: Server) -> None:
    with server.client() as http:
        response = http.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
